-- Badge candidates: the tier each badge's value reaches in a finished period (per-period
-- badges), or the first week each tier was reached (once badges), past the conduct gate.
-- Inputs: badge_raw, badge_tier, badge_rule, badge_period, awareness_index.
-- Builds badge_candidate (what should be held now) and badge_gated (what the gate withholds).
CREATE OR REPLACE TEMP TABLE badge_reached AS
WITH raw AS (      -- one value per subject and period: the best, with its evidence
    SELECT badge_key, subject_id, period, max(value) AS value,
           arg_max(evidence, value) AS evidence
    FROM badge_raw
    GROUP BY ALL
),
tiered AS (        -- every tier the value reaches, in a period the badge may be earned in
    SELECT r.*, br.scope, CASE br.per WHEN 'once' THEN 'week' ELSE br.per END AS grain,
           br.per, t.tier, t.tier_rank, t.needs, p.period_start,
           CASE WHEN br.per = 'once' THEN p.covered_end ELSE p.period_end END AS earned_on
    FROM raw r
    JOIN badge_rule br USING (badge_key)
    JOIN badge_tier t ON t.badge_key = r.badge_key AND r.value >= t.needs
    JOIN badge_period p ON p.grain = CASE br.per WHEN 'once' THEN 'week' ELSE br.per END
     AND p.period = r.period
    -- a period badge waits for the period to end, so it is never shown and then taken back
    WHERE br.per = 'once' OR p.finished
),
final AS (
    SELECT t.*,
           t.scope = 'individual' AND a.eligible IS DISTINCT FROM TRUE AS gated,
           coalesce(a.gate_reason, 'not scored in ' || t.period) AS gate_reason
    FROM tiered t
    LEFT JOIN awareness_index a ON t.scope = 'individual' AND a.manager_id = t.subject_id
     AND a.grain = t.grain AND a.period = t.period
)
SELECT * FROM final;

CREATE OR REPLACE TEMP TABLE badge_gated AS
SELECT badge_key, subject_id, period, min(gate_reason) AS gate_reason
FROM badge_reached WHERE gated
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE badge_candidate AS
WITH periodic AS ( -- the highest tier per period
    SELECT * FROM badge_reached
    WHERE per <> 'once' AND NOT gated
    QUALIFY row_number() OVER (PARTITION BY badge_key, subject_id, period
                               ORDER BY tier_rank DESC) = 1
),
once AS (          -- each tier once, in the first eligible week that reached it
    SELECT * FROM badge_reached
    WHERE per = 'once' AND NOT gated
    QUALIFY row_number() OVER (PARTITION BY badge_key, subject_id, tier
                               ORDER BY period_start) = 1
),
final AS (
    SELECT badge_key, scope, subject_id, grain, period, tier, value, earned_on,
           CASE WHEN per = 'once' THEN '' ELSE period END AS nk_period,
           json_object('value', value, 'tier', tier, 'needs', needs, 'period', period,
                       'detail', evidence)::VARCHAR AS evidence
    FROM (SELECT * FROM periodic UNION ALL SELECT * FROM once)
)
SELECT * FROM final;
