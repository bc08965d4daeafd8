"""Load files into the warehouse: stage, map, check, quarantine, land; one transaction per file."""
from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines import db, profiles, validate
from pipelines.config import Settings
from pipelines.contract import FEEDS, Feed
from pipelines.pseudonym import load_key, pseudonymise
from pipelines.sources import Detected, stage_file

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
    already_loaded_run: int | None = None
    load_run_id: int | None = None
    seconds: float = 0.0

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
    return lookup


def load_paths(settings: Settings, paths: list[Path], feed: str | None = None,
               profile: str | None = None) -> list[FileResult]:
    with db.warehouse(settings.db_path) as con:
        return [load_file(con, settings, p, feed, profile) for p in expand(paths)]


def load_file(con: duckdb.DuckDBPyConnection, settings: Settings, path: Path,
              feed: str | None = None, profile: str | None = None) -> FileResult:
    started = datetime.now()
    t0 = time.perf_counter()
    result = FileResult(file=str(path))
    digest = sha256_file(path) if path.exists() else ""
    prev = con.execute("SELECT load_run_id, feed, profile FROM load_run WHERE file_sha256 = ? "
                       "ORDER BY load_run_id LIMIT 1", [digest]).fetchall()
    if prev:
        result.already_loaded_run, result.feed, result.profile = prev[0]
        return result
    con.begin()
    try:
        detected = stage_file(con, path, "stg_raw", settings.cache_dir, manager_lookup(con))
        prof = _pick_profile(settings, detected, feed, profile)
        spec = FEEDS[prof.feed]
        run_id = con.execute("SELECT nextval('load_run_seq')").fetchall()[0][0]
        _map_columns(con, prof, detected)
        _quarantine(con, spec, detected, run_id, path)
        counts = _land(con, settings, spec, run_id)
        bad = con.execute("SELECT reason_code, count(DISTINCT line) FROM quarantine "
                          "WHERE load_run_id = ? GROUP BY ALL", [run_id]).fetchall()
        result.feed, result.profile, result.load_run_id = spec.name, prof.name, run_id
        result.detected = {k: v for k, v in {
            "format": detected.format, "encoding": detected.encoding,
            "delimiter": detected.delimiter, "sheet": detected.sheet}.items() if v}
        result.quarantined = con.execute("SELECT count(DISTINCT line) FROM quarantine "
                                         "WHERE load_run_id = ?", [run_id]).fetchall()[0][0]
        result.rows_read = counts["staged"] + len(detected.rejects)
        result.landed, result.updated = counts["inserted"], counts["updated"]
        result.duplicates = counts["identical"]
        result.reasons = dict(Counter({r: n for r, n in bad}))
        result.seconds = round(time.perf_counter() - t0, 3)
        con.execute(
            "INSERT INTO load_run VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, str(path), digest, path.stat().st_size, spec.name, prof.name,
             detected.to_json(), started, datetime.now(), result.rows_read, result.landed
             + result.updated, result.duplicates, result.quarantined])
        if result.landed or result.updated:
            db.bump_data_version(con)
        con.commit()
    except BaseException:
        con.rollback()
        raise
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
    """stg_raw (file headers) -> stg (canonical names, trimmed text, value maps applied)."""
    spec = FEEDS[prof.feed]
    mapping = prof.mapping(detected.header)
    selects = []
    for col in spec.columns:
        src = mapping.get(col.name)
        selects.append(f"""NULLIF(trim("{src}"), '') AS "{col.name}" """ if src
                       else f'CAST(NULL AS VARCHAR) AS "{col.name}"')
    con.execute(f"CREATE OR REPLACE TEMP TABLE stg AS SELECT _line, {', '.join(selects)} "
                "FROM stg_raw")
    for column, table in prof.values.items():
        pairs = [(canonical, alias) for canonical, aliases in table.items() for alias in aliases]
        if pairs:
            con.executemany(f'UPDATE stg SET "{column}" = ? WHERE "{column}" = ?', pairs)
    # Enumerated values are compared in lower case, as exports vary in capitalisation.
    for col in spec.columns:
        if col.enum:
            con.execute(f'UPDATE stg SET "{col.name}" = lower("{col.name}") '
                        f'WHERE "{col.name}" <> lower("{col.name}")')


def _quarantine(con: duckdb.DuckDBPyConnection, spec: Feed, detected: Detected, run_id: int,
                path: Path) -> None:
    present = {c.name for c in spec.columns}
    for sql, params in validate.checks(spec, present):
        con.execute(f"INSERT INTO quarantine SELECT ?, ?, _line, column_name, raw_value, "
                    f"reason_code, detail FROM ({sql})", [run_id, str(path), *params])
    if detected.rejects:
        con.executemany("INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?)", [
            [run_id, str(path), r.line, r.column, r.raw_value, r.reason_code, r.detail]
            for r in detected.rejects])


def _land(con: duckdb.DuckDBPyConnection, settings: Settings, spec: Feed,
          run_id: int) -> dict[str, int]:
    """Typed rows that passed every check: new keys insert, changed rows replace, same rows skip."""
    cols = [c.name for c in spec.columns]
    exprs, params = [], []
    for col in spec.columns:
        expr, p = validate.typed(col)
        if col.default is not None:
            expr = f"coalesce({expr}, {str(col.default).upper()})"
        exprs.append(f'{expr} AS "{col.name}"')
        params.extend(p)
    con.execute(f"CREATE OR REPLACE TEMP TABLE good AS SELECT {', '.join(exprs)} FROM stg "
                "WHERE _line NOT IN (SELECT line FROM quarantine WHERE load_run_id = ?)",
                [*params, run_id])
    for col in spec.columns:
        if col.pseudonymise:
            _pseudonymise(con, settings, col.name)
    staged = con.execute("SELECT count(*) FROM stg").fetchall()[0][0]
    key_match = " AND ".join(f'g."{k}" = t."{k}"' for k in spec.key)
    same = " AND ".join(f'g."{c}" IS NOT DISTINCT FROM t."{c}"' for c in cols)
    identical, updated = con.execute(
        f"SELECT coalesce(count_if({same}), 0), coalesce(count_if(NOT ({same})), 0) FROM good g "
        f"JOIN {spec.table} t ON {key_match}").fetchall()[0]
    extra = "" if spec.table in ("roster", "targets") else ", load_run_id"
    col_list = ", ".join(f'"{c}"' for c in cols)
    con.execute(
        f"INSERT OR REPLACE INTO {spec.table} ({col_list}{extra}) "
        f"SELECT g.*{', ?' if extra else ''} FROM good g "
        f"WHERE NOT EXISTS (SELECT 1 FROM {spec.table} t WHERE {key_match} AND {same})",
        [run_id] if extra else [])
    good = con.execute("SELECT count(*) FROM good").fetchall()[0][0]
    return {"staged": staged, "identical": identical, "updated": updated,
            "inserted": good - identical - updated}


def _pseudonymise(con: duckdb.DuckDBPyConnection, settings: Settings, column: str) -> None:
    key = load_key(settings.secret_dir)
    raw = [r[0] for r in con.execute(
        f'SELECT DISTINCT "{column}" FROM good WHERE "{column}" IS NOT NULL').fetchall()]
    if not raw:
        return
    pseudo = pa.table({"raw": raw, "hashed": [pseudonymise(key, v) for v in raw]})
    con.register("pseudo", pseudo)
    con.execute(f'UPDATE good SET "{column}" = pseudo.hashed FROM pseudo '
                f'WHERE good."{column}" = pseudo.raw')
    con.unregister("pseudo")
