-- Warehouse schema: the canonical feed tables, the load audit, and the score marts.
-- Idempotent: every statement can run against an existing warehouse.
-- Feed tables carry no PRIMARY KEY index: the loader keeps each natural key unique (repeats
-- within a file are quarantined, a re-exported row replaces the stored one), and an index over
-- millions of keys would cost more memory and time than the whole load.
-- Row ids and pseudonymised client ids are stored uncompressed: nearly every value is
-- different, so DuckDB's dictionary/FSST compression saved under half their space, and trying
-- it cost a quarter of writing a contact export (and slowed every scan that hashes them).

CREATE TABLE IF NOT EXISTS roster (
    manager_id      VARCHAR NOT NULL,
    name            VARCHAR NOT NULL,
    team_id         VARCHAR NOT NULL,
    team_name       VARCHAR NOT NULL,
    branch          VARCHAR NOT NULL,
    peer_group      VARCHAR NOT NULL,      -- corporate | retail | sme
    hire_date       DATE,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    public_display  BOOLEAN NOT NULL DEFAULT TRUE,  -- FALSE: never on wall screens
    crm_user_id     VARCHAR,
    lms_account     VARCHAR,
    email           VARCHAR
);

CREATE TABLE IF NOT EXISTS targets (
    scope           VARCHAR NOT NULL,      -- manager | team
    scope_id        VARCHAR NOT NULL,
    period          VARCHAR NOT NULL,      -- month: YYYY-MM
    metric_key      VARCHAR NOT NULL,
    target          DOUBLE NOT NULL
);

CREATE TABLE IF NOT EXISTS marketing_activity (
    activity_id     VARCHAR NOT NULL USING COMPRESSION uncompressed,
    manager_id      VARCHAR NOT NULL,
    occurred_at     TIMESTAMP NOT NULL,
    logged_at       TIMESTAMP,
    type            VARCHAR NOT NULL,
    channel         VARCHAR NOT NULL,
    proactive       BOOLEAN NOT NULL,
    prospect_id     VARCHAR USING COMPRESSION uncompressed,  -- keyed hash, never the raw id
    industry        VARCHAR,
    outcome         VARCHAR NOT NULL,
    amount          DOUBLE,
    co_manager_ids  VARCHAR,               -- ';'-separated manager ids
    notes           VARCHAR,
    load_run_id     BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS client_contact (
    contact_id         VARCHAR NOT NULL USING COMPRESSION uncompressed,
    manager_id         VARCHAR NOT NULL,
    client_id          VARCHAR NOT NULL USING COMPRESSION uncompressed,  -- keyed hash
    client_tier        VARCHAR,
    occurred_at        TIMESTAMP NOT NULL,
    logged_at          TIMESTAMP,
    channel            VARCHAR NOT NULL,
    purpose            VARCHAR NOT NULL,
    duration_min       DOUBLE,
    satisfaction       INTEGER,
    complaint          BOOLEAN NOT NULL DEFAULT FALSE,
    resolved_at        TIMESTAMP,
    follow_up_due      DATE,
    follow_up_done_at  TIMESTAMP,
    checklist_complete BOOLEAN,
    risk_flag          BOOLEAN NOT NULL DEFAULT FALSE,
    location_verified  BOOLEAN,
    notes              VARCHAR,
    load_run_id        BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS learning_event (
    event_id        VARCHAR NOT NULL USING COMPRESSION uncompressed,
    manager_id      VARCHAR NOT NULL,
    occurred_at     TIMESTAMP NOT NULL,
    course_id       VARCHAR,
    title           VARCHAR,
    category        VARCHAR NOT NULL,
    verb            VARCHAR NOT NULL,
    score_scaled    DOUBLE,
    duration_min    DOUBLE,
    certification   VARCHAR,
    load_run_id     BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS portfolio_event (
    event_id        VARCHAR NOT NULL USING COMPRESSION uncompressed,
    manager_id      VARCHAR NOT NULL,
    occurred_at     TIMESTAMP NOT NULL,
    kind            VARCHAR NOT NULL,      -- disbursed | inspection_due | overdue | npl | audit_finding | misconduct
    client_id       VARCHAR USING COMPRESSION uncompressed,  -- keyed hash
    amount          DOUBLE,
    confirmed       BOOLEAN NOT NULL DEFAULT TRUE,
    notes           VARCHAR,
    load_run_id     BIGINT NOT NULL
);

CREATE SEQUENCE IF NOT EXISTS load_run_seq START 1;

CREATE TABLE IF NOT EXISTS load_run (
    load_run_id     BIGINT PRIMARY KEY,
    source_file     VARCHAR NOT NULL,
    file_sha256     VARCHAR NOT NULL,
    file_size       BIGINT NOT NULL,
    feed            VARCHAR NOT NULL,
    profile         VARCHAR NOT NULL,
    detected        VARCHAR NOT NULL,      -- JSON: format, encoding, delimiter
    started_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP NOT NULL,
    rows_read       BIGINT NOT NULL,
    rows_landed     BIGINT NOT NULL,
    rows_duplicate  BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    affected_from   DATE               -- earliest day whose scores this load may change
);
ALTER TABLE load_run ADD COLUMN IF NOT EXISTS affected_from DATE;
-- read = landed + duplicate + quarantined + skipped. Voided and replaced count stored rows this
-- file removed: earlier learning events it voids, earlier rows a corrected export replaces.
ALTER TABLE load_run ADD COLUMN IF NOT EXISTS rows_skipped BIGINT DEFAULT 0;
ALTER TABLE load_run ADD COLUMN IF NOT EXISTS skipped VARCHAR;      -- JSON: reason -> rows
ALTER TABLE load_run ADD COLUMN IF NOT EXISTS rows_voided BIGINT DEFAULT 0;
ALTER TABLE load_run ADD COLUMN IF NOT EXISTS rows_replaced BIGINT DEFAULT 0;
-- TRUE: the file had no row ids, its profile derived them from the rows' values; such a file
-- replaces the earlier rows of its scope (pipelines/load.py `_replace_scope`). Recorded, not
-- read from the ids, so the derivation may change without changing which rows a file replaces.
ALTER TABLE load_run ADD COLUMN IF NOT EXISTS derived_ids BOOLEAN DEFAULT FALSE;

-- xAPI statements voided once stay voided: a page fetched again never brings them back, and a
-- voiding that arrives before its statement keeps that statement out when it comes
CREATE TABLE IF NOT EXISTS xapi_voided (
    statement_id    VARCHAR PRIMARY KEY,
    voided_by_run   BIGINT NOT NULL,
    voided_at       TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS quarantine (
    load_run_id     BIGINT NOT NULL,
    source_file     VARCHAR NOT NULL,
    line            BIGINT,                -- 1-based line (CSV) / row (xlsx) / record (JSON)
    column_name     VARCHAR,
    raw_value       VARCHAR,
    reason_code     VARCHAR NOT NULL,      -- key into the i18n catalogue: quarantine.<code>
    detail          VARCHAR,               -- English, for the warehouse and the CLI
    detail_code     VARCHAR,               -- the same in the reader's language: detail.<code>
    detail_args     VARCHAR                -- JSON object of its values; never client data
);
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS detail_code VARCHAR;
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS detail_args VARCHAR;
-- A forced reload of the same file (same sha256, so the same lines) settles its earlier runs'
-- quarantined lines: resolved_by_run, the line landed (or was found stored) in that run;
-- requarantined_by_run, it failed again there, and that run's rows are the open ones. Open:
-- both NULL.
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS resolved_by_run BIGINT;
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS requarantined_by_run BIGINT;

-- Rows a corrected export without row ids replaced (it no longer has them), kept as they were
-- stored (client ids pseudonymised): what the boards counted before the correction.
CREATE TABLE IF NOT EXISTS replaced_row (
    feed            VARCHAR NOT NULL,
    row_key         VARCHAR NOT NULL,      -- the feed's key, as stored
    occurred_on     DATE,
    manager_id      VARCHAR,
    loaded_by_run   BIGINT NOT NULL,       -- the load run that stored it
    replaced_by_run BIGINT NOT NULL,
    replaced_at     TIMESTAMP NOT NULL,    -- UTC
    stored          VARCHAR NOT NULL       -- JSON: the whole row as it was stored
);

-- One row per warehouse change that scoring has to look at.
CREATE TABLE IF NOT EXISTS pipeline_state (
    key             VARCHAR PRIMARY KEY,
    value           VARCHAR NOT NULL
);

-- Score marts --------------------------------------------------------------
CREATE TABLE IF NOT EXISTS rule_metric (
    metric_key      VARCHAR PRIMARY KEY,
    dimension       VARCHAR NOT NULL,
    feed            VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,      -- ratio | rate | distinct | entropy | attainment
    method          VARCHAR NOT NULL,      -- linear | peer_percentile
    zero_at         DOUBLE,
    full_at         DOUBLE,
    weight          DOUBLE NOT NULL,
    min_data        DOUBLE NOT NULL,
    target_metric   VARCHAR,
    n_categories    INTEGER,
    metric_no       INTEGER NOT NULL       -- position in rules.toml: the key scoring joins on
);

-- Each metric's SQL as the rules had it when scored: the dashboard lists the log rows behind a
-- number from the published snapshot, with the rules that produced it (not today's file).
CREATE TABLE IF NOT EXISTS rule_metric_sql (
    metric_key      VARCHAR PRIMARY KEY,
    num_sql         VARCHAR NOT NULL,
    den_sql         VARCHAR NOT NULL,
    where_sql       VARCHAR NOT NULL,
    date_sql        VARCHAR NOT NULL,
    key_sql         VARCHAR
);

CREATE TABLE IF NOT EXISTS rule_gate (
    metric_key      VARCHAR PRIMARY KEY,
    reason          VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS rule_team_metric (
    metric_key      VARCHAR PRIMARY KEY,
    dimension       VARCHAR NOT NULL,
    from_metric     VARCHAR NOT NULL,      -- members' numerators of this metric, summed
    target_metric   VARCHAR NOT NULL,      -- against the team's target (targets, scope team)
    weight          DOUBLE NOT NULL        -- next to the members' mean (weight 1)
);

CREATE TABLE IF NOT EXISTS team_score (
    team_id         VARCHAR NOT NULL,
    grain           VARCHAR NOT NULL,
    period          VARCHAR NOT NULL,
    dimension       VARCHAR NOT NULL,      -- one of the ten, or 'index'
    score           DOUBLE,                -- members' mean blended with team-only metrics
    member_mean     DOUBLE,
    member_min      DOUBLE,
    members_scored  INTEGER NOT NULL,
    members_total   INTEGER NOT NULL,
    team_metrics    VARCHAR,               -- team-only metrics used: 'team_loan_attainment=87'
    rules_version   VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS rule_dimension (
    dimension       VARCHAR PRIMARY KEY,
    weight          DOUBLE NOT NULL,
    floor           DOUBLE                 -- conduct gate: below it, not eligible
);

-- Per manager and fragment (the days an ISO week shares with a month, named by its first day):
-- the additive pieces every ratio, rate, count and attainment metric is built from.
-- Scoring joins millions of rows on integer keys: text keys carried through those joins and
-- windows cost more than the arithmetic. score_manager numbers the roster at each full rescore
-- (a roster load always brings one), so the stored metric_day rows keep their meaning.
CREATE TABLE IF NOT EXISTS score_manager (
    manager_no      INTEGER PRIMARY KEY,
    manager_id      VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS metric_day (   -- additive metrics per manager and week∩month fragment
    manager_no      INTEGER NOT NULL,
    day             DATE NOT NULL,         -- first day of the fragment
    metric_no       INTEGER NOT NULL,
    num             DOUBLE,
    den             DOUBLE,
    n               BIGINT NOT NULL
);

-- The same sums per manager and month: a quarter adds up its three months, and a rescore after
-- new data sums again only the months from the first day it redoes.
CREATE TABLE IF NOT EXISTS metric_month (
    manager_no      INTEGER NOT NULL,
    month           DATE NOT NULL,         -- its first day
    metric_no       INTEGER NOT NULL,
    num             DOUBLE,
    den             DOUBLE,
    n               BIGINT NOT NULL
);

-- The fragments (as in metric_day) each feed has rows in: a feed with none in a period was not
-- delivered for it. Kept from run to run, so a rescore after new data looks only at its days.
CREATE TABLE IF NOT EXISTS feed_day (
    feed            VARCHAR NOT NULL,
    day             DATE NOT NULL
);

-- Distinct counts (clients reached, industries, course subjects) and entropies (channel and
-- subject spread) per manager, period and metric, kept from run to run: they do not add up
-- across days, so a week of new rows after the last day scored adds its first-seen values to
-- these instead of recounting the quarter, and a metric whose feed got no new rows keeps them.
CREATE TABLE IF NOT EXISTS keyed_count (
    manager_no      INTEGER NOT NULL,
    period_key      INTEGER NOT NULL,
    metric_no       INTEGER NOT NULL,
    distinct_k      BIGINT NOT NULL,
    entropy         DOUBLE,                -- entropy metrics only
    n               BIGINT NOT NULL        -- the rows behind them
);

-- The values each distinct metric has seen since the first day of the periods the next new
-- day falls in (its week and quarter), with the last fragment each was seen in: when rows are
-- appended after the last day scored, a value counts as new in a period unless seen earlier in
-- it, and this answers that without reading the quarter's rows again.
CREATE TABLE IF NOT EXISTS keyed_seen (
    metric_no       INTEGER NOT NULL,
    k               UBIGINT NOT NULL,      -- hash of manager and value, as the scoring keys them
    day             DATE NOT NULL          -- the last fragment it was seen in
);

-- Every period scored, under a key that stays the same from run to run: kind of period times a
-- million plus the days from 1970 to its first day; and the rules version that scored it (new
-- rules rescore every period, so one version holds for all of a period's rows).
CREATE TABLE IF NOT EXISTS score_period (
    period_key      INTEGER PRIMARY KEY,
    grain           VARCHAR NOT NULL,      -- week | month | quarter
    period          VARCHAR NOT NULL,
    period_start    DATE NOT NULL,
    period_end      DATE NOT NULL,
    rules_version   VARCHAR NOT NULL
);

-- One row per manager, period and metric, on integer keys and numbers only: millions of rows of
-- text (keys, status, reason, rules version) cost the scoring more than half a second to write.
-- Read it as metric_score, which puts the words back.
CREATE TABLE IF NOT EXISTS metric_value (
    manager_no      INTEGER NOT NULL,
    period_key      INTEGER NOT NULL,
    metric_no       INTEGER NOT NULL,
    value           DOUBLE,
    data_amount     DOUBLE NOT NULL,       -- also what min_data is compared with, below it
    score           DOUBLE,                -- 0..100, NULL when status <> 'ok'
    status_no       UTINYINT NOT NULL      -- 0 ok, 1 insufficient_data, 2 no_target, 3 no_feed
);

CREATE OR REPLACE VIEW metric_score AS
SELECT m.manager_id, p.grain, p.period, rm.metric_key, rm.dimension, v.value, v.data_amount,
       v.score,
       CASE v.status_no WHEN 0 THEN 'ok' WHEN 1 THEN 'insufficient_data' WHEN 2 THEN 'no_target'
                        ELSE 'no_feed' END AS status,
       -- why not ok, in words: '2 of the 5 needed'
       CASE v.status_no
           WHEN 1 THEN printf('%g of the %g needed', v.data_amount, rm.min_data)
           WHEN 2 THEN 'no ' || rm.target_metric || ' target for this period'
           WHEN 3 THEN 'no ' || rm.feed || ' rows in this period'
       END AS reason,
       p.rules_version
FROM metric_value v
JOIN score_manager m USING (manager_no)
JOIN score_period p USING (period_key)
JOIN rule_metric rm USING (metric_no);

-- Dimension scores per manager, period and dimension, on integer keys and numbers only (like
-- metric_value; read them as dimension_score). The dimensions are numbered in name order at each
-- full rescore; no_feed and no_target are bit sets of the dimension's metrics, in key order,
-- left out for want of an optional feed or a target: the score is their fallback.
CREATE TABLE IF NOT EXISTS score_dimension (
    dimension_no    UTINYINT PRIMARY KEY,
    dimension       VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS dimension_fallback (
    dimension_no    UTINYINT NOT NULL,
    no_feed         BIGINT NOT NULL,
    no_target       BIGINT NOT NULL,
    fallback        VARCHAR NOT NULL,      -- e.g. 'without loan_attainment (no target)'
    PRIMARY KEY (dimension_no, no_feed, no_target)
);

CREATE TABLE IF NOT EXISTS dimension_value (
    manager_no      INTEGER NOT NULL,
    period_key      INTEGER NOT NULL,
    dimension_no    UTINYINT NOT NULL,
    score           DOUBLE,
    metrics_used    INTEGER NOT NULL,      -- none: insufficient_data
    no_feed         BIGINT NOT NULL DEFAULT 0,
    no_target       BIGINT NOT NULL DEFAULT 0
);

CREATE OR REPLACE VIEW dimension_score AS
SELECT m.manager_id, p.grain, p.period, d.dimension, v.score, v.metrics_used,
       CASE WHEN v.metrics_used > 0 THEN 'ok' ELSE 'insufficient_data' END AS status,
       f.fallback, p.rules_version
FROM dimension_value v
JOIN score_manager m USING (manager_no)
JOIN score_period p USING (period_key)
JOIN score_dimension d USING (dimension_no)
LEFT JOIN dimension_fallback f USING (dimension_no, no_feed, no_target);

CREATE TABLE IF NOT EXISTS awareness_index (
    manager_id      VARCHAR NOT NULL,
    grain           VARCHAR NOT NULL,
    period          VARCHAR NOT NULL,
    score           DOUBLE,
    dimensions_used INTEGER NOT NULL,
    status          VARCHAR NOT NULL,
    eligible        BOOLEAN NOT NULL,
    gate_reason     VARCHAR,               -- e.g. 'floor:integrity'
    rank_overall    INTEGER,
    rank_peer       INTEGER,
    rules_version   VARCHAR NOT NULL,
    prev_score      DOUBLE,                -- the same grain's previous period
    prev_rank       INTEGER,
    movement        INTEGER,               -- places gained (+) or lost (-) in the overall rank
    score_change    DOUBLE                 -- index points gained since the previous period
);

-- The game. Definitions and XP are rebuilt from the rules file at every award run; awards,
-- celebrations and closed seasons are history: kept across rule changes and mart upgrades.

CREATE TABLE IF NOT EXISTS level_def (
    level_no        INTEGER PRIMARY KEY,   -- 1 = the first level
    min_xp          DOUBLE NOT NULL,
    name_zh_tw      VARCHAR NOT NULL,
    name_zh_cn      VARCHAR NOT NULL,
    name_en         VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS badge_def (
    badge_key       VARCHAR PRIMARY KEY,
    scope           VARCHAR NOT NULL,      -- individual | team
    per             VARCHAR NOT NULL,      -- week | month | quarter | once
    tiers           VARCHAR NOT NULL,      -- JSON: {"bronze": 75, "silver": 85, "gold": 95}
    name_zh_tw      VARCHAR NOT NULL,
    name_zh_cn      VARCHAR NOT NULL,
    name_en         VARCHAR NOT NULL,
    criteria_zh_tw  VARCHAR NOT NULL,
    criteria_zh_cn  VARCHAR NOT NULL,
    criteria_en     VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS xp_day (        -- XP per person, day and rule, after the daily cap
    manager_id      VARCHAR NOT NULL,
    day             DATE NOT NULL,
    xp_rule         VARCHAR NOT NULL,
    qualifying_rows BIGINT NOT NULL,
    xp              DOUBLE NOT NULL
);

CREATE TABLE IF NOT EXISTS xp_week (       -- XP over time, for the dashboard's progress chart
    manager_id      VARCHAR NOT NULL,
    week_start      DATE NOT NULL,         -- Monday
    xp              DOUBLE NOT NULL,       -- earned that week
    xp_total        DOUBLE NOT NULL,       -- earned up to the week's end
    level_no        INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS manager_xp (    -- where each person stands now
    manager_id      VARCHAR PRIMARY KEY,
    xp_total        DOUBLE NOT NULL,
    level_no        INTEGER NOT NULL,
    next_level_xp   DOUBLE,                -- NULL at the top level
    as_of           DATE                   -- the last day with data
);

CREATE TABLE IF NOT EXISTS level_up (      -- the data day each person reached each level
    manager_id      VARCHAR NOT NULL,
    level_no        INTEGER NOT NULL,
    reached_on      DATE NOT NULL,
    xp_total        DOUBLE NOT NULL
);

CREATE TABLE IF NOT EXISTS badge_award (
    award_id        VARCHAR PRIMARY KEY,
    badge_key       VARCHAR NOT NULL,
    tier            VARCHAR NOT NULL,      -- bronze | silver | gold
    scope           VARCHAR NOT NULL,      -- individual | team
    subject_id      VARCHAR NOT NULL,      -- manager_id or team_id
    grain           VARCHAR NOT NULL,      -- week | month | quarter (once badges: week)
    period          VARCHAR NOT NULL,      -- the period it was earned in
    value           DOUBLE,
    evidence        VARCHAR NOT NULL,      -- JSON: value, tier threshold, the SQL's evidence
    earned_on       DATE NOT NULL,         -- the data day it was earned (period end)
    awarded_at      TIMESTAMP NOT NULL,    -- when the pipeline awarded it (UTC)
    rules_version   VARCHAR NOT NULL,
    revoked_at      TIMESTAMP,             -- set when corrected data no longer supports it
    revoke_reason   VARCHAR
);

-- Where each person and team stands on each badge in its latest period (below a tier too):
-- what the next tier needs. Rewritten by every award run.
CREATE TABLE IF NOT EXISTS badge_progress (
    badge_key       VARCHAR NOT NULL,
    subject_id      VARCHAR NOT NULL,
    period          VARCHAR NOT NULL,
    value           DOUBLE NOT NULL,
    finished        BOOLEAN NOT NULL       -- FALSE: the period is still running
);

CREATE TABLE IF NOT EXISTS celebration (   -- what happened: new badges, level-ups, overtakes
    event_id        VARCHAR PRIMARY KEY,   -- stable: the same event is recorded once
    kind            VARCHAR NOT NULL,      -- badge | level_up | overtake
    scope           VARCHAR NOT NULL,      -- individual | team
    subject_id      VARCHAR NOT NULL,
    other_id        VARCHAR,               -- overtake: the best-placed person passed
    badge_key       VARCHAR,
    tier            VARCHAR,
    level_no        INTEGER,
    grain           VARCHAR,
    period          VARCHAR,
    new_rank        INTEGER,
    passed          INTEGER,               -- overtake: how many people were passed
    occurred_on     DATE NOT NULL,         -- the data day it happened
    recorded_at     TIMESTAMP NOT NULL     -- when the pipeline first saw it (UTC)
);

CREATE TABLE IF NOT EXISTS season (        -- a closed quarter: its standings never change again
    season          VARCHAR PRIMARY KEY,   -- 2026Q3
    closed_at       TIMESTAMP NOT NULL,
    data_end        DATE NOT NULL,
    rules_version   VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS season_standing (
    season          VARCHAR NOT NULL,
    rank_overall    INTEGER,               -- NULL: not ranked (gate or too little data)
    rank_peer       INTEGER,
    manager_id      VARCHAR NOT NULL,
    name            VARCHAR NOT NULL,
    team_id         VARCHAR NOT NULL,
    team_name       VARCHAR NOT NULL,
    branch          VARCHAR NOT NULL,
    peer_group      VARCHAR NOT NULL,
    score           DOUBLE,
    status          VARCHAR NOT NULL,
    eligible        BOOLEAN NOT NULL,
    gate_reason     VARCHAR,
    badges          INTEGER NOT NULL,      -- badges earned in the season's periods
    xp_total        DOUBLE NOT NULL,       -- at the season's last day
    level_no        INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS season_team_standing (
    season          VARCHAR NOT NULL,
    rank            INTEGER,
    team_id         VARCHAR NOT NULL,
    team_name       VARCHAR NOT NULL,
    branch          VARCHAR NOT NULL,
    score           DOUBLE,
    members_scored  INTEGER NOT NULL,
    members_total   INTEGER NOT NULL,
    badges          INTEGER NOT NULL
);
