-- Metric values per manager, period and metric, normalised to 0-100.
-- Inputs: metric_day and metric_month (additive metrics, per fragment and per month),
-- metric_keyed (distinct/entropy metrics, per period), period_day, periods, feed_period,
-- score_manager, roster, rule_metric, targets.
-- The arithmetic runs on integer keys over narrow rows (metric_run), and the rows are stored
-- on them (metric_value, read through the view metric_score): carrying text keys through the
-- joins and windows of millions of rows, or writing them, cost more than the arithmetic.
CREATE OR REPLACE TEMP TABLE metric_run AS
WITH staff AS (    -- everyone on staff in the period, and for how many of its days
    SELECT m.manager_no,
           CAST(dense_rank() OVER (ORDER BY r.peer_group) AS INTEGER) AS peer_no,  -- its number
           p.period_no,
           datediff('day', greatest(p.period_start, coalesce(r.hire_date, p.period_start)),
                    p.covered_end) + 1 AS days_on_staff
    FROM score_manager m
    JOIN roster r USING (manager_id)
    CROSS JOIN periods p
    WHERE r.active AND coalesce(r.hire_date, p.period_start) <= p.covered_end
),
fed AS (           -- was the metric's feed delivered in the period?
    SELECT p.period_no, rm.metric_no, fp.feed IS NOT NULL AS fed
    FROM periods p
    CROSS JOIN rule_metric rm
    LEFT JOIN feed_period fp ON fp.feed = rm.feed AND fp.period_no = p.period_no
),
target_month AS (
    SELECT m.manager_no, t.metric_key AS target_metric, t.target,
           CAST(try_strptime(t.period || '-01', '%Y-%m-%d') AS DATE) AS m_start
    FROM targets t
    JOIN score_manager m ON m.manager_id = t.scope_id
    WHERE t.scope = 'manager'
),
target_period AS ( -- monthly targets spread over the days of the period the data covers
    SELECT cell(s.period_no, rm.metric_no, s.manager_no) AS cell,
           sum(t.target * (datediff('day', greatest(p.period_start, t.m_start),
                                    least(p.covered_end, last_day(t.m_start))) + 1)
               / day(last_day(t.m_start))) AS target
    FROM staff s
    JOIN periods p USING (period_no)
    JOIN rule_metric rm ON rm.kind = 'attainment'
    JOIN target_month t ON t.manager_no = s.manager_no AND t.target_metric = rm.target_metric
     AND t.m_start <= p.covered_end AND last_day(t.m_start) >= p.period_start
    GROUP BY ALL
),
frag AS (         -- each fragment day of the periods being scored, with its week, month and
                   -- quarter (NULL where that period is not being scored)
    SELECT day, CAST(date_trunc('month', day) AS DATE) AS month_start,
           max(period_no) FILTER (WHERE grain = 'week') AS week_no,
           max(period_no) FILTER (WHERE grain = 'month') AS month_no,
           max(period_no) FILTER (WHERE grain = 'quarter') AS quarter_no
    FROM period_day GROUP BY day
),
months AS (       -- the months of those days, with their month and quarter where scored
    SELECT month_start, max(month_no) AS month_no, max(quarter_no) AS quarter_no
    FROM frag GROUP BY month_start
),
month_sums AS (    -- per month, also a month not scored itself whose quarter is: a quarter is
                   -- summed from three stored month sums, not from its dozen fragments again
    SELECT mm.manager_no, mm.metric_no, m.month_no, m.quarter_no, mm.num, mm.den, mm.n
    FROM metric_month mm
    JOIN months m ON m.month_start = mm.month
),
measured AS (      -- the additive metrics summed per period, and the distinct/entropy ones
                   -- counted per period
    SELECT cell(f.week_no, md.metric_no, md.manager_no) AS cell,
           sum(md.num) AS num, sum(md.den) AS den, sum(md.n) AS n,
           CAST(NULL AS BIGINT) AS distinct_k, CAST(NULL AS DOUBLE) AS entropy
    FROM metric_day md
    JOIN frag f USING (day)
    WHERE f.week_no IS NOT NULL
    GROUP BY 1
    UNION ALL
    SELECT cell(month_no, metric_no, manager_no), num, den, n, NULL, NULL
    FROM month_sums
    WHERE month_no IS NOT NULL
    UNION ALL
    SELECT cell(quarter_no, metric_no, manager_no), sum(num), sum(den), sum(n), NULL, NULL
    FROM month_sums
    WHERE quarter_no IS NOT NULL
    GROUP BY 1
    UNION ALL
    SELECT cell(period_no, metric_no, manager_no), NULL, NULL, n, distinct_k, entropy
    FROM metric_keyed
),
frame AS (         -- every manager on staff x every metric, measured or not: narrow rows, so
                   -- the join below builds on the measurements
    SELECT s.manager_no, s.peer_no, s.period_no, f.metric_no, s.days_on_staff, f.fed,
           cell(s.period_no, f.metric_no, s.manager_no) AS cell
    FROM staff s
    JOIN fed f USING (period_no)
),
valued AS (
    SELECT s.manager_no, s.peer_no, s.period_no, s.metric_no, rm.method, rm.zero_at,
           rm.full_at, rm.min_data, s.fed, rm.kind, rm.feed, rm.target_metric,
           CASE rm.kind
               WHEN 'ratio' THEN CASE WHEN coalesce(x.den, 0) > 0 THEN x.num / x.den END
               WHEN 'rate' THEN coalesce(x.num, 0) / (s.days_on_staff / 7.0)
               WHEN 'count' THEN coalesce(x.num, 0)
               WHEN 'distinct' THEN coalesce(x.distinct_k, 0)
               WHEN 'entropy' THEN coalesce(x.entropy, 0) / ln(rm.n_categories)
               WHEN 'attainment' THEN CASE WHEN t.target > 0 THEN coalesce(x.num, 0) / t.target END
           END AS value,
           CASE rm.kind
               WHEN 'ratio' THEN coalesce(x.den, 0)
               WHEN 'rate' THEN s.days_on_staff
               WHEN 'count' THEN s.days_on_staff
               WHEN 'attainment' THEN coalesce(x.n, 0) + CASE WHEN t.target > 0 THEN 1 ELSE 0 END
               ELSE coalesce(x.n, 0)
           END AS data_amount,
           -- what min_data is compared with: the target itself counts for attainment
           CASE rm.kind WHEN 'ratio' THEN coalesce(x.den, 0)
                        WHEN 'rate' THEN s.days_on_staff
                        WHEN 'count' THEN s.days_on_staff
                        WHEN 'attainment' THEN rm.min_data
                        ELSE coalesce(x.n, 0) END AS evidence,
           t.target
    FROM frame s
    LEFT JOIN measured x USING (cell)
    LEFT JOIN target_period t USING (cell)
    JOIN rule_metric rm USING (metric_no)
),
statused AS (
    SELECT v.*,
           CASE
               WHEN NOT fed THEN 'no_feed'
               WHEN kind = 'attainment' AND coalesce(target, 0) <= 0 THEN 'no_target'
               WHEN evidence < min_data THEN 'insufficient_data'
               ELSE 'ok'
           END AS status
    FROM valued v
),
percentile AS (    -- mid-rank percentile among the peer group's scored managers
    SELECT manager_no, period_no, metric_no,
           CASE WHEN n = 1 THEN 50.0
                -- below: r - 1 managers; tied with this one: at_or_below - r others
                ELSE 100.0 * (r - 1 + 0.5 * (at_or_below - r)) / (n - 1)
           END AS score
    FROM (
        SELECT manager_no, period_no, metric_no,
               count(*) OVER w AS n,
               -- on the value to 9 decimals: equal sums added up in another order differ
               -- in their last bits, and must tie every time
               rank() OVER (w ORDER BY round(value, 9)) AS r,
               -- ordered, the frame runs to the last manager tied on the value
               count(*) OVER (w ORDER BY round(value, 9)) AS at_or_below
        FROM statused
        WHERE method = 'peer_percentile' AND status = 'ok'   -- windows only where needed
        WINDOW w AS (PARTITION BY cell(period_no, metric_no, peer_no))   -- one 64-bit key
    )
),
final AS (
    SELECT s.manager_no, s.period_no, s.metric_no, s.value, s.data_amount,
           CASE
               WHEN s.status <> 'ok' THEN NULL
               WHEN s.method = 'linear'
                   THEN 100.0 * greatest(0, least(1, (s.value - s.zero_at)
                                                     / (s.full_at - s.zero_at)))
               ELSE pc.score
           END AS score,
           s.status      -- in words in metric_score ('2 of the 5 needed': data_amount is the
                         -- evidence whenever the status is insufficient_data)
    FROM statused s
    LEFT JOIN percentile pc USING (manager_no, period_no, metric_no)
)
SELECT * FROM final;

-- the status as its number; the view metric_score writes the reason from it and the rule
INSERT INTO metric_value
SELECT r.manager_no, p.period_key, r.metric_no, r.value, r.data_amount, r.score,
       CASE r.status WHEN 'ok' THEN 0 WHEN 'insufficient_data' THEN 1 WHEN 'no_target' THEN 2
                     ELSE 3 END
FROM metric_run r
JOIN periods p USING (period_no);

-- (last: DuckDB binds parameters only in a script's last statement)
INSERT OR REPLACE INTO score_period
SELECT period_key, grain, period, period_start, period_end, $rules_version FROM periods;
