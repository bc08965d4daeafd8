-- Dimension score = weighted mean of the metrics that have data.
-- Inputs: metric_run (this run's metric scores on integer keys), rule_metric, score_manager,
-- periods. Builds dimension_run (for the index) and stores dimension_score.
CREATE OR REPLACE TEMP TABLE dimension_run AS
WITH joined AS (
    SELECT r.manager_no, r.period_no, r.score, r.status, rm.dimension, rm.metric_key, rm.weight
    FROM metric_run r
    JOIN rule_metric rm USING (metric_no)
),
fallback AS (      -- an ordered string_agg over every row cost more than all the rest
    SELECT manager_no, period_no, dimension,
           'without ' || string_agg(metric_key || ' (' || replace(status, '_', ' ') || ')', ', '
                                    ORDER BY metric_key) AS fallback
    FROM joined
    WHERE status IN ('no_feed', 'no_target')
    GROUP BY ALL
),
per_dimension AS (
    SELECT manager_no, period_no, dimension,
           sum(score * weight) FILTER (WHERE status = 'ok')
               / nullif(sum(weight) FILTER (WHERE status = 'ok'), 0) AS score,
           count(*) FILTER (WHERE status = 'ok') AS metrics_used,
           CASE WHEN count(*) FILTER (WHERE status = 'ok') > 0 THEN 'ok'
                ELSE 'insufficient_data' END AS status
    FROM joined GROUP BY ALL
),
final AS (
    SELECT d.*, f.fallback
    FROM per_dimension d
    LEFT JOIN fallback f USING (manager_no, period_no, dimension)
)
SELECT * FROM final;

INSERT INTO dimension_score
SELECT m.manager_id, p.grain, p.period, d.dimension, d.score, d.metrics_used, d.status,
       d.fallback, $rules_version AS rules_version
FROM dimension_run d
JOIN score_manager m USING (manager_no)
JOIN periods p USING (period_no);
