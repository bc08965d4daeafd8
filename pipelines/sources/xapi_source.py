"""xAPI statements (JSON array, LRS page or JSON lines) -> canonical learning_event rows."""
from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from pipelines.contract import LOCAL_TIMEZONE
from pipelines.db import temp_table
from pipelines.sources import Detected, Reject, SourceError

LOCAL_TZ = ZoneInfo(LOCAL_TIMEZONE)
# ADL and cmi5 verb IRIs -> our verbs. Anything else is quarantined, not guessed.
VERBS = {
    "http://adlnet.gov/expapi/verbs/completed": "completed",
    "http://adlnet.gov/expapi/verbs/passed": "passed",
    "http://adlnet.gov/expapi/verbs/failed": "failed",
    "http://adlnet.gov/expapi/verbs/attempted": "attempted",
    "http://adlnet.gov/expapi/verbs/experienced": "experienced",
    "http://adlnet.gov/expapi/verbs/mastered": "passed",
    "https://w3id.org/xapi/adl/verbs/waived": "waived",
    "https://w3id.org/xapi/adl/verbs/satisfied": "completed",
}
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
COLUMNS = ["event_id", "manager_id", "occurred_at", "course_id", "title", "category", "verb",
           "score_scaled", "duration_min", "certification"]
# Object types a statement about one course cannot have, and their detail codes.
OBJECT_CODES = {"SubStatement": "object_substatement", "StatementRef": "object_statementref",
                "Agent": "object_agent", "Group": "object_group"}
DURATION = re.compile(r"^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?"
                      r"(?:(\d+(?:\.\d+)?)S)?)?$")


def iso_minutes(text: str) -> float | None:
    m = DURATION.match(text or "")
    if not m or not any(m.groups()):
        return None
    d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return round(d * 1440 + h * 60 + mi + s / 60, 2)


MORE_SHOWN = 300   # characters of an LRS `more` link shown to the user


def _more_note(doc: dict) -> list[str]:
    """An LRS page that says more statements exist: the user is told to fetch them."""
    more = doc.get("more")
    if not isinstance(more, str) or not more.strip():
        return []
    shown = "".join(c for c in more.strip() if c.isprintable())[:MORE_SHOWN]
    return [f"more statements exist: fetch {shown} from the LRS and load that page too"]


def _records(path: Path) -> tuple[list[tuple[int, object]], list[Reject], list[str]]:
    text = path.read_text(encoding="utf-8-sig", errors="strict").strip()
    if not text:
        raise SourceError(f"{path}: the file is empty")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = None
    if isinstance(doc, list):
        return list(enumerate(doc, start=1)), [], []
    if isinstance(doc, dict):
        stmts = doc.get("statements")
        return (list(enumerate(stmts if isinstance(stmts, list) else [doc], start=1)), [],
                _more_note(doc))
    records, rejects = [], []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((i, json.loads(line)))
        except json.JSONDecodeError as exc:
            rejects.append(Reject(i, "malformed_json", str(exc), line[:500],
                                  code="json_syntax", args={"char": exc.colno}))
    if not records and rejects:
        raise SourceError(f"{path}: not JSON, a JSON array or JSON lines of xAPI statements")
    return records, rejects, []


def actor_keys(actor: dict) -> list[str]:
    """Every identifier the roster may know this actor by."""
    keys = []
    account = actor.get("account") or {}
    if account.get("name"):
        keys.append(str(account["name"]))
    for k in ("mbox", "mbox_sha1sum", "openid"):
        if actor.get(k):
            keys.append(_address(str(actor[k])) if k == "mbox" else str(actor[k]).strip())
    if actor.get("mbox"):
        keys.append(_address(str(actor["mbox"])).lower())
    if actor.get("mbox_sha1sum"):
        keys.append(str(actor["mbox_sha1sum"]).strip().lower())
    return keys


def _address(mbox: str) -> str:
    """An mbox IRI's address: the `mailto:` scheme in any case, spaces around it gone."""
    text = mbox.strip()
    return text[len("mailto:"):].strip() if text.lower().startswith("mailto:") else text


def _local(ts: str) -> str:
    when = datetime.fromisoformat(ts)
    if when.tzinfo is not None:
        when = when.astimezone(LOCAL_TZ).replace(tzinfo=None)
    return when.strftime("%Y-%m-%d %H:%M:%S")


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def _scaled(score: dict) -> float | None:
    if "scaled" in score:
        return float(score["scaled"])
    if {"raw", "min", "max"} <= score.keys() and score["max"] != score["min"]:
        return (float(score["raw"]) - float(score["min"])) / (float(score["max"]) - score["min"])
    return None


def _row(stmt: dict, lookup: dict[str, str]) -> dict | Reject:
    actor = stmt.get("actor") or {}
    if actor.get("objectType") == "Group":
        return Reject(0, "xapi_group", "statements about a group name no single manager",
                      code="group_actor")
    keys = actor_keys(actor)
    manager = next((lookup[k] for k in keys if k in lookup), None)
    if manager is None:
        # the identifiers themselves stay in the raw value: the detail only counts them
        return Reject(0, "unknown_actor", ", ".join(keys) or "no identifier",
                      json.dumps(actor, ensure_ascii=False)[:500], "actor",
                      code="actor_not_in_roster" if keys else "actor_without_id",
                      args={"ids": len(keys)} if keys else {})
    obj = stmt.get("object") or {}
    if obj.get("objectType") in OBJECT_CODES:
        return Reject(0, "xapi_unsupported_object", obj["objectType"], column="object",
                      code=OBJECT_CODES[obj["objectType"]])
    verb_id = (stmt.get("verb") or {}).get("id", "")
    verb = VERBS.get(verb_id)
    if verb is None:
        return Reject(0, "unknown_verb", verb_id or "no verb", verb_id, "verb",
                      code="verb_not_mapped" if verb_id else "no_verb")
    definition = obj.get("definition") or {}
    names = definition.get("name") or {}
    title = next((names[k] for k in ("zh-TW", "zh-CN", "en-US", "en") if k in names),
                 next(iter(names.values()), None))
    extensions = definition.get("extensions") or {}
    category = next((v for k, v in extensions.items() if k.rstrip("/").endswith("category")), None)
    certification = next((v for k, v in extensions.items()
                          if k.rstrip("/").endswith("certification")), None)
    result = stmt.get("result") or {}
    scaled = _scaled(result.get("score") or {})
    duration = result.get("duration")
    minutes = iso_minutes(duration) if duration else None
    try:
        occurred = _local(stmt.get("timestamp") or stmt.get("stored") or "")
    except ValueError:
        given = stmt.get("timestamp") or stmt.get("stored")
        return Reject(0, "invalid_timestamp", "not an ISO 8601 time" if given else
                      "no timestamp", _str(stmt.get("timestamp")) or "", "timestamp",
                      code="not_iso_time" if given else "no_timestamp")
    return {
        "event_id": str(stmt.get("id") or ""), "manager_id": manager, "occurred_at": occurred,
        "course_id": _str(obj.get("id")), "title": _str(title), "category": _str(category),
        "verb": verb,
        "score_scaled": None if scaled is None else str(scaled),
        # an unreadable duration is passed on as is, so the row is quarantined, not shortened
        "duration_min": str(duration) if minutes is None and duration else
        None if minutes is None else str(minutes),
        "certification": _str(certification),
    }


def stage(con: duckdb.DuckDBPyConnection, path: Path, table: str,
          lookup: dict[str, str]) -> Detected:
    try:
        records, rejects, notes = _records(path)
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: xAPI JSON must be UTF-8 ({exc.reason})") from exc
    voided = {str((s.get("object") or {}).get("id")) for _, s in records
              if isinstance(s, dict) and (s.get("verb") or {}).get("id") == VOIDED}
    earlier = _voided_before(con, [str(s.get("id")) for _, s in records if isinstance(s, dict)])
    rows: list[dict] = []
    skipped: list[Reject] = []
    for line, stmt in records:
        if not isinstance(stmt, dict):
            rejects.append(Reject(line, "malformed_json", "not a statement object",
                                  code="not_an_object"))
            continue
        if (stmt.get("verb") or {}).get("id") == VOIDED:
            target = (stmt.get("object") or {}).get("id")
            if target is None:
                rejects.append(Reject(line, "xapi_voiding", "no statement id",
                                      code="voids_no_id"))
            else:   # an instruction carried out, not data: skipped (a statement id, not a person's)
                skipped.append(Reject(line, "xapi_voiding", str(target), code="voids",
                                      args={"id": str(target)[:100]}))
            continue
        if str(stmt.get("id")) in voided:
            skipped.append(Reject(line, "xapi_voided", str(stmt.get("id")), column="id",
                                  code="voided_in_file"))
            continue
        if str(stmt.get("id")) in earlier:   # a voiding is permanent (xAPI 2.0, 2.3.2)
            skipped.append(Reject(line, "xapi_voided", str(stmt.get("id")), column="id",
                                  code="voided_earlier"))
            continue
        try:
            row = _row(stmt, lookup)
        except (TypeError, ValueError, AttributeError) as exc:
            # a field of the wrong JSON type (a null score, a list for a name…): this statement
            # is quarantined, the others load
            row = Reject(0, "invalid_statement", f"{exc.__class__.__name__}: {exc}"[:300],
                         code="wrong_json_type")
        if isinstance(row, Reject):
            row.line = line
            rejects.append(row)
        else:
            rows.append(row | {"_line": line})
    temp_table(con, table, pa.table({
        "_line": pa.array([r["_line"] for r in rows], pa.int64()),
        **{c: pa.array([r[c] for r in rows], pa.string()) for c in COLUMNS}}))
    return Detected("xapi", encoding="utf-8", header=COLUMNS, rejects=rejects,
                    skipped=skipped, voided=sorted(voided), notes=notes)


def _voided_before(con: duckdb.DuckDBPyConnection, ids: list[str]) -> set[str]:
    """Which of these statement ids an earlier load voided (none outside a warehouse)."""
    has = con.execute("SELECT count(*) FROM information_schema.tables "
                      "WHERE table_name = 'xapi_voided'").fetchall()[0][0]
    if not has or not ids:
        return set()
    return {i for (i,) in con.execute("SELECT statement_id FROM xapi_voided "
                                      "WHERE list_contains(?, statement_id)", [ids]).fetchall()}
