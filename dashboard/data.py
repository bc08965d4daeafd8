"""Cached, read-only access to the published snapshot (never the pipeline's warehouse)."""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pandas as pd
import streamlit as st

from pipelines.config import load_settings
from pipelines.contract import DIMENSIONS
from pipelines.publish import current_snapshot

# a snapshot file never changes once published (a new one gets a new name, and the path is
# part of every key), so a result stays right as long as it is kept: the time limit only bounds
# memory, with max_entries
TTL_SECONDS = 3600
OPEN_SNAPSHOTS = 2    # the current snapshot and the one screens may still be reading

_open: OrderedDict[tuple, duckdb.DuckDBPyConnection] = OrderedDict()
_open_lock = threading.Lock()


@contextmanager
def reader(snapshot_path: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only cursor on a snapshot. The database stays open between page runs: opening a
    200 MB snapshot cost ~40 ms, more than most of the desk's queries. Keyed by the file's
    identity too, so a file rewritten in place is opened afresh; older snapshots are let go
    (closed once the last cursor reading them is done)."""
    st_ = os.stat(snapshot_path)
    key = (snapshot_path, st_.st_ino, st_.st_mtime_ns, st_.st_size)
    with _open_lock:
        con = _open.get(key)
        if con is None:
            # a file replaced under the same name: DuckDB hands out an open database by path,
            # so the old one is closed first or the new file would never be read
            for old in [k for k in _open if k[0] == snapshot_path]:
                _open.pop(old).close()
            # the default configuration: another reader in this process (a script, a test)
            # may open the same file, and DuckDB refuses a second configuration
            con = duckdb.connect(snapshot_path, read_only=True)
            _open[key] = con
            while len(_open) > OPEN_SNAPSHOTS:
                _open.popitem(last=False)
        _open.move_to_end(key)
        cur = con.cursor()
    # no replacement scans: a missing table must fail, not read a Python variable
    cur.execute("SET python_enable_replacements = false")
    try:
        yield cur
    finally:
        cur.close()


def snapshot() -> str | None:
    """Path of the snapshot to read now; changes when the pipeline publishes a new one."""
    path = current_snapshot(load_settings().snapshot_dir)
    return str(path) if path else None


# bounded: a wall screen runs for days, and every snapshot path is a new key
@st.cache_data(ttl=TTL_SECONDS, max_entries=512, show_spinner=False)
def query(snapshot_path: str, sql: str, params: tuple = ()) -> pd.DataFrame:
    """One query on the snapshot; the snapshot path is part of the cache key."""
    with reader(snapshot_path) as con:
        return con.execute(sql, list(params)).df()


def info(snap: str) -> dict:
    df = query(snap, "SELECT * FROM snapshot_info")
    return df.iloc[0].to_dict() if len(df) else {}


def _periods(snap: str, grain: str) -> pd.DataFrame:
    """A grain's periods, newest first, and whether anyone is ranked in each (one query)."""
    return query(snap, "SELECT period, bool_or(rank_overall IS NOT NULL) AS ranked "
                       "FROM awareness_index WHERE grain = ? GROUP BY period "
                       "ORDER BY period DESC", (grain,))


def periods(snap: str, grain: str) -> list[str]:
    return _periods(snap, grain)["period"].tolist()


def ranked_period(snap: str, grain: str) -> str | None:
    """The newest period of a grain in which anyone is ranked: on the first day of a month the
    month just begun ranks nobody yet, and a board that opens empty tells a lead nothing."""
    df = _periods(snap, grain)
    ranked = df.loc[df["ranked"].astype(bool), "period"]
    return str(ranked.iloc[0]) if len(ranked) else None


def teams(snap: str) -> pd.DataFrame:
    return query(snap, "SELECT DISTINCT team_id, team_name, branch FROM roster ORDER BY team_id")


def _dimension_columns(table: str, key: str) -> tuple[str, tuple]:
    """A subquery with one row per `key` and the ten dimension scores of a (grain, period) as
    columns, pivoted in DuckDB: 2,000 rows of ten numbers cost far less to fetch than 20,000
    long rows pivoted in pandas. The dimension names are our own constants; values are bound."""
    columns = ", ".join(f"max(score) FILTER (WHERE dimension = ?) AS {d}" for d in DIMENSIONS)
    return (f"(SELECT {key}, {columns} FROM {table} WHERE grain = ? AND period = ? "
            f"GROUP BY {key})", tuple(DIMENSIONS))


def leaderboard(snap: str, grain: str, period: str) -> pd.DataFrame:
    """One row per manager: index, rank, gate, and the ten dimension scores as columns."""
    dims, dim_params = _dimension_columns("dimension_score", "manager_id")
    return query(snap, f"""
        SELECT a.manager_id, r.name, r.team_id, r.team_name, r.branch, r.peer_group,
               a.score AS awareness_index, a.status, a.eligible, a.gate_reason,
               a.rank_overall, a.rank_peer, a.prev_rank, a.movement, a.score_change,
               {", ".join(f"d.{d}" for d in DIMENSIONS)}
        FROM awareness_index a JOIN roster r USING (manager_id)
        LEFT JOIN {dims} d USING (manager_id)
        WHERE a.grain = ? AND a.period = ?
        ORDER BY a.rank_overall NULLS LAST, a.score DESC NULLS LAST, r.name""",
                 (*dim_params, grain, period, grain, period))


def feed_summary(snap: str) -> pd.DataFrame:
    return query(snap, """
        SELECT f.feed, f.rows, f.first_at, f.last_at, max(l.finished_at) AS last_loaded
        FROM feed_summary f LEFT JOIN load_run l ON l.feed = f.feed
        GROUP BY ALL ORDER BY f.feed""")


def load_runs(snap: str) -> pd.DataFrame:
    return query(snap, """
        SELECT load_run_id, finished_at, source_file, feed, profile, detected, rows_read,
               rows_landed, rows_duplicate, rows_quarantined, coalesce(rows_skipped, 0)
               AS rows_skipped, coalesce(rows_voided, 0) AS rows_voided,
               coalesce(rows_replaced, 0) AS rows_replaced,
               datediff('millisecond', started_at, finished_at) / 1000.0 AS seconds
        FROM load_run ORDER BY load_run_id DESC""")


# a quarantined row still counts: a later load of the same file neither landed it nor read it
# again (then that load's own row counts)
OPEN = "q.resolved_by_run IS NULL AND q.requarantined_by_run IS NULL"


def quarantine(snap: str, load_run_id: int | None = None, limit: int = 1000) -> pd.DataFrame:
    """The open quarantined rows (of one load run, or all)."""
    return query(snap, f"""
        SELECT q.load_run_id, q.source_file, q.line, q.column_name, q.raw_value, q.reason_code,
               q.detail
        FROM quarantine q WHERE {OPEN} AND (? IS NULL OR q.load_run_id = ?)
        ORDER BY q.load_run_id DESC, q.line LIMIT ?""", (load_run_id, load_run_id, limit))


def quarantine_by_reason(snap: str) -> pd.DataFrame:
    """Open quarantined rows per reason (a row failing two checks counts under both)."""
    return query(snap, f"""
        SELECT reason_code, count(DISTINCT (load_run_id, line)) AS rows
        FROM quarantine q WHERE {OPEN} GROUP BY ALL ORDER BY rows DESC""")


def quarantine_open_runs(snap: str) -> list[int]:
    """The load runs with open quarantined rows, newest first."""
    return [int(r) for r in query(snap, f"SELECT DISTINCT load_run_id FROM quarantine q "
                                        f"WHERE {OPEN} ORDER BY 1 DESC")["load_run_id"]]


def quarantine_resolved(snap: str, limit: int = 1000) -> pd.DataFrame:
    """Quarantined rows a later load of the same file landed (or found stored), one per line."""
    return query(snap, """
        SELECT load_run_id, source_file, line, min(reason_code) AS reason_code,
               min(resolved_by_run) AS resolved_by_run
        FROM quarantine WHERE resolved_by_run IS NOT NULL GROUP BY ALL
        ORDER BY resolved_by_run DESC, load_run_id DESC, line LIMIT ?""", (limit,))


# a team's name (and branch) from the roster, for rows keyed by team_id
TEAMS = ("(SELECT team_id, any_value(team_name) AS team_name, any_value(branch) AS branch "
         "FROM roster GROUP BY team_id)")


def celebrations(snap: str, limit: int = 40) -> pd.DataFrame:
    """Newest first: badges, level-ups and overtakes with the names they concern."""
    return query(snap, f"""
        SELECT c.kind, c.scope, c.subject_id, coalesce(r.name, t.team_name) AS subject_name,
               o.name AS other_name, c.badge_key, c.tier, c.level_no, c.grain, c.period,
               c.new_rank, c.passed, c.occurred_on, c.recorded_at
        FROM celebration c
        LEFT JOIN roster r ON c.scope = 'individual' AND r.manager_id = c.subject_id
        LEFT JOIN {TEAMS} t ON c.scope = 'team' AND t.team_id = c.subject_id
        LEFT JOIN roster o ON o.manager_id = c.other_id
        ORDER BY c.occurred_on DESC, c.recorded_at DESC, c.event_id
        LIMIT ?""", (limit,))


def levels(snap: str) -> pd.DataFrame:
    return query(snap, "SELECT * FROM level_def ORDER BY level_no")


def badge_defs(snap: str) -> pd.DataFrame:
    return query(snap, "SELECT * FROM badge_def ORDER BY scope, per, badge_key")


def xp_board(snap: str) -> pd.DataFrame:
    """Everyone's XP and level now, most XP first."""
    return query(snap, """
        SELECT x.manager_id, r.name, r.team_name, x.xp_total, x.level_no, x.next_level_xp,
               l.min_xp AS level_min_xp
        FROM manager_xp x JOIN roster r USING (manager_id)
        JOIN level_def l USING (level_no)
        ORDER BY x.xp_total DESC, r.name""")


def xp_history(snap: str, manager_id: str) -> pd.DataFrame:
    return query(snap, "SELECT week_start, xp, xp_total, level_no FROM xp_week "
                       "WHERE manager_id = ? ORDER BY week_start", (manager_id,))


def badge_counts(snap: str) -> pd.DataFrame:
    """Held awards per badge and tier."""
    return query(snap, "SELECT badge_key, tier, count(*) AS n FROM badge_award "
                       "WHERE revoked_at IS NULL GROUP BY ALL")


def awards(snap: str, revoked: bool = False, limit: int = 500) -> pd.DataFrame:
    return query(snap, f"""
        SELECT a.badge_key, a.tier, a.scope, a.subject_id,
               coalesce(r.name, t.team_name) AS subject_name, a.period, a.value, a.evidence,
               a.earned_on, a.awarded_at, a.revoked_at, a.revoke_reason
        FROM badge_award a
        LEFT JOIN roster r ON a.scope = 'individual' AND r.manager_id = a.subject_id
        LEFT JOIN {TEAMS} t ON a.scope = 'team' AND t.team_id = a.subject_id
        WHERE (a.revoked_at IS NOT NULL) = ?
        ORDER BY coalesce(a.revoked_at, a.awarded_at) DESC, a.earned_on DESC, a.badge_key
        LIMIT ?""", (revoked, limit))


def seasons(snap: str) -> list[str]:
    return query(snap, "SELECT season FROM season ORDER BY season DESC")["season"].tolist()


def season_standings(snap: str, season: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    people = query(snap, "SELECT * FROM season_standing WHERE season = ? "
                         "ORDER BY rank_overall NULLS LAST, score DESC NULLS LAST", (season,))
    teams = query(snap, "SELECT * FROM season_team_standing WHERE season = ? "
                        "ORDER BY rank NULLS LAST", (season,))
    return people, teams


def wall_frames(snap: str, grain: str, lang: str, scope: str = "bank",
                scope_id: str | None = None):
    """Everything a wall screen reads for the latest period of a grain, through one read-only
    connection (a connection per query cost more than the queries). The news is chosen in SQL
    for the wall's own people and teams: a bank's newest events could all be about others."""
    from dashboard.i18n import column_suffix
    from dashboard.wall import Frames

    suffix = column_suffix(lang)   # a column name from a fixed set, never a value
    with reader(snap) as con:
        def q(sql: str, params: tuple = ()) -> pd.DataFrame:
            return con.execute(sql, list(params)).df()
        latest = q("SELECT DISTINCT period FROM awareness_index WHERE grain = ? "
                   "ORDER BY period DESC LIMIT 2", (grain,))["period"].tolist()
        if not latest:
            return None
        now, prev = latest[0], (latest[1] if len(latest) > 1 else "")
        index = q("SELECT period, manager_id, score, status, eligible FROM awareness_index "
                  "WHERE grain = ? AND period IN (?, ?)", (grain, now, prev))
        teams = q("SELECT period, team_id, dimension, score, members_scored FROM team_score "
                  "WHERE grain = ? AND period IN (?, ?)", (grain, now, prev))
        badge_names = q(f"SELECT badge_key, name_{suffix} AS name FROM badge_def")
        level_names = q(f"SELECT level_no, name_{suffix} AS name FROM level_def")
        return Frames(
            period=now,
            roster=q("SELECT manager_id, name, team_id, team_name, branch, public_display "
                     "FROM roster WHERE active"),
            index_now=index[index["period"] == now],
            index_prev=index[index["period"] == prev],
            dims_now=q("SELECT manager_id, dimension, score, status FROM dimension_score "
                       "WHERE grain = ? AND period = ?", (grain, now)),
            team_now=teams[teams["period"] == now],
            team_prev=teams[(teams["period"] == prev) & (teams["dimension"] == "index")],
            events=q("""
                WITH people AS (
                    SELECT manager_id, branch, public_display FROM roster
                    WHERE active AND (? = 'bank' OR (? = 'branch' AND branch = ?)
                                      OR (? = 'team' AND team_id = ?))
                ),
                teams AS (   -- a team's wall ranks it among the teams of its branch
                    SELECT DISTINCT team_id FROM roster
                    WHERE branch IN (SELECT branch FROM people)
                      AND (? <> 'branch' OR branch = ?)
                )
                SELECT c.* FROM celebration c
                WHERE ((c.scope = 'individual' AND c.subject_id IN (
                           SELECT manager_id FROM people WHERE public_display))
                       OR (c.scope = 'team' AND c.subject_id IN (SELECT team_id FROM teams)))
                  -- an overtake tells a rank: only on the board beside it (this grain, this
                  -- period), never a weekly one under a monthly top list
                  AND (c.kind <> 'overtake' OR (c.grain = ? AND c.period = ?))
                ORDER BY c.occurred_on DESC, c.recorded_at DESC, c.event_id LIMIT 200""",
                     (scope, scope, scope_id, scope, scope_id, scope, scope_id, grain, now)),
            badge_names=dict(zip(badge_names["badge_key"], badge_names["name"], strict=True)),
            level_names=dict(zip(level_names["level_no"], level_names["name"], strict=True)))


# the snapshot path is in the key, so a new publish is a new entry; the hour only bounds how
# long a board no screen asks for any more stays in memory
@st.cache_data(ttl=3600, max_entries=128, show_spinner=False)
def wall_board(snap: str, grain: str, lang: str, scope: str, scope_id: str | None, top: int):
    """The wall-safe board of one screen: built once per snapshot and screen settings, so each
    refresh of each screen costs a dictionary lookup until the pipeline publishes again."""
    from dashboard import wall

    frames = wall_frames(snap, grain, lang, scope, scope_id)
    return None if frames is None else wall.build(frames, scope, scope_id, top)


def team_board(snap: str, grain: str, period: str) -> pd.DataFrame:
    """Teams ranked on their awareness index for a period, with movement against the previous
    period and the ten dimension scores as columns."""
    dims, dim_params = _dimension_columns("team_score", "team_id")
    return query(snap, f"""
        WITH ranked AS (
            SELECT team_id, period, score, members_scored, members_total,
                   rank() OVER (PARTITION BY period ORDER BY round(score, 9) DESC) AS rank
            FROM team_score
            WHERE grain = ? AND dimension = 'index' AND score IS NOT NULL
        ),
        prev AS (
            SELECT max(period) AS period FROM team_score WHERE grain = ? AND period < ?
        )
        SELECT n.team_id, t.team_name, t.branch, n.score, n.rank, n.members_scored,
               n.members_total, p.rank AS prev_rank, p.rank - n.rank AS movement,
               {", ".join(f"d.{d}" for d in DIMENSIONS)}
        FROM ranked n
        JOIN {TEAMS} t USING (team_id)
        LEFT JOIN ranked p ON p.team_id = n.team_id AND p.period = (SELECT period FROM prev)
        LEFT JOIN {dims} d USING (team_id)
        WHERE n.period = ?
        ORDER BY n.rank, t.team_name""", (grain, grain, period, *dim_params, grain, period,
                                          period))


# --- the team lead's desk -------------------------------------------------------------------

def _frames(snap: str, queries: dict[str, tuple[str, tuple]]) -> dict[str, pd.DataFrame]:
    """Several queries through one cursor."""
    with reader(snap) as con:
        return {name: con.execute(sql, list(params)).df()
                for name, (sql, params) in queries.items()}


@st.cache_data(ttl=3600, max_entries=256, show_spinner=False)
def person(snap: str, manager_id: str) -> dict[str, pd.DataFrame] | None:
    """Everything the person page shows that does not depend on the chosen period: the roster
    row, every index and dimension row, the peer and team bands, XP, badges. None: no such
    person in this snapshot."""
    who = query(snap, "SELECT manager_id, name, team_id, team_name, branch, peer_group, active "
                      "FROM roster WHERE manager_id = ?", (manager_id,))
    if who.empty:
        return None
    peer, team = who.iloc[0]["peer_group"], who.iloc[0]["team_id"]
    frames = _frames(snap, {
        "index": ("SELECT grain, period, score, status, eligible, gate_reason, rank_overall, "
                  "rank_peer, prev_rank, movement, score_change FROM awareness_index "
                  "WHERE manager_id = ?", (manager_id,)),
        "dims": ("SELECT grain, period, dimension, score, status FROM dimension_score "
                 "WHERE manager_id = ?", (manager_id,)),
        "bands": ("SELECT scope, grain, period, dimension, p25, p50, p75, n FROM score_band "
                  "WHERE (scope = 'peer' AND scope_id = ?) OR (scope = 'team' AND scope_id = ?)",
                  (peer, team)),
        # how many are ranked, for "3rd of 22"
        "ranked": ("SELECT a.grain, a.period, count(a.rank_overall) AS overall, "
                   "count(a.rank_peer) FILTER (WHERE r.peer_group = ?) AS peer "
                   "FROM awareness_index a JOIN roster r USING (manager_id) GROUP BY ALL",
                   (peer,)),
        "xp": ("SELECT x.xp_total, x.level_no, x.next_level_xp, l.min_xp FROM manager_xp x "
               "JOIN level_def l USING (level_no) WHERE x.manager_id = ?", (manager_id,)),
        "awards": ("SELECT badge_key, tier, grain, period, value, evidence, earned_on, "
                   "revoked_at, revoke_reason FROM badge_award "
                   "WHERE scope = 'individual' AND subject_id = ? "
                   "ORDER BY earned_on DESC, badge_key", (manager_id,)),
        "progress": ("SELECT badge_key, period, value, finished FROM badge_progress "
                     "WHERE subject_id = ?", (manager_id,)),
    })
    frames["who"] = who
    return frames


@st.cache_data(ttl=3600, max_entries=64, show_spinner=False)
def rules(snap: str) -> dict[str, pd.DataFrame]:
    """The rules the snapshot was scored with: dimension weights and floors, metrics, badges."""
    return _frames(snap, {
        "dimensions": ("SELECT dimension, weight, floor FROM rule_dimension", ()),
        "metrics": ("SELECT m.*, s.num_sql, s.den_sql, s.where_sql, s.date_sql, s.key_sql "
                    "FROM rule_metric m JOIN rule_metric_sql s USING (metric_key) "
                    "ORDER BY metric_no", ()),
        "badges": ("SELECT * FROM badge_def ORDER BY scope, per, badge_key", ()),
        "levels": ("SELECT * FROM level_def ORDER BY level_no", ()),
    })


@st.cache_data(ttl=3600, max_entries=256, show_spinner=False)
def person_period(snap: str, manager_id: str, peer_group: str, grain: str,
                  period: str) -> dict[str, pd.DataFrame]:
    """One person's metrics in one period, next to the peer group's median of each."""
    return _frames(snap, {
        "metrics": ("SELECT metric_key, dimension, value, data_amount, score, status "
                    "FROM metric_score WHERE manager_id = ? AND grain = ? AND period = ?",
                    (manager_id, grain, period)),
        "peer": ("SELECT metric_key, score_p50, value_p50, n FROM metric_band "
                 "WHERE peer_group = ? AND grain = ? AND period = ?",
                 (peer_group, grain, period)),
    })


# what the evidence table shows of each feed (never free text; client ids are keyed hashes)
EVIDENCE_COLUMNS = {
    "marketing_activity": ("type", "channel", "outcome", "proactive", "industry", "amount",
                           "prospect_id"),
    "client_contact": ("channel", "purpose", "duration_min", "satisfaction", "complaint",
                       "follow_up_due", "follow_up_done_at", "checklist_complete", "risk_flag",
                       "location_verified", "client_id"),
    "learning_event": ("category", "verb", "title", "score_scaled", "duration_min"),
    "portfolio_event": ("kind", "amount", "confirmed", "client_id"),
}
FEED_KEYS = {"marketing_activity": "activity_id", "client_contact": "contact_id",
             "learning_event": "event_id", "portfolio_event": "event_id"}


@st.cache_data(ttl=3600, max_entries=256, show_spinner=False)
def evidence(snap: str, manager_id: str, metric_key: str, start, end) -> pd.DataFrame:
    """The log rows behind one metric of one person between two days: the rows the metric's own
    filter and date column put in the period (as scored), with `counts` = its numerator."""
    rule = rules(snap)["metrics"].set_index("metric_key").loc[metric_key]
    feed = rule["feed"]
    if feed not in EVIDENCE_COLUMNS:
        raise ValueError(f"unknown feed {feed}")
    cols = ", ".join(EVIDENCE_COLUMNS[feed])
    key = FEED_KEYS[feed]
    with reader(snap) as con:
        # the rules' SQL may ask for the last day with data, as when it was scored
        con.execute("CREATE OR REPLACE TEMP MACRO data_end() AS "
                    "(SELECT data_end FROM snapshot_info)")
        # the expressions are the administrator's rules (trusted, as in scoring); values bound
        return con.execute(
            f"SELECT {key} AS row_id, CAST(({rule['date_sql']}) AS DATE) AS day, occurred_at, "
            f"{cols}, CAST(({rule['num_sql']}) AS DOUBLE) AS counts FROM {feed} "
            f"WHERE manager_id = ? AND CAST(({rule['date_sql']}) AS DATE) BETWEEN ? AND ? "
            f"AND ({rule['where_sql']}) ORDER BY day DESC, occurred_at DESC, row_id",
            [manager_id, start, end]).df()


def people(snap: str) -> pd.DataFrame:
    """Everyone on the roster, for the person picker."""
    return query(snap, "SELECT manager_id, name, team_id, team_name, branch, peer_group "
                       "FROM roster ORDER BY team_id, name, manager_id")


@st.cache_data(ttl=3600, max_entries=128, show_spinner=False)
def team(snap: str, team_id: str) -> dict[str, pd.DataFrame] | None:
    """A team's members, their scores in every period, the team rows of every team (for the
    trend against the others), and team badges."""
    members = query(snap, "SELECT manager_id, name, peer_group, active FROM roster "
                          "WHERE team_id = ? ORDER BY name, manager_id", (team_id,))
    if members.empty:
        return None
    frames = _frames(snap, {
        "dims": ("SELECT d.manager_id, d.grain, d.period, d.dimension, d.score "
                 "FROM dimension_score d JOIN roster r USING (manager_id) WHERE r.team_id = ?",
                 (team_id,)),
        "index": ("SELECT a.manager_id, a.grain, a.period, a.score, a.status, a.rank_overall "
                  "FROM awareness_index a JOIN roster r USING (manager_id) WHERE r.team_id = ?",
                  (team_id,)),
        # every team's index only: the rank among teams and the trend against the others
        "teams": ("SELECT team_id, grain, period, dimension, score, members_scored, "
                  "members_total FROM team_score WHERE dimension = 'index'", ()),
        "awards": ("SELECT badge_key, tier, period, value, earned_on, revoked_at, revoke_reason "
                   "FROM badge_award WHERE scope = 'team' AND subject_id = ? "
                   "ORDER BY earned_on DESC", (team_id,)),
        "progress": ("SELECT badge_key, period, value, finished FROM badge_progress "
                     "WHERE subject_id = ?", (team_id,)),
    })
    frames["members"] = members
    return frames


def peer_medians(snap: str, grain: str, period: str) -> pd.DataFrame:
    """Each peer group's median of the index and the ten dimensions in one period."""
    return query(snap, "SELECT scope_id AS peer_group, dimension, p50 FROM score_band "
                       "WHERE scope = 'peer' AND grain = ? AND period = ?", (grain, period))
