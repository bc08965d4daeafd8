"""CSV/TSV reader: detects encoding (strictly decoded) and delimiter, stages with DuckDB."""
from __future__ import annotations

import codecs
import csv
import hashlib
from pathlib import Path

import charset_normalizer
import duckdb

from pipelines.sources import Detected, Reject, SourceError

# Encodings bank exports really come in; anything else must be re-saved by the user.
CANDIDATES = ["gb18030", "big5", "utf_16"]
DELIMITERS = [",", ";", "\t", "|"]
CHUNK = 1 << 20


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(CHUNK)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _decodes(path, "utf-8"):
        return "utf-8"
    guess = charset_normalizer.from_bytes(head, cp_isolation=CANDIDATES).best()
    order = ([guess.encoding] if guess else []) + [c for c in CANDIDATES if not guess
                                                  or c != guess.encoding]
    for enc in order:
        if _decodes(path, enc):
            return enc
    raise SourceError(
        f"{path}: the text encoding is not UTF-8, GB18030 or Big5 (or the file is damaged); "
        "open it in Excel and save as 'CSV UTF-8'")


def _utf8_copy(path: Path, encoding: str, cache_dir: Path) -> Path:
    """DuckDB reads UTF-8 only: transcode other encodings once into the cache."""
    if encoding == "utf-8":
        return path
    digest = hashlib.sha256(f"{path.resolve()}:{path.stat().st_mtime_ns}".encode()).hexdigest()
    out = cache_dir / f"{digest[:24]}.csv"
    if not out.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        with path.open("rb") as src, tmp.open("w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(CHUNK):
                dst.write(decoder.decode(chunk))
            dst.write(decoder.decode(b"", final=True))
        tmp.replace(out)
    return out


def detect_delimiter(text_head: str, suffix: str) -> str:
    first = text_head.splitlines()[0] if text_head else ""
    if suffix == ".tsv":
        return "\t"
    try:
        return csv.Sniffer().sniff(text_head[:65536], delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        # One-column files and odd quoting: the most frequent candidate in the header wins.
        return max(DELIMITERS, key=first.count)


def stage(con: duckdb.DuckDBPyConnection, path: Path, table: str, cache_dir: Path) -> Detected:
    encoding = detect_encoding(path)
    utf8 = _utf8_copy(path, encoding, cache_dir)
    with utf8.open(encoding="utf-8-sig" if encoding == "utf-8-sig" else "utf-8",
                   newline="") as f:
        head = f.read(CHUNK)
    if not head.strip():
        raise SourceError(f"{path}: the file has no header row; export it again with headers")
    delimiter = detect_delimiter(head, path.suffix.lower())
    header = next(csv.reader([head.splitlines()[0]], delimiter=delimiter))
    header = [h.strip().lstrip("\ufeff") for h in header]
    names = unique_names(header)
    # Fixed names and all-text types: the loader, not DuckDB's sniffer, decides what is valid.
    columns = {f"c{i}": "VARCHAR" for i in range(len(names))}
    cur = con  # one connection: temp tables and the load transaction are per connection
    cur.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS "
        "SELECT row_number() OVER () + 1 AS _line, * FROM read_csv(?, header = true, "
        "delim = ?, quote = '\"', escape = '\"', columns = ?, store_rejects = true, "
        "max_line_size = 20000000, auto_detect = false)",
        [str(utf8), delimiter, columns],
    )
    rejects = [Reject(int(line), "malformed_row", f"{etype}: {msg}", (raw or "")[:500])
               for line, etype, msg, raw in cur.execute(
                   "SELECT line, error_type::VARCHAR, error_message, csv_line "
                   "FROM reject_errors ORDER BY line").fetchall()]
    # DuckDB numbers accepted rows only; shift them past each rejected line.
    for r in rejects:
        cur.execute(f"UPDATE {table} SET _line = _line + 1 WHERE _line >= ?", [r.line])
    for i, name in enumerate(names):
        cur.execute(f'ALTER TABLE {table} RENAME COLUMN c{i} TO "{_safe(name)}"')
    return Detected("csv", encoding=encoding, delimiter=delimiter, header=names, rejects=rejects)


def _safe(name: str) -> str:
    return name.replace('"', "'")


def unique_names(header: list[str]) -> list[str]:
    """Blank headers get a position name; repeated ones a suffix, so every column survives."""
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(header):
        name = h or f"column{i + 1}"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out
