-- Team scores per dimension and period: the members' mean, blended with team-only metrics
-- (a team target met), plus the team's awareness index ('index').
-- Inputs: dimension_run, awareness_index, metric_day, period_day, periods, score_manager,
-- rule_metric, roster, targets, rule_team_metric.
INSERT INTO team_score
WITH members AS (      -- this run's dimension scores, on integer keys until the team is known
    SELECT r.team_id, p.grain, p.period, d.dimension, d.score, d.status
    FROM dimension_run d
    JOIN score_manager m USING (manager_no)
    JOIN roster r USING (manager_id)
    JOIN periods p USING (period_no)
),
per_dimension AS (
    SELECT team_id, grain, period, dimension,
           avg(score) FILTER (WHERE status = 'ok') AS member_mean,
           min(score) FILTER (WHERE status = 'ok') AS member_min,
           count(*) FILTER (WHERE status = 'ok') AS members_scored,
           count(*) AS members_total
    FROM members GROUP BY ALL
),
team_num AS (      -- members' numerators of the metric a team metric builds on
    SELECT r.team_id, p.grain, p.period, tm.metric_key, sum(md.num) AS num
    FROM metric_day md
    JOIN rule_metric rm USING (metric_no)
    JOIN rule_team_metric tm ON tm.from_metric = rm.metric_key
    JOIN score_manager m USING (manager_no)
    JOIN roster r USING (manager_id)
    JOIN period_day pd USING (day)
    JOIN periods p USING (period_no)
    GROUP BY ALL
),
team_target AS (   -- the team's monthly targets spread over the days the data covers
    SELECT t.scope_id AS team_id, p.grain, p.period, tm.metric_key,
           sum(t.target * (datediff('day',
                   greatest(p.period_start, CAST(try_strptime(t.period || '-01', '%Y-%m-%d') AS DATE)),
                   least(p.covered_end, last_day(CAST(try_strptime(t.period || '-01', '%Y-%m-%d')
                                                      AS DATE)))) + 1)
               / day(last_day(CAST(try_strptime(t.period || '-01', '%Y-%m-%d') AS DATE)))) AS target
    FROM targets t
    JOIN rule_team_metric tm ON tm.target_metric = t.metric_key
    JOIN periods p
      ON CAST(try_strptime(t.period || '-01', '%Y-%m-%d') AS DATE) <= p.covered_end
     AND last_day(CAST(try_strptime(t.period || '-01', '%Y-%m-%d') AS DATE)) >= p.period_start
    WHERE t.scope = 'team'
    GROUP BY ALL
),
team_metric AS (
    SELECT tt.team_id, tt.grain, tt.period, tm.dimension, tm.metric_key, tm.weight,
           100.0 * least(1, coalesce(tn.num, 0) / tt.target) AS score
    FROM team_target tt
    JOIN rule_team_metric tm USING (metric_key)
    LEFT JOIN team_num tn USING (team_id, grain, period, metric_key)
    WHERE tt.target > 0
),
team_metric_sum AS (
    SELECT team_id, grain, period, dimension,
           sum(score * weight) AS weighted, sum(weight) AS weight,
           string_agg(metric_key || '=' || round(score)::INTEGER::VARCHAR, ', ') AS team_metrics
    FROM team_metric GROUP BY ALL
),
blended AS (
    SELECT d.*,
           -- the members' mean counts once; team metrics add by weight; either may be missing
           (coalesce(d.member_mean, 0) + coalesce(s.weighted, 0))
               / nullif((d.member_mean IS NOT NULL)::INTEGER + coalesce(s.weight, 0), 0)
               AS score,
           s.team_metrics
    FROM per_dimension d
    LEFT JOIN team_metric_sum s USING (team_id, grain, period, dimension)
),
team_index AS (
    SELECT r.team_id, a.grain, a.period, 'index' AS dimension,
           avg(a.score) FILTER (WHERE a.status = 'ok') AS member_mean,
           min(a.score) FILTER (WHERE a.status = 'ok') AS member_min,
           count(*) FILTER (WHERE a.status = 'ok') AS members_scored,
           count(*) AS members_total
    FROM awareness_index a
    JOIN roster r USING (manager_id)
    JOIN periods p USING (grain, period)
    GROUP BY ALL
),
final AS (
    SELECT team_id, grain, period, dimension, score, member_mean, member_min, members_scored,
           members_total, team_metrics, $rules_version AS rules_version
    FROM blended
    UNION ALL
    SELECT team_id, grain, period, dimension, member_mean, member_mean, member_min,
           members_scored, members_total, NULL, $rules_version
    FROM team_index
)
SELECT * FROM final;
