-- Dimension score = weighted mean of the metrics that have data.
-- Inputs: metric_run (this run's metric scores on integer keys), rule_metric, score_manager,
-- periods. Builds dimension_run (for the index and the teams) and stores dimension_value, with
-- the dimensions' numbers (score_dimension) and the words for what they went without
-- (dimension_fallback); read them as dimension_score.
CREATE OR REPLACE TEMP TABLE dims AS
-- an integer per dimension (in name order), and each metric's bit within its dimension
SELECT metric_no, metric_key, dimension, weight,
       CAST(dense_rank() OVER (ORDER BY dimension) AS UTINYINT) AS dimension_no,
       CAST(1 AS BIGINT) << CAST(row_number() OVER (PARTITION BY dimension
                                                     ORDER BY metric_key) - 1 AS INTEGER) AS bit
FROM rule_metric;

CREATE OR REPLACE TEMP TABLE dimension_run AS
WITH per_dimension AS (
    -- grouped on one 64-bit key (period, dimension, manager): faster than on three columns
    SELECT CAST(cell(r.period_no, d.dimension_no, r.manager_no) & 4194303 AS INTEGER)
               AS manager_no,
           CAST(cell(r.period_no, d.dimension_no, r.manager_no) >> 32 AS INTEGER) AS period_no,
           CAST((cell(r.period_no, d.dimension_no, r.manager_no) >> 22) & 1023 AS UTINYINT)
               AS dimension_no,
           sum(CASE WHEN r.status = 'ok' THEN r.score * d.weight END)
               / nullif(sum(CASE WHEN r.status = 'ok' THEN d.weight END), 0) AS score,
           count_if(r.status = 'ok') AS metrics_used,
           -- which metrics were left out for want of a feed or a target, as bit sets: the
           -- words are written once per combination (dimension_fallback), not once per row
           bit_or(CASE WHEN r.status = 'no_feed' THEN d.bit ELSE 0 END) AS no_feed,
           bit_or(CASE WHEN r.status = 'no_target' THEN d.bit ELSE 0 END) AS no_target
    FROM metric_run r
    JOIN dims d USING (metric_no)
    GROUP BY cell(r.period_no, d.dimension_no, r.manager_no)
),
final AS (
    SELECT d.manager_no, d.period_no, d.dimension_no, n.dimension, d.score, d.metrics_used,
           CASE WHEN d.metrics_used > 0 THEN 'ok' ELSE 'insufficient_data' END AS status,
           d.no_feed, d.no_target
    FROM per_dimension d
    JOIN (SELECT DISTINCT dimension_no, dimension FROM dims) n USING (dimension_no)
)
SELECT * FROM final;

INSERT OR IGNORE INTO score_dimension
SELECT DISTINCT dimension_no, dimension FROM dims;

INSERT OR IGNORE INTO dimension_fallback
WITH combos AS (
    SELECT DISTINCT dimension_no, no_feed, no_target
    FROM dimension_run
    WHERE no_feed <> 0 OR no_target <> 0
)
SELECT c.dimension_no, c.no_feed, c.no_target,
       'without ' || string_agg(d.metric_key || CASE WHEN c.no_feed & d.bit <> 0
                                                  THEN ' (no feed)' ELSE ' (no target)' END,
                                ', ' ORDER BY d.metric_key) AS fallback
FROM combos c
JOIN dims d ON d.dimension_no = c.dimension_no AND (c.no_feed | c.no_target) & d.bit <> 0
GROUP BY ALL;

INSERT INTO dimension_value
SELECT d.manager_no, p.period_key, d.dimension_no, d.score, d.metrics_used, d.no_feed,
       d.no_target
FROM dimension_run d
JOIN periods p USING (period_no);
