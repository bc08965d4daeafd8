"""Score every manager on the ten dimensions per week, month and quarter from the rules file."""
from __future__ import annotations

import hashlib
import json
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby
from typing import NamedTuple

import duckdb

from pipelines import db
from pipelines.config import load_settings
from pipelines.publish import FEED_TABLES
from pipelines.rules import Metric, Rules, RulesError

# after the periods (and before the metrics) come the distinct and entropy counts: _keyed_metrics
STATIC_STEPS = ("score_metrics.sql", "score_dimensions.sql", "score_index.sql",
                "score_team.sql")
RULE_TABLES = ("rule_metric", "rule_metric_sql", "rule_dimension", "rule_gate",
               "rule_team_metric")
PERIOD_TABLES = ("awareness_index", "team_score")      # by period label
VALUE_TABLES = ("metric_value", "dimension_value")      # by period_key


class Redo(NamedTuple):
    """What a rescore redoes (see _score)."""
    start: date | None                  # the first fragment redone; None: everything
    appended: date | None               # rows were only appended from this day on
    touched: frozenset[str] | None      # the feeds with new loads; None: count all as touched
    data_end: date | None               # the last day with data now


@dataclass
class ScoreResult:
    rules_version: str
    skipped: bool = False
    full: bool = True
    since: date | None = None      # incremental: periods ending on or after this were redone
    managers: int = 0
    periods: int = 0
    metric_rows: int = 0
    seconds: float = 0.0


def needs_scoring(con: duckdb.DuckDBPyConnection, rules: Rules) -> bool:
    return _needs_scoring(db.get_states(con), rules)


def _needs_scoring(state: dict[str, str], rules: Rules) -> bool:
    return state.get("scored") != f"{state.get('data_version', '0')}:{rules.version}"


def _metric_columns(m: Metric) -> str:
    return (f"CAST(({m.num}) AS DOUBLE), CAST(({m.den}) AS DOUBLE), CAST(({m.date}) AS DATE), "
            f"{m.key_expr or 'NULL'}, ({m.date})")


def _rules_checked_key(rules: Rules) -> str:
    """What check_metric_sql's answer depends on: the rules, and the tables and macros their
    SQL reads (the schema file and the score marts' version). While it is unchanged, a rescore
    reuses the answer stored by the last one (binding every metric again cost an incremental
    rescore about 10 ms of its 0.33 s)."""
    schema = hashlib.sha256(db.sql_file("schema.sql").encode()).hexdigest()[:16]
    return f"{rules.version}:{schema}:{db.MART_VERSION}"


def check_metric_sql(con: duckdb.DuckDBPyConnection, rules: Rules) -> dict[str, str]:
    """Bind every metric's expressions against its feed now, so a typo names its line.
    Returns each metric's date type (DATE, TIMESTAMP, …) by key.

    One statement per feed binds all its metrics (a statement costs about a millisecond, and
    an incremental rescore has little else to do); only when it fails is each metric bound
    alone, to find the one at fault."""
    types = {}
    for feed, group in groupby(sorted(rules.metrics, key=lambda m: m.feed), key=lambda m: m.feed):
        metrics = list(group)
        try:
            bound = [_bind(con, feed, metrics)]
        except duckdb.Error:
            bound = []
            for m in metrics:
                try:
                    bound.append(_bind(con, feed, [m]))
                except duckdb.Error as exc:
                    first = str(exc).splitlines()[0]
                    raise RulesError(f"{rules.path}:{m.line}: metric {m.key}: {first}") from exc
        types.update(t for b in bound for t in b.items())
    return types


def _bind(con: duckdb.DuckDBPyConnection, feed: str, metrics: list[Metric]) -> dict[str, str]:
    """Bind the metrics' expressions over their feed (no rows read); each one's date type."""
    cur = con.execute(f"SELECT {', '.join(map(_metric_columns, metrics))} FROM {feed} WHERE "
                      f"{' OR '.join(f'({m.where})' for m in metrics)} LIMIT 0")
    cur.fetchall()
    return {m.key: str(cur.description[5 * i + 4][1]) for i, m in enumerate(metrics)}


def _on_or_after(date_expr: str, date_type: str) -> str:
    """SQL: the row's day is on or after the bound parameter (a date). A plain DATE or
    TIMESTAMP compared with a constant is pushed into the scan, which then skips row groups
    before it and reads the other columns only for the rows kept; a cast of every value is not."""
    if date_type in ("DATE", "TIMESTAMP"):
        return f"({date_expr}) >= CAST(? AS {date_type})"
    return f"CAST(({date_expr}) AS DATE) >= ?"


def _day_base_sql(feed: str, date_expr: str, date_type: str, metrics: list[Metric]) -> str:
    """One scan of a feed: each plain metric's num/den/rows per fragment, unpivoted to
    metric_day on integer keys. A default den (1 per row) is the row count, and rows counted
    under the same condition are counted once: fewer aggregates over millions of rows."""
    cols, counts, out = [], {}, []
    for i, m in enumerate(metrics):
        if m.where not in counts:
            counts[m.where] = f"c{len(counts)}"
            cols.append(f"count_if({m.where}) AS {counts[m.where]}")
        count = counts[m.where]
        cols.append(f"sum(CASE WHEN ({m.where}) THEN CAST(({m.num}) AS DOUBLE) END) AS n{i}")
        den = f"CAST({count} AS DOUBLE)"
        if m.den.strip() != "1":
            cols.append(f"sum(CASE WHEN ({m.where}) THEN CAST(({m.den}) AS DOUBLE) END) AS d{i}")
            den = f"d{i}"
        out.append(f"SELECT manager_no, day, {m.no}, n{i}, {den}, {count} FROM agg "
                   f"WHERE {count} > 0")
    return (f"INSERT INTO metric_day WITH agg AS (SELECT m.manager_no, a.* FROM ("
            f"SELECT manager_id, fragment(({date_expr})) AS day, {', '.join(cols)} FROM {feed} "
            f"WHERE {_on_or_after(date_expr, date_type)} GROUP BY ALL) a "
            f"JOIN score_manager m USING (manager_id)) {' UNION ALL '.join(out)}")


def _keyed_rows(m: Metric, when: str) -> str:
    """A distinct/entropy metric's rows: manager, fragment and a 64-bit hash of the value (it
    groups faster than the text; only counts are needed, not names). A distinct value is hashed
    with its manager: one integer to partition on."""
    return (f"SELECT manager_id, fragment(({m.date})) AS day, "
            f"hash({'manager_id, ' if m.kind == 'distinct' else ''}"
            f"CAST(({m.key_expr}) AS VARCHAR)) AS k FROM {m.feed} WHERE ({m.where}) "
            f"AND ({m.key_expr}) IS NOT NULL AND {when}")


# A value counts in a period at its first row there: the previous row with the same value (per
# manager) lies before the period's first day. One sort serves all three grains, where a
# distinct count per grain hashed every (period, value) pair again. Days are fragments, so rows
# appended from mid-fragment share their day with earlier ones (manager_id NULL, already
# counted): on a tie those sort first, and the new row is not counted again.
_FIRST_SEEN = ("l AS (SELECT manager_id, day, lag(day) OVER (PARTITION BY k "
               "ORDER BY day, manager_id IS NOT NULL) AS prev FROM r), "
               "f AS (SELECT manager_id, day, "
               "count_if(prev IS NULL OR prev < date_trunc('week', day)) AS new_week, "
               "count_if(prev IS NULL OR prev < date_trunc('month', day)) AS new_month, "
               "count_if(prev IS NULL OR prev < date_trunc('quarter', day)) AS new_quarter, "
               "count(*) AS n FROM l WHERE manager_id IS NOT NULL GROUP BY ALL), "
               "added AS (SELECT m.manager_no, pd.period_no, sum(CASE pd.grain "
               "WHEN 'week' THEN new_week WHEN 'month' THEN new_month ELSE new_quarter END) "
               "AS distinct_k, sum(n) AS n FROM f JOIN score_manager m USING (manager_id) "
               "JOIN period_day pd USING (day) GROUP BY ALL)")


def _keyed_sql(m: Metric, date_type: str) -> str:
    """A distinct/entropy metric straight from its feed, per period, counted from the first day
    of the periods being redone (the parameter): distinct counts do not add up across days, so
    they are not rolled up from metric_day."""
    rows = _keyed_rows(m, _on_or_after(m.date, date_type))
    if m.kind == "distinct":
        return (f"INSERT INTO metric_keyed WITH r AS ({rows}), {_FIRST_SEEN} "
                f"SELECT manager_no, period_no, {m.no}, distinct_k, NULL, n FROM added")
    return (f"INSERT INTO metric_keyed WITH r AS (SELECT manager_id, day, k, count(*) AS cnt "
            f"FROM ({rows}) GROUP BY ALL), "
            "cat AS (SELECT m.manager_no, pd.period_no, r.k, sum(r.cnt) AS cnt FROM r "
            "JOIN score_manager m USING (manager_id) JOIN period_day pd USING (day) "
            "GROUP BY ALL) "
            # Shannon entropy -sum(p ln p) with p = cnt / total, as ln(total) - sum(cnt ln cnt)
            # / total: one aggregate, where the share of each count needed a window first
            f"SELECT manager_no, period_no, {m.no}, count(*) AS distinct_k, "
            "ln(sum(cnt)) - sum(cnt * ln(cnt)) / sum(cnt) AS entropy, sum(cnt) AS n FROM cat "
            "GROUP BY ALL")


def _distinct_added_sql(m: Metric, date_type: str, seen: bool) -> str:
    """A distinct metric after rows were only appended from day A on (parameters: A, the first
    day of the periods being redone, A, A): each period's stored count plus the values first
    seen in it from A on. A value's last day before A is looked up only for the values the new
    rows hold: in keyed_seen if `seen`, else in the periods' older rows."""
    on_or_after = _on_or_after(m.date, date_type)
    new = _keyed_rows(m, on_or_after)
    old = (f"SELECT day, k FROM keyed_seen WHERE metric_no = {m.no} AND day >= ? AND day < ?"
           if seen else _keyed_rows(m, f"{on_or_after} AND NOT ({on_or_after})"))
    return (f"INSERT INTO metric_keyed WITH new AS ({new}), "
            "old AS (SELECT CAST(NULL AS VARCHAR) AS manager_id, max(day) AS day, k "
            f"FROM ({old}) WHERE k IN (SELECT k FROM new) GROUP BY k), "
            f"r AS (SELECT * FROM new UNION ALL SELECT * FROM old), {_FIRST_SEEN}, "
            "kept AS (SELECT c.manager_no, p.period_no, c.distinct_k, c.n FROM keyed_count c "
            f"JOIN periods p USING (period_key) WHERE c.metric_no = {m.no} "
            "AND p.period_start < ?) "
            f"SELECT manager_no, period_no, {m.no}, sum(distinct_k), NULL, sum(n) FROM "
            "(SELECT * FROM added UNION ALL SELECT * FROM kept) GROUP BY ALL")


def _seen_sql(m: Metric, date_type: str) -> str:
    """Insert into keyed_seen the metric's values dated on or after the parameter, each with
    the last fragment it was seen in."""
    return (f"INSERT INTO keyed_seen SELECT {m.no}, k, max(day) FROM "
            f"({_keyed_rows(m, _on_or_after(m.date, date_type))}) GROUP BY k")


def _periods_from(day: date) -> date:
    """The first day of the periods a day falls in: its week's or its quarter's first day."""
    return min(date(day.year, day.month - (day.month - 1) % 3, 1),
               day - timedelta(days=day.weekday()))


def _appended_only(con: duckdb.DuckDBPyConnection, m: Metric, date_type: str, since: date,
                   last_run: int) -> bool:
    """Did every row of the metric dated `since` or later come in a load after the last scoring,
    and every row from those loads fall on or after it? Then the stored counts are exactly
    those of the earlier rows, and the new ones only add to them. (The log feeds, FEED_TABLES,
    record each row's load run; roster and targets do not.)"""
    on_or_after = _on_or_after(m.date, date_type)
    return not con.execute(
        f"SELECT count(*) FROM {m.feed} WHERE ({m.where}) AND ({m.key_expr}) IS NOT NULL "
        f"AND (({on_or_after} AND load_run_id <= ?) OR (NOT ({on_or_after}) "
        "AND load_run_id > ?))", [since, last_run, since, last_run]).fetchall()[0][0]


def _feed_days(con: duckdb.DuckDBPyConnection, start: date | None,
               touched: frozenset[str] | None) -> None:
    """The fragments each feed has rows in (feed_day): tells a feed not delivered from a quiet
    period. Kept from run to run: only the days from `start` on (None: all) of the feeds new
    loads touched (None: all) are found again, as the loads changed nothing else."""
    feeds = [t for t in FEED_TABLES if touched is None or t in touched]
    con.execute("DELETE FROM feed_day WHERE day >= ? AND list_contains(?, feed)",
                [start or date.min, feeds])
    if feeds:
        parts = [f"SELECT DISTINCT ? AS feed, fragment(occurred_at) AS day FROM {t} "
                 "WHERE occurred_at >= ?" for t in feeds]
        con.execute("INSERT INTO feed_day " + " UNION ALL ".join(parts),
                    [p for t in feeds for p in (t, start or date.min)])


def define_context(con: duckdb.DuckDBPyConnection) -> date | None:
    """The macros the rules' SQL may use on this connection (data_end(): the last day with
    data; running periods are scored up to it, not to the calendar end)."""
    con.execute("CREATE OR REPLACE TEMP TABLE score_context AS SELECT CAST(? AS DATE) AS data_end",
                [db.data_end(con)])
    con.execute("CREATE OR REPLACE TEMP MACRO data_end() AS (SELECT data_end FROM score_context)")
    # Additive metrics are summed per "fragment": the days one ISO week shares with one month.
    # Weeks, months and quarters are each a whole number of fragments, so all three grains roll
    # up from one table about five times smaller than a per-day one.
    con.execute("CREATE OR REPLACE TEMP MACRO fragment(d) AS "
                "CAST(greatest(date_trunc('week', d), date_trunc('month', d)) AS DATE)")
    # One integer per (period, metric, manager): joins and groups on one key instead of three
    # (metric_no < 1024, manager_no < 2^22; rules and roster stay far below both).
    con.execute("CREATE OR REPLACE TEMP MACRO cell(p, m, k) AS "
                "(CAST(p AS BIGINT) << 32) | (CAST(m AS BIGINT) << 22) | CAST(k AS BIGINT)")
    return con.execute("SELECT data_end FROM score_context").fetchall()[0][0]


def _incremental_since(con: duckdb.DuckDBPyConnection, rules: Rules,
                       state: dict[str, str]) -> tuple[date, frozenset[str]] | None:
    """Where rescoring must start after the loads since the last scoring, and the feeds those
    loads touched; None: start over.

    Rules, roster or marts that changed call for a full rescore; otherwise the earliest day any
    new load touched, or the day after the previous last day with data if earlier (running
    periods and 'due by the last day' metrics move with the last day)."""
    if state.get("rules_version") != rules.version:
        return None
    last_run, previous_end = state.get("scored_run"), state.get("scored_data_end")
    if not last_run or not previous_end:
        return None
    if not con.execute("SELECT count(*) FROM awareness_index").fetchall()[0][0]:
        return None  # nothing to build on
    # a load that only removed rows (voided, or replaced by a corrected export) changes scores
    rows = con.execute("SELECT feed, min(affected_from) FROM load_run WHERE load_run_id > ? "
                       "AND (rows_landed > 0 OR coalesce(rows_voided, 0) > 0 "
                       "OR coalesce(rows_replaced, 0) > 0) GROUP BY feed",
                       [int(last_run)]).fetchall()
    if any(feed == "roster" for feed, _ in rows):
        return None  # peer groups, teams and hire dates reach every period
    # the day after the previous last day: every period still running then ends on or after
    # it, so it is redone (its "so far" grows); a period that had ended keeps its scores
    starts = [d for _, d in rows if d is not None] + [
        date.fromisoformat(previous_end) + timedelta(days=1)]
    return min(starts), frozenset(feed for feed, _ in rows)


def _stale(m: Metric, touched: frozenset[str] | None) -> bool:
    """Can the metric's stored rows (metric_day, keyed_count) have changed since the last
    scoring? Yes if its SQL reads a table that new loads touched, or uses data_end(), which
    moves with each new last day. Feeds arrive on their own schedules (contacts daily,
    courses weekly): the others' rows are not read again. touched None: all are redone."""
    if touched is None:
        return True
    words = set(re.findall(r"\w+", " ".join(
        (m.feed, m.num, m.den, m.where, m.date, m.key_expr or "")).lower()))
    return "data_end" in words or not words.isdisjoint(touched)


class UsageError(ValueError):
    """A period label or a name typed by the user that does not exist: said in plain words."""


_PERIOD_FORMS = ((re.compile(r"^(\d{4})-W(\d{2})$", re.I), "week"),
                 (re.compile(r"^(\d{4})-(\d{2})$"), "month"),
                 (re.compile(r"^(\d{4})Q(\d)$", re.I), "quarter"))


def parse_period(label: str) -> tuple[str, str, date]:
    """(grain, label as stored, first day) of 2026-W05, 2026-05 or 2026Q2 (any letter case)."""
    text = label.strip()
    for pattern, grain in _PERIOD_FORMS:
        match = pattern.match(text)
        if not match:
            continue
        year, n = int(match[1]), int(match[2])
        try:
            if grain == "week":
                return grain, f"{year}-W{n:02d}", date.fromisocalendar(year, n, 1)
            if grain == "month":
                return grain, f"{year}-{n:02d}", date(year, n, 1)
            if 1 <= n <= 4:
                return grain, f"{year}Q{n}", date(year, 3 * n - 2, 1)
        except ValueError:
            pass
        break
    raise UsageError(f"{label!r} is not a period: write a month as 2026-10, an ISO week as "
                     "2026-W42 (weeks 01 to 52, or 53 in a long year) or a quarter as 2026Q3")


def score(con: duckdb.DuckDBPyConnection, rules: Rules, force: bool = False,
          since: str | None = None) -> ScoreResult:
    """Rescore in one transaction (on any error the previous scores stay).

    Only the periods new data can change are redone, unless `force`, new rules or a new roster
    call for all of them; `since` (a period label) redoes every period from there on."""
    if since is not None:
        since = parse_period(since)[1]   # a label that is no period is refused, not ignored
    state = db.get_states(con)
    if not force and since is None and not _needs_scoring(state, rules):
        return ScoreResult(rules.version, skipped=True)
    t0 = time.perf_counter()
    settings = load_settings()
    con.execute("SET memory_limit = ?", [settings.score_memory_limit])
    try:
        return _score(con, rules, force, since, t0, state)
    finally:
        con.execute("SET memory_limit = ?", [settings.memory_limit])


def _score(con: duckdb.DuckDBPyConnection, rules: Rules, force: bool, since: str | None,
           t0: float, state: dict[str, str]) -> ScoreResult:
    data_end = define_context(con)
    checked = _rules_checked_key(rules)
    date_types = (json.loads(state["metric_date_types"])
                  if state.get("rules_checked") == checked and state.get("metric_date_types")
                  else check_metric_sql(con, rules))
    start, touched = ((None, None) if force else
                      (_incremental_since(con, rules, state) or (None, None)))
    if start is not None and data_end is not None:
        # data that ends earlier than before (rows voided or corrected away) moves the running
        # periods back to where it ends now
        start = min(start, data_end)
    if since and start is not None:
        if data_end is not None and parse_period(since)[2] > data_end:
            raise UsageError(f"{since} starts after the last day with data ({data_end}): "
                             "there is nothing to rescore from there")
        # never later than what new loads require, or their days would stay stale
        start = min(start, parse_period(since)[2])
        touched = None      # asked for: every metric is counted again from there
    previous_end = state.get("scored_data_end")
    # new rows only from the day after the previous last day on: stored distinct counts can be
    # added to instead of recounted
    appended = (start if start is not None and not since and previous_end
                and start == date.fromisoformat(previous_end) + timedelta(days=1) else None)
    con.begin()
    try:
        if start is None:
            for table in (*RULE_TABLES, "score_manager", "metric_day", "metric_month",
                          *VALUE_TABLES,
                          "score_period", "keyed_count", "keyed_seen", "score_dimension",
                          "dimension_fallback", *PERIOD_TABLES):
                con.execute(f"DELETE FROM {table}")
            _insert_rules(con, rules)
            con.execute("INSERT INTO score_manager SELECT CAST(row_number() OVER "
                        "(ORDER BY manager_id) AS INTEGER), manager_id FROM roster")
        else:
            start = con.execute("SELECT fragment(CAST(? AS DATE))", [start]).fetchall()[0][0]
        _additive_sums(con, rules, date_types, start, touched)
        _feed_days(con, start, touched)
        # the periods being redone start on or after the first day of start's quarter or week
        con.execute("CREATE OR REPLACE TEMP TABLE score_redo AS SELECT CAST(? AS DATE) "
                    "AS first_day", [date.min if start is None else _periods_from(start)])
        params = {"rules_version": rules.version, "min_dimensions": rules.min_dimensions,
                  "floor_grains": list(rules.floor_grains)}
        _run_sql(con, "score_periods.sql", params)
        if start is not None:
            _drop_periods_from(con, start)
        seen_from = _keyed_metrics(con, rules, date_types,
                                   Redo(start, appended, touched, data_end), state)
        for step in STATIC_STEPS:
            _run_sql(con, step, params)
        last_run = con.execute("SELECT max(load_run_id) FROM load_run").fetchall()[0][0]
        db.set_states(con, scored=f"{state.get('data_version', '0')}:{rules.version}",
                      scored_run=str(last_run or 0), scored_data_end=str(data_end or date.min),
                      rules_version=rules.version, keyed_seen_from=seen_from.isoformat(),
                      rules_checked=checked, metric_date_types=json.dumps(date_types))
        managers, periods, rows = con.execute(
            "SELECT count(DISTINCT manager_no), count(DISTINCT period_no), count(*) "
            "FROM metric_run").fetchall()[0]
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return ScoreResult(rules.version, full=start is None, since=start, managers=managers,
                       periods=periods, metric_rows=rows,
                       seconds=round(time.perf_counter() - t0, 3))


def _run_sql(con: duckdb.DuckDBPyConnection, name: str, params: dict) -> None:
    """One of the scoring SQL files, with the parameters it names."""
    sql = db.sql_file(name)
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    with _joins_as_written(con):
        con.execute(sql, used) if used else con.execute(sql)


def _additive_sums(con: duckdb.DuckDBPyConnection, rules: Rules, date_types: dict[str, str],
                   start: date | None, touched: frozenset[str] | None) -> None:
    """metric_day and metric_month from `start` on (None: all), for the metrics new loads can
    have changed: one scan per feed and date, then the month sums of the months from start's
    (a quarter adds up three of them)."""
    plain = sorted((m for m in rules.metrics
                    if m.kind not in ("distinct", "entropy") and _stale(m, touched)),
                   key=lambda m: (m.feed, m.date))
    redone = [m.no for m in plain]
    con.execute("DELETE FROM metric_day WHERE day >= ? AND list_contains(?, metric_no)",
                [start or date.min, redone])
    for (feed, date_expr), group in groupby(plain, key=lambda m: (m.feed, m.date)):
        group_list = list(group)
        con.execute(_day_base_sql(feed, date_expr, date_types[group_list[0].key], group_list),
                    [start or date.min])
    month = date.min if start is None else start.replace(day=1)
    con.execute("DELETE FROM metric_month WHERE month >= ? AND list_contains(?, metric_no)",
                [month, redone])
    con.execute("INSERT INTO metric_month SELECT manager_no, date_trunc('month', day), "
                "metric_no, sum(num), sum(den), sum(n) FROM metric_day WHERE day >= ? "
                "AND list_contains(?, metric_no) GROUP BY ALL", [month, redone])


def _drop_periods_from(con: duckdb.DuckDBPyConnection, start: date) -> None:
    """Redo only the periods reaching into the changed days (from `start` on): keep those in
    this run's periods, and drop every stored period from there on, also one that corrections
    have left without rows."""
    con.execute("DELETE FROM periods WHERE period_end < ?", [start])
    con.execute("DELETE FROM period_day WHERE period_no NOT IN (SELECT period_no FROM periods)")
    for table in VALUE_TABLES:
        con.execute(f"DELETE FROM {table} WHERE period_key IN (SELECT period_key "
                    "FROM score_period WHERE period_end >= ?)", [start])
    for table in PERIOD_TABLES:
        con.execute(f"DELETE FROM {table} WHERE period >= CASE grain "
                    "WHEN 'week' THEN strftime(CAST(? AS DATE), '%G-W%V') "
                    "WHEN 'month' THEN strftime(CAST(? AS DATE), '%Y-%m') "
                    "ELSE CAST(year(CAST(? AS DATE)) AS VARCHAR) || 'Q' "
                    "|| CAST(quarter(CAST(? AS DATE)) AS VARCHAR) END", [start] * 4)


@contextmanager
def _joins_as_written(con: duckdb.DuckDBPyConnection):
    """Build each hash join on the side the SQL puts on the right.

    The scoring SQL joins its millions of frame rows (every manager x metric x period) to the
    smaller tables on the right; DuckDB's estimate for the frame is far too low, so it would
    build its hash table on the frame instead, about 0.3 s slower per run."""
    con.execute("SET disabled_optimizers = 'build_side_probe_side'")
    try:
        yield
    finally:
        con.execute("RESET disabled_optimizers")


def _keyed_metrics(con: duckdb.DuckDBPyConnection, rules: Rules, types: dict[str, str],
                   redo: Redo, state: dict[str, str]) -> date:
    """Distinct and entropy metrics per period being redone. One that no new load can have
    changed keeps its stored counts (keyed_count); after rows were only appended from day
    `redo.appended` on, distinct counts build on the stored ones. Returns the day from which
    keyed_seen now holds every value seen (state keyed_seen_from)."""
    start, appended, touched, data_end = redo
    con.execute("CREATE OR REPLACE TEMP TABLE metric_keyed (manager_no INTEGER, "
                "period_no INTEGER, metric_no INTEGER, distinct_k BIGINT, entropy DOUBLE, "
                "n BIGINT)")
    # a period being redone is recounted whole, from its first day
    first = con.execute("SELECT min(period_start) FROM periods").fetchall()[0][0]
    keyed = [m for m in rules.metrics
             if m.kind in ("distinct", "entropy") and first is not None]
    kept = [m.no for m in keyed if not _stale(m, touched)]
    if kept:
        con.execute("INSERT INTO metric_keyed SELECT c.manager_no, p.period_no, c.metric_no, "
                    "c.distinct_k, c.entropy, c.n FROM keyed_count c JOIN periods p "
                    "USING (period_key) WHERE list_contains(?, c.metric_no)", [kept])
    last_run = int(state.get("scored_run") or 0)
    # keyed_seen holds every value seen from this day on (all of them for a kept metric: its
    # feed has no new rows); the next rescore starts from the periods the day after the last
    # day with data falls in, and needs only the values seen from their first day
    seen_from = state.get("keyed_seen_from")
    seen = bool(seen_from) and start is not None and date.fromisoformat(seen_from) <= first
    next_from = _periods_from(data_end + timedelta(days=1)) if data_end else date.max
    rebuilt = set()
    for m in keyed:
        if m.no in kept:
            continue
        date_type = types[m.key]
        if (m.kind == "distinct" and appended is not None and m.feed in FEED_TABLES
                and _appended_only(con, m, date_type, appended, last_run)):
            with _joins_as_written(con):    # the hash table on the new values, not the seen
                con.execute(_distinct_added_sql(m, date_type, seen),
                            [appended, first, appended, appended])
            if seen:    # the appended values join the ones seen before them
                con.execute(_seen_sql(m, date_type), [appended])
                continue
        else:
            con.execute(_keyed_sql(m, date_type), [first])
        if m.kind == "distinct":
            con.execute("DELETE FROM keyed_seen WHERE metric_no = ?", [m.no])
            con.execute(_seen_sql(m, date_type), [next_from])
            rebuilt.add(m.no)
    # complete from next_from for a metric rebuilt now; from the day before for the others
    # (kept, or appended to), which is later than next_from if the data now ends earlier
    if {m.no for m in rules.metrics if m.kind == "distinct"} <= rebuilt:
        complete_from = next_from
    else:
        complete_from = max(next_from, date.fromisoformat(seen_from)) if seen_from else date.max
    con.execute("DELETE FROM keyed_seen WHERE day < ?", [complete_from])
    # the kept counts are stored already
    if start is not None:
        con.execute("DELETE FROM keyed_count WHERE period_key IN (SELECT period_key "
                    "FROM score_period WHERE period_end >= ?) AND NOT list_contains(?, "
                    "metric_no)", [start, kept])
    con.execute("INSERT INTO keyed_count SELECT k.manager_no, p.period_key, k.metric_no, "
                "k.distinct_k, k.entropy, k.n FROM metric_keyed k JOIN periods p "
                "USING (period_no) WHERE NOT list_contains(?, k.metric_no)", [kept])
    return complete_from


def _insert_rules(con: duckdb.DuckDBPyConnection, rules: Rules) -> None:
    con.executemany("INSERT INTO rule_dimension VALUES (?, ?, ?)", [
        (d, w, rules.floors.get(d)) for d, w in rules.dimension_weight.items()])
    if rules.gates:
        con.executemany("INSERT INTO rule_gate VALUES (?, ?)", list(rules.gates.items()))
    if rules.team_metrics:
        con.executemany("INSERT INTO rule_team_metric VALUES (?, ?, ?, ?, ?)", [
            (t.key, t.dimension, t.from_metric, t.target_metric, t.weight)
            for t in rules.team_metrics])
    con.executemany("INSERT INTO rule_metric VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        (m.key, m.dimension, m.feed, m.kind, m.method, m.zero_at, m.full_at, m.weight,
         m.min_data, m.target_metric, len(m.categories) or None, m.no) for m in rules.metrics])
    con.executemany("INSERT INTO rule_metric_sql VALUES (?, ?, ?, ?, ?, ?)", [
        (m.key, m.num, m.den, m.where, m.date, m.key_expr) for m in rules.metrics])
