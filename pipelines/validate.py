"""Data checks: each is a query over the staged text rows that returns the rows failing it."""
from __future__ import annotations

from pipelines.contract import FALSE_WORDS, TIMESTAMP_FORMATS, TRUE_WORDS, Column, Feed

Sql = tuple[str, list]
EARLIEST = "2000-01-01"
FUTURE_TOLERANCE_DAYS = 1


MAX_TEXT = 10_000   # longer free text is a broken export, not a note


def typed(col: Column, formats: list[str] | None = None) -> Sql:
    """SQL (and its parameters) that turns the staged text into the column's type, NULL if not.

    `formats` are a profile's own date formats, tried before the common ones."""
    c = f'"{col.name}"'
    formats = [*(formats or []), *TIMESTAMP_FORMATS]
    if col.type == "timestamp":
        return f"try_strptime({c}, ?)", [formats]
    if col.type == "date":
        return f"CAST(try_strptime({c}, ?) AS DATE)", [formats]
    if col.type == "bool":
        return (f"CASE WHEN list_contains(?, lower({c})) THEN TRUE "
                f"WHEN list_contains(?, lower({c})) THEN FALSE END",
                [list(TRUE_WORDS), list(FALSE_WORDS)])
    if col.type == "number":
        return f"try_cast(replace({c}, ',', '') AS DOUBLE)", []
    if col.type == "int":
        return (f"CASE WHEN try_cast({c} AS DOUBLE) = floor(try_cast({c} AS DOUBLE)) "
                f"THEN CAST(try_cast({c} AS DOUBLE) AS INTEGER) END", [])
    return c, []


def _fail(col: str, reason: str, where: str, params: list, detail: str = "''") -> Sql:
    # raw values are kept whole in quarantine, but a 10 MB field is cut to its first 1,000 chars
    return (f'SELECT _line, ? AS column_name, left("{col}", 1000) AS raw_value, '
            f"? AS reason_code, {detail} AS detail FROM stg WHERE {where}", [col, reason, *params])


def checks(feed: Feed, formats: list[str] | None = None) -> list[Sql]:
    """Every check for this feed, as (sql, params); each returns failing rows of `stg`."""
    out: list[Sql] = [(
        "SELECT _line, NULL AS column_name, _skip AS raw_value, ? AS reason_code, '' AS detail "
        "FROM stg WHERE _skip IS NOT NULL", ["not_applicable"])]
    for col in feed.columns:
        name = f'"{col.name}"'
        # U+FFFD marks bytes that did not decode: the row is damaged, never stored as mojibake.
        out.append(_fail(col.name, "invalid_encoding", f"contains({name}, ?)", ["\ufffd"]))
        if col.required:
            out.append(_fail(col.name, "required", f"{name} IS NULL", []))
        expr, params = typed(col, formats)
        if col.type == "text":
            out.append(_fail(col.name, "too_long", f"length({name}) > ?", [MAX_TEXT],
                             detail="length(" + name + ")::VARCHAR || ' characters'"))
        if col.type != "text":
            out.append(_fail(col.name, f"invalid_{col.type}",
                             f"{name} IS NOT NULL AND ({expr}) IS NULL", params))
        if col.enum:
            out.append(_fail(col.name, "not_allowed", f"{name} IS NOT NULL AND NOT "
                             f"list_contains(?, {name})", [list(col.enum)]))
        if col.min is not None:
            out.append(_fail(col.name, "below_min", f"({expr}) < ?", [*params, col.min]))
        if col.max is not None:
            out.append(_fail(col.name, "above_max", f"({expr}) > ?", [*params, col.max]))
        if col.type in ("timestamp", "date") and not col.future_ok:
            out.append(_fail(col.name, "future_date",
                             f"({expr}) > current_date + to_days(CAST(? AS INTEGER))",
                             [*params, FUTURE_TOLERANCE_DAYS]))
        if col.type in ("timestamp", "date"):
            out.append(_fail(col.name, "too_old", f"({expr}) < CAST(? AS DATE)",
                             [*params, EARLIEST]))
    if feed.has_manager:
        out.append(_fail("manager_id", "unknown_manager", '"manager_id" IS NOT NULL AND '
                         '"manager_id" NOT IN (SELECT manager_id FROM roster)', []))
    key = ", ".join(f'"{k}"' for k in feed.key)
    raw = " || '|' || ".join(f"coalesce(\"{k}\", '')" for k in feed.key)
    out.append((
        f"SELECT _line, ? AS column_name, {raw} AS raw_value, ? AS reason_code, "
        f"'first at line ' || first_line AS detail FROM ("
        f"SELECT *, min(_line) OVER (PARTITION BY {key}) AS first_line FROM stg) "
        f"WHERE _line > first_line",
        [feed.key[0], "duplicate_in_file"]))
    return out
