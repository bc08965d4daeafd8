-- Periods: every day with data, placed in its ISO week, month and quarter (a quarter is a
-- season). Inputs: metric_day, feed_day, score_context, score_redo (the first day of the
-- periods being redone). Builds periods, period_day, feed_period.
-- period_no is this run's integer key for a period: the scoring joins run on it.
CREATE OR REPLACE TEMP TABLE period_day AS
WITH days AS (
    SELECT day FROM metric_day WHERE day >= (SELECT first_day FROM score_redo)
    UNION
    SELECT day FROM feed_day WHERE day >= (SELECT first_day FROM score_redo)
),
final AS (
    SELECT day, 'week' AS grain, strftime(day, '%G-W%V') AS period,
           CAST(date_trunc('week', day) AS DATE) AS period_start,
           CAST(date_trunc('week', day) AS DATE) + 6 AS period_end
    FROM days
    UNION ALL
    SELECT day, 'month', strftime(day, '%Y-%m'),
           CAST(date_trunc('month', day) AS DATE), last_day(day)
    FROM days
    UNION ALL
    SELECT day, 'quarter', CAST(year(day) AS VARCHAR) || 'Q' || CAST(quarter(day) AS VARCHAR),
           CAST(date_trunc('quarter', day) AS DATE),
           CAST(date_trunc('quarter', day) + INTERVAL 3 MONTH AS DATE) - 1
    FROM days
)
SELECT * FROM final;

CREATE OR REPLACE TEMP TABLE periods AS
WITH distinct_periods AS (
    SELECT DISTINCT grain, period, period_start, period_end FROM period_day
),
final AS (
    SELECT CAST(row_number() OVER (ORDER BY grain, period_start) AS INTEGER) AS period_no,
           grain, period, period_start, period_end,
           -- the stored key (score_period): the same period gets the same key in every run
           CAST(CASE grain WHEN 'week' THEN 1 WHEN 'month' THEN 2 ELSE 3 END * 1000000
                + datediff('day', DATE '1970-01-01', period_start) AS INTEGER) AS period_key,
           -- the part of the period the data covers: a running period is scored "so far"
           least(period_end, (SELECT data_end FROM score_context)) AS covered_end
    FROM distinct_periods
)
SELECT * FROM final;

CREATE OR REPLACE TEMP TABLE period_day AS
SELECT pd.day, pd.grain, p.period_no
FROM period_day pd JOIN periods p USING (grain, period);

-- Which feeds were delivered for which periods: a feed without a row in a period (an optional
-- feed never fed, or an export that stopped) gives its metrics the status no_feed.
CREATE OR REPLACE TEMP TABLE feed_period AS
SELECT DISTINCT f.feed, p.period_no
FROM feed_day f JOIN period_day p USING (day);
