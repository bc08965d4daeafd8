"""Quarantine details are stored as a code plus values, and the data health page words them in
the reader's language, with times in the bank's zone and no None/nan in any cell."""
from __future__ import annotations

import json
import re
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import i18n
from dashboard.views.data_health import detail_text
from pipelines import db, load, publish
from pipelines.sources.csv_source import PARSE_ERRORS, parse_codes
from pipelines.sources.xapi_source import OBJECT_CODES
from tests.conftest import query, write_csv, write_json
from tests.test_load import MKT

ROOT = Path(__file__).resolve().parent.parent
CONTACT = {"contact_id": "K1", "manager_id": "A1", "client_id": "C1",
           "occurred_at": "2026-05-04 10:00", "channel": "visit", "purpose": "service",
           "notes": "ok"}


def _stmt(i, verb="completed", **extra):
    return {"id": f"00000000-0000-4000-8000-{i:012d}",
            "actor": {"account": {"homePage": "https://lms", "name": "lms-a1"}},
            "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}"},
            "object": {"id": "https://lms/c/1", "definition": {"name": {"zh-TW": "授信實務"}}},
            "timestamp": "2026-05-04T12:00:00Z", **extra}


# Files that quarantine one row each way a detail code can arise: (file name, writer)
def _marketing_csv(path: Path) -> None:
    write_csv(path, [MKT, dict(MKT, activity_id="M2"), dict(MKT, activity_id="M3"),
                     dict(MKT, activity_id="M4"), dict(MKT)])   # line 6 repeats line 2's id
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] += ",extra"                                        # line 3: a field too many
    lines[3] = lines[3].split(",", 1)[0]                        # line 4: one field
    lines.append('M9,A1,"2026-05-04 10:00,never closed')        # line 7: an open quote
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


def _contact_csv(path: Path) -> None:
    write_csv(path, [CONTACT, dict(CONTACT, contact_id="K2", notes="x" * 40_000)])
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.append("K3,A1,C-secret,2026-05-04 10:00,visit,service,ok,surplus")   # line 4
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


def _targets_xlsx(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["scope", "scope_id", "period", "metric_key", "target"])
    ws.append(["manager", "A1", "2026-05", "approved_amount", 1])
    ws.append(["manager", "A1", "2026-06", "approved_amount", 2, "stray"])   # row 3
    wb.save(path)
    # as some exporters write it, without the sheet's size: each row is as long as it is
    with zipfile.ZipFile(path) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = re.sub(rb"<dimension [^>]*/>", b"", parts[sheet])
    with zipfile.ZipFile(path, "w") as dst:
        for name, body in parts.items():
            dst.writestr(name, body)


def _targets_csv(path: Path) -> None:
    write_csv(path, [{"scope": "manager", "scope_id": "A1", "period": p, "metric_key": "x",
                      "target": "1"} for p in ("2026-07", "2026-08")])
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] += ",9"                                            # line 3: a field too many
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


def _xapi_json(path: Path) -> None:
    group = {"objectType": "Group", "member": []}
    write_json(path, [
        _stmt(1),
        _stmt(2, actor=group),                                             # 2 group_actor
        _stmt(3, actor={"mbox": "mailto:nobody@x"}),                       # 3 two ids unknown
        _stmt(4, actor={"objectType": "Agent"}),                           # 4 no identifier
        _stmt(5, object={"objectType": "SubStatement"}),                   # 5
        _stmt(6, verb="daydreamed"),                                       # 6 verb_not_mapped
        dict(_stmt(7), verb={}),                                           # 7 no_verb
        _stmt(8, timestamp="2026-13-45T99:00"),                            # 8 not_iso_time
        dict(_stmt(9), timestamp=None),                                    # 9 no_timestamp
        dict(_stmt(10), verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
             object={"objectType": "StatementRef", "id": _stmt(11)["id"]}),   # 10 voids
        _stmt(11),                                                         # 11 voided_in_file
        dict(_stmt(12), verb={"id": "http://adlnet.gov/expapi/verbs/voided"}, object={}),
        dict(_stmt(13), timestamp=["2026"]),                               # 13 wrong_json_type
        "not a statement",                                                 # 14 not_an_object
    ])


def _xapi_jsonl(path: Path) -> None:
    path.write_text(json.dumps(_stmt(1)) + "\n" + '{"id": "x", "actor": }' + "\n",
                    encoding="utf-8")


FILES = {"m.csv": _marketing_csv, "k.csv": _contact_csv, "t.xlsx": _targets_xlsx,
         "t.csv": _targets_csv,
         "x.json": _xapi_json, "l.jsonl": _xapi_jsonl}
# (file, line) -> (reason, detail code, detail values)
EXPECTED = {
    # a raw line of a feed with client ids is withheld (it may hold one); the detail says so
    ("m.csv", 3): ("malformed_row", "csv_parse", {"errors": ["too_many_fields"],
                                                  "withheld": True}),
    ("m.csv", 4): ("malformed_row", "csv_parse", {"errors": ["too_few_fields"],
                                                  "withheld": True}),
    ("m.csv", 6): ("duplicate_in_file", "first_at_line", {"line": 2}),
    ("m.csv", 7): ("malformed_row", "csv_parse", {"errors": ["bad_quote"], "withheld": True}),
    ("k.csv", 3): ("too_long", "bytes", {"bytes": 40_000, "max": 32_768}),
    ("k.csv", 4): ("malformed_row", "csv_parse", {"errors": ["too_many_fields"],
                                                  "withheld": True}),
    ("t.csv", 3): ("malformed_row", "csv_parse", {"errors": ["too_many_fields"]}),
    ("t.xlsx", 3): ("malformed_row", "right_of_header", {"columns": 5}),
    ("x.json", 2): ("xapi_group", "group_actor", {}),
    ("x.json", 3): ("unknown_actor", "actor_not_in_roster", {"ids": 2}),
    ("x.json", 4): ("unknown_actor", "actor_without_id", {}),
    ("x.json", 5): ("xapi_unsupported_object", "object_substatement", {}),
    ("x.json", 6): ("unknown_verb", "verb_not_mapped", {}),
    ("x.json", 7): ("unknown_verb", "no_verb", {}),
    ("x.json", 8): ("invalid_timestamp", "not_iso_time", {}),
    ("x.json", 9): ("invalid_timestamp", "no_timestamp", {}),
    # 10 (voids 11) and 11 are skipped, not quarantined: a voiding is an instruction
    ("x.json", 12): ("xapi_voiding", "voids_no_id", {}),
    ("x.json", 13): ("invalid_statement", "wrong_json_type", {}),
    ("x.json", 14): ("malformed_json", "not_an_object", {}),
    ("l.jsonl", 2): ("malformed_json", "json_syntax", {"char": 22}),
}


@pytest.fixture
def bad_files_loaded(roster_loaded, tmp_path):
    """A warehouse holding the bad files above, published."""
    paths = []
    for name, write in FILES.items():
        write(tmp_path / name)
        paths.append(tmp_path / name)
    results = load.load_paths(roster_loaded, paths)
    assert [r.error for r in results] == [None] * len(paths)
    publish.publish(roster_loaded)
    return roster_loaded


def _stored(settings) -> dict:
    rows = query(settings, "SELECT source_file, line, reason_code, detail_code, detail_args, "
                           "detail FROM quarantine")
    return {(Path(f).name, line): (reason, code, json.loads(args) if args else None, detail)
            for f, line, reason, code, args, detail in rows}


def test_every_detail_is_stored_as_a_code_and_its_values(bad_files_loaded):
    stored = _stored(bad_files_loaded)
    got = {k: v[:3] for k, v in stored.items() if k in EXPECTED}
    assert got == EXPECTED
    # rows without a detail have neither code nor values; the English text is kept for the CLI
    assert all(code is None and args is None for _, code, args, _ in stored.values()
               if code is None or args is None)
    assert stored[("m.csv", 6)][3] == "first at line 2"
    assert stored[("k.csv", 4)][3].startswith("TOO MANY COLUMNS (raw line withheld")


def test_detail_values_carry_no_client_data(bad_files_loaded):
    args = [a for (a,) in query(bad_files_loaded, "SELECT detail_args FROM quarantine "
                                                  "WHERE detail_args IS NOT NULL")]
    assert args and not any("C-secret" in a or "xxxx" in a or "nobody" in a for a in args)


def test_every_detail_code_in_the_code_has_words_in_every_language():
    code = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "pipelines").rglob("*.py"))
    codes = {c for m in re.findall(r'code=("\w+"[^,)\n]*)', code)      # code="a" if x else "b"
             for c in re.findall(r'"(\w+)"', m)}
    codes |= set(re.findall(r"'(\w+)' AS detail_code", code))
    codes |= set(PARSE_ERRORS.values()) | set(OBJECT_CODES.values())
    assert {c for _, c, _ in EXPECTED.values()} <= codes
    for lang in i18n.LANGUAGES:
        cat = i18n.catalogue(lang)
        assert [c for c in sorted(codes) if f"detail.{c}" not in cat] == [], lang


def test_duckdb_error_names_map_to_codes_and_an_unknown_one_to_could_not_parse():
    assert parse_codes(["UNQUOTED VALUE", "TOO MANY COLUMNS", "UNQUOTED VALUE"]) == [
        "bad_quote", "too_many_fields"]
    assert parse_codes(["LINE SIZE OVER MAXIMUM"]) == ["line_too_long"]
    assert parse_codes(["INVALID ENCODING"]) == ["bad_bytes"]
    assert parse_codes(["SOMETHING DUCKDB ADDS LATER"]) == ["parse_failed"]


@pytest.mark.parametrize("lang,want", [
    ("zh-TW", "無法解析此行：欄位比標題多、引號未正確閉合（未保留原始行：可能含有客戶識別資料）"),
    ("zh-CN", "无法解析此行：字段比标题多、引号未正确闭合（未保留原始行：可能含有客户识别信息）"),
    ("en", "the line could not be parsed: more fields than the header, a quote is not closed"
           " (raw line withheld: it may hold client identifiers)")])
def test_a_detail_is_worded_per_language(lang, want):
    args = json.dumps({"errors": ["too_many_fields", "bad_quote"], "withheld": True})
    assert detail_text(lang, "csv_parse", args, "TOO MANY COLUMNS, UNQUOTED VALUE") == want


def test_a_detail_without_a_known_code_shows_its_stored_text():
    assert detail_text("zh-TW", None, None, "first at line 2") == "first at line 2"
    assert detail_text("zh-TW", "from_a_newer_loader", "{}", "as stored") == "as stored"
    assert detail_text("zh-TW", "bytes", "{}", "40000 bytes") == "40000 bytes"  # values missing
    assert detail_text("zh-TW", None, None, None) == ""
    assert detail_text("zh-TW", "bytes", '{"bytes": 40000, "max": 32768}', "") == (
        "40,000 位元組（上限 32,768）")


# --- the page ---------------------------------------------------------------------------------

def _health_page_in(lang):
    import streamlit as st

    from dashboard import i18n
    from dashboard.views import data_health
    st.session_state[i18n.LANG_KEY] = lang
    data_health.render()


def _render(lang: str) -> AppTest:
    at = AppTest.from_function(_health_page_in, args=(lang,), default_timeout=30).run()
    assert not at.exception
    return at


# Latin words a Chinese page may show: format, encoding and standard names, and units
ALLOWED = {"csv", "tsv", "xlsx", "json", "jsonl", "xapi", "utf", "sig", "gb", "big", "iso",
           "utc", "cp", "hkscs"}
IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # statement
                 r"|\b[0-9a-f]{12,}\b"                                         # rules version
                 r"|[「“][^」”]*[」”]"                                          # sheet names
                 r"|\S+\.(?:csv|tsv|xlsx|json|jsonl)\b")                         # file names
CHECKED = ("health.detail", "health.reason", "health.status", "health.loaded_at",
           "health.last_loaded", "health.detected", "health.first", "health.last")


def _latin_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[A-Za-z]{2,}", IDS.sub(" ", text))
            if w.lower() not in ALLOWED}


def _tables(at: AppTest) -> list[pd.DataFrame]:
    return [df.value for df in at.dataframe]


def _blank_cells(at: AppTest) -> list:
    bad = []
    for table in _tables(at):
        for column in table.columns:
            for value in table[column]:
                if value is None or (not isinstance(value, str) and pd.isna(value)) or \
                        str(value) in ("None", "nan", "NaN", "NaT", "<NA>"):
                    bad.append((column, value))
    return bad


def _english_in(at: AppTest, lang: str) -> list:
    names = {i18n.t(lang, key) for key in CHECKED}
    found = []
    for table in _tables(at):
        for column in table.columns:
            if column in names:
                found += [(column, v, w) for v in table[column] for w in _latin_words(str(v))]
    for caption in at.caption:
        found += [("caption", caption.value, w) for w in _latin_words(caption.value)]
    return found


@pytest.mark.parametrize("lang", ["zh-TW", "zh-CN"])
def test_the_chinese_page_words_every_detail_in_chinese(bad_files_loaded, lang):
    at = _render(lang)
    rows = _tables(at)[3]
    assert len(rows) == len(_stored(bad_files_loaded))
    assert _english_in(at, lang) == []
    details = set(rows[i18n.t(lang, "health.detail")])
    assert i18n.t(lang, "detail.first_at_line", line=2) in details
    assert i18n.t(lang, "detail.voids_no_id") in details


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))
def test_no_table_cell_says_none_or_nan(bad_files_loaded, lang):
    assert _blank_cells(_render(lang)) == []


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))
def test_no_table_cell_of_the_demo_says_none_or_nan(demo_env, lang):
    at = _render(lang)
    assert _blank_cells(at) == []
    if lang != "en":
        assert _english_in(at, lang) == []


def test_times_are_stored_in_utc_and_shown_in_the_banks_zone(bad_files_loaded):
    [(finished,)] = query(bad_files_loaded, "SELECT max(finished_at) FROM load_run")
    assert abs(datetime.now(UTC).replace(tzinfo=None) - finished) < timedelta(minutes=5)
    at = _render("zh-TW")
    assert "台北時間（UTC+8）" in " ".join(c.value for c in at.caption)
    runs = _tables(at)[1]
    assert (finished + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M") in set(runs["載入時間"])
    assert set(_tables(at)[0]["最近載入"]) - {""} <= set(runs["載入時間"])


def test_the_detected_delimiter_is_in_the_readers_language(roster_loaded, tmp_path):
    path = write_csv(tmp_path / "m.tsv", [MKT], delimiter="\t")
    load.load_paths(roster_loaded, [path])
    publish.publish(roster_loaded)
    runs = _tables(_render("zh-TW"))[1]
    assert set(runs["偵測結果"]) >= {"csv · utf-8 · 定位字元分隔"}
    runs = _tables(_render("en"))[1]
    assert set(runs["Detected"]) >= {"csv · utf-8 · tab-separated"}


def test_a_warehouse_from_before_detail_codes_gains_them(settings, tmp_path):
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.db_path))
    con.execute("CREATE TABLE quarantine (load_run_id BIGINT NOT NULL, source_file VARCHAR NOT "
                "NULL, line BIGINT, column_name VARCHAR, raw_value VARCHAR, reason_code VARCHAR "
                "NOT NULL, detail VARCHAR)")
    con.execute("INSERT INTO quarantine VALUES (0, 'old.csv', 2, NULL, NULL, 'too_long', "
                "'9 bytes')")
    con.close()
    with db.warehouse(settings.db_path):
        pass
    roster = write_csv(tmp_path / "roster.csv", [{"manager_id": "A1", "name": "王大明",
                                                   "team_id": "T1", "team_name": "甲組",
                                                   "branch": "台北", "peer_group": "corporate",
                                                   "hire_date": "2020-01-01"}])
    targets = tmp_path / "t.csv"
    _targets_csv(targets)
    load.load_paths(settings, [roster, targets])
    assert query(settings, "SELECT source_file, detail_code, detail_args FROM quarantine "
                           "ORDER BY load_run_id") == [
        ("old.csv", None, None), (str(targets), "csv_parse", '{"errors":["too_many_fields"]}')]
