"""The corpus of broken exports: each loads to exactly the accounting in expected.json."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import pytest

from pipelines import load
from tests.conftest import ROSTER, write_csv

CORPUS = Path(__file__).resolve().parent / "corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
FILES = sorted(k for k, v in EXPECTED.items() if "steps" not in v)
SEQUENCES = sorted(k for k, v in EXPECTED.items() if "steps" in v)
COUNTS = ("read", "landed", "updated", "duplicates", "quarantined", "reasons", "skipped",
          "voided", "replaced", "resolved")


def _counts(r: load.FileResult) -> dict:
    return {"read": r.rows_read, "landed": r.landed, "updated": r.updated,
            "duplicates": r.duplicates, "quarantined": r.quarantined, "reasons": r.reasons,
            "skipped": r.skipped, "voided": r.voided, "replaced": r.replaced,
            "resolved": r.resolved}


def _rows(settings, table: str) -> list[tuple]:
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        cols = [c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND column_name <> 'load_run_id' ORDER BY ordinal_position", [table]).fetchall()]
        return con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY ALL").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("name", SEQUENCES)
def test_corpus_sequence(roster_loaded, tmp_path, name):
    """Files loaded one after another (a correction, a page fetched again, a retry after a
    fix): each step reports exactly its accounting, and the warehouse ends as expected."""
    folder = CORPUS / "sequences"
    for i, step in enumerate(EXPECTED[name]["steps"]):
        if step.get("retry_quarantine"):
            results = load.retry_quarantine(roster_loaded)
            if step.get("nothing"):
                assert results == [], f"step {i}: nothing left to retry"
            else:
                assert len(results) == 1 and results[0].error is None, f"step {i}"
        else:
            results = load.load_paths(roster_loaded, [folder / step["load"]],
                                      force=step.get("force", False))
            assert results[0].error is None, f"step {i}: {results[0].error}"
        for r in results:
            assert r.balanced, f"step {i}"
            got = _counts(r)
            assert {k: got[k] for k in COUNTS if k in step} == {
                k: step[k] for k in COUNTS if k in step}, f"step {i}"
            if "encoding" in step:
                assert r.detected["encoding"] == step["encoding"]
            if "note" in step:
                assert any(step["note"] in n for n in r.notes), r.notes
        if "table" in step:
            assert len(_rows(roster_loaded, step["table"])) == step["rows"], f"step {i}"
        if "same_as_clean_load_of" in step:
            # a full reload of corrected files ends where a clean load of only them ends
            from pipelines.config import load_settings
            clean = load_settings({"AWARENESS_DATA": str(tmp_path / "clean")})
            shutil.copytree(roster_loaded.secret_dir, clean.secret_dir)   # the same key
            load.load_paths(clean, [write_csv(tmp_path / "roster.csv", ROSTER)])
            load.load_paths(clean, [folder / f for f in step["same_as_clean_load_of"]])
            assert _rows(roster_loaded, step["table"]) == _rows(clean, step["table"])


@pytest.mark.parametrize("name", FILES)
def test_corpus_file(roster_loaded, name):
    want = EXPECTED[name]
    [r] = load.load_paths(roster_loaded, [CORPUS / name])
    if "error" in want:
        assert r.error and want["error"] in r.error
        return
    assert r.error is None
    got = {"read": r.rows_read, "landed": r.landed, "duplicates": r.duplicates,
           "quarantined": r.quarantined, "reasons": r.reasons, "skipped": r.skipped}
    assert {k: got[k] for k in want if k in got} == {k: v for k, v in want.items() if k in got}
    for key in ("encoding", "delimiter", "sheet"):
        if key in want:
            assert r.detected[key] == want[key]
    if "occurred_at" in want:   # the dates as they were meant (serial, 1904, ROC, text)
        con = duckdb.connect(str(roster_loaded.db_path), read_only=True)
        assert [str(d) for (d,) in con.execute(
            "SELECT occurred_at FROM client_contact ORDER BY 1").fetchall()] == want["occurred_at"]
        con.close()
    assert r.balanced
    # nothing half-written: the roster survived the SQL-looking strings, and text is intact
    con = duckdb.connect(str(roster_loaded.db_path), read_only=True)
    assert con.execute("SELECT count(*) FROM roster").fetchall() == [(3,)]
    notes = {n for (n,) in con.execute("SELECT notes FROM client_contact").fetchall()}
    assert not any("\ufffd" in (n or "") for n in notes)
    if name == "sql_and_emoji.csv":
        assert "👍🏦💰 客戶滿意" in notes and "'; DROP TABLE roster; --" in notes
        assert '=HYPERLINK("http://evil")' in notes


def test_a_ten_megabyte_field_is_quarantined_not_stored(roster_loaded, tmp_path):
    row = {"contact_id": "K1", "manager_id": "A1", "client_id": "C1",
           "occurred_at": "2026-05-04 10:00", "channel": "visit", "purpose": "service"}
    path = write_csv(tmp_path / "big.csv", [dict(row, notes="x" * 10_000_000),
                                            dict(row, contact_id="K2", notes="ok")])
    [r] = load.load_paths(roster_loaded, [path])
    assert (r.landed, r.quarantined, r.reasons) == (1, 1, {"too_long": 1})


def test_excel_formula_cells_keep_their_text_or_value(roster_loaded, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["contact_id", "manager_id", "client_id", "occurred_at", "channel", "purpose",
               "notes", "duration_min"])
    ws.append(["K1", "A1", "C1", "2026-05-04", "visit", "service",
               '=HYPERLINK("http://x","客戶網站")', "=10+20"])
    ws.append(["K2", "A1", "C2", "2026-05-04", "visit", "service", "plain", 15])
    wb.save(tmp_path / "f.xlsx")
    [r] = load.load_paths(roster_loaded, [tmp_path / "f.xlsx"])
    # "=10+20" was never computed by Excel: it is kept as text and quarantined as not a number
    assert (r.rows_read, r.landed, r.reasons) == (
        2, 1, {"invalid_number": 1})
    con = duckdb.connect(str(roster_loaded.db_path), read_only=True)
    assert con.execute("SELECT raw_value FROM quarantine").fetchall() == [("=10+20",)]


def test_a_load_killed_halfway_leaves_the_warehouse_as_before(roster_loaded, tmp_path):
    rows = [{"contact_id": f"K{i}", "manager_id": "A1", "client_id": "C1",
             "occurred_at": "2026-05-04 10:00", "channel": "visit", "purpose": "service"}
            for i in range(1000)]
    path = write_csv(tmp_path / "c.csv", rows)
    con = duckdb.connect(str(roster_loaded.db_path), read_only=True)
    before = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()
              for t in ("client_contact", "quarantine", "load_run")}
    con.close()
    # the child loads, and is SIGKILLed by its own hook in the middle of landing rows
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from pipelines import load\n"
        "from pipelines.config import load_settings\n"
        "real = load._land\n"
        "def dying(con, *a, **k):\n"
        "    real(con, *a, **k)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "load._land = dying\n"
        "load.load_paths(load_settings(), [Path(sys.argv[1])])\n")
    proc = subprocess.run([sys.executable, "-c", script, str(path)], cwd=CORPUS.parent.parent,
                          env=dict(os.environ), capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    con = duckdb.connect(str(roster_loaded.db_path), read_only=True)
    after = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall() for t in before}
    assert after == before
