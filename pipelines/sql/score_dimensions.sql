-- Dimension score = weighted mean of the metrics that have data. Inputs: metric_score, rule_metric.
INSERT INTO dimension_score
WITH joined AS (
    SELECT ms.*, rm.weight
    FROM metric_score ms
    JOIN rule_metric rm USING (metric_key, dimension)
    JOIN periods p USING (grain, period)
),
final AS (
    SELECT manager_id, grain, period, dimension,
           sum(score * weight) FILTER (WHERE status = 'ok')
               / nullif(sum(weight) FILTER (WHERE status = 'ok'), 0) AS score,
           count(*) FILTER (WHERE status = 'ok') AS metrics_used,
           CASE WHEN count(*) FILTER (WHERE status = 'ok') > 0 THEN 'ok'
                ELSE 'insufficient_data' END AS status,
           'without ' || string_agg(metric_key || ' (' || replace(status, '_', ' ') || ')', ', '
                                    ORDER BY metric_key)
               FILTER (WHERE status IN ('no_feed', 'no_target')) AS fallback,
           $rules_version AS rules_version
    FROM joined GROUP BY ALL
)
SELECT * FROM final;
