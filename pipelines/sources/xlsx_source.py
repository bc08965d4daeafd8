"""Excel .xlsx reader (openpyxl, read-only): the first sheet with a header row, as text."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import openpyxl
import pyarrow as pa

from pipelines.db import temp_table
from pipelines.sources import Detected, Reject, SourceError
from pipelines.sources.csv_source import unique_names


def _text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def stage(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> Detected:
    try:
        values = openpyxl.load_workbook(path, read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for a damaged zip/xml
        raise SourceError(f"{path}: not a readable .xlsx workbook ({exc.__class__.__name__}); "
                          "open it in Excel and save it again as .xlsx") from exc
    try:
        ws, ws_f = values.worksheets[0], formulas.worksheets[0]
        # A formula cell keeps its last computed value; one never computed keeps its formula
        # text, so nothing in the sheet is lost.
        rows = ((tuple(f if v is None else v for v, f in zip(vr, fr, strict=False)))
                for vr, fr in zip(ws.iter_rows(values_only=True),
                                  ws_f.iter_rows(values_only=True), strict=False))
        header_row = next(rows, None)
        if header_row is None or all(v is None for v in header_row):
            raise SourceError(f"{path}: the first sheet has no header row")
        names = unique_names([(_text(v) or "").strip() for v in header_row])
        cols: list[list[str | None]] = [[] for _ in names]
        lines: list[int] = []
        rejects: list[Reject] = []
        for i, row in enumerate(rows, start=2):
            if all(v is None for v in row):
                continue
            if any(v is not None for v in row[len(names):]):
                rejects.append(Reject(i, "malformed_row", "values right of the last header",
                                      " | ".join(_text(v) or "" for v in row)[:500],
                                      code="right_of_header",
                                      args={"columns": len(names)}))
                continue
            lines.append(i)
            for j in range(len(names)):
                cols[j].append(_text(row[j]) if j < len(row) else None)
        sheet = ws.title
    finally:
        values.close()
        formulas.close()
    # header names are unique (unique_names), so they can name the columns directly
    temp_table(con, table, pa.table({"_line": pa.array(lines, pa.int64()),
                                     **{name: pa.array(c, pa.string())
                                        for name, c in zip(names, cols, strict=True)}}))
    return Detected("xlsx", sheet=sheet, header=names, rejects=rejects)
