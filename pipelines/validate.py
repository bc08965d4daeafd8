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


# Full-width forms as Chinese input methods type them (１２，０００, Ａ１, ：) fold to ASCII by
# Unicode NFKC, done by `nfkc()` (an Arrow function the loader registers on its connection)
# only for text that is not plain ASCII: the usual row pays one length comparison.
NFKC_FUNCTION = "nfkc"
# ROC (民國) calendar dates as Taiwanese systems write them: 115/11/03, 115.11.03, 115-11-03,
# 115年11月3日, each with an optional time after it; and seven digits, 1151103. Year 115 is 2026.
ROC_OFFSET = 1911
ROC_DATE = r"^(\d{2,3})\s*[/.\-年]\s*(\d{1,2})\s*[/.\-月]\s*(\d{1,2})\s*日?(\D.*)?$"
ROC_DIGITS = r"^(\d{3})(\d{2})(\d{2})(\s.*)?$"
ROC_SHORT = r"^\d{3}[/.\-]"     # a three-digit year and a separator: ROC, never Gregorian
ROC_MONTH = r"^(\d{2,3})\s*[/.\-年]\s*(\d{1,2})\s*月?$"
ISO_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
SEPARATORS = ["/", ".", "-", "年"]
# Excel keeps a date as days since its epoch; a text-formatted cell shows that number
EXCEL_EPOCHS = {1900: "1899-12-30", 1904: "1904-01-01"}
CALENDARS = ("auto", "roc", "gregorian")


@dataclass(frozen=True)
class DateRead:
    """How one date column is read: its formats (the file's own first), its calendar and, for
    Excel serial numbers, the workbook's date system."""
    formats: tuple[str, ...] = tuple(TIMESTAMP_FORMATS)
    calendar: str = "auto"      # auto: a 2-3 digit year or seven digits is ROC; roc; gregorian
    date_system: int = 1900


def folded(c: str) -> str:
    """SQL: text `c` with full-width characters folded to ASCII (NFKC), surrounding space gone."""
    return f"CASE WHEN strlen({c}) = length({c}) THEN {c} ELSE trim({NFKC_FUNCTION}({c})) END"


def _roc_text(f: str) -> Sql:
    """SQL: a ROC date text `f` written as a Gregorian ISO one (NULL if it is not one). The
    date's parts come from one regular-expression match, bound to `s` by a one-item
    list_transform (a part taken by its own regexp_extract ran the pattern six times)."""
    iso = (f"printf('%04d-%02d-%02d', TRY_CAST(s.y AS INTEGER) + {ROC_OFFSET}, "
           "TRY_CAST(s.m AS INTEGER), TRY_CAST(s.d AS INTEGER))")
    rest = "CASE WHEN trim(s.r) = '' THEN '' ELSE ' ' || ltrim(trim(s.r), 'T') END"
    return (f"CASE WHEN regexp_matches({f}, ?) THEN printf('%04d-%s-%s%s', "
            f"TRY_CAST(substr({f}, 1, 3) AS INTEGER) + {ROC_OFFSET}, substr({f}, 4, 2), "
            f"substr({f}, 6, 2), substr({f}, 8)) "
            f"ELSE list_transform([regexp_extract({f}, ?, ['y', 'm', 'd', 'r'])], "
            f"lambda s: CASE WHEN s.y <> '' THEN {iso} || {rest} END)[1] END",
            [ROC_DIGITS, ROC_DATE])


def _timestamp(col: Column, how: DateRead) -> Sql:
    f = folded(f'"{col.name}"')
    roc, roc_p = _roc_text(f)
    serial = (f"strlen({f}) >= 5 AND substr({f}, 6, 1) IN ('', '.') "
              f"AND regexp_full_match({f}, '\\d{{5}}(\\.\\d+)?')")
    excel = (f"CAST(? AS TIMESTAMP) + to_microseconds(CAST(round(CAST({f} AS DOUBLE) * 86400) "
             "AS BIGINT) * 1000000)")
    excel_p = [EXCEL_EPOCHS.get(how.date_system, EXCEL_EPOCHS[1900])]
    if how.calendar == "gregorian":
        return (f"CASE WHEN {serial} THEN {excel} ELSE try_strptime({f}, ?) END",
                [*excel_p, list(how.formats)])
    if how.calendar == "roc":
        looks_roc = f"regexp_matches({f}, ?) OR regexp_matches({f}, ?)"
        looks_p = [ROC_DATE, ROC_DIGITS]
    else:
        # cheap tests first: the usual 2026-11-03 has its separator fifth
        looks_roc = (f"substr({f}, 3, 1) IN (?, ?, ?, ?) OR substr({f}, 4, 1) IN (?, ?, ?, ?) "
                     f"OR ((strlen({f}) = 7 OR substr({f}, 8, 1) = ' ') "
                     f"AND regexp_matches({f}, ?)) OR (' ' IN (substr({f}, 3, 1), "
                     f"substr({f}, 4, 1)) AND regexp_matches({f}, ?))")
        looks_p = [*SEPARATORS, *SEPARATORS, ROC_DIGITS, ROC_DATE]
    gregorian = f"try_strptime({f}, ?)"
    # The usual ROC date, a three-digit year and a separator (115/11/03 09:00), is no Gregorian
    # date: its year moved by 1911 in the text, it parses with the file's own format (the
    # general form costs a regular-expression match and a rewrite as ISO text).
    shifted = (f"CASE WHEN regexp_matches({f}, ?) THEN try_strptime(CAST(CAST(substr({f}, 1, 3) "
               f"AS INTEGER) + {ROC_OFFSET} AS VARCHAR) || substr({f}, 4), ?) END")
    shifted_p = [ROC_SHORT, list(how.formats)]
    if how.calendar == "roc":
        first, first_p = f"coalesce(try_strptime({roc}, ?), {gregorian})", [
            *roc_p, ISO_FORMATS, list(how.formats)]
    else:
        # 03/05/2026 read by the file's own format is a Gregorian date; 115/11/03 read so is
        # the year 115, which is ROC
        first = (f"coalesce(list_transform([{gregorian}], lambda g: CASE WHEN year(g) >= 1900 "
                 f"THEN g END)[1], try_strptime({roc}, ?))")
        first_p = [list(how.formats), *roc_p, ISO_FORMATS]
    return (f"CASE WHEN {looks_roc} THEN coalesce({shifted}, {first}) WHEN {serial} THEN {excel} "
            f"ELSE {gregorian} END",
            [*looks_p, *shifted_p, *first_p, *excel_p, list(how.formats)])


SQL_TYPES = {"timestamp": "TIMESTAMP", "date": "DATE", "bool": "BOOLEAN", "month": "VARCHAR",
             "number": "DOUBLE", "int": "INTEGER", "text": "VARCHAR"}


def null_of(col: Column) -> str:
    """SQL: the NULL `typed` gives a column that is missing from the file, of the same type."""
    return f"CAST(NULL AS {SQL_TYPES[col.type]})"


def typed(col: Column, how: DateRead | list[str] | None = None) -> Sql:
    """SQL (and its parameters) that turns the staged text into the column's type, NULL if not.

    `how`: for a date column, its DateRead (or just its formats, tried in order); the file's own
    format should come first, which makes parsing about ten times faster than trying the common
    list in a fixed order. Full-width digits and punctuation are folded first."""
    c = f'"{col.name}"'
    if not isinstance(how, DateRead):
        how = DateRead(tuple(how or TIMESTAMP_FORMATS))
    f = folded(c)
    if col.type == "timestamp":
        return _timestamp(col, how)
    if col.type == "date":
        expr, params = _timestamp(col, how)
        return f"CAST({expr} AS DATE)", params
    if col.type == "bool":
        return (f"CASE WHEN list_contains(?, lower({f})) THEN TRUE "
                f"WHEN list_contains(?, lower({f})) THEN FALSE END",
                [list(TRUE_WORDS), list(FALSE_WORDS)])
    if col.type == "month":  # YYYY-MM; Excel may turn it into a date, the first of the month
        return (f"CASE WHEN regexp_matches({f}, ?) THEN printf('%04d-%02d', "
                f"TRY_CAST(regexp_extract({f}, ?, 1) AS INTEGER) + {ROC_OFFSET}, "
                f"TRY_CAST(regexp_extract({f}, ?, 2) AS INTEGER)) "
                f"ELSE strftime(try_strptime({f}, ['%Y-%m', '%Y/%m', '%Y%m', '%Y-%m-%d', "
                f"'%Y/%m/%d', '%Y-%m-%d %H:%M:%S']), '%Y-%m') END",
                [ROC_MONTH, ROC_MONTH, ROC_MONTH])
    number = f"try_cast(replace({f}, ',', '') AS DOUBLE)"
    if col.type == "number":  # NaN and infinity are not amounts
        return f"CASE WHEN isfinite({number}) THEN {number} END", []
    if col.type == "int":
        return (f"CASE WHEN isfinite({number}) AND {number} = floor({number}) "
                f"THEN try_cast({number} AS INTEGER) END", [])
    return c, []


def looks_roc(value: str) -> bool:
    """A date text written in the ROC calendar (for telling the user what was read)."""
    import re
    import unicodedata
    from datetime import date

    v = unicodedata.normalize("NFKC", value).strip()
    m = re.match(ROC_DATE, v) or re.match(ROC_DIGITS, v)
    if not m:
        return False
    try:
        date(int(m.group(1)) + 1911, int(m.group(2)), int(m.group(3)))
    except ValueError:
        return False   # 9999999 is seven digits, not a day
    return True


def date_formats(sample: list[str], preferred: list[str]) -> list[str]:
    """The format list for one column, the one most of the sample parses with first."""
    import re
    from datetime import datetime

    candidates = list(dict.fromkeys([*preferred, *TIMESTAMP_FORMATS]))
    # a ROC date is parsed with its year moved by 1911 (`_timestamp`): its format is found so
    sample = [f"{int(v[:3]) + ROC_OFFSET}{v[3:]}" if re.match(ROC_SHORT, v) else v
              for v in sample]

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
    detail_params: tuple = ()  # bound in `detail`, then in `detail_args`


def checks(feed: Feed, damaged: bool = True, profile: str = "") -> list[Check]:
    """Every row check for this feed (duplicates within the file are checked separately).

    `damaged`: the reader replaced undecodable bytes with U+FFFD somewhere in the file.
    `profile`: the file name of the profile read with, named where a value could be mapped."""
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
            allowed, section = ", ".join(col.enum), f"[values.{col.name}]"
            out.append(Check(
                col.name, "not_allowed", f"{raw} IS NOT NULL AND NOT list_contains(?, {raw})",
                (list(col.enum),),
                detail="'not one of ' || ? || '; if it means one of them, add it to that "
                       "value''s list under ' || ? || ' in the profile ' || ?",
                detail_code="not_allowed",
                detail_args="json_object('allowed', ?, 'section', ?, 'profile', ?)::VARCHAR",
                detail_params=(allowed, section, profile, allowed, section, profile)))
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
    n = check.detail.count("?")
    return (f"SELECT _line, ? AS column_name, left({raw}, 1000) AS raw_value, ? AS reason_code, "
            f"{check.detail} AS detail, CAST(? AS VARCHAR) AS detail_code, "
            f"{check.detail_args} AS detail_args FROM checked "
            f"WHERE {'' if check.late else '_bad AND '}({check.where})",
            [check.column, check.reason, *check.detail_params[:n], check.detail_code,
             *check.detail_params[n:], *check.params])


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
