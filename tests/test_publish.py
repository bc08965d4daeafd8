"""Publishing: a complete snapshot appears atomically and readers never need the warehouse."""
from __future__ import annotations

import duckdb

from pipelines import db, publish
from pipelines.publish import POINTER, SERVING_TABLES, current_snapshot


def test_publish_writes_a_readable_snapshot_and_moves_the_pointer(roster_loaded):
    assert current_snapshot(roster_loaded.snapshot_dir) is None
    first = publish.publish(roster_loaded)
    assert current_snapshot(roster_loaded.snapshot_dir) == first
    con = duckdb.connect(str(first), read_only=True)
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
              .fetchall()}
    assert set(SERVING_TABLES) | {"snapshot_info", "feed_summary"} <= tables
    assert con.execute("SELECT count(*) FROM roster").fetchall() == [(3,)]
    assert con.execute("SELECT feed, rows FROM feed_summary ORDER BY 1").fetchall()[0] == (
        "client_contact", 0)
    second = publish.publish(roster_loaded)
    assert second != first and current_snapshot(roster_loaded.snapshot_dir) == second
    # a reader holding the old snapshot keeps reading it
    assert con.execute("SELECT count(*) FROM roster").fetchall() == [(3,)]
    con.close()


def test_snapshot_is_readable_while_the_pipeline_holds_the_warehouse(roster_loaded):
    snap = publish.publish(roster_loaded)
    with db.warehouse(roster_loaded.db_path) as writer:
        writer.execute("INSERT INTO pipeline_state VALUES ('x', 'y')")
        reader = duckdb.connect(str(snap), read_only=True)
        assert reader.execute("SELECT count(*) FROM roster").fetchall() == [(3,)]
        reader.close()


def test_old_snapshots_are_pruned_and_no_temp_files_remain(roster_loaded):
    for _ in range(roster_loaded.keep_snapshots + 2):
        publish.publish(roster_loaded)
    files = sorted(p.name for p in roster_loaded.snapshot_dir.iterdir())
    assert len([f for f in files if f.endswith(".duckdb")]) == roster_loaded.keep_snapshots
    assert POINTER in files and not [f for f in files if f.endswith(".tmp")]


def test_publish_only_when_scores_changed(roster_loaded):
    assert publish.needs_publish(roster_loaded)
    publish.publish(roster_loaded)
    assert not publish.needs_publish(roster_loaded)


def test_the_snapshot_holds_evidence_rows_without_free_text_or_raw_client_ids(demo_build):
    """The person page lists the rows behind a score from the snapshot: every contact is there,
    its client only as the keyed pseudonym, and no notes (they carry client names)."""
    import csv

    snap = duckdb.connect(str(demo_build["snapshot"]), read_only=True)
    try:
        columns = snap.execute("SELECT table_name, column_name FROM information_schema.columns"
                               ).fetchall()
        assert not [c for c in columns if c[1] == "notes"]
        with (demo_build["settings"].demo_dir / "client_contact.csv").open(
                encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
        raw_ids = {r["client_id"] for r in rows}
        stored = {r[0] for r in snap.execute("SELECT DISTINCT client_id FROM client_contact"
                                             ).fetchall()}
        assert stored and not stored & raw_ids
        landed = snap.execute("SELECT count(*) FROM client_contact").fetchall()[0][0]
        assert landed == snap.execute("SELECT rows FROM feed_summary WHERE feed = "
                                      "'client_contact'").fetchall()[0][0] > 1000
    finally:
        snap.close()
    # and the file itself holds none of the notes' text
    blob = demo_build["snapshot"].read_bytes()
    notes = {r["notes"] for r in rows if len(r["notes"]) >= 4}
    assert notes and not [n for n in notes if n.encode("utf-8") in blob]


def test_a_missing_torn_or_damaged_pointer_falls_back_to_the_newest_readable_snapshot(
        roster_loaded):
    snaps = roster_loaded.snapshot_dir
    first = publish.publish(roster_loaded)
    second = publish.publish(roster_loaded)
    pointer = snaps / POINTER
    for text in ("", "snapsh", "../../etc/passwd", "snapshot-x.duckdb", "\x00\xff"):
        pointer.write_text(text, encoding="latin-1")
        assert current_snapshot(snaps) == second, repr(text)
    pointer.unlink()
    assert current_snapshot(snaps) == second
    pointer.write_text(first.name, encoding="utf-8")    # an older one, named: it is read
    assert current_snapshot(snaps) == first
    pointer.write_text(second.name, encoding="utf-8")
    second.write_bytes(second.read_bytes()[:4096])      # the named one damaged on disk
    assert current_snapshot(snaps) == first
    first.unlink()                                      # and nothing else left to read
    assert current_snapshot(snaps) is None
    assert publish.needs_publish(roster_loaded)


def test_a_failed_publish_leaves_no_files_and_the_last_snapshot_current(roster_loaded,
                                                                         monkeypatch):
    snaps = roster_loaded.snapshot_dir
    good = publish.publish(roster_loaded)
    before = sorted(p.name for p in snaps.iterdir())

    def disk_full(path):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(publish, "_fsync", disk_full)
    import pytest
    with pytest.raises(OSError):
        publish.publish(roster_loaded)
    assert sorted(p.name for p in snaps.iterdir()) == before
    assert current_snapshot(snaps) == good
    monkeypatch.undo()
    # what a publish killed half-way leaves (the file and DuckDB's log beside it) goes with the
    # next publish
    for name in ("snapshot-20260101T000000000000Z.tmp", "snapshot-20260101T000000000000Z.tmp.wal"):
        (snaps / name).write_bytes(b"x")
    newest = publish.publish(roster_loaded)
    files = sorted(p.name for p in snaps.iterdir())
    assert not [f for f in files if f.endswith((".tmp", ".wal"))], files
    assert current_snapshot(snaps) == newest
