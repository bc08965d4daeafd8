"""Load files into the warehouse: stage, map, check, quarantine, land; one transaction per file."""
from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from pipelines import db, profiles, redact, validate
from pipelines.config import Settings
from pipelines.contract import FEEDS, LOCAL_TIMEZONE, TIMESTAMP_FORMATS, Feed
from pipelines.profiles import ProfileError
from pipelines.pseudonym import hmac_sql, load_key
from pipelines.sources import (
    Detected,
    Reject,
    SourceError,
    csv_source,
    is_csv,
    is_excel,
    stage_file,
)
from pipelines.sources.xlsx_source import SUMMARY_PATTERN
from pipelines.validate import Sql

LOADABLE = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".json", ".jsonl", ".ndjson"}


@dataclass
class FileResult:
    file: str
    feed: str = ""
    profile: str = ""
    detected: dict = field(default_factory=dict)
    rows_read: int = 0
    landed: int = 0
    updated: int = 0
    duplicates: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    skipped: int = 0                 # rows read that are not data (totals, voiding statements)
    skip_reasons: dict[str, int] = field(default_factory=dict)
    voided: int = 0                  # earlier learning events removed by xAPI voiding
    replaced: int = 0                # earlier rows a corrected export without row ids replaced
    kept: int = 0                    # ... that it kept: its quarantined rows may be their update
    resolved: int = 0                # earlier runs' quarantined rows of this file now landed
    notes: list[str] = field(default_factory=list)   # what the reader wants the user to know
    already_loaded_run: int | None = None
    load_run_id: int | None = None
    seconds: float = 0.0
    error: str | None = None         # the file could not be read at all: what to do about it

    @property
    def balanced(self) -> bool:
        return self.rows_read == (self.landed + self.updated + self.duplicates
                                  + self.quarantined + self.skipped)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def expand(paths: list[Path]) -> list[Path]:
    """Files as given, folders as their loadable files (roster first: the feeds refer to it)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in LOADABLE
                              and not f.name.startswith((".", "~$")) and f.name != "manifest.json"))
        else:
            out.append(p)
    return sorted(out, key=lambda f: (0 if "roster" in f.name.lower() else 1))


def manager_lookup(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every external id (learning account, e-mail, CRM user) the roster maps to a manager."""
    lookup: dict[str, str] = {}
    for mid, lms, email, crm in con.execute(
            "SELECT manager_id, lms_account, email, crm_user_id FROM roster").fetchall():
        for key in (mid, lms, email, crm):
            if key:
                lookup[key] = mid
        if email:  # e-mail addresses match in any case; mbox_sha1sum is SHA-1 of "mailto:…"
            lookup[email.lower()] = mid
            for address in (email, email.lower()):
                for scheme in ("mailto:", "MAILTO:", "Mailto:"):
                    lookup[hashlib.sha1(f"{scheme}{address}".encode()).hexdigest()] = mid
    return lookup


STEPS = ("hash", "read", "map", "check", "land", "commit")
HEAD_ROWS = 50_000   # a CSV file's first rows, staged: its date formats and spellings to map
Progress = Callable[[str, str], None]   # (file, step) as each step starts


def load_paths(settings: Settings, paths: list[Path], feed: str | None = None,
               profile: str | None = None, progress: Progress | None = None,
               force: bool = False, sheet: str | None = None,
               header_row: int | None = None) -> list[FileResult]:
    """Load each file in its own transaction; a file that cannot be read is reported and skipped,
    the others still load. `force`: load a file again even if it was loaded before. `sheet` and
    `header_row` (1-based) say where a workbook's data is, where finding it by its column names
    would not do."""
    results = []
    with db.warehouse(settings.db_path) as con:
        for path in expand(paths):
            try:
                results.append(load_file(con, settings, path, feed, profile, progress, force,
                                         sheet, header_row))
            except (SourceError, ProfileError) as exc:
                results.append(FileResult(file=str(path), error=str(exc)))
    return results


def retry_quarantine(settings: Settings, progress: Progress | None = None) -> list[FileResult]:
    """Load again, forced, every file whose earlier load left rows in quarantine that are still
    open, so the rows whose cause has been fixed since (the roster now has the person, the
    profile now maps the value) land. Only a file still at its recorded path with the same
    sha256 is loaded (its lines are the quarantined ones); any other is reported, with what to do.

    Nothing counts twice: rows stored before are found identical (duplicates), and the earlier
    runs' quarantine rows are settled by the new run (`_settle_quarantine`)."""
    with db.warehouse(settings.db_path) as con:
        known = profiles.all_profiles(settings.profiles_dir)
        runs = con.execute(
            "SELECT l.source_file, l.file_sha256, max(l.load_run_id), any_value(l.feed), "
            "arg_max(l.profile, l.load_run_id) FROM quarantine q JOIN load_run l "
            "USING (load_run_id) WHERE q.resolved_by_run IS NULL "
            "AND q.requarantined_by_run IS NULL GROUP BY 1, 2").fetchall()
        # the roster first: the other feeds' rows are checked against it
        runs.sort(key=lambda r: (r[3] != "roster", r[2]))
        results = []
        for source, digest, run, feed, profile in runs:
            path = Path(source)
            if not path.is_file():
                results.append(FileResult(file=source, feed=feed, error=(
                    f"{source} no longer exists, so the rows run {run} quarantined cannot be "
                    "loaded again: load the corrected file instead")))
                continue
            if sha256_file(path) != digest:
                results.append(FileResult(file=source, feed=feed, error=(
                    f"{source} has changed since run {run} loaded it, so its quarantined lines "
                    "are no longer the same rows: load the corrected file instead")))
                continue
            try:
                results.append(load_file(con, settings, path, feed,
                                         profile if profile in known else None, progress,
                                         force=True))
            except (SourceError, ProfileError) as exc:
                results.append(FileResult(file=source, error=str(exc)))
    return results


def load_file(con: duckdb.DuckDBPyConnection, settings: Settings, path: Path,
              feed: str | None = None, profile: str | None = None,
              progress: Progress | None = None, force: bool = False,
              sheet: str | None = None, header_row: int | None = None) -> FileResult:
    def step(name: str) -> None:
        if progress:
            progress(str(path), name)

    started = _utc_now()
    t0 = time.perf_counter()
    _register_functions(con)
    csv_source.remove_stale_copies(settings.cache_dir)   # left by a load that was killed
    result = FileResult(file=str(path))
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    step("hash")
    # The file's hash and its text scan are two passes over the bytes; hashlib lets go of the
    # GIL, so they run side by side (the scan is wasted only on a file loaded before).
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashing = pool.submit(sha256_file, path)
        scanned = csv_source.scan(path) if is_csv(path) else None
        digest = hashing.result()
    workbook = is_excel(path)
    ignored = not workbook and (sheet is not None or header_row is not None)
    if not workbook:
        sheet = header_row = None   # a text or JSON file is read from its first line
    # Another sheet or header row of a workbook loaded before is another load: a file is
    # loaded before if it was read the way these flags ask (any way, without them).
    prev = con.execute(
        "SELECT load_run_id, feed, profile FROM load_run WHERE file_sha256 = ? AND (CAST(? AS "
        "VARCHAR) IS NULL OR lower(trim(json_extract_string(detected, '$.sheet'))) = "
        "lower(trim(?))) AND (CAST(? AS INTEGER) IS NULL OR "
        "CAST(json_extract(detected, '$.header_row') AS INTEGER) = ?) "
        "ORDER BY load_run_id LIMIT 1", [digest, sheet, sheet, header_row, header_row]).fetchall()
    if prev and not force:
        result.already_loaded_run, result.feed, result.profile = prev[0]
        return result
    step("read")
    # Only the first rows of a CSV file are staged here: the whole file is read once, straight
    # into the typed and checked rows (a staged copy of 5M rows cost a second).
    detected = stage_file(con, path, "stg_raw", settings.cache_dir, manager_lookup(con),
                          scanned, sample=HEAD_ROWS,
                          header_score=_header_score(settings, feed, profile) if workbook
                          else None, sheet=sheet, header_row=header_row)
    try:
        return _load_staged(con, settings, path, result, detected, digest, feed, profile,
                            step, started, t0, ignored)
    finally:
        detected.close()


def _load_staged(con: duckdb.DuckDBPyConnection, settings: Settings, path: Path,
                 result: FileResult, detected: Detected, digest: str, feed: str | None,
                 profile: str | None, step: Callable[[str], None], started: datetime,
                 t0: float, ignored: bool) -> FileResult:
    """`load_file`, once the file is staged: check, quarantine and land its rows."""
    if ignored:
        detected.notes.append("--sheet and --header-row apply to Excel workbooks only: this "
                              "file was read from its first line")
    try:
        prof = _pick_profile(settings, detected, feed, profile)
        spec = FEEDS[prof.feed]
        if detected.reader and prof.resolve:
            # ids resolved through the roster take a join, and a join does not keep the file's
            # order: such a file is staged whole, its rows numbered before the join
            detected.rejects = detected.reader.stage(con, "stg_raw")
            detected.close()
            detected.reader = None
        # Reading and checking only fill temp tables, so they run before the transaction: a
        # read may be retried after a DuckDB error, which would abort an open transaction.
        _typed_rows(con, prof, spec, detected, step, load_key(settings.secret_dir))
        derived = _ids_derived(prof, spec, detected)
        con.begin()
    except BaseException:
        _drop_work_tables(con)
        raise
    try:
        run_id = con.execute("SELECT nextval('load_run_seq')").fetchall()[0][0]
        _quarantine(con, settings, spec, detected, run_id, path,
                    prof.path.name if prof.path else prof.name)
        step("land")
        counts = _land(con, settings, spec, run_id)
        affected = [counts["affected_from"]]
        if detected.voided and spec.name == "learning_event":
            con.execute("INSERT INTO xapi_voided SELECT id, ?, ? FROM unnest(?) u(id) "
                        "ON CONFLICT DO NOTHING", [run_id, _utc_now(), detected.voided])
            gone = con.execute("DELETE FROM learning_event WHERE list_contains(?, event_id) "
                               "RETURNING CAST(occurred_at AS DATE)", [detected.voided]).fetchall()
            result.voided = len(gone)
            affected += [d for (d,) in gone]
        if derived:
            result.replaced, result.kept, first_removed = _replace_scope(
                con, spec, prof, detected, run_id)
            affected.append(first_removed)
            if result.kept:
                result.notes.append(
                    f"kept {result.kept} earlier row(s) this export no longer has: rows of the "
                    "same managers and days are quarantined in it and may be their corrected "
                    "version; fix those rows, then run `python -m pipelines load "
                    "--retry-quarantine`")
        result.resolved = _settle_quarantine(con, digest, run_id)
        bad = con.execute("SELECT reason_code, count(DISTINCT line) FROM quarantine "
                          "WHERE load_run_id = ? GROUP BY ALL ORDER BY 2 DESC",
                          [run_id]).fetchall()
        result.feed, result.profile, result.load_run_id = spec.name, prof.name, run_id
        result.detected = {k: v for k, v in {
            "format": detected.format, "encoding": detected.encoding,
            "delimiter": detected.delimiter, "sheet": detected.sheet,
            "damaged_sequences": detected.damaged_sequences}.items() if v}
        result.quarantined = con.execute("SELECT count(DISTINCT line) FROM quarantine "
                                         "WHERE load_run_id = ?", [run_id]).fetchall()[0][0]
        result.skipped = len(detected.skipped)
        for r in detected.skipped:
            result.skip_reasons[r.reason_code] = result.skip_reasons.get(r.reason_code, 0) + 1
        result.notes = [*detected.notes, *result.notes]
        result.rows_read = counts["staged"] + len(detected.rejects) + result.skipped
        result.landed, result.updated = counts["inserted"], counts["updated"]
        result.duplicates = counts["identical"]
        result.reasons = dict(bad)
        step("commit")
        con.execute(
            "INSERT INTO load_run (load_run_id, source_file, file_sha256, file_size, feed, "
            "profile, detected, started_at, finished_at, rows_read, rows_landed, rows_duplicate,"
            " rows_quarantined, affected_from, rows_skipped, skipped, rows_voided, rows_replaced,"
            " derived_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, str(path), digest, path.stat().st_size, spec.name, prof.name,
             detected.to_json(), started, _utc_now(), result.rows_read, result.landed
             + result.updated, result.duplicates, result.quarantined,
             min((d for d in affected if d is not None), default=None), result.skipped,
             json.dumps(result.skip_reasons) if result.skip_reasons else None, result.voided,
             result.replaced, derived])
        if result.landed or result.updated or result.voided or result.replaced:
            db.bump_data_version(con)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        _drop_work_tables(con)
    result.seconds = round(time.perf_counter() - t0, 3)
    return result


def _nfkc(values: pa.Array) -> pa.Array:
    return pc.utf8_normalize(values, "NFKC")


def _register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """`nfkc(text)` on this connection, for validate.folded (once per connection)."""
    with contextlib.suppress(duckdb.NotImplementedException):   # registered already
        con.create_function(validate.NFKC_FUNCTION, _nfkc, ["VARCHAR"], "VARCHAR",
                            type="arrow", side_effects=False)


def _utc_now() -> datetime:
    # the warehouse keeps every pipeline timestamp as naive UTC; pages show the bank's zone
    return datetime.now(UTC).replace(tzinfo=None)


def _drop_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP VIEW IF EXISTS checked; DROP VIEW IF EXISTS checked_all")
    for table in ("checked_rows", "stg_raw", "reject_breaks", "replace_file", "replace_protect",
                  "replace_old"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _pick_profile(settings: Settings, detected: Detected, feed: str | None,
                  profile: str | None) -> profiles.Profile:
    if profile:
        return profiles.resolve(settings.profiles_dir, profile)
    if feed and feed not in FEEDS:
        raise profiles.ProfileError(f"unknown feed {feed!r}; one of {', '.join(FEEDS)}")
    where = None
    if detected.format == "xlsx":
        others = [s for s in detected.sheets if s != detected.sheet]
        where = (f"sheet {detected.sheet!r} (column names in row {detected.header_row})"
                 + (f" of this workbook (its other sheets: {', '.join(map(repr, others))})"
                    if others else ""))
    return profiles.detect(profiles.all_profiles(settings.profiles_dir), detected.header,
                           detected.format, feed, where)


def _header_score(settings: Settings, feed: str | None,
                  profile: str | None) -> Callable[[list[str]], tuple[bool, int]]:
    """How a workbook's header row is recognised: by the profiles the load may use."""
    if profile:
        return profiles.header_scorer([profiles.resolve(settings.profiles_dir, profile)])
    known = profiles.all_profiles(settings.profiles_dir).values()
    return profiles.header_scorer([p for p in known if feed is None or p.feed == feed])


def _typed_rows(con: duckdb.DuckDBPyConnection, prof: profiles.Profile, spec: Feed,
                detected: Detected, step: Callable[[str], None], key: bytes) -> None:
    """Temp table `checked_rows`: every row of the file typed and flagged, and view `checked`
    with each row's file line (`_line`). Quarantine and landing read only these.

    A CSV file read in part (`detected.reader`) is read here, whole, straight into the table;
    the date formats and the spellings to map come from its staged first rows."""
    step("map")
    maps = _maps(con, prof)
    if detected.reader is None:
        stg, _ = _map_columns(con, prof, maps, detected, (_numbered(detected, "stg_raw"), []),
                              _line_expr(con, detected))
        formats = _column_formats(con, stg, spec, prof, detected)
        step("check")
        _check_rows(con, stg, spec, prof, detected, formats, key)
        _skip_summary_rows(con, detected, "SELECT * FROM checked_rows")
        return
    head, seen = _map_columns(con, prof, maps, detected, ("stg_raw r", []), None)
    formats = _column_formats(con, head, spec, prof, detected)
    step("check")

    def read(source: Sql) -> None:
        stg, _ = _map_columns(con, prof, maps, detected, (f"{source[0]} r", source[1]), None,
                              seen)
        _check_rows(con, stg, spec, prof, detected, formats, key)

    detected.rejects = detected.reader.run(con, read)
    missed = _missed_spellings(con, maps, seen)
    if missed:   # a spelling to map first appears after the staged rows: read again with it
        seen = missed
        detected.rejects = detected.reader.run(con, read)
    # The table keeps the file's order (no join in its query), so its rowid numbers the lines.
    line = _line_expr(con, detected)
    _skip_summary_rows(con, detected, f"SELECT r.* EXCLUDE (_k), {line} AS _line "
                                      f"FROM {_numbered(detected, 'checked_rows')}")


def _skip_summary_rows(con: duckdb.DuckDBPyConnection, detected: Detected, rows: str) -> None:
    """View `checked`: the checked `rows` but a report's total and subtotal rows (合計, 小計,
    Total), which are counted as skipped, with their line, as a workbook's are."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW checked_all AS {rows}")
    for line, label in con.execute("SELECT _line, _summary FROM checked_all "
                                   "WHERE _summary IS NOT NULL ORDER BY _line").fetchall():
        detected.skipped.append(Reject(line, "summary_row", "a total or subtotal row, not data",
                                       label.strip()[:100]))
    con.execute("CREATE OR REPLACE TEMP VIEW checked AS SELECT * EXCLUDE (_summary) "
                "FROM checked_all WHERE _summary IS NULL")


def _map_columns(con: duckdb.DuckDBPyConnection, prof: profiles.Profile, maps: ValueMaps,
                 detected: Detected, source: Sql, line: str | None,
                 seen: dict[str, list[str]] | None = None) -> tuple[Sql, dict[str, list[str]]]:
    """The file's rows from `source` (as `r`) -> `stg` (canonical names, trimmed text, profile
    rules applied), returned as a WITH clause and its parameters; `line` numbers them.

    `maps`: the columns whose values are mapped (`_maps`).
    `seen`: each mapped column's distinct raw values, which its value map covers; by default
    found in `source` (one pass over its rows), and returned.

    A chain of CTEs, not tables: the rows are copied once, into `checked_rows`, however many
    rules apply (and a view could not take bound parameters)."""
    spec = FEEDS[prof.feed]
    header = detected.header
    sources = prof.sources(header)
    formats = [*prof.date_formats, *TIMESTAMP_FORMATS]
    # 1. the source's columns, trimmed, under canonical names; defaults; which rows to skip
    selects, params = [], []
    raw = {col.name: "coalesce(" + ", ".join(_trimmed(f'r."{h}"', col.free_text, _is_id(col))
                                             for h in sources[col.name]) + ")"
           for col in spec.columns if col.name in sources}
    # a client feed's free text is stored with the row's client name and id, and anything
    # shaped like an identifier, masked
    exact = ([_trimmed(f'r."{h}"', False) for h in prof.name_headers(header)]
             + [raw[c.name] for c in spec.columns if c.pseudonymise and c.name in raw])
    private = any(c.pseudonymise for c in spec.columns)
    for col in spec.columns:
        expr = raw.get(col.name, "CAST(NULL AS VARCHAR)")
        if col.free_text and private and col.name in raw:
            expr = redact.redacted_sql(expr, exact)
        if col.name in prof.defaults:
            expr = f"coalesce({expr}, ?)"
            params.append(prof.defaults[col.name])
        selects.append(f'{expr} AS "{col.name}"')
    skip = "CAST(NULL AS VARCHAR)"
    for wanted, kept in prof.keep.items():
        h = prof.header_of(header, wanted)
        if h:
            skip = (f"""coalesce({skip}, CASE WHEN NOT list_contains(?, r."{h}") """
                    f"""THEN ? || '=' || coalesce(r."{h}", '') END)""")
            params.extend([list(kept), wanted])
    if line:
        selects.insert(0, f"{line} AS _line")
    # a CSV file's first filled cell, to tell its total rows by (a workbook's reader skips them;
    # not trimmed: trimming every row's cells cost half a second per million rows)
    first = "CAST(NULL AS VARCHAR)"
    if detected.format == "csv" and any(header):
        first = "coalesce(" + ", ".join(f"NULLIF(r.\"{h}\", '')" for h in header if h) + ")"
    with_sql = (f"WITH stg_1 AS (SELECT {', '.join(selects)}, {skip} AS _skip, "
                f"{first} AS _first FROM {source[0]})")
    with_params = [*params, *source[1]]
    # 2. unit and time-zone transforms, value maps, and ids resolved through the roster
    selects, params, joins, join_params = [], [], [], []
    exprs = {}
    for col in spec.columns:
        exprs[col.name] = (f's."{col.name}"', [])
        if col.name in prof.transforms:
            exprs[col.name] = _transform(exprs[col.name][0], prof.transforms[col.name], formats)
    mapped = {c: exprs[c] for c in maps}
    if seen is None:
        seen = _distinct_values(con, (with_sql, with_params), mapped)
    exprs.update(_value_maps(maps, mapped, seen))
    for col in spec.columns:
        expr, p = exprs[col.name]
        if col.name in prof.resolve:
            via = prof.resolve[col.name]  # one of EXTERNAL_IDS, checked when the profile loads
            alias = f"res_{col.name}"
            joins.append(f"LEFT JOIN (SELECT {via} AS k, any_value(manager_id) AS v FROM roster "
                         f"WHERE {via} IS NOT NULL GROUP BY 1) {alias} ON {alias}.k = {expr}")
            join_params.extend(p)
            expr = f"coalesce({alias}.v, {expr})"
        selects.append(f'{expr} AS "{col.name}"')
        params.extend(p)
    # the label of a total row, NULL for a row of data: cheap tests first (every label holds
    # 計, 计 or total), then the label's pattern over its text folded as a workbook's is
    summary = (f"CASE WHEN (contains(s._first, '計') OR contains(s._first, '计') OR "
               f"s._first ILIKE '%total%') AND regexp_full_match(lower(trim("
               f"regexp_replace({validate.NFKC_FUNCTION}(s._first), '\\s+', ' ', 'g'))), ?) "
               "THEN s._first END")
    with_sql += (f", stg_2 AS (SELECT {'s._line, ' if line else ''}{', '.join(selects)}, "
                 f"s._skip, {summary} AS _summary FROM stg_1 s {' '.join(joins)})")
    with_params = [*with_params, *params, SUMMARY_PATTERN, *join_params]
    return (f"{with_sql}, stg AS (SELECT * FROM stg_2)", with_params), seen


def _mapped(prof: profiles.Profile) -> list[str]:
    """Columns whose values go through a value map (script, case and aliases folded)."""
    return [c.name for c in FEEDS[prof.feed].columns if c.enum or c.name in prof.values]


# (normalised raw value -> canonical value, value for anything unmapped, how to normalise)
ValueMap = tuple[dict[str, str], str | None, Callable[[str], str]]
ValueMaps = dict[str, ValueMap]


def _maps(con: duckdb.DuckDBPyConnection, prof: profiles.Profile) -> ValueMaps:
    """Every column whose values are mapped: allowed values and the profile's value maps
    (script, case, width and aliases folded), and manager ids to the roster's spelling of
    them, whatever their case, width and spaces."""
    spec = FEEDS[prof.feed]
    out: ValueMaps = {}
    for column in _mapped(prof):
        mapping, default = prof.value_map(column)
        out[column] = (mapping, default, profiles.norm)
    if spec.has_manager and "manager_id" not in prof.resolve:
        ids: dict[str, str | None] = {}
        for (mid,) in con.execute("SELECT manager_id FROM roster").fetchall():
            key = profiles.id_key(mid)
            ids[key] = mid if ids.get(key, mid) == mid else None   # two ids alike: neither
        out["manager_id"] = ({k: v for k, v in ids.items() if v is not None}, None,
                             profiles.id_key)
    return out


def _is_id(col) -> bool:
    """An identifier column: its full-width forms fold to ASCII (NFKC) on the way in."""
    return col.type == "text" and not col.free_text and (
        col.name.endswith(("_id", "_ids")) or col.name in ("lms_account", "email"))


def _trimmed(ref: str, free_text: bool, ident: bool = False) -> str:
    """Blank is missing; surrounding spaces go, except in free text. trim() only where there is
    a space to remove: trimming every value costs a third of the whole load. An identifier's
    full-width forms fold to ASCII."""
    if free_text:
        return f"NULLIF({ref}, '')"
    if ident:
        return (f"CASE WHEN strlen({ref}) = length({ref}) THEN {_trimmed(ref, False)} "
                f"ELSE NULLIF(trim({validate.NFKC_FUNCTION}({ref})), '') END")
    return (f"CASE WHEN {ref} LIKE ' %' OR {ref} LIKE '% ' THEN NULLIF(trim({ref}), '') "
            f"ELSE NULLIF({ref}, '') END")


def _numbered(detected: Detected, table: str) -> str:
    """The rows of `table` as `r`, with `_k` (each one's place among them) if `_line_expr`
    numbers them by rowid."""
    if not detected.line_from_rowid:
        return f"{table} r"
    # inside a transaction rowids start at a large offset: count from the first one
    base = f"(SELECT *, rowid - (SELECT min(rowid) FROM {table}) AS _k FROM {table}) r"
    return f"{base} ASOF LEFT JOIN reject_breaks b ON r._k >= b.k" if detected.rejects else base


def _line_expr(con: duckdb.DuckDBPyConnection, detected: Detected) -> str:
    """File line of each row: CSV rows are numbered from rowid (a row_number() window costs a
    third of the read), then moved past the lines DuckDB rejected before them."""
    if not detected.line_from_rowid:
        return "r._line"
    if not detected.rejects:
        return "r._k + 2"
    lines = sorted(r.line for r in detected.rejects)
    # from accepted row k = line - 2 - i onwards, i+1 rejected lines lie before it
    # (consecutive rejected lines share a k; the last of them holds the whole shift)
    breaks = {line - 2 - i: i + 1 for i, line in enumerate(lines)}
    db.temp_table(con, "reject_breaks", pa.table({"k": list(breaks),
                                                  "shift": list(breaks.values())}))
    return "r._k + 2 + coalesce(b.shift, 0)"


def _transform(expr: str, how: str, formats: list[str]) -> Sql:
    if how == "utc_to_local":
        # Only times marked as UTC (…Z, as Salesforce API exports write them); a report export
        # in the user's locale is local time already.
        return (f"CASE WHEN ends_with(upper({expr}), 'Z') THEN coalesce(strftime(timezone(?, "
                f"try_strptime({expr}, ?) AT TIME ZONE 'UTC'), '%Y-%m-%d %H:%M:%S'), {expr}) "
                f"ELSE {expr} END", [LOCAL_TIMEZONE, formats])
    factor = {"seconds_to_minutes": 1 / 60, "hours_to_minutes": 60}[how]
    number = f"try_cast(replace({expr}, ',', '') AS DOUBLE)"
    return (f"coalesce(CAST(round({number} * ?, 2) AS VARCHAR), {expr})", [factor])


def _distinct_values(con: duckdb.DuckDBPyConnection, stg_1: Sql,
                     exprs: dict[str, Sql]) -> dict[str, list[str]]:
    """Each column's distinct values over stg_1, in one pass over the rows."""
    if not exprs:
        return {}
    lists = ", ".join(f"list(DISTINCT {e}) FILTER (WHERE {e} IS NOT NULL)"
                      for e, _ in exprs.values())
    found = con.execute(f"{stg_1[0]} SELECT {lists} FROM stg_1 s",
                        [*stg_1[1], *[x for _, p in exprs.values() for x in (*p, *p)]]
                        ).fetchall()[0]
    return {column: list(values or []) for column, values in zip(exprs, found, strict=True)}


def _value_maps(maps: ValueMaps, exprs: dict[str, Sql],
                seen: dict[str, list[str]]) -> dict[str, Sql]:
    """Each of these columns' raw values in `seen` mapped to its canonical one."""
    out = {}
    for column, (expr, params) in exprs.items():
        pairs = _spellings(maps[column], seen.get(column, []))
        if not pairs:
            out[column] = (expr, params)
            continue
        whens = " ".join("WHEN ? THEN ?" for _ in pairs)
        out[column] = (f"CASE {expr} {whens} ELSE {expr} END",
                       [*params, *[x for pair in pairs for x in pair], *params])
    return out


def _spellings(value_map: ValueMap, values: list[str]) -> list[tuple[str, str]]:
    """(raw, canonical) for each of these raw values the column's value map changes."""
    mapping, default, key = value_map
    pairs = [(v, mapping.get(key(v), default)) for v in values]
    return [(v, c) for v, c in pairs if c is not None and c != v]


def _missed_spellings(con: duckdb.DuckDBPyConnection, maps: ValueMaps,
                      seen: dict[str, list[str]]) -> dict[str, list[str]] | None:
    """After a read whose value maps cover the spellings `seen` in the first rows: None if they
    covered the whole file, else every spelling there is, to read it again with.

    A raw value the maps did not cover is stored as it came, so it is among the column's
    stored values; if its map would change it, the read missed it (a canonical value a map
    wrote maps to itself)."""
    columns = list(seen)
    if not columns:
        return None
    stored = con.execute("SELECT " + ", ".join(
        f'list(DISTINCT "{c}") FILTER (WHERE "{c}" IS NOT NULL)' for c in columns)
        + " FROM checked_rows").fetchall()[0]
    known = {c: set(seen[c]) for c in columns}
    stored = {c: [v for v in values or [] if v not in known[c]]
              for c, values in zip(columns, stored, strict=True)}
    if not any(_spellings(maps[c], values) for c, values in stored.items()):
        return None
    return {c: [*seen[c], *stored[c]] for c in columns}


def _column_formats(con: duckdb.DuckDBPyConnection, stg: Sql, spec: Feed,
                    prof: profiles.Profile, detected: Detected) -> dict[str, validate.DateRead]:
    """Per date column, how to read it: the format list with the file's own format first, the
    calendar the profile declares (or per value, by default) and the workbook's date system.
    A column written in the ROC calendar is named in the file's notes."""
    out = {}
    for col in spec.columns:
        if col.type in ("timestamp", "date"):
            sample = [r[0] for r in con.execute(
                f'{stg[0]} SELECT "{col.name}" FROM stg WHERE "{col.name}" IS NOT NULL LIMIT ?',
                [*stg[1], validate.SAMPLE_ROWS]).fetchall()]
            calendar = prof.calendar.get(col.name, "auto")
            roc = sum(map(validate.looks_roc, sample)) if calendar != "gregorian" else 0
            if roc:
                note = (f"{col.name}: ROC (民國) calendar dates read as Gregorian "
                        f"(year 115 is 2026) in {roc} of the first {len(sample)} rows")
                if note not in detected.notes:
                    detected.notes.append(note)
            out[col.name] = validate.DateRead(
                tuple(validate.date_formats(sample, list(prof.date_formats))), calendar,
                detected.excel_date_system or 1900)
    return out


def _check_rows(con: duckdb.DuckDBPyConnection, stg: Sql, spec: Feed, prof: profiles.Profile,
                detected: Detected, formats: dict[str, validate.DateRead], key: bytes) -> None:
    """`checked_rows` from `stg`: one pass types every row, derives the ids the export lacks
    and flags the failing rows (`_bad`); only those are examined per check.

    `key`: the installation's pseudonym key, for ids derived from client data."""
    # a column the file does not have is NULL in every row: typing it would cost as much as
    # typing a real one (a date's expression is long), for nothing
    present = set(prof.sources(detected.header)) | set(prof.defaults)
    typed_cols, params = [], []
    for col in spec.columns:
        if col.type != "text":
            expr, p = (validate.typed(col, formats.get(col.name)) if col.name in present
                       else (validate.null_of(col), []))
            typed_cols.append(f"{expr} AS {validate.t(col.name)}")
            params.extend(p)
    # Ids derived from the row's values as typed (each typed once, here): the same visit
    # re-exported in another encoding, script or date style keeps its id. They are built from
    # a raw client id, and the other parts are stored in the clear: an unkeyed hash would give
    # the client id back to anyone trying candidates, so the hash is keyed like a pseudonym.
    derived, derived_params = [], []
    for column, parts in prof.derive.items():
        refs = [f'"{n}"' if spec.column(n).type == "text" else validate.t(n) for n in parts]
        text = ", ".join(f"coalesce(CAST({r} AS VARCHAR), '')" for r in refs)
        hashed, key_params = hmac_sql(key, f"concat_ws('|', {text})")
        derived.append(f"""coalesce("{column}", 'k' || substr({hashed}, 2)) AS "{column}" """)
        derived_params.extend(key_params)
    cond, cond_params = validate.any_failure(validate.checks(
        spec, damaged=detected.damaged_sequences > 0))
    # A typed column's text is kept for the failing rows only (the checks and the quarantine
    # read it there): the others land their typed value, and millions of NULLs cost almost
    # nothing to store, where the text made up a third of this table. (Mapped text is kept:
    # which spellings the maps missed is read from it.)
    mapped = _mapped(prof)
    raw_of_typed = [f'CASE WHEN _bad THEN "{c.name}" END AS "{c.name}"'
                    for c in spec.columns if c.type != "text" and c.name not in mapped]
    keep = f"* REPLACE ({', '.join(raw_of_typed)})" if raw_of_typed else "*"
    rows = f"SELECT *, {', '.join(typed_cols) or 'NULL AS t__none'} FROM stg"
    if derived:
        rows = f"SELECT * REPLACE ({', '.join(derived)}) FROM ({rows})"
    con.execute(f"CREATE OR REPLACE TEMP TABLE checked_rows AS {stg[0]} SELECT {keep} FROM ("
                f"SELECT *, {cond} AS _bad FROM ({rows}))",
                [*stg[1], *cond_params, *derived_params, *params])  # as they appear in the text


def _quarantine(con: duckdb.DuckDBPyConnection, settings: Settings, spec: Feed,
                detected: Detected, run_id: int, path: Path, profile_file: str) -> None:
    """Each failing row's reasons into `quarantine`, with its line and raw value."""
    columns = ("load_run_id, source_file, line, column_name, raw_value, reason_code, detail, "
               "detail_code, detail_args")
    # by name: a warehouse from before detail_code has its added columns last
    insert = (f"INSERT INTO quarantine ({columns}) "
              "SELECT ?, ?, _line, column_name, raw_value, reason_code, detail, detail_code, "
              "detail_args")
    for check in validate.checks(spec, damaged=detected.damaged_sequences > 0,
                                 profile=profile_file):
        sql, p = validate.failing_rows(check)
        con.execute(f"{insert} FROM ({sql})", [run_id, str(path), *p])
    sql, p = validate.duplicates_in_file(spec)
    con.execute(f"{insert} FROM ({sql})", [run_id, str(path), *p])
    private = [c.name for c in spec.columns if c.pseudonymise]
    if detected.rejects:
        rows = []
        for r in detected.rejects:
            # a whole raw line may hold a client id: for client feeds it stays in the file
            withheld = bool(private and r.column is None and r.raw_value)
            args = r.args | ({"withheld": True} if withheld else {})
            rows.append([run_id, str(path), r.line, r.column,
                         None if private and r.column is None else r.raw_value, r.reason_code,
                         r.detail + (" (raw line withheld: it may hold client identifiers)"
                                     if withheld else ""),
                         r.code, json.dumps(args, ensure_ascii=False, separators=(",", ":"))
                         if r.code else None])
        con.executemany(f"INSERT INTO quarantine ({columns}) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    if private:
        _pseudonymise_quarantine(con, settings, run_id, private)


def _pseudonymise_quarantine(con: duckdb.DuckDBPyConnection, settings: Settings, run_id: int,
                             columns: list[str]) -> None:
    """A quarantined client id is kept as its keyed hash, like a landed one."""
    _hash_table(con, settings, "quarantine_pseudo",
                "SELECT DISTINCT raw_value FROM quarantine WHERE load_run_id = ? AND raw_value "
                "IS NOT NULL AND list_contains(?, column_name)", [run_id, columns])
    con.execute("UPDATE quarantine q SET raw_value = p.hashed FROM quarantine_pseudo p "
                "WHERE q.load_run_id = ? AND list_contains(?, q.column_name) "
                "AND q.raw_value = p.raw", [run_id, columns])


def _land(con: duckdb.DuckDBPyConnection, settings: Settings, spec: Feed,
          run_id: int) -> dict[str, int]:
    """Typed rows that passed every check: new keys insert, changed rows replace, same rows skip."""
    cols = [c.name for c in spec.columns]
    selects, joins = [], []
    for col in spec.columns:
        value = f'c."{col.name}"' if col.type == "text" else f"c.{validate.t(col.name)}"
        if col.default is not None:
            value = f"coalesce({value}, {str(col.default).upper()})"
        if col.pseudonymise:
            alias = _pseudonym_map(con, settings, col.name)
            if alias:
                joins.append(f'LEFT JOIN {alias} ON {alias}.raw = c."{col.name}"')
                value = f"{alias}.hashed"
        selects.append(f'{value} AS "{col.name}"')
    # a CTE, not a table: the rows are written once, straight into the feed table
    good = (f"WITH good AS (SELECT {', '.join(selects)} FROM checked c {' '.join(joins)} "
            "WHERE NOT c._bad AND c._line NOT IN "
            "(SELECT line FROM quarantine WHERE load_run_id = ?)) ")
    staged = con.execute("SELECT count(*) FROM checked").fetchall()[0][0]
    key_match = " AND ".join(f'g."{k}" = t."{k}"' for k in spec.key)
    same = " AND ".join(f'g."{c}" IS NOT DISTINCT FROM t."{c}"' for c in cols)
    identical, updated = con.execute(
        f"{good} SELECT coalesce(count_if({same}), 0), coalesce(count_if(NOT ({same})), 0) "
        f"FROM good g JOIN {spec.table} t ON {key_match}", [run_id]).fetchall()[0]
    col_list = ", ".join(f'"{c}"' for c in cols)
    extra = "" if spec.table in ("roster", "targets") else ", load_run_id"
    # the earliest day whose scores this file can change: new rows, and old versions replaced
    affected = []
    if spec.name != "roster":
        affected.append(con.execute(f"SELECT {_first_day(spec, 'c.', typed=True)} "
                                    "FROM checked c WHERE NOT c._bad").fetchall()[0][0])
    if updated and spec.name != "roster":
        affected.append(con.execute(
            f"{good} SELECT {_first_day(spec, 't.', typed=False)} FROM {spec.table} t "
            f"WHERE EXISTS (SELECT 1 FROM good g WHERE {key_match} AND NOT ({same}))",
            [run_id]).fetchall()[0][0])
    if updated:
        # a corrected re-export: the stored version of each changed row gives way to the new one
        con.execute(f"{good} DELETE FROM {spec.table} t WHERE EXISTS (SELECT 1 FROM good g "
                    f"WHERE {key_match} AND NOT ({same}))", [run_id])
    written = con.execute(
        f"INSERT INTO {spec.table} ({col_list}{extra}) {good}"
        f"SELECT g.*{', ?' if extra else ''} FROM good g "
        f"WHERE NOT EXISTS (SELECT 1 FROM {spec.table} t WHERE {key_match})",
        [run_id, run_id] if extra else [run_id]).fetchall()[0][0]
    return {"staged": staged, "identical": identical, "updated": updated,
            "inserted": written - updated,
            "affected_from": min((d for d in affected if d is not None), default=None)}


# Quarantined for these, a row still is what it was (a repeat of a row that landed, a row that
# is not this feed's): it is no failed correction of an earlier row.
NOT_A_FAILED_ROW = ("duplicate_in_file", "not_applicable")


def _ids_derived(prof: profiles.Profile, spec: Feed, detected: Detected) -> bool:
    """Do this file's rows have ids derived from their values? Yes when its profile derives the
    feed's key and the file has no column for it (a file with its own ids, even partly blank,
    never replaces: its rows are recognised by those ids). Never the roster or targets."""
    if spec.time_column is None or not spec.has_manager:
        return False
    if not all(k in prof.derive for k in spec.key):
        return False
    given = prof.sources(detected.header)
    return not any(k in given for k in spec.key)


def _replace_scope(con: duckdb.DuckDBPyConnection, spec: Feed, prof: profiles.Profile,
                   detected: Detected, run_id: int) -> tuple[int, int, date | None]:
    """A corrected export without row ids replaces, it does not add: the earlier rows of its
    scope that it no longer has are removed, into `replaced_row`. Returns (removed, kept, the
    earliest removed row's day).

    An id derived from a row's values changes with any of them: a corrected purpose or date
    makes the row a new one, and its earlier version would stay beside it. So the file speaks
    for its scope: the rows of the same feed loaded by earlier derived-id loads through the
    same profile, of the managers the file names, on the days from its first to its last
    (the time column, inclusive). Rows with an id the file has (identical or updated, by key
    as always) are not replaced.

    A quarantined row may be the correction of an earlier row: its old version is not removed
    because the new one failed. It keeps the earlier rows of its manager on its day; an
    unreadable manager keeps every manager's rows that day, an unreadable day the manager's
    whole window, and a line that could not be read at all keeps the whole scope. Those rows
    go when the fixed file loads (`--retry-quarantine`, `--force`). Window and managers come
    from every row whose time and manager could be read, quarantined or not, though never
    from a value quarantined itself (a year 2999 typo does not stretch the window)."""
    time = spec.time_column
    failed_on = ("SELECT line FROM quarantine WHERE load_run_id = ? AND line IS NOT NULL "
                 "AND column_name = ? AND NOT list_contains(?, reason_code)")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE replace_file AS SELECT "
        f'CASE WHEN c._line IN ({failed_on}) THEN NULL ELSE c."manager_id" END AS manager_id, '
        f"CASE WHEN c._line IN ({failed_on}) THEN NULL "
        f"ELSE CAST(c.{validate.t(time)} AS DATE) END AS day, "
        "coalesce(c._line IN (SELECT line FROM quarantine WHERE load_run_id = ? AND line IS NOT "
        "NULL AND NOT list_contains(?, reason_code)), FALSE) AS failed FROM checked c",
        [run_id, "manager_id", ["unknown_manager"], run_id, time, [""], run_id,
         list(NOT_A_FAILED_ROW)])
    lo, hi = con.execute("SELECT min(day), max(day) FROM replace_file").fetchall()[0]
    if lo is None:
        return 0, 0, None
    con.execute("CREATE OR REPLACE TEMP TABLE replace_protect AS SELECT DISTINCT manager_id, day "
                "FROM replace_file WHERE failed")
    if detected.rejects:
        con.execute("INSERT INTO replace_protect VALUES (NULL, NULL)")
    in_file = " AND ".join(f'c."{k}" = o."{k}"' if spec.column(k).type == "text"
                           else f'c.{validate.t(k)} = o."{k}"' for k in spec.key)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE replace_old AS SELECT "
        + ", ".join(f'o."{k}"' for k in spec.key)
        + f", o.manager_id, CAST(o.{time} AS DATE) AS day, o.load_run_id, "
        "to_json(o)::VARCHAR AS stored, EXISTS (SELECT 1 FROM replace_protect p WHERE "
        "(p.manager_id IS NULL OR p.manager_id = o.manager_id) AND (p.day IS NULL "
        f"OR p.day = CAST(o.{time} AS DATE))) AS kept FROM {spec.table} o "
        "WHERE o.load_run_id IN (SELECT load_run_id FROM load_run WHERE feed = ? "
        "AND profile = ? AND derived_ids) AND o.load_run_id <> ? "
        "AND o.manager_id IN (SELECT manager_id FROM replace_file WHERE manager_id IS NOT NULL) "
        f"AND CAST(o.{time} AS DATE) BETWEEN ? AND ? "
        f"AND NOT EXISTS (SELECT 1 FROM checked c WHERE {in_file})",
        [spec.name, prof.name, run_id, lo, hi])
    removed, kept, first = con.execute(
        "SELECT coalesce(count_if(NOT kept), 0), coalesce(count_if(kept), 0), "
        "min(day) FILTER (WHERE NOT kept) FROM replace_old").fetchall()[0]
    if removed:
        key = " || '|' || ".join(f'coalesce(CAST("{k}" AS VARCHAR), \'\')' for k in spec.key)
        con.execute(f"INSERT INTO replaced_row SELECT ?, {key}, day, manager_id, load_run_id, "
                    "?, ?, stored FROM replace_old WHERE NOT kept",
                    [spec.name, run_id, _utc_now()])
        same = " AND ".join(f'r."{k}" = t."{k}"' for k in spec.key)
        con.execute(f"DELETE FROM {spec.table} t WHERE EXISTS (SELECT 1 FROM replace_old r "
                    f"WHERE NOT r.kept AND r.load_run_id = t.load_run_id AND {same})")
    return removed, kept, first


def _settle_quarantine(con: duckdb.DuckDBPyConnection, digest: str, run_id: int) -> int:
    """The same file loaded again (same sha256: the same lines) settles the quarantine rows its
    earlier runs left open, so none counts twice on Data health: a line quarantined again now
    is open under this run only (requarantined_by_run); any other was landed, found stored or
    skipped by this run (resolved_by_run). Returns the lines resolved."""
    earlier = ("q.load_run_id IN (SELECT load_run_id FROM load_run WHERE file_sha256 = ?) "
               "AND q.resolved_by_run IS NULL AND q.requarantined_by_run IS NULL")
    again = ("EXISTS (SELECT 1 FROM quarantine n WHERE n.load_run_id = ? "
             "AND n.line IS NOT DISTINCT FROM q.line)")
    con.execute(f"UPDATE quarantine q SET requarantined_by_run = ? WHERE {earlier} AND {again}",
                [run_id, digest, run_id])
    lines = con.execute(f"UPDATE quarantine q SET resolved_by_run = ? WHERE {earlier} "
                        f"AND NOT {again} RETURNING load_run_id, line",
                        [run_id, digest, run_id]).fetchall()
    return len(set(lines))


def _first_day(spec: Feed, alias: str, typed: bool) -> str:
    """SQL aggregate: the earliest day the rows can count on, over `checked` (typed) or the
    feed table itself. The least of all their dates and times, as a metric may be dated by any
    of them (a follow-up by its due date, which a careless export can put before the contact);
    each column's own minimum first, which costs a scan less than a least() per row.
    (The roster has none: a roster change reaches every period.)"""
    if spec.name == "targets":
        return f"min(CAST(try_strptime({alias}period || '-01', '%Y-%m-%d') AS DATE))"
    days = [f"CAST(min({alias}{'t__' if typed else ''}{c.name}) AS DATE)" for c in spec.columns
            if c.type in ("date", "timestamp")]
    return f"least({', '.join(days)})"


def _pseudonym_map(con: duckdb.DuckDBPyConnection, settings: Settings, column: str) -> str | None:
    """A temp table raw -> keyed hash for the column's distinct values (a few thousand clients,
    not one hash per row)."""
    name = f"pseudo_{column}"
    _hash_table(con, settings, name, f'SELECT DISTINCT "{column}" FROM checked '
                                     f'WHERE NOT _bad AND "{column}" IS NOT NULL', [])
    return name if con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] else None


def _hash_table(con: duckdb.DuckDBPyConnection, settings: Settings, name: str, values_sql: str,
                params: list) -> None:
    """Temp table `name` (raw, hashed): each distinct id of `values_sql` with its keyed hash."""
    hashed, hash_params = hmac_sql(load_key(settings.secret_dir), "raw")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT raw, {hashed} AS hashed "
                f"FROM ({values_sql}) v(raw)", [*hash_params, *params])
