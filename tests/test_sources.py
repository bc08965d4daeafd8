"""Readers: encodings, delimiters, Excel, and xAPI shapes."""
from __future__ import annotations

import duckdb
import openpyxl
import pytest

from pipelines.sources import SourceError, stage_file
from pipelines.sources.csv_source import detect_encoding
from pipelines.sources.xapi_source import iso_minutes
from tests.conftest import write_csv, write_json

ROWS = [{"manager_id": "A1", "name": "王大明", "team_name": "臺北企金組"},
        {"manager_id": "A2", "name": "李小華", "team_name": "高雄個金組"}]


@pytest.mark.parametrize("encoding,expected", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("big5", "cp950"),
])
def test_encodings_bank_exports_use_are_detected_and_decoded(tmp_path, encoding, expected):
    path = write_csv(tmp_path / "r.csv", ROWS * 20, encoding=encoding)
    assert detect_encoding(path) == (expected, 0)
    con = duckdb.connect()
    detected = stage_file(con, path, "t", tmp_path / "cache")
    assert detected.encoding == expected
    names = [r[0] for r in con.execute('SELECT "name" FROM t ORDER BY rowid').fetchall()]
    assert names[:2] == ["王大明", "李小華"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters(tmp_path, delimiter):
    path = write_csv(tmp_path / "r.csv", ROWS, delimiter=delimiter)
    con = duckdb.connect()
    detected = stage_file(con, path, "t", tmp_path / "cache")
    assert detected.delimiter == delimiter
    assert detected.header == ["manager_id", "name", "team_name"]


def test_malformed_rows_are_rejected_with_their_line(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("a,b\n1,x\n2,y,extra\n3,z\n4\n", encoding="utf-8")
    con = duckdb.connect()
    detected = stage_file(con, path, "t", tmp_path / "cache")
    assert [(r.line, r.reason_code) for r in detected.rejects] == [(3, "malformed_row"),
                                                                   (5, "malformed_row")]
    assert con.execute("SELECT a FROM t ORDER BY rowid").fetchall() == [("1",), ("3",)]


def test_empty_and_unsupported_files_say_what_to_do(tmp_path):
    con = duckdb.connect()
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(SourceError, match="empty"):
        stage_file(con, tmp_path / "e.csv", "t", tmp_path)
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    with pytest.raises(SourceError, match="unsupported"):
        stage_file(con, tmp_path / "x.pdf", "t", tmp_path)


def test_xlsx_first_sheet_as_text(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["scope", "scope_id", "period", "metric_key", "target"])
    ws.append(["manager", "A1", "2026-05", "approved_amount", 1500000.0])
    ws.append([None, None, None, None, None])
    ws.append(["manager", "A2", "2026-05", "new_prospects", 25])
    wb.save(tmp_path / "t.xlsx")
    con = duckdb.connect()
    detected = stage_file(con, tmp_path / "t.xlsx", "t", tmp_path)
    assert detected.format == "xlsx"
    rows = con.execute("SELECT _line, scope_id, target FROM t ORDER BY _line").fetchall()
    assert rows == [(2, "A1", "1500000"), (4, "A2", "25")]


def _stmt(i, verb="completed", actor=None, **extra):
    return {"id": f"00000000-0000-4000-8000-{i:012d}",
            "actor": actor or {"account": {"homePage": "https://lms", "name": "lms-a1"}},
            "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}"},
            "object": {"id": "https://lms/c/1", "definition": {
                "name": {"zh-TW": "授信實務"},
                "extensions": {"https://lms/ext/category": "credit"}}},
            "result": {"duration": "PT1H30M", "score": {"raw": 8, "min": 0, "max": 10}},
            "timestamp": "2026-05-04T12:00:00Z", **extra}


def test_xapi_array_lrs_page_and_json_lines_all_read(tmp_path):
    lookup = {"lms-a1": "A1"}
    con = duckdb.connect()
    write_json(tmp_path / "a.json", [_stmt(1), _stmt(2)])
    write_json(tmp_path / "p.json", {"statements": [_stmt(1)], "more": "/xapi?page=2"})
    (tmp_path / "l.jsonl").write_text("\n".join(
        __import__("json").dumps(s) for s in [_stmt(1), _stmt(2), _stmt(3)]), encoding="utf-8")
    for name, n in (("a.json", 2), ("p.json", 1), ("l.jsonl", 3)):
        stage_file(con, tmp_path / name, "t", tmp_path, lookup)
        assert con.execute("SELECT count(*) FROM t").fetchall()[0][0] == n
    row = con.execute("SELECT manager_id, occurred_at, duration_min, score_scaled, category "
                      "FROM t LIMIT 1").fetchall()[0]
    # 12:00 UTC is 20:00 in Taipei: off-hours learning must be seen as such
    assert row == ("A1", "2026-05-04 20:00:00", "90.0", "0.8", "credit")


def test_xapi_problems_are_quarantined_not_crashes(tmp_path):
    group = {"objectType": "Group", "member": []}
    stmts = [_stmt(1), _stmt(2, verb="daydreamed"), _stmt(3, actor=group),
             _stmt(4, actor={"mbox": "mailto:nobody@x"}),
             {"id": "v", "actor": _stmt(0)["actor"],
              "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
              "object": {"objectType": "StatementRef", "id": _stmt(5)["id"]}},
             _stmt(5), "not a statement"]
    write_json(tmp_path / "x.json", stmts)
    con = duckdb.connect()
    detected = stage_file(con, tmp_path / "x.json", "t", tmp_path, {"lms-a1": "A1"})
    reasons = sorted(r.reason_code for r in detected.rejects)
    assert reasons == ["malformed_json", "unknown_actor", "unknown_verb", "xapi_group"]
    # the voiding instruction and the statement it voids are skipped, not bad data
    assert sorted(r.reason_code for r in detected.skipped) == ["xapi_voided", "xapi_voiding"]
    assert con.execute("SELECT count(*) FROM t").fetchall()[0][0] == 1


@pytest.mark.parametrize("text,minutes", [("PT45M", 45), ("PT1H", 60), ("PT90S", 1.5),
                                          ("P1DT1H", 1500), ("", None), ("45", None)])
def test_iso_durations(text, minutes):
    assert iso_minutes(text) == minutes


def test_xapi_fields_of_the_wrong_type_quarantine_only_that_statement(tmp_path):
    odd = _stmt(2)
    odd["result"]["score"] = {"scaled": None}
    weird = _stmt(3)
    weird["object"]["definition"]["extensions"]["https://lms/ext/category"] = ["credit"]
    write_json(tmp_path / "x.json", [_stmt(1), odd, weird])
    con = duckdb.connect()
    detected = stage_file(con, tmp_path / "x.json", "t", tmp_path, {"lms-a1": "A1"})
    assert [r.reason_code for r in detected.rejects] == ["invalid_statement"]
    # the list becomes text and is then refused by the category check, never a crash
    assert con.execute("SELECT count(*) FROM t").fetchall()[0][0] == 2


def test_xapi_mbox_matches_whatever_the_case(tmp_path):
    write_json(tmp_path / "x.json", [_stmt(1, actor={"mbox": "mailto:Alice@Bank.TW"})])
    con = duckdb.connect()
    stage_file(con, tmp_path / "x.json", "t", tmp_path, {"alice@bank.tw": "A1"})
    assert con.execute("SELECT manager_id FROM t").fetchall() == [("A1",)]
