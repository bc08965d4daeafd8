"""Readers: each stages one file as an all-text DuckDB table and says what it detected."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from pipelines.sources.csv_source import CsvRead, Scan
    from pipelines.sources.xlsx_source import HeaderScore


class SourceError(Exception):
    """A file that cannot be read at all; the message says what to do about it."""


@dataclass
class Reject:
    line: int
    reason_code: str
    detail: str = ""                  # English, for the warehouse and the CLI
    raw_value: str = ""
    column: str | None = None
    # what the dashboard shows, in the reader's language: key detail.<code> with these values.
    # Never client data: counts, line numbers, statement ids and other codes only.
    code: str | None = None
    args: dict = field(default_factory=dict)


@dataclass
class Detected:
    format: str                       # csv | xlsx | xapi
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header: list[str] = field(default_factory=list)
    damaged_sequences: int = 0        # bytes that did not decode; their rows are quarantined
    voided: list[str] = field(default_factory=list)      # xAPI statement ids voided by the file
    line_from_rowid: bool = False     # no _line column: rows are in file order (CSV)
    rejects: list[Reject] = field(default_factory=list)  # rows the reader itself could not take
    # rows read but not data, each with its reason: total and subtotal rows of a report,
    # xAPI voiding instructions. Counted as skipped, never quarantined or landed.
    skipped: list[Reject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)       # what the user should know (English)
    # a workbook's date system (1900 or 1904): date columns holding Excel serial numbers are
    # decoded with it; None for other files (a serial in a CSV is read as 1900)
    excel_date_system: int | None = None
    header_row: int | None = None                        # a workbook's header row, 1-based
    sheets: list[str] = field(default_factory=list)      # a workbook's sheets, in order
    reader: CsvRead | None = None     # staged only in part: the caller reads the whole file

    def close(self) -> None:
        """Let go of what reading the file needed (a CSV file's private converted copy)."""
        if self.reader is not None:
            self.reader.close()

    def to_json(self) -> str:
        d = asdict(self)
        d.pop("rejects")
        d.pop("skipped")
        d.pop("notes")
        d.pop("voided")
        d.pop("line_from_rowid")
        d.pop("reader")
        d.pop("sheets")
        return json.dumps(d, ensure_ascii=False)


TEXT_SUFFIXES = (".csv", ".tsv", ".txt")


def is_excel(path: Path) -> bool:
    """An Excel workbook, whatever it is named: by its zip signature or its suffix."""
    with path.open("rb") as f:
        magic = f.read(4)
    return magic == b"PK\x03\x04" or path.suffix.lower() in (".xlsx", ".xlsm")


def is_csv(path: Path) -> bool:
    """Read as delimited text: by its name, unless its first bytes say it is an Excel file."""
    return path.suffix.lower() in TEXT_SUFFIXES and not is_excel(path)


def stage_file(con: duckdb.DuckDBPyConnection, path: Path, table: str, cache_dir: Path,
               manager_lookup: dict[str, str] | None = None,
               scanned: Scan | None = None, sample: int | None = None,
               header_score: HeaderScore | None = None, sheet: str | None = None,
               header_row: int | None = None) -> Detected:
    """Stage `path` into temp table `table` (text columns; plus `_line`, unless the rows are
    stored in file order) and describe the file.
    `scanned`: a CSV file's csv_source.scan, if the caller has made it already. `sample`: of a
    CSV file, stage only the first rows; `Detected.reader` reads the whole file (and finds the
    rows DuckDB rejects). Of a workbook: `header_score` rates candidate header rows (which
    sheet and row hold the data); `sheet` and `header_row` (1-based) name them instead."""
    from pipelines.sources import csv_source, xapi_source, xlsx_source

    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: the file is empty; export it again with its header row")
    suffix = path.suffix.lower()
    if is_excel(path):
        return xlsx_source.stage(con, path, table, header_score, sheet, header_row)
    if suffix in (".json", ".jsonl", ".ndjson"):
        return xapi_source.stage(con, path, table, manager_lookup or {})
    if suffix in TEXT_SUFFIXES:
        return csv_source.stage(con, path, table, cache_dir, scanned, sample)
    raise SourceError(f"{path}: unsupported file type {suffix!r}; use .csv, .tsv, .xlsx or .json")
