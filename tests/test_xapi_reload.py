"""xAPI as an LRS serves it: pages fetched again, voidings that are permanent whatever the order
files arrive in, `more` links, mailto: in any case, and an audit that balances."""
from __future__ import annotations

import hashlib
import itertools

from pipelines import load
from tests.conftest import query, write_json
from tests.test_sources import _stmt

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def _void(i: int, target: int) -> dict:
    return {"id": f"00000000-0000-4000-8000-{9000 + i:012d}", "actor": _stmt(0)["actor"],
            "verb": {"id": VOIDED},
            "object": {"objectType": "StatementRef", "id": _stmt(target)["id"]},
            "timestamp": "2026-05-05T12:00:00Z"}


def _events(settings) -> list[str]:
    return [e for (e,) in query(settings, "SELECT event_id FROM learning_event ORDER BY 1")]


def _balanced_runs(settings) -> bool:
    rows = query(settings, "SELECT rows_read, rows_landed, rows_duplicate, rows_quarantined, "
                 "rows_skipped FROM load_run WHERE feed = 'learning_event'")
    return bool(rows) and all(r[0] == r[1] + r[2] + r[3] + r[4] for r in rows)


def test_a_page_fetched_again_never_brings_a_voided_statement_back(roster_loaded, tmp_path):
    page = {"statements": [_stmt(1), _stmt(2)], "more": ""}
    load.load_paths(roster_loaded, [write_json(tmp_path / "p1.json", page)])
    [r] = load.load_paths(roster_loaded, [write_json(tmp_path / "v.json", [_void(1, 1)])])
    assert r.voided == 1 and _events(roster_loaded) == [_stmt(2)["id"]]
    # the same page fetched again: other bytes (another order), same statements
    again = {"statements": [_stmt(2), _stmt(1)]}
    [r] = load.load_paths(roster_loaded, [write_json(tmp_path / "p1-again.json", again)])
    assert (r.landed, r.duplicates, r.skipped, r.skip_reasons) == (0, 1, 1, {"xapi_voided": 1})
    assert r.balanced and _events(roster_loaded) == [_stmt(2)["id"]]
    assert _balanced_runs(roster_loaded)


def test_a_voiding_before_its_statement_keeps_it_out(roster_loaded, tmp_path):
    load.load_paths(roster_loaded, [write_json(tmp_path / "v.json", [_void(1, 1)])])
    [r] = load.load_paths(roster_loaded, [write_json(tmp_path / "a.json", [_stmt(1), _stmt(2)])])
    assert (r.landed, r.skipped) == (1, 1) and _events(roster_loaded) == [_stmt(2)["id"]]
    assert _balanced_runs(roster_loaded)


def test_any_order_of_files_ends_with_the_same_statements(settings, tmp_path):
    from tests.conftest import ROSTER, write_csv
    files = {"a": [_stmt(1), _stmt(2)], "b": [_void(1, 1), _stmt(3)],
             "c": {"statements": [_stmt(2), _stmt(3), _stmt(4)]}, "d": [_void(2, 4), _stmt(1)]}
    ends = set()
    for n, order in enumerate(itertools.permutations(files)):
        from pipelines.config import load_settings
        s = load_settings({"AWARENESS_DATA": str(tmp_path / f"d{n}")})
        load.load_paths(s, [write_csv(tmp_path / "roster.csv", ROSTER)])
        for name in order:
            [r] = load.load_paths(s, [write_json(tmp_path / f"{n}{name}.json", files[name])])
            assert r.balanced, (order, r)
        ends.add(tuple(_events(s)))
        assert _balanced_runs(s)
    assert ends == {(_stmt(2)["id"], _stmt(3)["id"])}


def test_an_lrs_more_link_is_reported(roster_loaded, tmp_path, capsys):
    from pipelines import cli
    page = {"statements": [_stmt(1)], "more": "/xapi/statements?more=abc123\x1b[31m"}
    path = write_json(tmp_path / "p.json", page)
    [r] = load.load_paths(roster_loaded, [path])
    assert r.notes == ["more statements exist: fetch /xapi/statements?more=abc123[31m from "
                       "the LRS and load that page too"]
    cli.main(["load", "--force", str(path)])
    out = capsys.readouterr().out
    assert "more statements exist" in out and "more=abc123" in out
    [r] = load.load_paths(roster_loaded, [write_json(tmp_path / "q.json", {
        "statements": [_stmt(2)], "more": ""})])
    assert r.notes == []


def test_mailto_matches_in_any_case(roster_loaded, tmp_path):
    forms = ["MAILTO:A1@Bank.tw", "Mailto:a1@bank.tw", "  mailto:A1@BANK.TW ", "mailto:a1@bank.tw"]
    stmts = [_stmt(i, actor={"mbox": f}) for i, f in enumerate(forms, start=1)]
    stmts += [_stmt(10 + i, actor={"mbox_sha1sum": hashlib.sha1(s.encode()).hexdigest()})
              for i, s in enumerate(["mailto:a1@bank.tw", "MAILTO:a1@bank.tw"])]
    [r] = load.load_paths(roster_loaded, [write_json(tmp_path / "m.json", stmts)])
    assert (r.landed, r.quarantined) == (len(stmts), 0), r.reasons
    assert {m for (m,) in query(roster_loaded, "SELECT manager_id FROM learning_event")} == {"A1"}


def test_data_health_shows_the_balance_of_a_voiding_file(roster_loaded, tmp_path):
    from pipelines import publish
    from tests.test_quarantine_detail import _render
    load.load_paths(roster_loaded, [write_json(tmp_path / "a.json", [_stmt(1), _stmt(2)])])
    load.load_paths(roster_loaded, [write_json(tmp_path / "v.json", [_void(1, 1), _stmt(3)])])
    publish.publish(roster_loaded)
    at = _render("en")
    runs = next(df.value for df in at.dataframe if "Skipped (totals, voiding)" in df.value)
    row = runs[runs["File"] == "v.json"].iloc[0]
    assert (row["Read"], row["Landed"], row["Skipped (totals, voiding)"],
            row["Earlier rows voided"]) == (2, 1, 1, 1)
