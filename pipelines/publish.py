"""Publish a read-only serving snapshot: a versioned DuckDB file plus an atomic pointer."""
from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines import db
from pipelines.config import Settings

POINTER = "CURRENT"
# Bump when the snapshot's tables change: `build` then republishes even if scores did not.
SNAPSHOT_FORMAT = 4
# What the dashboard may read. Quarantined client ids are keyed hashes already.
SERVING_TABLES = ("roster", "awareness_index", "dimension_score", "metric_score", "rule_metric",
                  "rule_metric_sql", "rule_dimension", "load_run", "quarantine", "team_score",
                  "level_def", "badge_def", "manager_xp", "xp_week", "level_up", "badge_award",
                  "badge_progress", "celebration", "season", "season_standing",
                  "season_team_standing")
FEED_TABLES = ("marketing_activity", "client_contact", "learning_event", "portfolio_event")
# The feed rows go along as the evidence behind each number (the person page lists them),
# without free text: notes hold client names and ids. Client and prospect ids are keyed hashes.
# Sorted by person, so one person's rows are a few blocks that DuckDB's zone maps find.
EVIDENCE_DROP = {"marketing_activity": ("notes", "load_run_id"),
                 "client_contact": ("notes", "load_run_id"),
                 "learning_event": ("load_run_id",),
                 "portfolio_event": ("notes", "load_run_id")}
# Each person is shown against the middle of their peer group and of their team: the quartiles
# of every dimension and the index per period, and the peer median of every metric.
BANDS_SQL = """
CREATE TABLE snap.score_band AS
WITH s AS (
    SELECT d.grain, d.period, d.dimension, d.score, r.peer_group, r.team_id
    FROM main.dimension_score d JOIN main.roster r USING (manager_id)
    WHERE d.score IS NOT NULL
    UNION ALL
    SELECT a.grain, a.period, 'index', a.score, r.peer_group, r.team_id
    FROM main.awareness_index a JOIN main.roster r USING (manager_id)
    WHERE a.score IS NOT NULL
)
SELECT * FROM (
    SELECT 'peer' AS scope, peer_group AS scope_id, grain, period, dimension,
           quantile_cont(score, 0.25) AS p25, median(score) AS p50,
           quantile_cont(score, 0.75) AS p75, count(*) AS n
    FROM s GROUP BY ALL
    UNION ALL
    SELECT 'team', team_id, grain, period, dimension, quantile_cont(score, 0.25), median(score),
           quantile_cont(score, 0.75), count(*)
    FROM s GROUP BY ALL
) ORDER BY scope, scope_id, grain, dimension, period;
CREATE TABLE snap.metric_band AS
SELECT r.peer_group, m.grain, m.period, m.metric_key, median(m.score) AS score_p50,
       median(m.value) AS value_p50, count(*) AS n
FROM main.metric_score m JOIN main.roster r USING (manager_id)
WHERE m.status = 'ok'
GROUP BY ALL ORDER BY r.peer_group, m.grain, m.period;
"""


# what `publish` names a snapshot: a pointer naming anything else is torn or tampered with
SNAPSHOT_NAME = re.compile(r"snapshot-[A-Za-z0-9_-]+\.duckdb")
_readable: dict[tuple, bool] = {}   # (path, inode, mtime, size) -> opens and has its info


def current_snapshot(snapshot_dir: Path) -> Path | None:
    """The published snapshot readers should open, or None before the first publish.

    The one the pointer names, if it is there and readable; otherwise (a missing, empty or torn
    pointer, a snapshot deleted or damaged) the newest readable snapshot on disk, so that a
    screen shows the last good board rather than nothing."""
    try:
        name = (snapshot_dir / POINTER).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        name = ""
    if SNAPSHOT_NAME.fullmatch(name) and readable(snapshot_dir / name):
        return snapshot_dir / name     # the usual case: no need to look further
    on_disk = []
    for path in snapshot_dir.glob("snapshot-*.duckdb") if snapshot_dir.is_dir() else ():
        try:
            if SNAPSHOT_NAME.fullmatch(path.name):
                on_disk.append((path.stat().st_mtime_ns, path.name, path))
        except OSError:
            continue    # pruned meanwhile
    newest_first = [path for _, _, path in sorted(on_disk, reverse=True)]
    return next((p for p in newest_first if readable(p)), None)


def readable(path: Path) -> bool:
    """Does this snapshot file open and hold its `snapshot_info` row? Checked once per version
    of the file (a published file never changes; a damaged one stays damaged)."""
    try:
        st = path.stat()
    except OSError:
        return False
    key = (str(path), st.st_ino, st.st_mtime_ns, st.st_size)
    if key not in _readable:
        if len(_readable) > 64:
            _readable.clear()
        try:
            con = duckdb.connect(str(path), read_only=True)
            try:
                _readable[key] = bool(con.execute("SELECT count(*) FROM snapshot_info"
                                                  ).fetchall()[0][0])
            finally:
                con.close()
        except (duckdb.Error, OSError):
            _readable[key] = False
    return _readable[key]


def needs_publish(settings: Settings) -> bool:
    with db.warehouse(settings.db_path) as con:
        scored = db.get_state(con, "scored")
        published = db.get_state(con, "published")
        game = db.get_state(con, "game_changed")
    return (f"{scored}|{game}|{SNAPSHOT_FORMAT}" != published
            or current_snapshot(settings.snapshot_dir) is None)


def publish(settings: Settings) -> Path:
    """Copy the serving tables into a new file, then swing the pointer to it in one rename.
    Both are on disk (fsync) before the pointer moves and before the warehouse records the
    publish: a power cut leaves the old snapshot or the new one, never a pointer to nothing."""
    settings.snapshot_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    final = settings.snapshot_dir / f"snapshot-{stamp}.duckdb"
    tmp = final.with_suffix(".tmp")
    pointer_tmp = settings.snapshot_dir / f".{POINTER}.tmp"
    with db.warehouse(settings.db_path) as con:
        con.execute("CHECKPOINT")
        try:
            _write_snapshot(con, tmp)
            _fsync(tmp)
            os.replace(tmp, final)
            with pointer_tmp.open("w", encoding="utf-8") as f:
                f.write(final.name)
                f.flush()
                os.fsync(f.fileno())
            os.replace(pointer_tmp, settings.snapshot_dir / POINTER)
            _fsync(settings.snapshot_dir)   # the renames themselves
        except BaseException:
            for left in (tmp, tmp.with_name(tmp.name + ".wal"), pointer_tmp):
                left.unlink(missing_ok=True)
            raise
        db.set_state(con, "published", f"{db.get_state(con, 'scored')}|"
                                       f"{db.get_state(con, 'game_changed')}|{SNAPSHOT_FORMAT}")
        # Still holding the warehouse: no other publisher can be writing a .tmp right now.
        _prune(settings.snapshot_dir, keep=settings.keep_snapshots, current=final)
    return final


def _write_snapshot(con: duckdb.DuckDBPyConnection, tmp: Path) -> None:
    con.execute("ATTACH ? AS snap", [str(tmp)])
    try:
        for table in SERVING_TABLES:
            con.execute(f"CREATE TABLE snap.{table} AS SELECT * FROM main.{table}")
        for feed, drop in EVIDENCE_DROP.items():
            con.execute(f"CREATE TABLE snap.{feed} AS SELECT * EXCLUDE ({', '.join(drop)}) "
                        f"FROM main.{feed} ORDER BY manager_id, occurred_at")
        con.execute(BANDS_SQL)
        # freshness per feed, for the data-health page (counts only, no rows)
        per_feed = [f"SELECT ? AS feed, count(*) AS rows, min(occurred_at) AS first_at, "
                    f"max(occurred_at) AS last_at FROM {t}" for t in FEED_TABLES]
        con.execute("CREATE TABLE snap.feed_summary AS " + " UNION ALL ".join(per_feed),
                    list(FEED_TABLES))
        # published_at in UTC, like every stored time; the dashboard shows the bank's zone.
        # data_end: the last day with data, up to which running periods are scored (what
        # the rules' data_end() returns, also when the dashboard lists evidence rows)
        con.execute(
            "CREATE TABLE snap.snapshot_info AS SELECT CAST(? AS TIMESTAMP) AS published_at, "
            "? AS rules_version, ? AS data_version, CAST(? AS DATE) AS data_end",
            [datetime.now(UTC).replace(tzinfo=None), db.get_state(con, "rules_version"),
             db.get_state(con, "data_version", "0"), db.data_end(con)])
    finally:
        con.execute("DETACH snap")


def _fsync(path: Path) -> None:
    """Flush a file, or a directory's entries, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(snapshot_dir: Path, keep: int, current: Path) -> None:
    # Readers that opened an older file keep their handle; unlinking does not disturb them.
    old = sorted(snapshot_dir.glob("snapshot-*.duckdb"), reverse=True)[keep:]
    for path in old:
        if path != current:
            path.unlink(missing_ok=True)
    # what a publish killed half-way left (its file and DuckDB's log beside it), and the logs
    # of snapshots gone
    for stale in [*snapshot_dir.glob("snapshot-*.tmp"), *snapshot_dir.glob("snapshot-*.wal")]:
        base = stale.with_suffix("")
        if not (stale.suffix == ".wal" and base.suffix == ".duckdb" and base.exists()):
            stale.unlink(missing_ok=True)
