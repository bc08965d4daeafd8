-- Metric values per manager, period and metric, normalised to 0-100.
-- Inputs: metric_day (additive metrics), metric_keyed (distinct/entropy metrics, per period),
-- period_day, periods, rule_metric, roster, targets, score_context.
INSERT INTO metric_score
WITH md AS (       -- only the days of the periods being (re)scored
    SELECT md.*, pd.grain, pd.period
    FROM metric_day md
    JOIN period_day pd USING (day)
    JOIN periods p ON p.grain = pd.grain AND p.period = pd.period
),
frame AS (         -- everyone on staff in the period, for every metric
    SELECT r.manager_id, r.peer_group, p.grain, p.period, p.period_start, p.covered_end,
           rm.*, fp.feed IS NOT NULL AS fed,
           datediff('day', greatest(p.period_start, coalesce(r.hire_date, p.period_start)),
                    p.covered_end) + 1 AS days_on_staff
    FROM roster r
    CROSS JOIN periods p
    JOIN rule_metric rm ON TRUE
    LEFT JOIN feed_period fp ON fp.feed = rm.feed AND fp.grain = p.grain AND fp.period = p.period
    WHERE r.active AND coalesce(r.hire_date, p.period_start) <= p.covered_end
),
target_month AS (
    SELECT scope_id AS manager_id, metric_key AS target_metric, target,
           CAST(try_strptime(period || '-01', '%Y-%m-%d') AS DATE) AS m_start
    FROM targets WHERE scope = 'manager'
),
target_period AS ( -- monthly targets spread over the days of the period the data covers
    SELECT f.manager_id, f.grain, f.period, f.metric_key,
           sum(t.target * (datediff('day', greatest(f.period_start, t.m_start),
                                    least(f.covered_end, last_day(t.m_start))) + 1)
               / day(last_day(t.m_start))) AS target
    FROM frame f
    JOIN target_month t ON t.manager_id = f.manager_id AND t.target_metric = f.target_metric
     AND t.m_start <= f.covered_end AND last_day(t.m_start) >= f.period_start
    WHERE f.kind = 'attainment'
    GROUP BY ALL
),
facts AS (         -- all that was measured, one row per key: the frame joins it once
    SELECT manager_id, grain, period, metric_key,
           sum(num) AS num, sum(den) AS den, sum(n) AS n, sum(distinct_k) AS distinct_k,
           sum(entropy) AS entropy, sum(kn) AS kn, sum(target) AS target
    FROM (
        SELECT manager_id, grain, period, metric_key, num, den, n,
               NULL::BIGINT AS distinct_k, NULL::DOUBLE AS entropy, NULL::BIGINT AS kn,
               NULL::DOUBLE AS target
        FROM md
        UNION ALL
        SELECT manager_id, grain, period, metric_key, NULL, NULL, NULL, distinct_k, entropy, n,
               NULL
        FROM metric_keyed
        UNION ALL
        SELECT manager_id, grain, period, metric_key, NULL, NULL, NULL, NULL, NULL, NULL, target
        FROM target_period
    )
    GROUP BY ALL
),
valued AS (
    SELECT f.*,
           CASE f.kind
               WHEN 'ratio' THEN CASE WHEN coalesce(x.den, 0) > 0 THEN x.num / x.den END
               WHEN 'rate' THEN coalesce(x.num, 0) / (f.days_on_staff / 7.0)
               WHEN 'count' THEN coalesce(x.num, 0)
               WHEN 'distinct' THEN coalesce(x.distinct_k, 0)
               WHEN 'entropy' THEN coalesce(x.entropy, 0) / ln(f.n_categories)
               WHEN 'attainment' THEN CASE WHEN x.target > 0 THEN coalesce(x.num, 0) / x.target END
           END AS value,
           CASE f.kind
               WHEN 'ratio' THEN coalesce(x.den, 0)
               WHEN 'rate' THEN f.days_on_staff
               WHEN 'count' THEN f.days_on_staff
               WHEN 'attainment' THEN coalesce(x.n, 0) + CASE WHEN x.target > 0 THEN 1 ELSE 0 END
               WHEN 'distinct' THEN coalesce(x.kn, 0)
               WHEN 'entropy' THEN coalesce(x.kn, 0)
               ELSE coalesce(x.n, 0)
           END AS data_amount,
           -- what min_data is compared with: the target itself counts for attainment
           CASE f.kind WHEN 'ratio' THEN coalesce(x.den, 0)
                       WHEN 'rate' THEN f.days_on_staff
                       WHEN 'count' THEN f.days_on_staff
                       WHEN 'attainment' THEN f.min_data
                       WHEN 'distinct' THEN coalesce(x.kn, 0)
                       WHEN 'entropy' THEN coalesce(x.kn, 0)
                       ELSE coalesce(x.n, 0) END AS evidence,
           x.target
    FROM frame f
    LEFT JOIN facts x USING (manager_id, grain, period, metric_key)
),
statused AS (
    SELECT v.*,
           CASE
               WHEN NOT fed THEN 'no_feed'
               WHEN kind = 'attainment' AND coalesce(target, 0) <= 0 THEN 'no_target'
               WHEN evidence < min_data THEN 'insufficient_data'
               ELSE 'ok'
           END AS status,
           CASE
               WHEN NOT fed THEN 'no ' || feed || ' rows in this period'
               WHEN kind = 'attainment' AND coalesce(target, 0) <= 0
                   THEN 'no ' || target_metric || ' target for this period'
               WHEN evidence < min_data
                   THEN printf('%g of the %g needed', evidence, min_data)
           END AS reason
    FROM valued v
),
percentile AS (    -- mid-rank percentile among the peer group's scored managers
    SELECT manager_id, grain, period, metric_key,
           CASE WHEN count(*) OVER w = 1 THEN 50.0
                ELSE 100.0 * (rank() OVER (w ORDER BY value) - 1
                              + 0.5 * (count(*) OVER (PARTITION BY peer_group, grain, period,
                                                      metric_key, value) - 1))
                     / (count(*) OVER w - 1)
           END AS score
    FROM statused
    WHERE method = 'peer_percentile' AND status = 'ok'   -- windows only where they are needed
    WINDOW w AS (PARTITION BY peer_group, grain, period, metric_key)
),
final AS (
    SELECT s.manager_id, s.grain, s.period, s.metric_key, s.dimension, s.value, s.data_amount,
           CASE
               WHEN s.status <> 'ok' THEN NULL
               WHEN s.method = 'linear'
                   THEN 100.0 * greatest(0, least(1, (s.value - s.zero_at)
                                                     / (s.full_at - s.zero_at)))
               ELSE pc.score
           END AS score,
           s.status,
           s.reason,
           $rules_version AS rules_version
    FROM statused s
    LEFT JOIN percentile pc USING (manager_id, grain, period, metric_key)
)
SELECT * FROM final;
