"""Score every manager on the ten dimensions per week, month and quarter from the rules file."""
from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import groupby

import duckdb

from pipelines import db
from pipelines.publish import FEED_TABLES
from pipelines.rules import Metric, Rules, RulesError

STATIC_STEPS = ("score_periods.sql", "score_metrics.sql", "score_dimensions.sql",
                "score_index.sql")
SCORE_TABLES = ("metric_day", "metric_score", "dimension_score", "awareness_index",
                "rule_metric", "rule_dimension", "rule_gate")


@dataclass
class ScoreResult:
    rules_version: str
    skipped: bool = False
    managers: int = 0
    periods: int = 0
    metric_rows: int = 0
    seconds: float = 0.0


def needs_scoring(con: duckdb.DuckDBPyConnection, rules: Rules) -> bool:
    scored = db.get_state(con, "scored")
    return scored != f"{db.get_state(con, 'data_version', '0')}:{rules.version}"


def check_metric_sql(con: duckdb.DuckDBPyConnection, rules: Rules) -> None:
    """Bind every metric's expressions against its feed now, so a typo names its line."""
    for m in rules.metrics:
        sql = (f"SELECT CAST(({m.num}) AS DOUBLE), CAST(({m.den}) AS DOUBLE), "
               f"CAST(({m.date}) AS DATE), {m.key_expr or 'NULL'} "
               f"FROM {m.feed} WHERE ({m.where}) LIMIT 0")
        try:
            con.execute(sql).fetchall()
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise RulesError(f"{rules.path}:{m.line}: metric {m.key}: {first}") from exc


def _day_base_sql(feed: str, date_expr: str, metrics: list[Metric]) -> str:
    """One scan of a feed: each plain metric's daily num/den/rows, unpivoted to metric_day."""
    cols = []
    for i, m in enumerate(metrics):
        cols.append(f"sum(CASE WHEN ({m.where}) THEN CAST(({m.num}) AS DOUBLE) END) AS n{i}, "
                    f"sum(CASE WHEN ({m.where}) THEN CAST(({m.den}) AS DOUBLE) END) AS d{i}, "
                    f"count_if({m.where}) AS c{i}")
    unions = " UNION ALL ".join(
        f"SELECT manager_id, day, '{m.key}', NULL, n{i}, d{i}, c{i} FROM agg WHERE c{i} > 0"
        for i, m in enumerate(metrics))
    return (f"INSERT INTO metric_day WITH agg AS (SELECT manager_id, "
            f"CAST(({date_expr}) AS DATE) AS day, {', '.join(cols)} FROM {feed} "
            f"WHERE ({date_expr}) IS NOT NULL GROUP BY ALL) {unions}")


def _keyed_sql(m: Metric) -> str:
    return (f"INSERT INTO metric_day SELECT manager_id, CAST(({m.date}) AS DATE), '{m.key}', "
            f"CAST(({m.key_expr}) AS VARCHAR) AS k, count(*), count(*), count(*) FROM {m.feed} "
            f"WHERE ({m.where}) AND ({m.key_expr}) IS NOT NULL AND ({m.date}) IS NOT NULL "
            "GROUP BY ALL")


def _feed_days(con: duckdb.DuckDBPyConnection) -> None:
    """The days each feed has rows for: tells a feed not delivered from a quiet period."""
    parts = [f"SELECT DISTINCT ? AS feed, CAST(occurred_at AS DATE) AS day FROM {t}"
             for t in FEED_TABLES]
    con.execute("CREATE OR REPLACE TEMP TABLE feed_days AS " + " UNION ALL ".join(parts),
                list(FEED_TABLES))


def _context(con: duckdb.DuckDBPyConnection) -> None:
    """The last day with data: running periods are scored up to it, not to the calendar end."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE score_context AS
        SELECT CAST(max(d) AS DATE) AS data_end FROM (
            SELECT max(occurred_at) AS d FROM marketing_activity
            UNION ALL SELECT max(occurred_at) FROM client_contact
            UNION ALL SELECT max(occurred_at) FROM learning_event)""")
    con.execute("CREATE OR REPLACE TEMP MACRO data_end() AS (SELECT data_end FROM score_context)")


def score(con: duckdb.DuckDBPyConnection, rules: Rules, force: bool = False) -> ScoreResult:
    """Rescore everything in one transaction: on any error the previous scores stay."""
    if not force and not needs_scoring(con, rules):
        return ScoreResult(rules.version, skipped=True)
    t0 = time.perf_counter()
    _context(con)
    check_metric_sql(con, rules)
    con.begin()
    try:
        for table in SCORE_TABLES:
            con.execute(f"DELETE FROM {table}")
        con.executemany("INSERT INTO rule_dimension VALUES (?, ?, ?)", [
            (d, w, rules.floors.get(d)) for d, w in rules.dimension_weight.items()])
        if rules.gates:
            con.executemany("INSERT INTO rule_gate VALUES (?, ?)", list(rules.gates.items()))
        con.executemany("INSERT INTO rule_metric VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            (m.key, m.dimension, m.feed, m.kind, m.method, m.zero_at, m.full_at, m.weight,
             m.min_data, m.target_metric, len(m.categories) or None) for m in rules.metrics])
        plain = sorted((m for m in rules.metrics if m.kind not in ("distinct", "entropy")),
                       key=lambda m: (m.feed, m.date))
        for (feed, date_expr), group in groupby(plain, key=lambda m: (m.feed, m.date)):
            con.execute(_day_base_sql(feed, date_expr, list(group)))
        for m in rules.metrics:
            if m.kind in ("distinct", "entropy"):
                con.execute(_keyed_sql(m))
        _feed_days(con)
        params = {"rules_version": rules.version, "min_dimensions": rules.min_dimensions}
        for step in STATIC_STEPS:
            sql = db.sql_file(step)
            used = {k: v for k, v in params.items() if f"${k}" in sql}
            con.execute(sql, used) if used else con.execute(sql)
        db.set_state(con, "scored",
                     f"{db.get_state(con, 'data_version', '0')}:{rules.version}")
        db.set_state(con, "rules_version", rules.version)
        managers, periods, rows = con.execute(
            "SELECT count(DISTINCT manager_id), count(DISTINCT grain || period), count(*) "
            "FROM metric_score").fetchall()[0]
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return ScoreResult(rules.version, managers=managers, periods=periods, metric_rows=rows,
                       seconds=round(time.perf_counter() - t0, 3))
