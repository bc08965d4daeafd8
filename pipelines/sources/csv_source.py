"""CSV/TSV reader: detects encoding (strictly decoded) and delimiter, stages with DuckDB."""
from __future__ import annotations

import codecs
import contextlib
import csv
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import charset_normalizer
import duckdb

from pipelines.sources import Detected, Reject, SourceError

# Encodings bank exports really come in; anything else must be re-saved by the user. cp950 is
# Big5 as Windows writes it in Taiwan (碁 裏 恒 € beyond plain Big5); Big5-HKSCS adds Hong Kong
# characters (堃 栢). Each is told from the others by how plausible its reading of the text is.
CANDIDATES = ["cp950", "big5hkscs", "gb18030"]   # on a tie, in this order: Taiwan first
# The common characters of each candidate's script: a wrong reading of the bytes yields rare
# characters, kana, Cyrillic or box drawing, where a right one yields these.
COMMON_SET = {"gb18030": "gb2312", "cp950": "big5", "big5hkscs": "big5"}
PLAUSIBLE_SAMPLE = 65_536   # characters of the head compared
DELIMITERS = [",", ";", "\t", "|"]
CHUNK = 1 << 20


# Most damaged sequences a file may have and still be read (their rows are quarantined);
# more than this, or more than this share of its characters, means a wrong or broken file.
MAX_DAMAGE, MAX_DAMAGE_SHARE = 3, 0.01
LONG_LINE_BYTES = 64_000_000   # longest line read at all; longer ones are quarantined whole
# DuckDB's names for why it rejected a line (reject_errors.error_type) -> detail codes the
# dashboard words in each language; a name not listed here is shown as "could not be parsed".
PARSE_ERRORS = {"TOO MANY COLUMNS": "too_many_fields", "MISSING COLUMNS": "too_few_fields",
                "UNQUOTED VALUE": "bad_quote", "LINE SIZE OVER MAXIMUM": "line_too_long",
                "INVALID ENCODING": "bad_bytes", "INVALID STATE": "parse_failed",
                "CAST": "parse_failed"}


@dataclass
class Scan:
    """One pass over the bytes: how UTF-8-like the file is, and its line endings."""
    utf8_bad: int = 0        # sequences that are not UTF-8
    utf8_chars: int = 0      # non-ASCII characters that decoded as UTF-8
    crlf: int = 0
    lf: int = 0              # every \n, including those of \r\n
    cr: int = 0              # every \r, including those of \r\n

    @property
    def mixed_newlines(self) -> bool:
        return bool((self.crlf and self.lf > self.crlf) or self.cr > self.crlf)


def scan(path: Path) -> Scan:
    """Validate UTF-8 over the whole file (fast while it is clean) and look at the line endings
    of its head; a file mixing them further down is caught when DuckDB reads it."""
    out = Scan()
    strict = codecs.getincrementaldecoder("utf-8")(errors="strict")
    lenient = None
    with path.open("rb") as f:
        head = True
        while chunk := f.read(CHUNK):
            if head:
                out.crlf, out.lf, out.cr = (chunk.count(b"\r\n"), chunk.count(b"\n"),
                                            chunk.count(b"\r"))
                head = False
            if lenient is None:
                try:
                    text = strict.decode(chunk)
                    out.utf8_chars += (len(chunk) - len(text)) // 3
                    continue
                except UnicodeDecodeError:
                    # count from here on, replacing what does not decode
                    lenient = codecs.getincrementaldecoder("utf-8")(errors="replace")
                    pending = strict.getstate()[0]
                    text = lenient.decode(pending + chunk)
            else:
                text = lenient.decode(chunk)
            bad = text.count("\ufffd")
            out.utf8_bad += bad
            # each multi-byte character is 2-4 bytes for 1 character: a cheap lower bound
            out.utf8_chars += max(0, (len(chunk) - len(text)) // 3)
    final = lenient or strict
    try:
        out.utf8_bad += final.decode(b"", final=True).count("\ufffd")
    except UnicodeDecodeError:  # the file ends inside a character
        out.utf8_bad += 1
    return out


def _bad_sequences(path: Path, encoding: str) -> int:
    """How many byte sequences of the file do not decode in `encoding`."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    bad = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            bad += decoder.decode(chunk).count("\ufffd")
    return bad + decoder.decode(b"", final=True).count("\ufffd")


def _tolerable(bad: int, chars: int) -> bool:
    return bad <= max(MAX_DAMAGE, MAX_DAMAGE_SHARE * chars)


def detect_encoding(path: Path, found: Scan | None = None) -> tuple[str, int]:
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
    found = found or scan(path)
    # Real UTF-8 text has many valid multi-byte characters; text in a legacy encoding almost
    # none. GB18030 accepts nearly any bytes, so a damaged UTF-8 file must not fall through
    # to it and come out as mojibake.
    if found.utf8_bad == 0 or (found.utf8_chars >= 4 * found.utf8_bad
                               and _tolerable(found.utf8_bad, found.utf8_chars)):
        return "utf-8", found.utf8_bad
    guess = charset_normalizer.from_bytes(head, cp_isolation=CANDIDATES).best()
    order = list(dict.fromkeys(CANDIDATES + ([guess.encoding] if guess else [])))
    chars = found.utf8_bad + found.utf8_chars
    # GB18030 decodes nearly any bytes, so fewest undecodable bytes alone would pick it for
    # Big5 text: the reading of the head with the most common characters wins, then the one
    # with fewest damaged bytes, then the order above. A whole-file decode costs half a second
    # per 100 MB, so the readings are decoded whole from the most plausible down, and only
    # until one fits.
    by_plausibility: dict[tuple, list[str]] = {}
    for enc in order:
        if enc in COMMON_SET:
            by_plausibility.setdefault(plausibility(head, enc), []).append(enc)
    for _, group in sorted(by_plausibility.items(), reverse=True):
        fitting = []
        for enc in group:   # in the order above: the first that decodes cleanly wins
            bad = _bad_sequences(path, enc)
            if bad == 0:
                return enc, 0
            if _tolerable(bad, chars):
                fitting.append((enc, bad))
        if fitting:
            fewest = min(bad for _, bad in fitting)
            return max(fitting, key=lambda eb: (eb[1] == fewest, -order.index(eb[0])))
    raise SourceError(
        f"{path}: the text encoding is not UTF-8, GB18030, Big5 (cp950) or Big5-HKSCS (or the "
        "file is badly damaged); open it in Excel and save it as 'CSV UTF-8'")


def _common(char: str, charset: str) -> bool:
    """A character a bank's text is full of: a frequent ideograph (GB2312 level 1, Big5's
    常用字), CJK or full-width punctuation and digits, the euro sign."""
    code = ord(char)
    if char == "\u20ac":   # the euro sign, in amounts
        return True
    # full-width digits and punctuation, not full-width letters: a wrong reading yields those
    if 0x3000 <= code <= 0x303F or 0xFF01 <= code <= 0xFF20 or 0xFF3B <= code <= 0xFF40 \
            or 0xFF5B <= code <= 0xFF65:
        return True
    if not 0x4E00 <= code <= 0x9FFF:
        return False
    try:
        raw = char.encode(charset)
    except UnicodeEncodeError:
        return False
    if charset == "gb2312":
        return 0xB0 <= raw[0] <= 0xD7            # level 1: the 3,755 most used
    return 0xA440 <= int.from_bytes(raw, "big") <= 0xC67E   # Big5 level 1: 5,401 in common use


@cache
def _bank_chars() -> frozenset[str]:
    text = (Path(__file__).with_name("bank_chars.txt")).read_text(encoding="utf-8")
    return frozenset(c for line in text.splitlines() if not line.startswith("#") for c in line)


def plausibility(head: bytes, encoding: str) -> tuple[float, float, float]:
    """How plausible `head` read in `encoding` is, compared as a tuple: few odd characters
    (`_odd`), then the share of its non-ASCII characters that are characters of bank work
    (decides even a note of two characters), then the share that are common characters of the
    encoding's script."""
    text = head.decode(encoding, errors="replace")[:PLAUSIBLE_SAMPLE]
    wide = Counter(c for c in text if ord(c) > 127)
    total = sum(wide.values())
    if not total:
        return 0.0, 1.0, 1.0
    charset, bank = COMMON_SET[encoding], _bank_chars()
    return (-round(sum(n for c, n in wide.items() if _odd(c)) / total, 2),
            round(sum(n for c, n in wide.items() if c in bank) / total, 2),
            round(sum(n for c, n in wide.items() if _common(c, charset)) / total, 2))


def _odd(char: str) -> bool:
    """A character no bank export holds, which a wrong reading of the bytes yields: private
    use, kana, Cyrillic, Greek, box drawing, full-width letters, undecodable bytes."""
    code = ord(char)
    return (0xE000 <= code <= 0xF8FF or 0x3040 <= code <= 0x30FF or 0x0370 <= code <= 0x04FF
            or 0x2500 <= code <= 0x257F or 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A
            or code == 0xFFFD)


COPY_PREFIX = "load-"           # a load's private directory of converted copies
STALE_SECONDS = 24 * 3600       # a copy this old is stale even if its pid lives again


def _write_utf8(path: Path, encoding: str, newlines: bool, out: Path) -> None:
    """`path` transcoded to UTF-8 into the new private file `out` (mode 600).

    Undecodable bytes become U+FFFD (the loader quarantines any row holding one);
    newline=None folds \r\n and \r into \n when a file mixes them."""
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with path.open(encoding=encoding, errors="replace", newline=None if newlines else "") \
            as src, os.fdopen(fd, "w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)


def private_dir(cache_dir: Path) -> Path:
    """A new directory only this user can enter (mode 700), for one load's converted copies;
    named by the process, so a copy left by a killed load is found (`remove_stale_copies`)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        cache_dir.chmod(0o700)
    return Path(tempfile.mkdtemp(prefix=f"{COPY_PREFIX}{os.getpid()}-", dir=cache_dir))


def remove_stale_copies(cache_dir: Path) -> int:
    """Remove what a load killed before it could clean up left behind (its process is gone,
    or it is a day old), and the readable copies older versions kept for good. Returns how
    many entries went."""
    if not cache_dir.is_dir():
        return 0
    removed = 0
    for entry in cache_dir.iterdir():
        if entry.is_dir() and entry.name.startswith(COPY_PREFIX):
            pid = entry.name[len(COPY_PREFIX):].split("-")[0]
            try:
                old = time.time() - entry.stat().st_mtime > STALE_SECONDS
            except FileNotFoundError:
                continue
            if _alive(pid) and not old:
                continue
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.is_file() and entry.suffix in (".csv", ".tmp"):
            entry.unlink(missing_ok=True)
        else:
            continue
        removed += 1
    return removed


def _alive(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def detect_delimiter(text_head: str, suffix: str) -> str:
    first = text_head.splitlines()[0] if text_head else ""
    if suffix == ".tsv":
        return "\t"
    try:
        return csv.Sniffer().sniff(text_head[:65536], delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        # One-column files and odd quoting: the most frequent candidate in the header wins.
        return max(DELIMITERS, key=first.count)


def stage(con: duckdb.DuckDBPyConnection, path: Path, table: str, cache_dir: Path,
          found: Scan | None = None, sample: int | None = None) -> Detected:
    """`found`: the file's scan, if the caller has made it already. `sample`: stage only the
    first rows and leave the whole file to the caller, through `Detected.reader`."""
    found = found or scan(path)
    encoding, damaged = detect_encoding(path, found)
    read = CsvRead(path, cache_dir, encoding, damaged, found.mixed_newlines)
    try:
        rejects = read.stage(con, table, sample)
    except BaseException:
        read.close()
        raise
    if not sample:
        read.close()   # staged whole: its converted copy, if any, is not needed any more
    return Detected("csv", encoding=encoding, delimiter=read.delimiter, header=read.names,
                    rejects=[] if sample else rejects, damaged_sequences=damaged,
                    line_from_rowid=True, reader=read if sample else None)


@dataclass
class CsvRead:
    """How DuckDB reads the whole of one CSV file: the read_csv call, and the retries a file
    may need. Fixed names and all-text types: the loader, not DuckDB's sniffer, decides what
    is valid."""
    path: Path
    cache_dir: Path
    encoding: str
    damaged: int
    newlines: bool                 # read a copy with mixed line endings folded into one
    delimiter: str = ","
    names: list[str] = field(default_factory=list)
    # the file transcoded to UTF-8 for DuckDB, if it needs it: a private copy that lives only
    # while the load runs (`close`), with the line-ending folding it was made with
    _copy: tuple[Path, bool] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        try:
            with self._utf8().open(encoding="utf-8-sig", newline="") as f:
                head = f.read(CHUNK)
        except BaseException:
            self.close()
            raise
        if not head.strip():
            self.close()
            raise SourceError(f"{self.path}: the file has no header row; export it again with "
                              "headers")
        self.delimiter = detect_delimiter(head, self.path.suffix.lower())
        header = next(csv.reader([head.splitlines()[0]], delimiter=self.delimiter))
        self.names = unique_names([h.strip().lstrip("\ufeff") for h in header])

    def _utf8(self) -> Path:
        """The file as DuckDB can read it: clean UTF-8 with one kind of line ending (DuckDB
        skips a UTF-8 BOM itself); anything else is transcoded into a private copy."""
        if self.encoding in ("utf-8", "utf-8-sig") and not self.damaged and not self.newlines:
            return self.path
        if self._copy and self._copy[1] == self.newlines:
            return self._copy[0]
        self.close()
        out = private_dir(self.cache_dir) / "input.csv"
        self._copy = (out, self.newlines)
        _write_utf8(self.path, self.encoding, self.newlines, out)
        return out

    def close(self) -> None:
        """Remove the converted copy: no copy of an input file outlives its load."""
        if self._copy:
            shutil.rmtree(self._copy[0].parent, ignore_errors=True)
            self._copy = None

    def sql(self, max_line: int | None = None) -> tuple[str, list]:
        """The read_csv call and its parameters, to use as a table in a FROM clause."""
        return ("read_csv(?, header = true, delim = ?, quote = '\"', escape = '\"', "
                "columns = ?, store_rejects = true, "
                f"{'max_line_size = ?, ' if max_line else ''}auto_detect = false)",
                [str(self._utf8()), self.delimiter, dict.fromkeys(self.names, "VARCHAR"),
                 *([max_line] if max_line else [])])

    def stage(self, con: duckdb.DuckDBPyConnection, table: str,
              sample: int | None = None) -> list[Reject]:
        """The file (or its first `sample` rows) as temp table `table`, in file order."""
        limit = " LIMIT ?" if sample else ""
        return self.run(con, lambda src: con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {src[0]}{limit}",
            [*src[1], *([sample] if sample else [])]))

    def run(self, con: duckdb.DuckDBPyConnection,
            build: Callable[[tuple[str, list]], object]) -> list[Reject]:
        """`build(read_csv call)` runs one statement reading the file; it runs again with the
        line endings folded, or with room for long lines, if the file needs it. Returns the
        rows DuckDB rejected in what the statement read."""
        try:
            return self._run(con, build)
        except duckdb.InvalidInputException as exc:
            if self.newlines or "state machine" not in str(exc):
                raise SourceError(f"{self.path}: DuckDB cannot parse this file "
                                  f"({str(exc).splitlines()[0]}); check its quoting, or save "
                                  "it again from Excel") from exc
            # line endings change further down the file: fold them, then read again
            self.newlines = True
            return self._run(con, build)

    def _run(self, con: duckdb.DuckDBPyConnection,
             build: Callable[[tuple[str, list]], object]) -> list[Reject]:
        # DuckDB's own line limit first: room for 64 MB lines makes every read about a
        # quarter slower. A longer line (a pasted document in a note) is read again with the
        # room, so its row is quarantined for its long field, not rejected whole.
        for max_line in (None, LONG_LINE_BYTES):
            con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
            build(self.sql(max_line))
            if not con.execute("SELECT count(*) FROM reject_errors "
                               "WHERE error_type = 'LINE SIZE OVER MAXIMUM'").fetchall()[0][0]:
                break
        # DuckDB reports one error per bad column; the row is quarantined once, with them all.
        return [Reject(int(line), "malformed_row", ", ".join(errors), (raw or "")[:500],
                       code="csv_parse", args={"errors": parse_codes(errors)})
                for line, errors, raw in con.execute(
                    "SELECT line, list_sort(list(DISTINCT error_type::VARCHAR)), "
                    "any_value(csv_line) FROM reject_errors GROUP BY line ORDER BY line")
                .fetchall()]


def parse_codes(errors: list[str]) -> list[str]:
    """DuckDB's error names for one line as detail codes, each once, in a stable order."""
    return sorted({PARSE_ERRORS.get(e, "parse_failed") for e in errors})


def unique_names(header: list[str]) -> list[str]:
    """Blank headers get a position name; repeated ones a suffix, so every column survives."""
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(header):
        name = h or f"column{i + 1}"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out
