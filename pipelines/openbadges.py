"""Export each active badge award as an Open Badges 3.0 credential file that leaves the bank."""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import duckdb

from pipelines.rules import LANGUAGES, Badge, Rules, RulesError

CONTEXT = ["https://www.w3.org/ns/credentials/v2",
           "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
# Credential ids handed out already depend on this namespace: never change it.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:awareness-leaderboard:badge_award")
DEFAULT_LANGUAGE = "zh_TW"
LANGUAGE_TAG = {"zh_TW": "zh-TW", "zh_CN": "zh-CN", "en": "en"}     # BCP 47, as OB 3.0 wants
TIER_LABEL = {
    "zh_TW": {"bronze": "銅牌", "silver": "銀牌", "gold": "金牌"},
    "zh_CN": {"bronze": "铜牌", "silver": "银牌", "gold": "金牌"},
    "en": {"bronze": "Bronze", "silver": "Silver", "gold": "Gold"},
}
# An award id becomes a file name: no separators or dots can take the write out of out_dir.
AWARD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
EMAIL_LIKE = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
# Keeps the published salts apart from the client pseudonyms made with the same key.
SALT_PURPOSE = b"openbadges-identity-salt\x00"


def credential_id(award_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(ID_NAMESPACE, award_id)}"


def identity_salt(key: bytes, award_id: str) -> str:
    """Per award and reproducible, so re-exports are byte-identical; keyed, so nobody without
    the installation's key can precompute hashes for a guessed salt."""
    mac = hmac.new(key, SALT_PURPOSE + award_id.encode("utf-8"), hashlib.sha256)
    return mac.hexdigest()[:32]


def identity_hash(identity: str, salt: str) -> str:
    """OB 3.0 IdentityHash: sha256 over the UTF-8 identity with the salt appended."""
    return "sha256$" + hashlib.sha256((identity + salt).encode("utf-8")).hexdigest()


def achievement_id(issuer: dict, badge_key: str, tier: str) -> str:
    # one Achievement per badge and tier, the same in every credential that awards it
    return (f"{issuer['id'].rstrip('/')}/achievements/{quote(badge_key, safe='')}/"
            f"{quote(tier, safe='')}")


def credential(award: dict, badge: Badge, issuer: dict, identity: str, identity_type: str,
               key: bytes, *, withhold: Iterable[str] = ()) -> dict:
    """One OpenBadgeCredential (JSON-LD, unsigned) for a badge_award row.

    `identity` is the recipient's plain identifier; only its salted hash is written. Evidence
    text that mentions it or anything in `withhold` (names, other ids) is left out."""
    award_id, tier = str(award["award_id"]), str(award["tier"])
    salt = identity_salt(key, award_id)
    labels = _labels(badge, tier)
    ach_id = achievement_id(issuer, badge.key, tier)
    needs = dict(badge.tiers).get(tier)
    profile = {"id": issuer["id"], "type": ["Profile"]}
    profile.update({k: issuer[k] for k in ("name", "url") if issuer.get(k)})
    achievement = {
        "id": ach_id,
        "type": ["Achievement"],
        "achievementType": "Badge",
        "name": labels[DEFAULT_LANGUAGE],
        "description": _description(badge, labels),
        "criteria": {"narrative": _narrative(badge, tier, needs)},
        "inLanguage": LANGUAGE_TAG[DEFAULT_LANGUAGE],
        # OB 3.0 names alternate language editions through `related`; their texts travel in
        # the description above because nothing serves those editions yet
        "related": [{"id": f"{ach_id}/{LANGUAGE_TAG[lang]}", "type": ["Related"],
                     "inLanguage": LANGUAGE_TAG[lang]}
                    for lang in LANGUAGES if lang != DEFAULT_LANGUAGE],
        "resultDescription": [_result_description(ach_id, needs)],
    }
    subject = {
        "type": ["AchievementSubject"],
        "identifier": [{
            "type": "IdentityObject",
            "identityHash": identity_hash(identity, salt),
            "identityType": identity_type,
            "hashed": True,
            "salt": salt,
        }],
        "achievement": achievement,
    }
    if award.get("value") is not None:
        subject["result"] = [{"type": ["Result"], "resultDescription": f"{ach_id}#value",
                              "value": _number(award["value"])}]
    doc = {
        "@context": list(CONTEXT),
        "id": credential_id(award_id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": profile,
        "validFrom": _datetime_z(award["awarded_at"]),
        "awardedDate": _datetime_z(award["awarded_at"]),
        "name": f"{labels[DEFAULT_LANGUAGE]} {award['period']}",
        "credentialSubject": subject,
        "evidence": [_evidence(award, tier, [identity, *withhold])],
    }
    return doc


def export_badges(con: duckdb.DuckDBPyConnection, rules: Rules, out_dir: Path,
                  key: bytes) -> list[Path]:
    """Write `<award_id>.json` for every active award and remove the files this exporter wrote
    for awards no longer active. Returns the paths written, in award id order."""
    issuer = rules.issuer
    if not issuer.get("id"):
        raise RulesError(f"{rules.path}: the [issuer] table needs an id to export badges")
    badges = {b.key: b for b in rules.badges}
    people, teams = _roster(con)
    awards = _active_awards(con)
    unknown = sorted({a["badge_key"] for a in awards} - badges.keys())
    if unknown:
        raise RulesError(f"{rules.path}: badge(s) {', '.join(unknown)} have active awards but "
                         "are not in the rules; run the award step first, which revokes them")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for award in awards:
        award_id = award["award_id"]
        if not AWARD_ID.fullmatch(award_id):
            raise ValueError(f"award id {award_id!r} cannot name a file")
        identity, identity_type, withhold = _recipient(award, people, teams)
        doc = credential(award, badges[award["badge_key"]], issuer, identity, identity_type,
                         key, withhold=withhold)
        path = out_dir / f"{award_id}.json"
        _write(path, (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        written.append(path)
    _remove_stale(out_dir, {a["award_id"] for a in awards})
    return written


def _active_awards(con: duckdb.DuckDBPyConnection) -> list[dict]:
    cur = con.cursor()
    try:
        cur.execute("""
            SELECT award_id, badge_key, tier, scope, subject_id, grain, period, value, evidence,
                   earned_on, awarded_at, rules_version
            FROM badge_award WHERE revoked_at IS NULL ORDER BY award_id""")
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
    finally:
        cur.close()


def _roster(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, dict], dict[str, list[dict]]]:
    cur = con.cursor()
    try:
        cur.execute("SELECT manager_id, name, team_id, email FROM roster ORDER BY manager_id")
        people = {m: {"manager_id": m, "name": n, "team_id": t, "email": e}
                  for m, n, t, e in cur.fetchall()}
    finally:
        cur.close()
    teams: dict[str, list[dict]] = {}
    for p in people.values():
        teams.setdefault(p["team_id"], []).append(p)
    return people, teams


def _recipient(award: dict, people: dict[str, dict],
               teams: dict[str, list[dict]]) -> tuple[str, str, list[str]]:
    """The identity to hash, its OB 3.0 identityType, and what evidence text must not show."""
    subject = str(award["subject_id"])
    if award["scope"] == "team":
        members = teams.get(subject, [])
        return subject, "systemId", [v for p in members for v in _private(p)]
    person = people.get(subject, {"manager_id": subject, "name": None, "email": None})
    email = (person["email"] or "").strip()
    # verifiers hash the address the earner tells them, and people rarely type its case as HR
    # stored it; the domain is case-insensitive and mail systems treat the local part so too
    if email:
        return email.lower(), "emailAddress", _private(person)
    return subject, "systemId", _private(person)


def _private(person: dict) -> list[str]:
    values = [person.get("manager_id"), person.get("name"), person.get("email")]
    return [str(v).strip() for v in values if v and str(v).strip()]


def _labels(badge: Badge, tier: str) -> dict[str, str]:
    out = {}
    for lang in LANGUAGES:
        tier_label = TIER_LABEL[lang].get(tier, tier)
        out[lang] = (f"{badge.name[lang]} ({tier_label})" if lang == "en"
                     else f"{badge.name[lang]}（{tier_label}）")
    return out


def _description(badge: Badge, labels: dict[str, str]) -> str:
    lines = [badge.criteria[DEFAULT_LANGUAGE], ""]
    lines += [f"[{LANGUAGE_TAG[lang]}] {labels[lang]} — {badge.criteria[lang]}"
              for lang in LANGUAGES if lang != DEFAULT_LANGUAGE]
    return "\n".join(lines)


def _narrative(badge: Badge, tier: str, needs: float | None) -> str:
    text = badge.criteria[DEFAULT_LANGUAGE]
    if needs is None:      # the tier left the rules after it was awarded
        return text
    return f"{text}\n\n{TIER_LABEL[DEFAULT_LANGUAGE].get(tier, tier)}門檻：{_number(needs)}"


def _result_description(ach_id: str, needs: float | None) -> dict:
    desc = {"id": f"{ach_id}#value", "type": ["ResultDescription"], "name": "達成值",
            "resultType": "Result"}
    if needs is not None:
        desc["requiredValue"] = _number(needs)
    return desc


def _evidence(award: dict, tier: str, withhold: list[str]) -> dict:
    raw = award.get("evidence")
    try:
        ev = json.loads(raw) if isinstance(raw, str | bytes) else raw or {}
    except ValueError:
        ev = {"detail": raw}
    if not isinstance(ev, dict):
        ev = {"detail": ev}
    period = str(award["period"])
    value = ev.get("value", award.get("value"))
    parts = [f"{period}：達成值 {_number(value)}" if value is not None else period]
    if ev.get("needs") is not None:
        parts.append(f"{TIER_LABEL[DEFAULT_LANGUAGE].get(tier, tier)}門檻 "
                     f"{_number(ev['needs'])}")
    item = {"type": ["Evidence"], "name": period, "description": "，".join(parts)}
    detail = ev.get("detail")
    if detail is not None and str(detail).strip() and _shareable(str(detail), withhold):
        item["narrative"] = str(detail)
    return item


def _shareable(text: str, withhold: list[str]) -> bool:
    # a badge's SQL writes this text; the file leaves the bank, so no address and no name or id
    # of the people behind the award may ride along in it
    if EMAIL_LIKE.search(text):
        return False
    folded = text.casefold()
    # a Chinese name sits between other CJK characters (which \w matches): plain substring;
    # only ASCII ids (RM001) need word boundaries, so RM0012 does not withhold RM001's text
    return not any((re.search(rf"(?<!\w){re.escape(w.casefold())}(?!\w)", folded)
                    if w.isascii() else w.casefold() in folded)
                   for w in withhold if w)


def _number(value: object) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return str(v)
    v = round(v, 2)
    return str(int(v)) if v.is_integer() else f"{v:.2f}".rstrip("0")


def _datetime_z(value: object) -> str:
    """OB 3.0 DateTimeZ in UTC; the warehouse keeps awarded_at as UTC without a zone."""
    ts = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(ts, datetime):
        raise ValueError(f"awarded_at {value!r} is not a timestamp")
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.replace(microsecond=0).isoformat() + "Z"


def _write(path: Path, data: bytes) -> None:
    # an unchanged file keeps its mtime, so syncing the folder elsewhere moves only changes
    try:
        if path.read_bytes() == data:
            return
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _remove_stale(out_dir: Path, keep: set[str]) -> None:
    """Delete credentials for awards no longer active: only files named like an award id whose
    content carries the id this exporter derives from that name, so nothing else in the folder
    is ever touched."""
    for path in sorted(out_dir.glob("*.json")):
        stem = path.stem
        if stem in keep or not AWARD_ID.fullmatch(stem) or not path.is_file():
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (isinstance(doc, dict) and doc.get("id") == credential_id(stem)
                and "OpenBadgeCredential" in (doc.get("type") or ())):
            path.unlink()
