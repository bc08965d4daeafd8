"""Excel as banks produce it: title rows, notes sheets, total rows, the 1904 date system."""
from __future__ import annotations

import datetime as dt
import json
import re
import zipfile

import duckdb
import openpyxl
import pytest
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from pipelines import load
from pipelines.cli import EXIT_USER_ERROR, main
from pipelines.sources import SourceError, stage_file
from pipelines.sources.xlsx_source import is_summary_row, summary_label
from tests.conftest import query

HEADER = ["客戶經理工號", "客戶編號", "拜訪日期", "拜訪方式", "拜訪目的", "訪談結果"]
VISIT = dt.datetime(2026, 11, 3, 10, 0)


def visit(manager: str, client: str, note: str = "", day: int = 3) -> list:
    return [manager, client, VISIT.replace(day=day), "實地拜訪", "日常維護", note]


def report_sheet(ws, rows: list[list], title: bool = True) -> None:
    """A CRM report as exported: a merged title, a blank row, the date it was made, then the
    header in row 4 (or row 1 without the title)."""
    if title:
        ws["A1"] = "客戶拜訪紀錄 2026年11月"
        ws.merge_cells("A1:H1")
        ws["A3"] = "製表日期: 2026/12/01"
        ws.row_dimensions[2].height = 8     # the blank row exists in the sheet, styled
        ws["B2"].number_format = "@"
    at = 4 if title else 1
    for j, name in enumerate(HEADER, start=1):
        ws.cell(at, j, name)
    for i, row in enumerate(rows, start=at + 1):
        for j, value in enumerate(row, start=1):
            if value not in (None, ""):
                ws.cell(i, j, value)


def results_of(settings, path, **flags) -> load.FileResult:
    [r] = load.load_paths(settings, [path], **flags)
    return r


def quarantined_lines(settings, run_id: int) -> dict[int, str]:
    return dict(query(settings, "SELECT line, reason_code FROM quarantine WHERE load_run_id = ?",
                      [run_id]))


def test_title_rows_merged_cells_and_totals_around_the_data(roster_loaded, tmp_path):
    wb = openpyxl.Workbook()
    report_sheet(wb.active, [
        visit("A1", "C1", "客戶詢問合計金額與利率"),   # row 5: 合計 inside a note
        visit("A2", "C2", "合計"),                    # row 6: a note reading just 合計
        visit("ZZ", "C3"),                            # row 7: no such manager
        ["A 小計", None, None, None, None, "3"],      # row 8: Excel's Subtotal label
        [],                                           # row 9: blank
        visit("B1", "C4"),                            # row 10
        [None, "ＴＯＴＡＬ："],                        # row 11: full width, first filled cell
        ["合計", None, None, None, None, "4"],         # row 12
    ])
    wb.save(tmp_path / "visits.xlsx")
    r = results_of(roster_loaded, tmp_path / "visits.xlsx")
    assert r.error is None and r.profile == "bank_crm_visits"
    assert (r.rows_read, r.landed, r.quarantined, r.skipped) == (7, 3, 1, 3)
    assert r.skip_reasons == {"summary_row": 3} and r.reasons == {"unknown_manager": 1}
    assert r.balanced
    # the line a user finds in Excel, not the line under the header
    assert quarantined_lines(roster_loaded, r.load_run_id) == {7: "unknown_manager"}
    assert "read sheet 'Sheet', header in row 4" in r.notes[0]
    notes = {n for (n,) in query(roster_loaded, "SELECT notes FROM client_contact")}
    assert {"客戶詢問合計金額與利率", "合計"} <= notes
    [(detected,)] = query(roster_loaded, "SELECT detected FROM load_run WHERE load_run_id = ?",
                          [r.load_run_id])
    assert json.loads(detected)["header_row"] == 4


SUMMARY = ["合計", " 合計 ", "合计", "小計", "小计", "總計", "总计", "Total", "TOTAL", "total:",
           "Subtotal", "Sub Total", "Grand Total", "grand total：", "ＴＯＴＡＬ", "合計：",
           "合計: 15 筆", "A1 Total", "王大明 合計", "台北分行 小計", "共計", "\u3000總計\u3000"]
NOT_SUMMARY = ["合計金額", "客戶詢問合計金額", "本月拜訪合計三次，客戶滿意", "Totally",
               "total visits", "Totalled by hand", "A1", "", "   ", "合 計 不明", "subtotals"]


@pytest.mark.parametrize("label", SUMMARY)
def test_a_total_label_is_told(label):
    assert summary_label(label)


@pytest.mark.parametrize("label", NOT_SUMMARY)
def test_a_cell_merely_mentioning_a_total_is_not_one(label):
    assert not summary_label(label)


def test_only_the_first_filled_cell_makes_a_total_row():
    assert is_summary_row([None, "  ", "小計", None, "12"])
    assert not is_summary_row(["A1", "C1", "2026-11-03", "visit", "service", "合計"])
    assert not is_summary_row(["A1", "合計"])
    assert not is_summary_row([None, None])


def notes_then_data(path, data_title: str = "拜訪明細", extra: str | None = None) -> None:
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "說明"
    notes["A1"] = "本報表說明"
    notes["A2"] = "客戶經理工號: 行員編號"      # names a column, but is prose
    pivot = wb.create_sheet("彙總")
    pivot.append(["客戶經理工號", "拜訪次數"])  # a pivot: one known column, not data
    pivot.append(["A1", 2])
    pivot.append(["總計", 2])
    report_sheet(wb.create_sheet(data_title), [visit("A1", "C1"), visit("A2", "C2"),
                                               ["合計", None, None, None, None, "2"]])
    if extra:
        report_sheet(wb.create_sheet(extra), [visit("B1", "C9", day=4)], title=False)
    wb.save(path)


def test_a_notes_sheet_and_a_pivot_first_do_not_hide_the_data(roster_loaded, tmp_path):
    notes_then_data(tmp_path / "book.xlsx")
    r = results_of(roster_loaded, tmp_path / "book.xlsx")
    assert r.detected["sheet"] == "拜訪明細"
    assert (r.rows_read, r.landed, r.skipped, r.quarantined) == (3, 2, 1, 0) and r.balanced
    assert r.notes == ["read sheet '拜訪明細', header in row 4 (rows 1 to 3 are titles, not "
                       "data)"]


def test_a_second_data_sheet_is_named_and_loads_with_sheet(roster_loaded, tmp_path, capsys):
    notes_then_data(tmp_path / "book.xlsx", extra="12月")
    capsys.readouterr()
    assert main(["load", str(tmp_path / "book.xlsx")]) == 0
    out = capsys.readouterr().out
    assert "sheet(s) '12月' also look like data and were not read" in out
    assert "--sheet NAME" in out
    # the same file, another sheet: loaded, not "already loaded"
    assert main(["load", str(tmp_path / "book.xlsx"), "--sheet", "12月", "--json"]) == 0
    [summary] = json.loads(capsys.readouterr().out)
    assert summary["detected"]["sheet"] == "12月" and summary["landed"] == 1
    assert summary["notes"] == ["read sheet '12月', header in row 1"]
    assert query(roster_loaded, "SELECT count(*) FROM client_contact") == [(3,)]
    # and the same sheet again is the same load
    assert main(["load", str(tmp_path / "book.xlsx"), "--sheet", "12月", "--json"]) == 0
    [again] = json.loads(capsys.readouterr().out)
    assert again["already_loaded_run"] == summary["load_run_id"]


def test_an_unknown_sheet_lists_the_sheets(roster_loaded, tmp_path, capsys):
    notes_then_data(tmp_path / "book.xlsx")
    assert main(["load", str(tmp_path / "book.xlsx"), "--sheet", "明細"]) == EXIT_USER_ERROR
    err = " ".join(capsys.readouterr().err.split())
    assert "no sheet named '明細'" in err
    assert "'說明', '彙總', '拜訪明細'" in err and "--sheet" in err


def test_header_row_overrides_what_is_found(roster_loaded, tmp_path, capsys):
    wb = openpyxl.Workbook()
    ws = wb.active
    # two header rows, the data under the second: the first names the columns in English,
    # which a profile also knows, so only the user can say which one the data is under
    ws.append(["manager_id", "client_id", "occurred_at", "channel", "purpose", "contact_id"])
    report_sheet(ws, [visit("A1", "C1"), visit("A2", "C2")])
    ws["G4"] = "備註"
    wb.save(tmp_path / "h.xlsx")
    capsys.readouterr()
    assert main(["load", str(tmp_path / "h.xlsx"), "--header-row", "4", "--json"]) == 0
    [r] = json.loads(capsys.readouterr().out)
    assert (r["rows_read"], r["landed"], r["profile"]) == (2, 2, "bank_crm_visits")
    assert r["notes"] == ["read sheet 'Sheet', header in row 4 (rows 1 to 3 are titles, not "
                          "data)"]


@pytest.mark.parametrize("bad", ["0", "-1", "x", "4.5"])
def test_header_row_must_be_a_row_number(settings, tmp_path, capsys, bad):
    with pytest.raises(SystemExit):
        main(["load", str(tmp_path / "h.xlsx"), "--header-row", bad])
    assert "is not a row number" in capsys.readouterr().err


def test_an_empty_header_row_says_so(roster_loaded, tmp_path):
    notes_then_data(tmp_path / "book.xlsx")
    r = results_of(roster_loaded, tmp_path / "book.xlsx", sheet="拜訪明細", header_row=2)
    assert "row 2 of sheet '拜訪明細' is empty" in r.error and "--header-row" in r.error


def test_a_wrong_header_row_is_told_with_the_fix(roster_loaded, tmp_path):
    notes_then_data(tmp_path / "book.xlsx")
    r = results_of(roster_loaded, tmp_path / "book.xlsx", sheet="拜訪明細", header_row=5)
    assert "sheet '拜訪明細' (column names in row 5)" in r.error
    for flag in ("--sheet", "--header-row", "--feed", "--profile"):
        assert flag in r.error


def test_no_feed_fits_a_workbook_names_sheet_row_closest_feed_and_flags(roster_loaded,
                                                                        tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "拜訪"
    ws["A1"] = "客戶拜訪紀錄"
    ws.append([])
    ws.append(HEADER[1:])          # no manager column: the visit log lacks its manager
    ws.append(["C1", VISIT, "實地拜訪", "日常維護", "ok"])
    wb.create_sheet("說明")["A1"] = "notes"
    wb.save(tmp_path / "no_manager.xlsx")
    r = results_of(roster_loaded, tmp_path / "no_manager.xlsx")
    assert "could not tell which feed sheet '拜訪' (column names in row 3)" in r.error
    assert "its other sheets: '說明'" in r.error
    assert "closest is 'bank_crm_visits' (client_contact)" in r.error
    # contact_id is made from manager_id and the rest: the one to add is manager_id
    assert "lacks column(s) manager_id (e.g. 客戶經理工號, 經理工號, 員工編號);" in r.error
    for flag in ("--sheet", "--header-row", "--feed", "--profile"):
        assert flag in r.error


def test_no_feed_fits_a_csv_blames_the_feed_knowing_its_columns(roster_loaded, tmp_path):
    from tests.conftest import write_csv
    path = write_csv(tmp_path / "v.csv", [{"客戶編號": "C1", "拜訪日期": "2026-11-03",
                                           "拜訪方式": "面訪", "拜訪目的": "回訪"}])
    r = results_of(roster_loaded, path)
    assert "closest is 'bank_crm_visits'" in r.error and "manager_id" in r.error
    assert "--sheet" not in r.error and "--feed" in r.error
    unknown = results_of(roster_loaded, write_csv(tmp_path / "u.csv", [{"sku": 1, "hue": 2}]))
    assert "none of its columns (sku, hue) is one a profile knows" in unknown.error


def serial_1900(day: dt.datetime) -> float:
    return (day - dt.datetime(1899, 12, 30)) / dt.timedelta(days=1)


@pytest.mark.parametrize("system", [1900, 1904])
def test_dates_decode_in_either_date_system(roster_loaded, tmp_path, system):
    wb = openpyxl.Workbook()
    if system == 1904:
        wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.append([*HEADER, "序列值"])       # a column no profile maps
    ws.append([*visit("A1", "C1"), 46329])          # a plain number stays one
    ws.append([*visit("A2", "C2", day=4), 46329.5])
    wb.save(tmp_path / "d.xlsx")
    # the file really is in that system: the cell holds the serial counted from its epoch
    with zipfile.ZipFile(tmp_path / "d.xlsx") as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    serial = serial_1900(VISIT) - (1462 if system == 1904 else 0)
    stored = [float(v) for v in re.findall(r"<v>([0-9.]+)</v>", sheet)]
    assert any(abs(v - serial) < 1e-6 for v in stored), (serial, stored)
    con = duckdb.connect()
    detected = stage_file(con, tmp_path / "d.xlsx", "t", tmp_path)
    assert detected.excel_date_system == system
    assert con.execute('SELECT "拜訪日期", "序列值" FROM t ORDER BY _line').fetchall() == [
        ("2026-11-03 10:00:00", "46329"), ("2026-11-04 10:00:00", "46329.5")]
    r = results_of(roster_loaded, tmp_path / "d.xlsx")
    assert r.landed == 2
    assert query(roster_loaded, "SELECT min(occurred_at) FROM client_contact") == [(VISIT,)]


def test_numbers_read_as_excel_shows_them(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["n"])
    for v in (46329.0, 0.1 + 0.2, 1234567.891, -3.0, 1e20, 7):
        ws.append([v])
    wb.save(tmp_path / "n.xlsx")
    con = duckdb.connect()
    stage_file(con, tmp_path / "n.xlsx", "t", tmp_path)
    assert [v for (v,) in con.execute("SELECT n FROM t ORDER BY _line").fetchall()] == [
        "46329", "0.3", "1234567.891", "-3", "100000000000000000000", "7"]


def test_a_workbook_with_nothing_in_it_says_so(tmp_path):
    wb = openpyxl.Workbook()
    wb.create_sheet("空白")
    wb.save(tmp_path / "e.xlsx")
    with pytest.raises(SourceError, match="no header row in the first 30 rows of any of its "
                                          "sheets"):
        stage_file(duckdb.connect(), tmp_path / "e.xlsx", "t", tmp_path)


def test_sheet_and_header_row_do_not_apply_to_a_csv(roster_loaded, tmp_path):
    from tests.conftest import write_csv
    path = write_csv(tmp_path / "t.csv", [{"scope": "manager", "scope_id": "A1",
                                           "period": "2026-05", "metric_key": "x",
                                           "target": "1"}])
    r = results_of(roster_loaded, path, sheet="x", header_row=3)
    assert r.error is None and r.landed == 1
    assert r.notes == ["--sheet and --header-row apply to Excel workbooks only: this file was "
                       "read from its first line"]
