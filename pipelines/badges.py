"""The game after each scoring: XP and levels, badge awards and revocations, celebrations."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb

from pipelines import db
from pipelines.rules import Badge, Rules, RulesError

OVERTAKE_TOP = 10     # overtakes are celebrated among the top of the board only


@dataclass
class AwardResult:
    awarded: int = 0
    revoked: int = 0
    active: int = 0
    level_ups: int = 0
    celebrations: int = 0       # new events recorded by this run
    xp_managers: int = 0


def needs_award(con: duckdb.DuckDBPyConnection) -> bool:
    return db.get_state(con, "awarded") != db.get_state(con, "scored")


def award(con: duckdb.DuckDBPyConnection, rules: Rules,
          now: datetime | None = None) -> AwardResult:
    """Recompute XP, levels and every badge's candidates from the current scores, then bring the
    stored awards in line: new ones awarded, unsupported ones revoked (never deleted).
    Running it twice changes nothing."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    con.begin()
    try:
        data_end = db.data_end(con)
        _definitions(con, rules)
        _xp(con, rules, data_end)
        _calendar(con, data_end)
        _candidates(con, rules)
        result = _sync_awards(con, rules, now)
        result.level_ups, result.celebrations = _celebrate(con, now)
        result.xp_managers = con.execute("SELECT count(*) FROM manager_xp").fetchall()[0][0]
        if (result.awarded or result.revoked or result.celebrations
                or needs_award(con)):   # new XP and levels come with new scores
            db.set_state(con, "game_changed", now.isoformat())
        db.set_state(con, "awarded", db.get_state(con, "scored") or "")
        db.set_state(con, "awarded_data_end", str(data_end) if data_end else "")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return result


def _definitions(con: duckdb.DuckDBPyConnection, rules: Rules) -> None:
    con.execute("DELETE FROM level_def")
    con.executemany("INSERT INTO level_def VALUES (?, ?, ?, ?, ?)", [
        (lv.no, lv.min_xp, lv.name["zh_TW"], lv.name["zh_CN"], lv.name["en"])
        for lv in rules.levels] or [(1, 0, "見習經理", "见习经理", "Trainee")])
    con.execute("DELETE FROM badge_def")
    if rules.badges:
        con.executemany("INSERT INTO badge_def VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            (b.key, b.scope, b.per, json.dumps(dict(b.tiers)), b.name["zh_TW"],
             b.name["zh_CN"], b.name["en"], b.criteria["zh_TW"], b.criteria["zh_CN"],
             b.criteria["en"]) for b in rules.badges])


def _xp(con: duckdb.DuckDBPyConnection, rules: Rules, data_end: date | None) -> None:
    """XP per person, day and rule with the daily cap; totals, levels and the day each level
    was reached."""
    con.execute("DELETE FROM xp_day")
    for x in rules.xp:
        try:
            # rules are trusted configuration (the admin's SQL); values are still bound
            con.execute(
                f"INSERT INTO xp_day SELECT manager_id, CAST(({x.date}) AS DATE), ?, count(*), "
                f"least(count(*) * ?, ?) FROM {x.feed} "
                f"WHERE ({x.where}) AND ({x.date}) IS NOT NULL GROUP BY ALL",
                [x.key, x.points, x.daily_cap])
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise RulesError(f"{rules.path}:{x.line}: xp {x.key}: {first}") from exc
    con.execute("DELETE FROM manager_xp")
    con.execute("""
        INSERT INTO manager_xp
        WITH totals AS (
            SELECT r.manager_id, coalesce(sum(x.xp), 0) AS xp_total
            FROM roster r LEFT JOIN xp_day x USING (manager_id)
            GROUP BY r.manager_id
        )
        SELECT t.manager_id, t.xp_total,
               (SELECT max(level_no) FROM level_def WHERE min_xp <= t.xp_total),
               (SELECT min(min_xp) FROM level_def WHERE min_xp > t.xp_total),
               CAST(? AS DATE)
        FROM totals t""", [data_end])
    con.execute("DELETE FROM xp_week")
    con.execute("""
        INSERT INTO xp_week
        WITH weekly AS (
            SELECT manager_id, CAST(date_trunc('week', day) AS DATE) AS week_start, sum(xp) AS xp
            FROM xp_day WHERE manager_id IN (SELECT manager_id FROM roster) GROUP BY ALL
        ),
        running AS (
            SELECT *, sum(xp) OVER (PARTITION BY manager_id ORDER BY week_start) AS xp_total
            FROM weekly
        )
        SELECT r.*, (SELECT max(level_no) FROM level_def WHERE min_xp <= r.xp_total)
        FROM running r""")
    con.execute("DELETE FROM level_up")
    con.execute("""
        INSERT INTO level_up
        WITH daily AS (
            SELECT manager_id, day, sum(xp) AS xp FROM xp_day GROUP BY ALL
        ),
        running AS (
            SELECT manager_id, day, sum(xp) OVER (PARTITION BY manager_id ORDER BY day) AS total
            FROM daily
        )
        SELECT r.manager_id, l.level_no, min(r.day), arg_min(r.total, r.day)
        FROM running r JOIN level_def l ON l.min_xp <= r.total AND l.level_no > 1
        WHERE r.manager_id IN (SELECT manager_id FROM roster)
        GROUP BY r.manager_id, l.level_no""")


def _calendar(con: duckdb.DuckDBPyConnection, data_end: date | None) -> None:
    """Every week, month and quarter from the first data to the last, with its days; a period
    is finished when the data reaches its last day."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE badge_period AS
        WITH bounds AS (
            SELECT CAST(min(d) AS DATE) AS first_day, CAST(? AS DATE) AS last_day FROM (
                SELECT min(occurred_at) AS d FROM marketing_activity
                UNION ALL SELECT min(occurred_at) FROM client_contact
                UNION ALL SELECT min(occurred_at) FROM learning_event)
        ),
        days AS (
            SELECT CAST(unnest(generate_series(first_day, last_day, INTERVAL 1 DAY)) AS DATE)
                AS day
            FROM bounds WHERE first_day IS NOT NULL
        ),
        labelled AS (
            SELECT 'week' AS grain, strftime(day, '%G-W%V') AS period,
                   CAST(date_trunc('week', day) AS DATE) AS period_start,
                   CAST(date_trunc('week', day) AS DATE) + 6 AS period_end
            FROM days
            UNION
            SELECT 'month', strftime(day, '%Y-%m'), CAST(date_trunc('month', day) AS DATE),
                   last_day(day)
            FROM days
            UNION
            SELECT 'quarter', CAST(year(day) AS VARCHAR) || 'Q' || CAST(quarter(day) AS VARCHAR),
                   CAST(date_trunc('quarter', day) AS DATE),
                   CAST(date_trunc('quarter', day) + INTERVAL 3 MONTH AS DATE) - 1
            FROM days
        )
        SELECT l.*, l.period_end <= b.last_day AS finished,
               least(l.period_end, b.last_day) AS covered_end
        FROM labelled l, bounds b""", [data_end])


def _candidates(con: duckdb.DuckDBPyConnection, rules: Rules) -> None:
    """What each badge's SQL finds now: raw values, then the tier each one reaches."""
    con.execute("CREATE OR REPLACE TEMP TABLE badge_raw (badge_key VARCHAR, subject_id VARCHAR, "
                "period VARCHAR, value DOUBLE, evidence VARCHAR)")
    con.execute("CREATE OR REPLACE TEMP TABLE badge_tier (badge_key VARCHAR, tier VARCHAR, "
                "tier_rank INTEGER, needs DOUBLE)")
    for b in rules.badges:
        con.execute(_raw_sql(con, rules, b), [b.key])
        con.executemany("INSERT INTO badge_tier VALUES (?, ?, ?, ?)", [
            (b.key, tier, i, needs) for i, (tier, needs) in enumerate(b.tiers)])
    con.execute("CREATE OR REPLACE TEMP TABLE badge_rule AS SELECT * FROM (VALUES "
                + ", ".join("(?, ?, ?)" for _ in rules.badges) + ") t(badge_key, scope, per)"
                if rules.badges else
                "CREATE OR REPLACE TEMP TABLE badge_rule (badge_key VARCHAR, scope VARCHAR, "
                "per VARCHAR)",
                [v for b in rules.badges for v in (b.key, b.scope, b.per)])
    con.execute(db.sql_file("award_candidates.sql"))
    # the latest period's value of every badge for every subject, under a tier too: what the
    # person page shows as "3 of 4 weeks for silver"
    con.execute("DELETE FROM badge_progress")
    con.execute("""
        INSERT INTO badge_progress
        SELECT r.badge_key, r.subject_id, arg_max(r.period, p.period_start),
               arg_max(r.value, p.period_start), arg_max(p.finished, p.period_start)
        FROM (SELECT badge_key, subject_id, period, max(value) AS value FROM badge_raw
              GROUP BY ALL) r
        JOIN badge_rule br USING (badge_key)
        JOIN badge_period p ON p.period = r.period
         AND p.grain = CASE br.per WHEN 'once' THEN 'week' ELSE br.per END
        GROUP BY r.badge_key, r.subject_id""")


def _raw_sql(con: duckdb.DuckDBPyConnection, rules: Rules, b: Badge) -> str:
    """The badge's own SQL wrapped to the columns awarding needs; a broken one names its line."""
    inner = b.sql.strip().rstrip(";")
    try:
        cur = con.cursor()
        cur.execute(f"SELECT * FROM ({inner}) LIMIT 0")
        cols = {d[0] for d in cur.description}
        cur.close()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise RulesError(f"{rules.path}:{b.line}: badge {b.key}: {first}") from exc
    missing = {"subject_id", "period", "value"} - cols
    if missing:
        raise RulesError(f"{rules.path}:{b.line}: badge {b.key}: its sql must return "
                         f"{', '.join(sorted(missing))}")
    evidence = "CAST(evidence AS VARCHAR)" if "evidence" in cols else "NULL"
    return (f"INSERT INTO badge_raw SELECT ?, CAST(subject_id AS VARCHAR), "
            f"CAST(period AS VARCHAR), CAST(value AS DOUBLE), {evidence} FROM ({inner}) "
            "WHERE subject_id IS NOT NULL AND value IS NOT NULL")


def _sync_awards(con: duckdb.DuckDBPyConnection, rules: Rules, now: datetime) -> AwardResult:
    # what is held and no longer supported: revoked with the reason, the row stays
    revoked = con.execute("""
        WITH held AS (
            SELECT a.*, CASE WHEN r.per = 'once' THEN '' ELSE a.period END AS nk_period
            FROM badge_award a LEFT JOIN badge_rule r USING (badge_key)
            WHERE a.revoked_at IS NULL
        ),
        unsupported AS (
            SELECT h.award_id, h.badge_key, h.subject_id, h.period, h.tier,
                   h.badge_key NOT IN (SELECT badge_key FROM badge_rule) AS removed
            FROM held h
            ANTI JOIN badge_candidate c
              ON c.badge_key = h.badge_key AND c.subject_id = h.subject_id
             AND c.tier = h.tier AND c.nk_period = h.nk_period
            -- someone who left (no longer active) is no longer scored: what they earned stays
            WHERE h.scope = 'team' OR h.subject_id IN (SELECT manager_id FROM roster
                                                       WHERE active)
               OR h.badge_key NOT IN (SELECT badge_key FROM badge_rule)
        ),
        reasons AS (
            SELECT u.award_id,
                CASE
                    WHEN u.removed THEN 'the badge is no longer in the rules'
                    WHEN g.gate_reason IS NOT NULL
                        THEN 'conduct gate in ' || u.period || ': ' || g.gate_reason
                    WHEN n.tier IS NOT NULL
                        THEN 'now ' || n.tier || ' (value ' || printf('%.4g', n.value) || ')'
                    WHEN w.value IS NOT NULL
                        THEN printf('criteria no longer met after data changes: value now %.4g',
                                    w.value)
                    ELSE 'criteria no longer met after data changes'
                END AS reason
            FROM unsupported u
            LEFT JOIN badge_gated g ON g.badge_key = u.badge_key
             AND g.subject_id = u.subject_id AND g.period = u.period
            LEFT JOIN badge_candidate n ON n.badge_key = u.badge_key
             AND n.subject_id = u.subject_id AND n.period = u.period
            LEFT JOIN (SELECT badge_key, subject_id, period, max(value) AS value
                       FROM badge_raw GROUP BY ALL) w
              ON w.badge_key = u.badge_key AND w.subject_id = u.subject_id
             AND w.period = u.period
        )
        UPDATE badge_award a SET revoked_at = ?, revoke_reason = r.reason
        FROM reasons r WHERE a.award_id = r.award_id
        RETURNING a.award_id""", [now]).fetchall()
    awarded = con.execute("""
        INSERT INTO badge_award
        SELECT substr(sha256(c.badge_key || '|' || c.subject_id || '|' || c.tier || '|'
                             || c.nk_period || '|' || CAST(? AS VARCHAR)), 1, 24),
               c.badge_key, c.tier, c.scope, c.subject_id, c.grain, c.period, c.value,
               c.evidence, c.earned_on, ?, ?, NULL, NULL
        FROM badge_candidate c
        ANTI JOIN (SELECT a.*, CASE WHEN r.per = 'once' THEN '' ELSE a.period END AS nk_period
                   FROM badge_award a JOIN badge_rule r USING (badge_key)
                   WHERE a.revoked_at IS NULL) h
          ON h.badge_key = c.badge_key AND h.subject_id = c.subject_id AND h.tier = c.tier
         AND h.nk_period = c.nk_period
        RETURNING award_id""", [now, now, rules.version]).fetchall()
    active = con.execute("SELECT count(*) FROM badge_award WHERE revoked_at IS NULL"
                         ).fetchall()[0][0]
    return AwardResult(awarded=len(awarded), revoked=len(revoked), active=active)


def _celebrate(con: duckdb.DuckDBPyConnection, now: datetime) -> tuple[int, int]:
    """Record each new event once: badges awarded, levels reached, overtakes near the top."""
    before = con.execute("SELECT count(*) FROM celebration").fetchall()[0][0]
    since = db.get_state(con, "awarded_data_end") or None
    con.execute("""
        INSERT INTO celebration
        SELECT 'badge:' || award_id, 'badge', scope, subject_id, NULL, badge_key, tier, NULL,
               grain, period, NULL, NULL, earned_on, ?
        FROM badge_award
        WHERE awarded_at = ? AND revoked_at IS NULL
        ON CONFLICT DO NOTHING""", [now, now])
    con.execute("""
        INSERT INTO celebration
        SELECT 'level:' || manager_id || ':' || CAST(level_no AS VARCHAR), 'level_up',
               'individual', manager_id, NULL, NULL, NULL, level_no, NULL, NULL, NULL, NULL,
               reached_on, ?
        FROM level_up
        ON CONFLICT DO NOTHING""", [now])
    # A overtakes B: A ranked below B in the previous period and above B now, both near the top.
    # One event per climb (person, period, new rank), naming the best-placed person passed.
    con.execute("""
        INSERT INTO celebration
        SELECT 'overtake:' || a.grain || ':' || a.period || ':' || a.manager_id || ':'
                   || CAST(a.rank_overall AS VARCHAR),
               'overtake', 'individual', a.manager_id, arg_min(b.manager_id, b.rank_overall),
               NULL, NULL, NULL, a.grain, a.period, a.rank_overall, count(*), p.covered_end, ?
        FROM awareness_index a
        JOIN awareness_index b ON b.grain = a.grain AND b.period = a.period
         AND b.rank_overall > a.rank_overall AND b.prev_rank < a.prev_rank
        JOIN badge_period p ON p.grain = a.grain AND p.period = a.period
        WHERE a.rank_overall <= ? AND b.rank_overall <= ?
          AND a.grain IN ('week', 'month')
          -- a rescore that reshuffles old periods is not news: only periods the new data reaches
          AND p.period_end >= coalesce(CAST(? AS DATE), DATE '0001-01-01')
        GROUP BY a.grain, a.period, a.manager_id, a.rank_overall, p.covered_end
        ON CONFLICT DO NOTHING""", [now, OVERTAKE_TOP, OVERTAKE_TOP, since])
    after = con.execute("SELECT count(*) FROM celebration").fetchall()[0][0]
    level_ups = con.execute("SELECT count(*) FROM celebration WHERE kind = 'level_up' "
                            "AND recorded_at = ?", [now]).fetchall()[0][0]
    return level_ups, after - before


def celebrations(con: duckdb.DuckDBPyConnection, since: datetime | None = None,
                 limit: int = 50) -> list[dict]:
    """What happened since `since` (UTC; all when None), newest first."""
    cur = con.cursor()
    cur.execute("""
        SELECT c.*, coalesce(r.name, t.team_name) AS subject_name, o.name AS other_name
        FROM celebration c
        LEFT JOIN roster r ON c.scope = 'individual' AND r.manager_id = c.subject_id
        LEFT JOIN (SELECT team_id, any_value(team_name) AS team_name FROM roster GROUP BY ALL) t
          ON c.scope = 'team' AND t.team_id = c.subject_id
        LEFT JOIN roster o ON o.manager_id = c.other_id
        WHERE c.recorded_at > coalesce(CAST(? AS TIMESTAMP), TIMESTAMP '-infinity')
        ORDER BY c.occurred_on DESC, c.recorded_at DESC, c.event_id
        LIMIT ?""", [since.astimezone(UTC).replace(tzinfo=None) if since else None, limit])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
