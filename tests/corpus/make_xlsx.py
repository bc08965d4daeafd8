"""Writes the committed .xlsx corpus files: `python tests/corpus/make_xlsx.py`."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl

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


if __name__ == "__main__":
    title_rows_and_totals(HERE / "title_rows_and_totals.xlsx")
    notes_sheet_first(HERE / "notes_sheet_first.xlsx")
