"""Writes the committed .xlsx corpus files: `python tests/corpus/make_xlsx.py`."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import openpyxl.utils.datetime

HERE = Path(__file__).resolve().parent
HEADER = ["客戶經理工號", "客戶編號", "拜訪日期", "拜訪方式", "拜訪目的", "訪談結果"]


def _report(ws, rows: list[list]) -> None:
    ws["A1"] = "客戶拜訪紀錄 2026年11月"
    ws.merge_cells("A1:F1")
    ws["A3"] = "製表日期: 2026/12/01"
    ws.append(HEADER)
    for row in rows:
        ws.append(row)


def _visit(manager: str, client: str, day: int, note: str = "") -> list:
    return [manager, client, dt.datetime(2026, 11, day, 10), "實地拜訪", "日常維護", note]


def title_rows_and_totals(path: Path) -> None:
    wb = openpyxl.Workbook()
    _report(wb.active, [_visit("A1", "C1", 3, "客戶詢問合計金額"), _visit("A1", "C2", 4),
                        ["A1 小計", None, None, None, None, "2"], _visit("ZZ", "C3", 5),
                        _visit("B1", "C4", 6, "合計"), ["合計", None, None, None, None, "4"]])
    wb.save(path)


def notes_sheet_first(path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "說明"
    wb.active["A1"] = "本報表由系統產生，請勿修改欄位名稱"
    pivot = wb.create_sheet("彙總")
    pivot.append(["客戶經理工號", "拜訪次數"])
    pivot.append(["A1", 2])
    pivot.append(["總計", 2])
    _report(wb.create_sheet("拜訪明細"), [_visit("A2", "C1", 3), _visit("A2", "C5", 4),
                                          ["總計", None, None, None, None, "2"]])
    wb.save(path)


def serial_dates_1904(path: Path) -> None:
    """A workbook made on a Mac (1904 date system) whose date column mixes real dates, serial
    numbers (also with a time fraction), serials typed as text and a ROC date."""
    wb = openpyxl.Workbook()
    wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    ws = wb.active
    ws.append(HEADER)
    ws.append(["A1", "C1", dt.datetime(2026, 11, 3, 10), "實地拜訪", "日常維護", ""])
    ws.append(["A1", "C2", 44868.5, "實地拜訪", "日常維護", "serial with noon"])
    text = ws.cell(row=ws.max_row + 1, column=3, value="44869")
    text.number_format = "@"
    for col, value in zip((1, 2, 4, 5, 6), ("A2", "C3", "實地拜訪", "日常維護", "text cell"),
                          strict=True):
        ws.cell(row=text.row, column=col, value=value)
    ws.append(["B1", "C4", "115/11/06", "實地拜訪", "日常維護", "ROC"])
    ws.append(["B1", "C5", 9999999, "實地拜訪", "日常維護", "no date"])
    wb.save(path)


if __name__ == "__main__":
    title_rows_and_totals(HERE / "title_rows_and_totals.xlsx")
    notes_sheet_first(HERE / "notes_sheet_first.xlsx")
    serial_dates_1904(HERE / "serial_dates_1904.xlsx")
