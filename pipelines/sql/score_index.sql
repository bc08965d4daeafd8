-- Awareness index = weighted mean of the dimensions, the conduct gate, the ranks, and the
-- movement against the same grain's previous period.
-- Inputs: dimension_run, metric_run (this run's scores on integer keys), rule_dimension,
-- rule_metric, rule_gate, score_manager, roster, periods, awareness_index (stored periods).
INSERT INTO awareness_index
WITH joined AS (
    SELECT d.*, rd.weight,
           -- a floor gates only the grains the rules name (index.floor_grains)
           CASE WHEN list_contains($floor_grains, p.grain) THEN rd.floor END AS floor
    FROM dimension_run d
    JOIN rule_dimension rd USING (dimension)
    JOIN periods p USING (period_no)
),
per_person AS (
    SELECT manager_no, period_no,
           sum(score * weight) FILTER (WHERE status = 'ok')
               / nullif(sum(weight) FILTER (WHERE status = 'ok'), 0) AS score,
           count(*) FILTER (WHERE status = 'ok') AS dimensions_used,
           -- conduct gate: the first dimension under its floor, in a fixed order
           min(CASE WHEN status = 'ok' AND score < floor THEN 'floor:' || dimension END)
               AS gate_reason
    FROM joined GROUP BY ALL
),
conduct AS (       -- a gate metric above 0 (a confirmed misconduct): ineligible whatever else
    SELECT r.manager_no, r.period_no, min(g.reason) AS reason
    FROM metric_run r
    JOIN rule_metric rm USING (metric_no)
    JOIN rule_gate g USING (metric_key)
    WHERE r.value > 0
    GROUP BY ALL
),
gated AS (
    SELECT p.manager_no, p.period_no,
           CASE WHEN p.dimensions_used >= $min_dimensions THEN p.score END AS score,
           p.dimensions_used,
           p.dimensions_used >= $min_dimensions AS enough,
           c.reason IS NULL AND p.gate_reason IS NULL AS eligible,
           coalesce(c.reason, p.gate_reason) AS gate_reason,
           r.peer_group
    FROM per_person p
    JOIN score_manager m USING (manager_no)
    JOIN roster r USING (manager_id)
    LEFT JOIN conduct c USING (manager_no, period_no)
),
ranked AS (        -- ranks within the period on its integer key; names and labels come after.
                   -- On the score to 9 decimals: sums run in parallel end in different last
                   -- bits from run to run, and two equal scores must tie every time.
    SELECT *,
           CASE WHEN eligible AND enough THEN rank() OVER (
               PARTITION BY period_no, eligible AND enough ORDER BY round(score, 9) DESC) END
               AS rank_overall,
           CASE WHEN eligible AND enough THEN rank() OVER (
               PARTITION BY period_no, peer_group, eligible AND enough
               ORDER BY round(score, 9) DESC) END AS rank_peer
    FROM gated
),
final AS (
    SELECT m.manager_id, pr.grain, pr.period, r.score, r.dimensions_used,
           CASE WHEN r.enough THEN 'ok' ELSE 'insufficient_data' END AS status,
           r.eligible, r.gate_reason, r.rank_overall, r.rank_peer,
           $rules_version AS rules_version,
           CASE pr.grain          -- the label of the same grain's previous period
               WHEN 'week' THEN strftime(pr.period_start - 7, '%G-W%V')
               WHEN 'month' THEN strftime(pr.period_start - INTERVAL 1 MONTH, '%Y-%m')
               ELSE CAST(year(pr.period_start - INTERVAL 3 MONTH) AS VARCHAR) || 'Q'
                    || CAST(quarter(pr.period_start - INTERVAL 3 MONTH) AS VARCHAR)
           END AS prev_period
    FROM ranked r
    JOIN score_manager m USING (manager_no)
    JOIN periods pr USING (period_no)
),
earlier AS (       -- rank movement: the previous period is either redone here too, or stored
                   -- (this run deleted the stored rows of every period it redoes)
    SELECT manager_id, grain, period, score, rank_overall FROM final
    UNION ALL
    SELECT manager_id, grain, period, score, rank_overall FROM awareness_index
    WHERE period IN (SELECT prev_period FROM final)   -- labels differ between the grains
)
SELECT f.* EXCLUDE (prev_period), e.score, e.rank_overall, e.rank_overall - f.rank_overall,
       f.score - e.score
FROM final f
LEFT JOIN earlier e
  ON e.manager_id = f.manager_id AND e.grain = f.grain AND e.period = f.prev_period;
