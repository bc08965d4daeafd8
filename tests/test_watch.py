"""The watcher: files dropped into the inbox reach a published snapshot with nobody at a
terminal, a bad file does not stop it, a kill -9 anywhere loses nothing and counts nothing
twice, and screens reading meanwhile always see a complete snapshot."""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines import publish, simulate, watch
from pipelines.config import ENV_DATA, load_settings

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = ["A1", "A2", "B1"]
DAY = date(2026, 11, 4)


def drop_files(inbox: Path, n: int, seed: int = 5) -> list[Path]:
    rng = random.Random(seed)
    return [simulate.drop(inbox, f"contacts-{i:03d}.csv",
                          simulate.contact_file(rng, PEOPLE, DAY, i)) for i in range(n)]


def rows_in(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").strip().splitlines()) - 1


def state(settings) -> dict:
    """What an interrupted run must end with, as an uninterrupted one does."""
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        out = {
            "contacts": con.execute("SELECT count(*), count(DISTINCT contact_id) "
                                    "FROM client_contact").fetchall(),
            "runs": con.execute("SELECT count(*) FROM load_run WHERE feed = 'client_contact'"
                                ).fetchall(),
            "index": con.execute("SELECT grain, period, manager_id, round(score, 6) "
                                 "FROM awareness_index ORDER BY ALL").fetchall(),
            "xp": con.execute("SELECT manager_id, xp_total FROM manager_xp ORDER BY ALL"
                              ).fetchall(),
            "badges": con.execute("SELECT count(*) FROM badge_award").fetchall(),
        }
    finally:
        con.close()
    snap = publish.current_snapshot(settings.snapshot_dir)
    con = duckdb.connect(str(snap), read_only=True)
    try:
        out["snapshot"] = con.execute(
            "SELECT (SELECT count(*) FROM client_contact), (SELECT count(*) FROM "
            "awareness_index), (SELECT sum(score) FROM awareness_index)").fetchall()
    finally:
        con.close()
    return out


def test_the_watcher_loads_moves_and_publishes_and_survives_a_bad_file(roster_loaded):
    inbox = roster_loaded.inbox_dir
    good = drop_files(inbox, 3)
    (inbox / "notes.csv").write_text("foo,bar\n1,2\n", encoding="utf-8")
    (inbox / "coming.csv.part").write_text("still being written", encoding="utf-8")
    said: list[str] = []
    watch.run(roster_loaded, once=True, say=said.append)
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == [p.name for p in good]
    assert sorted(p.name for p in (inbox / "failed").iterdir()) == [
        "notes.csv", "notes.csv.reason.txt"]
    assert "could not tell which feed" in (inbox / "failed" / "notes.csv.reason.txt").read_text(
        encoding="utf-8")
    assert (inbox / "coming.csv.part").exists()         # never taken before it is renamed
    # one line per file with its counts, then the publish
    for p in good:
        landed = f"landed {rows_in(inbox / 'processed' / p.name)}"
        assert [s for s in said if s.startswith(p.name) and landed in s]
    assert [s for s in said if s.startswith("notes.csv: failed")]
    assert any(s.startswith("published snapshot-") for s in said)
    total = sum(rows_in(inbox / "processed" / p.name) for p in good)
    assert state(roster_loaded)["snapshot"][0][0] == total
    # the same file dropped again is not counted twice
    shutil.copy(inbox / "processed" / good[0].name, inbox / good[0].name)
    said.clear()
    watch.run(roster_loaded, once=True, say=said.append)
    assert state(roster_loaded)["contacts"] == [(total, total)]
    assert [s for s in said if "already loaded" in s]
    assert len(list((inbox / "processed").iterdir())) == 4   # kept both, never overwritten


def test_a_file_is_taken_only_once_its_size_and_time_have_settled(tmp_path):
    inbox = watch.Inbox(tmp_path / "inbox", settle=1.0)
    path = inbox.path / "export.csv"
    path.write_text("a,b\n", encoding="utf-8")
    now = time.time()
    os.utime(path, (now, now))
    assert inbox.complete(now) == []               # just written
    assert inbox.complete(now + 0.5) == []
    with path.open("a", encoding="utf-8") as f:     # still growing
        f.write("1,2\n")
    os.utime(path, (now + 0.9, now + 0.9))
    assert inbox.complete(now + 1.2) == []
    assert inbox.complete(now + 2.0) == []          # unchanged for 0.8 s only
    assert inbox.complete(now + 2.3) == [path]


def _watcher(settings, *args: str) -> subprocess.Popen:
    env = dict(os.environ, **{ENV_DATA: str(settings.data_dir)}, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "pipelines", "watch", "--trace", *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _finish(settings) -> None:
    proc = _watcher(settings, "--once")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out


@pytest.mark.parametrize("phase", ["load", "score", "award", "publish"])
def test_kill_9_during_any_step_then_a_restart_ends_as_an_uninterrupted_run(roster_loaded,
                                                                             tmp_path, phase):
    clean = load_settings({ENV_DATA: str(tmp_path / "clean")})
    shutil.copytree(roster_loaded.data_dir, clean.data_dir)    # same roster and secret key
    for settings in (roster_loaded, clean):
        drop_files(settings.inbox_dir, 4)
    _finish(clean)

    proc = _watcher(roster_loaded, "--poll", "0.1", "--settle", "0")
    # the second file's load, or the batch's score, award or publish
    wanted = f"step: {phase}"
    seen = 0
    for line in proc.stdout:
        if wanted in line:
            seen += 1
            if phase != "load" or seen == 2:
                break
    time.sleep(random.Random(phase).uniform(0, 0.3))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    _finish(roster_loaded)

    assert state(roster_loaded) == state(clean)
    left = [p.name for p in roster_loaded.snapshot_dir.iterdir() if p.suffix in (".tmp", ".wal")]
    assert not left
    assert not [p for p in roster_loaded.inbox_dir.iterdir() if p.is_file()]
    assert len(list((roster_loaded.inbox_dir / "processed").iterdir())) == 4


def test_twenty_screens_reading_while_fifty_files_arrive_see_complete_snapshots(
        roster_loaded):
    publish.publish(roster_loaded)
    proc = _watcher(roster_loaded, "--poll", "0.2", "--settle", "0.2")
    errors: list[str] = []
    reads = [0]
    blank = [0]
    done = threading.Event()

    def screen(k: int) -> None:
        rng = random.Random(k)
        while not done.is_set():
            snap = publish.current_snapshot(roster_loaded.snapshot_dir)
            if snap is None:
                blank[0] += 1
            else:
                try:
                    con = duckdb.connect(str(snap), read_only=True)
                    try:
                        # complete: every table there, and the contacts the summary counts
                        (n,) = con.execute("SELECT count(*) FROM client_contact").fetchall()[0]
                        (m,) = con.execute("SELECT rows FROM feed_summary WHERE feed = "
                                           "'client_contact'").fetchall()[0]
                        con.execute("SELECT count(*) FROM roster").fetchall()
                        if n != m:
                            errors.append(f"{snap.name}: {n} contacts, summary says {m}")
                    finally:
                        con.close()
                    reads[0] += 1
                except duckdb.Error as exc:
                    errors.append(repr(exc))
            time.sleep(rng.uniform(0.05, 2.0))

    screens = [threading.Thread(target=screen, args=(k,)) for k in range(20)]
    for s in screens:
        s.start()
    try:
        rng = random.Random(1)
        for i in range(50):
            simulate.drop(roster_loaded.inbox_dir, f"live-{i:03d}.csv",
                          simulate.contact_file(rng, PEOPLE, DAY, i))
            time.sleep(rng.uniform(0, 0.2))
        processed = roster_loaded.inbox_dir / "processed"
        deadline = time.monotonic() + 180
        while len(list(processed.iterdir())) < 50 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(list(processed.iterdir())) == 50
        total = sum(rows_in(p) for p in processed.iterdir())
        deadline = time.monotonic() + 60       # until the last batch is published
        while _published_contacts(roster_loaded) != total and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        done.set()
        for s in screens:
            s.join()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        proc.stdout.close()
    assert errors == [] and blank[0] == 0 and reads[0] > 100
    assert _published_contacts(roster_loaded) == total


def _published_contacts(settings) -> int:
    con = duckdb.connect(str(publish.current_snapshot(settings.snapshot_dir)), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM client_contact").fetchall()[0][0]
    finally:
        con.close()


def test_a_file_renamed_from_part_is_taken_at_once(tmp_path):
    inbox = watch.Inbox(tmp_path / "inbox", settle=60.0)
    part = inbox.path / "export.csv.part"
    part.write_text("a,b\n1,2\n", encoding="utf-8")
    assert inbox.complete() == []                     # still being written
    part.rename(inbox.path / "export.csv")
    assert inbox.complete() == [inbox.path / "export.csv"]
    (inbox.path / "other.csv").write_text("a,b\n", encoding="utf-8")
    assert inbox.path / "other.csv" not in inbox.complete()   # a plain copy waits its settle
