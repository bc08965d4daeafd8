"""Excel .xlsx reader (openpyxl, read-only): the sheet and header row holding the data, as text."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import openpyxl
import pyarrow as pa
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from pipelines.db import temp_table
from pipelines.sources import Detected, Reject, SourceError
from pipelines.sources.csv_source import unique_names

# A candidate header row's cells -> (some profile's required columns are all there, how many
# cells name a column a profile knows). Higher is better; (False, 0) recognises nothing.
HeaderScore = Callable[[list[str]], tuple[bool, int]]

HEADER_SCAN = 30   # rows searched for the header: title, date and blank rows come first

# Labels of a report's total rows (compared case-folded, full-width folded to ASCII).
SUMMARY_WORDS = ("合計", "合计", "小計", "小计", "總計", "总计", "總合計", "总合计", "共計", "共计",
                 "total", "subtotal", "sub total", "sub-total", "grand total")
_WORDS = "|".join(re.escape(w) for w in sorted(SUMMARY_WORDS, key=len, reverse=True))
# "合計", "Total:", "合計：15 筆" (the word, then a colon and anything), or "A1 Total",
# "王大明 合計" (a group's label, a space, the word: as Excel's Subtotal command writes them)
# (also read by DuckDB's RE2, for CSV files: the same syntax, over text folded the same way)
SUMMARY_PATTERN = rf"(?:(?:{_WORDS})(?:\s*:.*)?|\S.*\s(?:{_WORDS})\s*:?)"
_SUMMARY = re.compile(SUMMARY_PATTERN, re.DOTALL)


def _text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        # a number as Excel shows it: 46329 (a date serial, perhaps) not 46329.0, and 15
        # significant digits, so a stored 0.30000000000000004 reads as the 0.3 the user typed
        return str(int(v)) if v.is_integer() else format(v, ".15g")
    return str(v)


def summary_label(cell: str | None) -> bool:
    """A cell reading as the label of a total or subtotal row."""
    if not cell:
        return False
    folded = " ".join(unicodedata.normalize("NFKC", cell).casefold().split())
    return bool(folded) and _SUMMARY.fullmatch(folded) is not None


def is_summary_row(cells: list[str | None]) -> bool:
    """A total row: its first filled cell is a total label. Only the first one, so a note
    reading "合計" or a sentence with 合計 in it, right of a row's ids, keeps its row."""
    first = next((c for c in cells if c is not None and c.strip()), None)
    return summary_label(first)


def _no_score(cells: list[str]) -> tuple[bool, int]:
    return False, 0


def _rows(values, formulas, max_row: int | None = None) -> Iterator[tuple]:
    """The sheet's rows from row 1. A formula cell keeps its last computed value; one never
    computed keeps its formula text, so nothing in the sheet is lost."""
    return ((tuple(f if v is None else v for v, f in zip(vr, fr, strict=False)))
            for vr, fr in zip(values.iter_rows(values_only=True, max_row=max_row),
                              formulas.iter_rows(values_only=True, max_row=max_row),
                              strict=False))


def _cells(row: tuple) -> list[str]:
    return [(_text(v) or "").strip() for v in row]


def _find_header(rows: Iterator[tuple], score: HeaderScore,
                 header_row: int | None) -> tuple[tuple[bool, int], int] | None:
    """(score, 1-based row) of the sheet's best header among its first rows, or of row
    `header_row`; None if there is no filled row to take. On a tie the higher row wins; if
    nothing is recognised, the first filled row (a file no profile knows says so later)."""
    best = None
    for i, row in enumerate(rows, start=1):
        if header_row is not None and i != header_row:
            continue
        cells = _cells(row)
        if not any(cells):
            continue
        s = score(cells)
        if best is None or s > best[0]:
            best = (s, i)
    return best


def stage(con: duckdb.DuckDBPyConnection, path: Path, table: str,
          header_score: HeaderScore | None = None, sheet: str | None = None,
          header_row: int | None = None) -> Detected:
    """Stage the workbook's data sheet. The sheet whose header `header_score` rates best, and in
    it the best header among the first HEADER_SCAN rows, unless `sheet` (a name) or
    `header_row` (1-based) say which. Rows keep their sheet row numbers (`_line`)."""
    score = header_score or _no_score
    try:
        values = openpyxl.load_workbook(path, read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for a damaged zip/xml
        raise SourceError(f"{path}: not a readable .xlsx workbook ({exc.__class__.__name__}); "
                          "open it in Excel and save it again as .xlsx") from exc
    try:
        sheets = [ws.title for ws in values.worksheets]
        listed = ", ".join(repr(s) for s in sheets)
        if sheet is not None:
            wanted = [i for i, s in enumerate(sheets) if s == sheet] or [
                i for i, s in enumerate(sheets) if s.strip().casefold() == sheet.strip().casefold()]
            if not wanted:
                raise SourceError(f"{path}: no sheet named {sheet!r}; the workbook's sheets are "
                                  f"{listed}: name one of them with --sheet")
            order = wanted[:1]
        else:
            order = list(range(len(sheets)))
        found = {}
        for i in order:
            scan = HEADER_SCAN if header_row is None else header_row
            hit = _find_header(_rows(values.worksheets[i], formulas.worksheets[i], scan),
                               score, header_row)
            if hit is not None:
                found[i] = hit
        if not found:
            where = (f"sheet {sheets[order[0]]!r}" if sheet is not None or len(sheets) == 1
                     else f"any of its sheets ({listed})")
            if header_row is not None:
                raise SourceError(f"{path}: row {header_row} of {where} is empty; give "
                                  "--header-row the row that holds the column names")
            raise SourceError(f"{path}: no header row in the first {HEADER_SCAN} rows of "
                              f"{where}; export it again with its column names")
        # the best header; on a tie the earlier sheet (a notes sheet recognises nothing)
        pick = max(found, key=lambda i: (found[i][0], -i))
        (_, head_line) = found[pick]
        ws, ws_f = values.worksheets[pick], formulas.worksheets[pick]
        rows = _rows(ws, ws_f)
        for _ in range(head_line - 1):
            next(rows)
        names = unique_names(_cells(next(rows)))
        cols: list[list[str | None]] = [[] for _ in names]
        lines: list[int] = []
        rejects: list[Reject] = []
        skipped: list[Reject] = []
        for i, row in enumerate(rows, start=head_line + 1):
            if all(v is None for v in row):
                continue
            texts = [_text(v) for v in row]
            if is_summary_row(texts):
                label = next(t for t in texts if t is not None and t.strip())
                skipped.append(Reject(i, "summary_row", "a total or subtotal row, not data",
                                      label.strip()[:100]))
                continue
            if any(v is not None for v in row[len(names):]):
                rejects.append(Reject(i, "malformed_row", "values right of the last header",
                                      " | ".join(t or "" for t in texts)[:500],
                                      code="right_of_header",
                                      args={"columns": len(names)}))
                continue
            lines.append(i)
            for j in range(len(names)):
                cols[j].append(texts[j] if j < len(texts) else None)
        date_system = 1904 if values.epoch == CALENDAR_MAC_1904 else 1900
    finally:
        values.close()
        formulas.close()
    notes = []
    if pick != 0 or head_line != 1:
        notes.append(f"read sheet {sheets[pick]!r}, header in row {head_line}"
                     + (f" (rows 1 to {head_line - 1} are titles, not data)"
                        if head_line > 2 else " (row 1 is a title, not data)"
                        if head_line == 2 else ""))
    # another sheet that some feed fits as well is data this load leaves out: say so
    also = [sheets[i] for i in found if i != pick and found[i][0][0]]
    if also:
        notes.append(f"sheet(s) {', '.join(repr(s) for s in also)} also look like data and were "
                     "not read: load the file again with --sheet NAME for each")
    # header names are unique (unique_names), so they can name the columns directly
    temp_table(con, table, pa.table({"_line": pa.array(lines, pa.int64()),
                                     **{name: pa.array(c, pa.string())
                                        for name, c in zip(names, cols, strict=True)}}))
    return Detected("xlsx", sheet=sheets[pick], header=names, rejects=rejects, skipped=skipped,
                    notes=notes, excel_date_system=date_system, header_row=head_line,
                    sheets=sheets)
