"""Data checks: each is a condition over a staged row; the rows meeting it are the failures."""
from __future__ import annotations

from dataclasses import dataclass

from pipelines.contract import FALSE_WORDS, TIMESTAMP_FORMATS, TRUE_WORDS, Column, Feed

Sql = tuple[str, list]
EARLIEST = "2000-01-01"
FUTURE_TOLERANCE_DAYS = 1
MAX_TEXT_BYTES = 32_768   # longer text is a broken export, not a note (~10,000 Chinese chars)
SAMPLE_ROWS = 2_000    # rows looked at to find a date column's format


def t(name: str) -> str:
    """The typed twin of a staged text column in the `checked` table."""
    return f'"t__{name}"'


def typed(col: Column, formats: list[str] | None = None) -> Sql:
    """SQL (and its parameters) that turns the staged text into the column's type, NULL if not.

    `formats` are the date formats to try in order; the file's own format should come first,
    which makes parsing about ten times faster than trying the common list in a fixed order."""
    c = f'"{col.name}"'
    formats = formats or TIMESTAMP_FORMATS
    if col.type == "timestamp":
        return f"try_strptime({c}, ?)", [formats]
    if col.type == "date":
        return f"CAST(try_strptime({c}, ?) AS DATE)", [formats]
    if col.type == "bool":
        return (f"CASE WHEN list_contains(?, lower({c})) THEN TRUE "
                f"WHEN list_contains(?, lower({c})) THEN FALSE END",
                [list(TRUE_WORDS), list(FALSE_WORDS)])
    if col.type == "month":  # YYYY-MM; Excel may turn it into a date, the first of the month
        return (f"strftime(try_strptime({c}, ['%Y-%m', '%Y/%m', '%Y%m', '%Y-%m-%d', "
                f"'%Y/%m/%d', '%Y-%m-%d %H:%M:%S']), '%Y-%m')", [])
    number = f"try_cast(replace({c}, ',', '') AS DOUBLE)"
    if col.type == "number":  # NaN and infinity are not amounts
        return f"CASE WHEN isfinite({number}) THEN {number} END", []
    if col.type == "int":
        return (f"CASE WHEN isfinite({number}) AND {number} = floor({number}) "
                f"THEN try_cast({number} AS INTEGER) END", [])
    return c, []


def date_formats(sample: list[str], preferred: list[str]) -> list[str]:
    """The format list for one column, the one most of the sample parses with first."""
    from datetime import datetime

    candidates = list(dict.fromkeys([*preferred, *TIMESTAMP_FORMATS]))

    def hits(fmt: str) -> int:
        n = 0
        for value in sample:
            try:
                datetime.strptime(value, fmt)
                n += 1
            except ValueError:
                pass
        return n

    best, best_hits = candidates[0], -1
    for fmt in candidates if sample else ():
        n = hits(fmt)
        if n > best_hits:
            best, best_hits = fmt, n
        if n == len(sample):
            break   # the whole sample parses: the usual case, no need to try the rest
    return [best, *[f for f in candidates if f != best]]


@dataclass(frozen=True)
class Check:
    column: str | None
    reason: str
    where: str                 # over `checked`: raw "col" and typed "t__col"
    params: tuple = ()
    detail: str = "''"         # SQL: English words for the warehouse
    late: bool = False         # needs a join: run on its own over all rows, not in `_bad`
    # what the dashboard says, in its reader's language: key detail.<code>, and SQL giving its
    # values as a JSON object (numbers only: never the row's text)
    detail_code: str | None = None
    detail_args: str = "NULL"


def checks(feed: Feed, damaged: bool = True) -> list[Check]:
    """Every row check for this feed (duplicates within the file are checked separately).

    `damaged`: the reader replaced undecodable bytes with U+FFFD somewhere in the file."""
    out = [Check(None, "not_applicable", "_skip IS NOT NULL")]
    for col in feed.columns:
        raw, typ = f'"{col.name}"', t(col.name)
        if damaged:  # such rows are quarantined, never stored as mojibake
            out.append(Check(col.name, "invalid_encoding", f"contains({raw}, '\ufffd')"))
        if col.required:
            out.append(Check(col.name, "required", f"{raw} IS NULL"))
        if col.type == "text":
            out.append(Check(col.name, "too_long", f"strlen({raw}) > {MAX_TEXT_BYTES}",
                             detail=f"strlen({raw})::VARCHAR || ' bytes'", detail_code="bytes",
                             detail_args=f"json_object('bytes', strlen({raw}), "
                                         f"'max', {MAX_TEXT_BYTES})::VARCHAR"))
        else:
            out.append(Check(col.name, f"invalid_{col.type}",
                             f"{raw} IS NOT NULL AND {typ} IS NULL"))
        if col.enum:
            out.append(Check(col.name, "not_allowed",
                             f"{raw} IS NOT NULL AND NOT list_contains(?, {raw})",
                             (list(col.enum),)))
        if col.min is not None:
            out.append(Check(col.name, "below_min", f"{typ} < ?", (col.min,)))
        if col.max is not None:
            out.append(Check(col.name, "above_max", f"{typ} > ?", (col.max,)))
        if col.type in ("timestamp", "date"):
            if not col.future_ok:
                out.append(Check(col.name, "future_date",
                                 f"{typ} > current_date + to_days(CAST(? AS INTEGER))",
                                 (FUTURE_TOLERANCE_DAYS,)))
            out.append(Check(col.name, "too_old", f"{typ} < CAST(? AS DATE)", (EARLIEST,)))
    if feed.has_manager:
        # a join: it would break the file order the rows are typed in (and numbered by)
        out.append(Check("manager_id", "unknown_manager", '"manager_id" IS NOT NULL AND '
                         '"manager_id" NOT IN (SELECT manager_id FROM roster)', late=True))
    return out


def any_failure(all_checks: list[Check]) -> Sql:
    """One condition that is true for a row failing any check but the late ones: a single pass
    over the file."""
    params: list = []
    early = [c for c in all_checks if not c.late]
    for c in early:
        params.extend(c.params)
    return " OR ".join(f"coalesce({c.where}, FALSE)" for c in early) or "FALSE", params


def failing_rows(check: Check) -> Sql:
    # raw values are kept whole in quarantine, but a 10 MB field is cut to its first 1,000 chars
    raw = "_skip" if check.column is None else f'"{check.column}"'
    return (f"SELECT _line, ? AS column_name, left({raw}, 1000) AS raw_value, ? AS reason_code, "
            f"{check.detail} AS detail, CAST(? AS VARCHAR) AS detail_code, "
            f"{check.detail_args} AS detail_args FROM checked "
            f"WHERE {'' if check.late else '_bad AND '}({check.where})",
            [check.column, check.reason, check.detail_code, *check.params])


def duplicates_in_file(feed: Feed) -> Sql:
    """Rows repeating an id seen earlier in the same file (the first one may still land).
    A key part with a type compares as typed (a month written 2026-01 and 2026/01 is one)."""
    parts = [f'"{k}"' if feed.column(k).type == "text" else t(k) for k in feed.key]
    key = ", ".join(parts)
    raw = " || '|' || ".join(f"coalesce(CAST({k} AS VARCHAR), '')" for k in parts)
    # candidates by a 64-bit hash of the key (grouping integers is several times faster than
    # grouping text), then the real keys of those few rows
    return (f"WITH maybe AS (SELECT hash({key}) AS h FROM checked GROUP BY 1 "
            "HAVING count(*) > 1) "
            f"SELECT _line, ? AS column_name, {raw} AS raw_value, ? AS reason_code, "
            f"'first at line ' || first_line AS detail, 'first_at_line' AS detail_code, "
            f"json_object('line', first_line)::VARCHAR AS detail_args FROM ("
            f"SELECT _line, {key}, min(_line) OVER (PARTITION BY {key}) AS first_line "
            f"FROM checked WHERE hash({key}) IN (SELECT h FROM maybe) AND "
            f"{' AND '.join(f'{k} IS NOT NULL' for k in parts)}) WHERE _line > first_line",
            [feed.key[0], "duplicate_in_file"])
