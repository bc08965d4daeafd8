"""Load files into the warehouse: stage, map, check, quarantine, land; one transaction per file."""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines import db, profiles, validate
from pipelines.config import Settings
from pipelines.contract import FEEDS, LOCAL_TIMEZONE, TIMESTAMP_FORMATS, Feed
from pipelines.profiles import ProfileError
from pipelines.pseudonym import load_key, pseudonymise
from pipelines.sources import Detected, SourceError, stage_file

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
    voided: int = 0                  # earlier learning events removed by xAPI voiding
    already_loaded_run: int | None = None
    load_run_id: int | None = None
    seconds: float = 0.0
    error: str | None = None         # the file could not be read at all: what to do about it

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.landed + self.updated + self.duplicates + self.quarantined


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
        if email:  # xAPI's mbox_sha1sum is the SHA-1 of "mailto:<address>"
            lookup[hashlib.sha1(f"mailto:{email}".encode()).hexdigest()] = mid
    return lookup


STEPS = ("hash", "read", "map", "check", "land", "commit")
Progress = Callable[[str, str], None]   # (file, step) as each step starts


def load_paths(settings: Settings, paths: list[Path], feed: str | None = None,
               profile: str | None = None, progress: Progress | None = None) -> list[FileResult]:
    """Load each file in its own transaction; a file that cannot be read is reported and skipped,
    the others still load."""
    results = []
    with db.warehouse(settings.db_path) as con:
        for path in expand(paths):
            try:
                results.append(load_file(con, settings, path, feed, profile, progress))
            except (SourceError, ProfileError) as exc:
                results.append(FileResult(file=str(path), error=str(exc)))
    return results


def load_file(con: duckdb.DuckDBPyConnection, settings: Settings, path: Path,
              feed: str | None = None, profile: str | None = None,
              progress: Progress | None = None) -> FileResult:
    def step(name: str) -> None:
        if progress:
            progress(str(path), name)

    started = datetime.now()
    t0 = time.perf_counter()
    result = FileResult(file=str(path))
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    step("hash")
    digest = sha256_file(path)
    prev = con.execute("SELECT load_run_id, feed, profile FROM load_run WHERE file_sha256 = ? "
                       "ORDER BY load_run_id LIMIT 1", [digest]).fetchall()
    if prev:
        result.already_loaded_run, result.feed, result.profile = prev[0]
        return result
    con.begin()
    try:
        step("read")
        detected = stage_file(con, path, "stg_raw", settings.cache_dir, manager_lookup(con))
        prof = _pick_profile(settings, detected, feed, profile)
        spec = FEEDS[prof.feed]
        run_id = con.execute("SELECT nextval('load_run_seq')").fetchall()[0][0]
        step("map")
        _map_columns(con, prof, detected)
        step("check")
        _check(con, spec, detected, run_id, path, list(prof.date_formats))
        step("land")
        counts = _land(con, settings, spec, run_id)
        if detected.voided and spec.name == "learning_event":
            result.voided = len(con.execute(
                "DELETE FROM learning_event WHERE list_contains(?, event_id) RETURNING 1",
                [detected.voided]).fetchall())
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
        result.rows_read = counts["staged"] + len(detected.rejects)
        result.landed, result.updated = counts["inserted"], counts["updated"]
        result.duplicates = counts["identical"]
        result.reasons = dict(bad)
        step("commit")
        con.execute(
            "INSERT INTO load_run VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, str(path), digest, path.stat().st_size, spec.name, prof.name,
             detected.to_json(), started, datetime.now(), result.rows_read, result.landed
             + result.updated, result.duplicates, result.quarantined])
        if result.landed or result.updated or result.voided:
            db.bump_data_version(con)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    result.seconds = round(time.perf_counter() - t0, 3)
    return result


def _pick_profile(settings: Settings, detected: Detected, feed: str | None,
                  profile: str | None) -> profiles.Profile:
    if profile:
        return profiles.resolve(settings.profiles_dir, profile)
    if feed and feed not in FEEDS:
        raise profiles.ProfileError(f"unknown feed {feed!r}; one of {', '.join(FEEDS)}")
    return profiles.detect(profiles.all_profiles(settings.profiles_dir), detected.header,
                           detected.format, feed)


def _map_columns(con: duckdb.DuckDBPyConnection, prof: profiles.Profile,
                 detected: Detected) -> None:
    """stg_raw (file headers) -> stg (canonical names, trimmed text, profile rules applied)."""
    spec = FEEDS[prof.feed]
    header = detected.header
    sources = prof.sources(header)
    selects, params = [], []
    for col in spec.columns:
        if col.name in sources:
            expr = "coalesce(" + ", ".join(f"""NULLIF(trim("{h}"), '')"""
                                           for h in sources[col.name]) + ")"
        else:
            expr = "CAST(NULL AS VARCHAR)"
        if col.name in prof.defaults:
            expr = f"coalesce({expr}, ?)"
            params.append(prof.defaults[col.name])
        selects.append(f'{expr} AS "{col.name}"')
    skip = "CAST(NULL AS VARCHAR)"
    for wanted, kept in prof.keep.items():
        h = prof.header_of(header, wanted)
        if h:
            skip = (f"""coalesce({skip}, CASE WHEN NOT list_contains(?, "{h}") """
                    f"""THEN ? || '=' || coalesce("{h}", '') END)""")
            params.extend([list(kept), wanted])
    # inside a transaction rowids start at a large offset: count from the first one
    line = ("rowid - (SELECT min(rowid) FROM stg_raw) + 2" if detected.line_from_rowid
            else "_line")
    con.execute(f"CREATE OR REPLACE TEMP TABLE stg AS SELECT {line} AS _line, "
                f"{', '.join(selects)}, {skip} AS _skip FROM stg_raw", params)
    con.execute("DROP TABLE stg_raw")
    if detected.line_from_rowid:
        # rowid counts accepted rows only: move each row past the rejected lines before it
        for reject in sorted(detected.rejects, key=lambda r: r.line):
            con.execute("UPDATE stg SET _line = _line + 1 WHERE _line >= ?", [reject.line])
    for column, how in prof.transforms.items():
        _transform(con, column, how, [*prof.date_formats, *TIMESTAMP_FORMATS])
    for column, via in prof.resolve.items():
        con.execute(f'UPDATE stg SET "{column}" = r.manager_id FROM roster r '
                    f'WHERE stg."{column}" = r.{via} AND r.{via} IS NOT NULL')
    for col in spec.columns:
        if col.enum or col.name in prof.values:
            _apply_value_map(con, prof, col.name)
    for column, parts in prof.derive.items():
        _derive(con, spec, column, parts, [*prof.date_formats, *TIMESTAMP_FORMATS])


def _derive(con: duckdb.DuckDBPyConnection, spec: Feed, column: str, parts: list[str],
            formats: list[str]) -> None:
    """A stable id from the row's canonical values, for exports without one: the same visit
    re-exported (in another encoding, script or date style) gets the same id."""
    exprs, params = [], []
    for name in parts:
        expr, p = validate.typed(spec.column(name), formats)
        exprs.append(f"coalesce(CAST(({expr}) AS VARCHAR), '')")
        params.extend(p)
    con.execute(f"""UPDATE stg SET "{column}" = 'd' || substr(sha256(concat_ws('|', """
                f"""{', '.join(exprs)})), 1, 24) WHERE "{column}" IS NULL""", params)


def _transform(con: duckdb.DuckDBPyConnection, column: str, how: str,
               formats: list[str]) -> None:
    c = f'"{column}"'
    if how == "utc_to_local":  # e.g. Salesforce API exports: CreatedDate is UTC
        parsed = f"try_strptime({c}, ?)"
        con.execute(f"UPDATE stg SET {c} = strftime(timezone(?, {parsed} AT TIME ZONE 'UTC'), "
                    f"'%Y-%m-%d %H:%M:%S') WHERE {parsed} IS NOT NULL",
                    [LOCAL_TIMEZONE, formats, formats])
        return
    factor = {"seconds_to_minutes": 1 / 60, "hours_to_minutes": 60}[how]
    con.execute(f"UPDATE stg SET {c} = CAST(round(try_cast({c} AS DOUBLE) * ?, 2) AS VARCHAR) "
                f"WHERE try_cast({c} AS DOUBLE) IS NOT NULL", [factor])


def _apply_value_map(con: duckdb.DuckDBPyConnection, prof: profiles.Profile, column: str) -> None:
    """Rewrite each distinct raw value to its canonical one (script, case and aliases folded)."""
    mapping, default = prof.value_map(column)
    raw = [r[0] for r in con.execute(
        f'SELECT DISTINCT "{column}" FROM stg WHERE "{column}" IS NOT NULL').fetchall()]
    pairs = [(v, mapping.get(profiles.norm(v), default)) for v in raw]
    pairs = [(v, c) for v, c in pairs if c is not None and c != v]
    if not pairs:
        return
    con.register("value_map", pa.table({"raw": [p[0] for p in pairs],
                                        "canonical": [p[1] for p in pairs]}))
    try:
        con.execute(f'UPDATE stg SET "{column}" = value_map.canonical FROM value_map '
                    f'WHERE stg."{column}" = value_map.raw')
    finally:
        con.unregister("value_map")


def _column_formats(con: duckdb.DuckDBPyConnection, spec: Feed,
                    preferred: list[str]) -> dict[str, list[str]]:
    """Per date column, the format list with the file's own format first."""
    out = {}
    for col in spec.columns:
        if col.type in ("timestamp", "date"):
            sample = [r[0] for r in con.execute(
                f'SELECT "{col.name}" FROM stg WHERE "{col.name}" IS NOT NULL LIMIT ?',
                [validate.SAMPLE_ROWS]).fetchall()]
            out[col.name] = validate.date_formats(sample, preferred)
    return out


def _check(con: duckdb.DuckDBPyConnection, spec: Feed, detected: Detected, run_id: int,
           path: Path, preferred_formats: list[str]) -> None:
    """One pass types every row and flags the failing ones; only those are examined per check."""
    formats = _column_formats(con, spec, preferred_formats)
    typed_cols, params = [], []
    for col in spec.columns:
        if col.type != "text":
            expr, p = validate.typed(col, formats.get(col.name))
            typed_cols.append(f"{expr} AS {validate.t(col.name)}")
            params.extend(p)
    all_checks = validate.checks(spec)
    cond, cond_params = validate.any_failure(all_checks)
    con.execute(f"CREATE OR REPLACE TEMP TABLE checked AS SELECT *, {cond} AS _bad FROM "
                f"(SELECT *, {', '.join(typed_cols) or 'NULL AS t__none'} FROM stg)",
                [*cond_params, *params])  # in the order they appear in the text
    con.execute("DROP TABLE stg")
    insert = "INSERT INTO quarantine SELECT ?, ?, _line, column_name, raw_value, reason_code, detail"
    for check in all_checks:
        sql, p = validate.failing_rows(check)
        con.execute(f"{insert} FROM ({sql})", [run_id, str(path), *p])
    sql, p = validate.duplicates_in_file(spec)
    con.execute(f"{insert} FROM ({sql})", [run_id, str(path), *p])
    if detected.rejects:
        con.executemany("INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?)", [
            [run_id, str(path), r.line, r.column, r.raw_value, r.reason_code, r.detail]
            for r in detected.rejects])


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
    con.execute(f"CREATE OR REPLACE TEMP TABLE good AS SELECT {', '.join(selects)} "
                f"FROM checked c {' '.join(joins)} WHERE NOT c._bad AND c._line NOT IN "
                "(SELECT line FROM quarantine WHERE load_run_id = ?)", [run_id])
    staged = con.execute("SELECT count(*) FROM checked").fetchall()[0][0]
    con.execute("DROP TABLE checked")
    key_match = " AND ".join(f'g."{k}" = t."{k}"' for k in spec.key)
    same = " AND ".join(f'g."{c}" IS NOT DISTINCT FROM t."{c}"' for c in cols)
    identical, updated = con.execute(
        f"SELECT coalesce(count_if({same}), 0), coalesce(count_if(NOT ({same})), 0) "
        f"FROM good g JOIN {spec.table} t ON {key_match}").fetchall()[0]
    col_list = ", ".join(f'"{c}"' for c in cols)
    extra = "" if spec.table in ("roster", "targets") else ", load_run_id"
    if updated:
        # a corrected re-export: the stored version of each changed row gives way to the new one
        con.execute(f"DELETE FROM {spec.table} t WHERE EXISTS (SELECT 1 FROM good g "
                    f"WHERE {key_match} AND NOT ({same}))")
    con.execute(
        f"INSERT INTO {spec.table} ({col_list}{extra}) "
        f"SELECT g.*{', ?' if extra else ''} FROM good g "
        f"WHERE NOT EXISTS (SELECT 1 FROM {spec.table} t WHERE {key_match})",
        [run_id] if extra else [])
    good = con.execute("SELECT count(*) FROM good").fetchall()[0][0]
    con.execute("DROP TABLE good")
    return {"staged": staged, "identical": identical, "updated": updated,
            "inserted": good - identical - updated}


def _pseudonym_map(con: duckdb.DuckDBPyConnection, settings: Settings, column: str) -> str | None:
    """A temp table raw -> keyed hash for the column's distinct values (a few thousand clients,
    not one hash per row)."""
    raw = [r[0] for r in con.execute(
        f'SELECT DISTINCT "{column}" FROM checked WHERE NOT _bad AND "{column}" IS NOT NULL'
    ).fetchall()]
    if not raw:
        return None
    key = load_key(settings.secret_dir)
    name = f"pseudo_{column}"
    con.register(f"{name}_arrow", pa.table({"raw": raw,
                                            "hashed": [pseudonymise(key, v) for v in raw]}))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")
    return name
