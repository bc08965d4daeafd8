"""Warehouse connections and the SQL files under pipelines/sql/."""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.config import load_settings

SQL_DIR = Path(__file__).resolve().parent / "sql"


def sql_file(name: str) -> str:
    return (SQL_DIR / name).read_text(encoding="utf-8")


class WarehouseBusy(RuntimeError):
    """Another process held the warehouse for longer than this one would wait."""


def _held_by_another(exc: duckdb.Error) -> bool:
    return "lock" in str(exc).lower()


def connect(db_path: Path, wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """The warehouse, opened read-write. One process at a time may hold it (DuckDB's file
    lock): while another does (the watcher loading a file, a scheduled job), this waits up to
    `wait` seconds (AWARENESS_LOCK_WAIT, 600 by default), saying once on stderr that it does,
    rather than failing at once."""
    wait = load_settings().lock_wait if wait is None else wait
    deadline = time.monotonic() + wait
    said = False
    while True:
        try:
            return duckdb.connect(str(db_path))
        except duckdb.IOException as exc:
            if not _held_by_another(exc):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"another pipeline command still holds the warehouse after {wait:.0f} s "
                    f"({str(exc).splitlines()[0]}); try again when it has finished, or set "
                    "AWARENESS_LOCK_WAIT to wait longer") from exc
            if not said:
                print(f"waiting for the running load to finish… (another pipeline command "
                      f"holds {db_path.name}; up to {wait:.0f} s)", file=sys.stderr, flush=True)
                said = True
            time.sleep(LOCK_POLL_SECONDS)


LOCK_POLL_SECONDS = 0.2


@contextmanager
def warehouse(db_path: Path, memory_limit: str | None = None, wait: float | None = None):
    """A read-write connection to the warehouse with the schema in place (`connect`: waits
    for another process holding it).

    The memory limit keeps a 5-million-row load near 1 GB: DuckDB spills the rest to disk."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = connect(db_path, wait)
    try:
        _upgrade(con)
        con.execute("SET enable_progress_bar = false")  # the CLI draws its own
        con.execute("SET memory_limit = ?", [memory_limit or load_settings().memory_limit])
        con.execute(sql_file("schema.sql"))
        set_state(con, "mart_version", MART_VERSION)
        yield con
    finally:
        con.close()


# Bump when a score mart's columns change. Marts are derived data: an older warehouse drops them
# (the next `score` rebuilds them in full); loaded feed rows are never touched.
MART_VERSION = "13"
MARTS = ("score_manager", "metric_day", "metric_score", "metric_value", "score_period",
         "dimension_score", "awareness_index", "rule_metric", "rule_dimension", "rule_gate",
         "rule_team_metric", "team_score", "keyed_count", "dimension_value",
         "dimension_fallback", "score_dimension", "feed_day", "distinct_count",
         "keyed_seen", "metric_month")


def _upgrade(con: duckdb.DuckDBPyConnection) -> None:
    exists = con.execute("SELECT count(*) FROM information_schema.tables "
                         "WHERE table_name = 'pipeline_state'").fetchall()[0][0]
    if not exists or get_state(con, "mart_version") == MART_VERSION:
        return
    kinds = dict(con.execute("SELECT table_name, table_type FROM information_schema.tables "
                             "WHERE table_schema = 'main'").fetchall())
    for table in MARTS:
        # metric_score (7) and dimension_score (10) became views; distinct_count (10) became
        # keyed_count (11)
        if table in kinds:
            con.execute(f"DROP {'VIEW' if kinds[table] == 'VIEW' else 'TABLE'} {table}")
    # every trace of earlier scoring goes with them, so the next `score` starts over
    con.execute("DELETE FROM pipeline_state WHERE key IN ('scored', 'published', 'scored_run', "
                "'scored_data_end', 'rules_version', 'keyed_seen_from')")


def temp_table(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    """An Arrow table from Python as a temp table of this connection (which holds the load's
    transaction and work tables)."""
    con.register(f"{name}_arrow", table)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    finally:
        con.unregister(f"{name}_arrow")


def _activity_day(con: duckdb.DuckDBPyConnection, agg: str) -> date | None:
    return con.cursor().execute(f"""
        SELECT CAST({agg}(d) AS DATE) FROM (
            SELECT {agg}(occurred_at) AS d FROM marketing_activity
            UNION ALL SELECT {agg}(occurred_at) FROM client_contact
            UNION ALL SELECT {agg}(occurred_at) FROM learning_event)""").fetchall()[0][0]


def data_start(con: duckdb.DuckDBPyConnection) -> date | None:
    """The first day with activity data (marketing, contacts, learning)."""
    return _activity_day(con, "min")


def data_end(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last day with activity data (marketing, contacts, learning): running periods are
    scored up to it, and a period is over in the data once it is reached."""
    return _activity_day(con, "max")


def get_states(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every key at once (each statement costs about a millisecond)."""
    return dict(con.execute("SELECT key, value FROM pipeline_state").fetchall())


def get_state(con: duckdb.DuckDBPyConnection, key: str, default: str = "") -> str:
    row = con.execute("SELECT value FROM pipeline_state WHERE key = ?", [key]).fetchall()
    return row[0][0] if row else default


def set_state(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    set_states(con, **{key: value})


def set_states(con: duckdb.DuckDBPyConnection, **values: str) -> None:
    """Several keys in one statement (each statement costs about a millisecond)."""
    con.execute("INSERT OR REPLACE INTO pipeline_state VALUES "
                + ", ".join(["(?, ?)"] * len(values)), [x for kv in values.items() for x in kv])


def bump_data_version(con: duckdb.DuckDBPyConnection) -> None:
    set_state(con, "data_version", str(int(get_state(con, "data_version", "0")) + 1))
