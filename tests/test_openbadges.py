"""Open Badges 3.0 export: one credential per active award, the fields the spec requires, the
recipient only as a salted hash, byte-identical re-exports, revoked awards' files removed."""
from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines import db
from pipelines.openbadges import credential, export_badges, identity_salt
from pipelines.pseudonym import load_key
from pipelines.rules import RulesError, load_rules

RULES = Path(__file__).resolve().parents[1] / "pipelines" / "rules.toml"

# Required properties ([1] or [1..*] multiplicity) per class, from the 1EdTech Open Badges
# Specification v3.0 (Final), Appendix B.1 "Credential Data Models" - the VC Data Model 2.0
# classes that ob_v3p0_achievementcredential_schema.json encodes:
# https://www.imsglobal.org/spec/ob/v3p0/#credential-data-models
REQUIRED = {
    "AchievementCredential": ("@context", "id", "type", "credentialSubject", "issuer",
                              "validFrom"),                                        # B.1.2
    "Profile": ("id", "type"),                                                     # B.1.14
    "AchievementSubject": ("type", "achievement"),                                 # B.1.3
    "Achievement": ("id", "type", "criteria", "description", "name"),              # B.1.1
    "Criteria": (),                  # B.1.6: id and narrative are both [0..1]
    "IdentityObject": ("type", "hashed", "identityHash", "identityType"),          # B.1.12
    "Result": ("type",),                                                           # B.1.16
    "ResultDescription": ("id", "type", "name", "resultType"),                     # B.1.17
    "Evidence": ("type",),                                                         # B.1.9
    "Related": ("id", "type"),                                                     # B.1.15
}
# B.1.30 IdentifierTypeEnum (the terms this exporter uses) and B.1.28 AchievementType
IDENTITY_TYPES = {"emailAddress", "systemId"}
# B.7 LanguageCode is BCP 47; the 1EdTech JSON schema checks it with this pattern
LANGUAGE_CODE = re.compile(r"^[a-z]{2,4}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$")

EMAIL = "Wang.DaMing@Bank.tw"      # mixed case on purpose: the hash is over the folded address
AWARDED = datetime(2026, 6, 1, 2, 3, 4, 567891)     # UTC, as badges.py stores it
ROSTER = [
    ("M1", "王大明", "T1", "甲組", "台北", "corporate", EMAIL),
    ("M2", "李小華", "T1", "甲組", "台北", "corporate", None),
    ("M3", "陳美玲", "T2", "乙組", "台中", "retail", "b1@bank.tw"),
]
IND_EMAIL, IND_ID, TEAM, REVOKED = ("0a1b2c3d4e5f60718293a4b5", "1b2c3d4e5f60718293a4b5c6",
                                    "2c3d4e5f60718293a4b5c6d7", "3d4e5f60718293a4b5c6d7e8")


def _evidence(value, tier, needs, period, detail):
    return json.dumps({"value": value, "tier": tier, "needs": needs, "period": period,
                       "detail": detail})


AWARDS = [  # award_id, badge_key, tier, scope, subject_id, grain, period, value, evidence,
    #         earned_on, awarded_at, rules_version, revoked_at, revoke_reason
    (IND_EMAIL, "integrity_star", "gold", "individual", "M1", "month", "2026-05", 96.5,
     # a badge SQL that leaks the person: the exporter must drop this text
     _evidence(96.5, "gold", 95, "2026-05", f"王大明 <{EMAIL}> 96.5"),
     "2026-05-31", AWARDED, "abc123", None, None),
    (IND_ID, "learning_streak", "silver", "individual", "M2", "week", "2026-W18", 6.0,
     _evidence(6, "silver", 5, "2026-W18", "6 weeks in a row"),
     "2026-05-03", AWARDED + timedelta(days=7), "abc123", None, None),
    (TEAM, "no_one_left_behind", "bronze", "team", "T1", "month", "2026-05", 55.25,
     _evidence(55.25, "bronze", 50, "2026-05", "2 members, lowest 55.3"),
     "2026-05-31", AWARDED, "abc123", None, None),
    (REVOKED, "integrity_star", "silver", "individual", "M3", "month", "2026-04", 86.0,
     _evidence(86, "silver", 85, "2026-04", None),
     "2026-04-30", AWARDED - timedelta(days=30), "abc123", AWARDED, "criteria no longer met"),
]
ACTIVE = {IND_EMAIL, IND_ID, TEAM}


@pytest.fixture
def warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute(db.sql_file("schema.sql"))
    con.executemany("INSERT INTO roster (manager_id, name, team_id, team_name, branch, "
                    "peer_group, email) VALUES (?, ?, ?, ?, ?, ?, ?)", ROSTER)
    con.executemany("INSERT INTO badge_award VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    AWARDS)
    yield con
    con.close()


@pytest.fixture
def rules():
    return load_rules(RULES)


@pytest.fixture
def key(settings):
    return load_key(settings.secret_dir)


def _export(con, rules, out_dir, key) -> dict[str, dict]:
    paths = export_badges(con, rules, out_dir, key)
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in paths}


def _has_required(obj: dict, cls: str) -> None:
    missing = [f for f in REQUIRED[cls] if obj.get(f) in (None, "", [])]
    assert not missing, f"{cls} lacks {missing} (OB 3.0 Appendix B.1)"


def test_one_file_per_active_award_and_none_for_the_revoked(warehouse, rules, key, tmp_path):
    out = tmp_path / "badges"
    paths = export_badges(warehouse, rules, out, key)
    assert [p.name for p in paths] == [f"{a}.json" for a in sorted(ACTIVE)]
    assert sorted(p.name for p in out.iterdir()) == [f"{a}.json" for a in sorted(ACTIVE)]
    assert not (out / f"{REVOKED}.json").exists()


def test_every_file_has_what_the_spec_requires(warehouse, rules, key, tmp_path):
    docs = _export(warehouse, rules, tmp_path / "badges", key)
    for doc in docs.values():
        _has_required(doc, "AchievementCredential")
        assert doc["@context"][:2] == ["https://www.w3.org/ns/credentials/v2",
                                       "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
        assert {"VerifiableCredential", "OpenBadgeCredential"} <= set(doc["type"])
        assert doc["name"]     # [0..1] under VC 2.0, [1] in the VC 1.1 variant (B.9.2): wallets
        _has_required(doc["issuer"], "Profile")
        assert "Profile" in doc["issuer"]["type"]
        assert doc["issuer"]["id"] == rules.issuer["id"]
        subject = doc["credentialSubject"]
        _has_required(subject, "AchievementSubject")
        assert "AchievementSubject" in subject["type"]
        assert subject.get("id") or subject.get("identifier"), "B.1.3: id or an identifier"
        for ident in subject["identifier"]:
            _has_required(ident, "IdentityObject")
            assert ident["type"] == "IdentityObject" and ident["hashed"] is True
            assert ident["identityType"] in IDENTITY_TYPES
            assert re.fullmatch(r"sha256\$[0-9a-f]{64}", ident["identityHash"])
        ach = subject["achievement"]
        _has_required(ach, "Achievement")
        assert "Achievement" in ach["type"] and ach["achievementType"] == "Badge"
        _has_required(ach["criteria"], "Criteria")
        assert ach["criteria"]["narrative"]
        assert ach["inLanguage"] == "zh-TW"
        for rel in ach["related"]:
            _has_required(rel, "Related")
            assert LANGUAGE_CODE.match(rel["inLanguage"])
        assert {r["inLanguage"] for r in ach["related"]} == {"zh-CN", "en"}
        for desc in ach["resultDescription"]:
            _has_required(desc, "ResultDescription")
        for result in subject["result"]:
            _has_required(result, "Result")
            # a result links to a description of the achievement being asserted (B.1.16)
            assert result["resultDescription"] in {d["id"] for d in ach["resultDescription"]}
        for ev in doc["evidence"]:
            _has_required(ev, "Evidence")
            assert "Evidence" in ev["type"]


def test_names_ids_and_languages(warehouse, rules, key, tmp_path):
    docs = _export(warehouse, rules, tmp_path / "badges", key)
    ach = docs[IND_EMAIL]["credentialSubject"]["achievement"]
    badge = rules.badge("integrity_star")
    assert ach["name"] == f"{badge.name['zh_TW']}（金牌）"
    assert ach["id"] == f"{rules.issuer['id']}/achievements/integrity_star/gold"
    # the other languages travel with the achievement
    assert badge.name["en"] in ach["description"] and badge.name["zh_CN"] in ach["description"]
    assert badge.criteria["en"] in ach["description"]
    assert docs[IND_EMAIL]["name"] == f"{badge.name['zh_TW']}（金牌） 2026-05"
    ids = [d["id"] for d in docs.values()]
    assert len(set(ids)) == len(ids)
    for award_id, doc in docs.items():
        assert doc["id"].startswith("urn:uuid:")
        assert uuid.UUID(doc["id"].removeprefix("urn:uuid:")).version == 5
        again = credential({**dict(zip(_COLS, _row(award_id), strict=True))},
                           rules.badge(_row(award_id)[1]), rules.issuer, "x", "systemId", key)
        assert again["id"] == doc["id"], "the id follows the award, not the export"


_COLS = ("award_id", "badge_key", "tier", "scope", "subject_id", "grain", "period", "value",
         "evidence", "earned_on", "awarded_at", "rules_version")


def _row(award_id):
    return next(a for a in AWARDS if a[0] == award_id)[:len(_COLS)]


def test_valid_from_is_a_utc_datetime(warehouse, rules, key, tmp_path):
    docs = _export(warehouse, rules, tmp_path / "badges", key)
    for award_id, doc in docs.items():
        assert doc["validFrom"].endswith("Z")
        valid_from = datetime.fromisoformat(doc["validFrom"])
        assert valid_from.tzinfo is not None and valid_from.utcoffset() == timedelta(0)
        assert valid_from.replace(tzinfo=None) == _row(award_id)[10].replace(microsecond=0)


def test_recipient_is_only_a_salted_hash(warehouse, rules, key, tmp_path):
    paths = export_badges(warehouse, rules, tmp_path / "badges", key)
    texts = {p.stem: p.read_text(encoding="utf-8") for p in paths}
    expected = {IND_EMAIL: (EMAIL.lower(), "emailAddress"), IND_ID: ("M2", "systemId"),
                TEAM: ("T1", "systemId")}
    for award_id, (identity, identity_type) in expected.items():
        ident = json.loads(texts[award_id])["credentialSubject"]["identifier"][0]
        assert ident["identityType"] == identity_type
        assert ident["salt"] == identity_salt(key, award_id)
        digest = hashlib.sha256((identity + ident["salt"]).encode("utf-8")).hexdigest()
        assert ident["identityHash"] == f"sha256${digest}"
    # salts differ per award and depend on the installation's key
    salts = {json.loads(t)["credentialSubject"]["identifier"][0]["salt"] for t in texts.values()}
    assert len(salts) == len(texts)
    assert identity_salt(bytes(32), IND_EMAIL) != identity_salt(key, IND_EMAIL)
    # no address, name or id of anyone behind an award reaches any file, evidence included
    everything = "\n".join(texts.values())
    for manager_id, name, team_id, _, _, _, email in ROSTER:
        assert name not in everything
        assert not re.search(rf"\b({manager_id}|{team_id})\b", everything)
        if email:
            assert email.casefold() not in everything.casefold()
    assert not re.search(r"[^\s@\"]+@[^\s@\"]+", everything)


def test_evidence_and_result_carry_the_award(warehouse, rules, key, tmp_path):
    docs = _export(warehouse, rules, tmp_path / "badges", key)
    team = docs[TEAM]
    assert team["credentialSubject"]["result"][0]["value"] == "55.25"
    assert team["evidence"][0]["narrative"] == "2 members, lowest 55.3"
    assert "55.25" in team["evidence"][0]["description"]
    assert "50" in team["evidence"][0]["description"]
    leaky = docs[IND_EMAIL]["evidence"][0]
    assert "narrative" not in leaky and "96.5" in leaky["description"]


def test_re_export_is_byte_identical(warehouse, rules, key, tmp_path):
    out = tmp_path / "badges"
    first = {p.name: p.read_bytes() for p in export_badges(warehouse, rules, out, key)}
    second = {p.name: p.read_bytes() for p in export_badges(warehouse, rules, out, key)}
    assert first == second
    other = {p.name: p.read_bytes() for p in export_badges(warehouse, rules, tmp_path / "b", key)}
    assert other == first
    assert all(b.endswith(b"\n") and b.decode("utf-8") for b in first.values())
    assert "誠信之星".encode() in first[f"{IND_EMAIL}.json"]      # UTF-8, not \u escapes


def test_revoked_award_file_goes_and_nothing_else_is_touched(warehouse, rules, key, tmp_path):
    out = tmp_path / "badges"
    export_badges(warehouse, rules, out, key)
    foreign = {
        "notes.json": '{"id": "x"}',
        "4e5f60718293a4b5c6d7e8f9.json": '{"id": "urn:uuid:0", "type": ["OpenBadgeCredential"]}',
        "readme.txt": "kept",
        "5f60718293a4b5c6d7e8f90a.json": "not json",
    }
    for name, text in foreign.items():
        (out / name).write_text(text, encoding="utf-8")
    warehouse.execute("UPDATE badge_award SET revoked_at = ?, revoke_reason = ? "
                      "WHERE award_id = ?", [AWARDED, "corrected data", TEAM])
    paths = export_badges(warehouse, rules, out, key)
    assert sorted(p.stem for p in paths) == sorted(ACTIVE - {TEAM})
    assert not (out / f"{TEAM}.json").exists()
    for name, text in foreign.items():
        assert (out / name).read_text(encoding="utf-8") == text
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_an_award_whose_badge_left_the_rules_stops_the_export(warehouse, rules, key, tmp_path):
    warehouse.execute("UPDATE badge_award SET badge_key = ? WHERE award_id = ?",
                      ["retired_badge", IND_ID])
    with pytest.raises(RulesError, match="retired_badge"):
        export_badges(warehouse, rules, tmp_path / "badges", key)


def test_evidence_text_naming_a_person_stays_in_the_bank():
    from pipelines.openbadges import _shareable
    assert not _shareable("王大明本月最佳", ["王大明"])        # CJK: no word boundary to find
    assert not _shareable("best: RM001", ["RM001"])
    assert _shareable("RM0012 is someone else", ["RM001"])
    assert _shareable("supply_chain, referral", ["王大明", "RM001"])
