-- Rank movement against the previous period of the same grain: a step of its own, as in a full
-- rescore the previous period is written by the same INSERT. Inputs: awareness_index, periods.
UPDATE awareness_index a
SET prev_score = p.score,
    prev_rank = p.rank_overall,
    movement = p.rank_overall - a.rank_overall,
    score_change = a.score - p.score
FROM periods cur, awareness_index p
WHERE a.grain = cur.grain AND a.period = cur.period
  AND p.grain = a.grain AND p.manager_id = a.manager_id
  AND p.period = CASE cur.grain
        WHEN 'week' THEN strftime(cur.period_start - 7, '%G-W%V')
        WHEN 'month' THEN strftime(cur.period_start - INTERVAL 1 MONTH, '%Y-%m')
        ELSE CAST(year(cur.period_start - INTERVAL 3 MONTH) AS VARCHAR) || 'Q'
             || CAST(quarter(cur.period_start - INTERVAL 3 MONTH) AS VARCHAR)
      END;
