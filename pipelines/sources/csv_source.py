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
CANDIDATES = ["gb18030", "big5"]
DELIMITERS = [",", ";", "\t", "|"]
CHUNK = 1 << 20


# A file is taken as damaged-but-this-encoding when under this share of its non-ASCII bytes
# fail to decode; the rows holding those bytes are quarantined instead of guessed at.
DAMAGE_TOLERANCE = 0.01


def _bad_sequences(path: Path, encoding: str) -> int:
    """How many byte sequences of the file do not decode in `encoding`."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    bad = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            bad += decoder.decode(chunk).count("\ufffd")
    return bad + decoder.decode(b"", final=True).count("\ufffd")


def _non_ascii(path: Path) -> int:
    n = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            n += len(chunk) - len(chunk.translate(None, bytes(range(128, 256))))
    return n


def detect_encoding(path: Path) -> tuple[str, int]:
    """The file's encoding and how many damaged sequences it has (0 for a clean file)."""
    with path.open("rb") as f:
        head = f.read(CHUNK)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", _bad_sequences(path, "utf-8-sig")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", _bad_sequences(path, "utf-16")
    if b"\x00" in head:
        raise SourceError(f"{path}: this is a binary file, not text; export the data as CSV "
                          "or .xlsx")
    utf8_bad = _bad_sequences(path, "utf-8")
    if utf8_bad == 0:
        return "utf-8", 0
    non_ascii = _non_ascii(path)
    if utf8_bad <= DAMAGE_TOLERANCE * non_ascii:
        return "utf-8", utf8_bad
    guess = charset_normalizer.from_bytes(head, cp_isolation=CANDIDATES).best()
    order = list(dict.fromkeys(([guess.encoding] if guess else []) + CANDIDATES))
    scored = [(enc, _bad_sequences(path, enc)) for enc in order]
    clean = [s for s in scored if s[1] == 0]
    if clean:
        return clean[0]
    enc, bad = min(scored, key=lambda s: s[1])
    if bad <= DAMAGE_TOLERANCE * non_ascii:
        return enc, bad
    raise SourceError(
        f"{path}: the text encoding is not UTF-8, GB18030 or Big5 (or the file is badly "
        "damaged); open it in Excel and save it as 'CSV UTF-8'")


def _utf8_copy(path: Path, encoding: str, damaged: int, cache_dir: Path) -> Path:
    """DuckDB reads clean UTF-8 only: transcode other encodings (and mark damage) once."""
    if encoding in ("utf-8", "utf-8-sig") and not damaged:
        return path  # DuckDB skips a UTF-8 BOM itself
    digest = hashlib.sha256(f"{path.resolve()}:{path.stat().st_mtime_ns}:{path.stat().st_size}"
                            .encode()).hexdigest()
    out = cache_dir / f"{digest[:24]}.csv"
    if not out.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        # Undecodable bytes become U+FFFD; the loader quarantines any row holding one.
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
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
    encoding, damaged = detect_encoding(path)
    utf8 = _utf8_copy(path, encoding, damaged, cache_dir)
    with utf8.open(encoding="utf-8-sig", newline="") as f:
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
    return Detected("csv", encoding=encoding, delimiter=delimiter, header=names, rejects=rejects,
                    damaged_sequences=damaged)


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
