"""Every metric in rules.toml, given rows small enough to check by hand -> its exact value."""
from __future__ import annotations

import math

import duckdb
import pytest

from pipelines import db, load, score
from pipelines.rules import load_rules
from tests.conftest import write_csv

MONTH = "2026-05"
WEEKS = 31 / 7          # the data runs to 31 May: the manager was on staff 31 days


def _mkt():
    rows = []
    for i in range(10):
        rows.append({
            "activity_id": f"M{i}", "manager_id": "A1",
            "occurred_at": f"2026-05-{4 + i:02d} 10:00",
            "logged_at": f"2026-05-{4 + i:02d} 12:00" if i < 8 else f"2026-05-{6 + i:02d} 12:00",
            "type": "referral" if i == 0 else "visit",
            "channel": ["supply_chain"] * 4 + ["association"] * 3 + ["walk_in"] * 3,
            "proactive": "Y" if i < 7 else "N",
            "industry": ["建材"] * 5 + ["物流"] * 3 + ["農業"] * 2,
            "outcome": ["approved", "approved", "application", "application", "lead", "lead",
                        "lost", "lost", "none", "none"][i],
            "amount": "1000000" if i < 2 else "",
            "co_manager_ids": "A2" if i in (1, 2, 3) else "",
        })
        for key in ("channel", "industry"):
            rows[-1][key] = rows[-1][key][i]
    return rows


def _contacts():
    rows = []
    for i in range(10):
        day = 4 + i
        rows.append({
            "contact_id": f"K{i}", "manager_id": "A1", "client_id": f"C{i % 4}",
            "occurred_at": f"2026-05-{day:02d} 10:00",
            "logged_at": f"2026-05-{day:02d} 15:00" if i else f"2026-05-{day + 3:02d} 10:00",
            "channel": "visit" if i < 5 else "phone",
            "location_verified": ("1" if i < 4 else "0") if i < 5 else "",
            "purpose": {0: "post_loan_inspection", 1: "post_loan_inspection",
                        2: "collection"}.get(i, "service"),
            "risk_flag": "1" if i == 0 else "0",
            "satisfaction": ["5", "5", "4", "4", "3", "3", "", "", "", ""][i],
            "complaint": "1" if i == 9 else "0",
            "resolved_at": "2026-05-14 10:00" if i == 9 else "",
            "checklist_complete": "1" if i < 8 else "0",
            "follow_up_due": "2026-05-20" if i < 4 else "",
            "follow_up_done_at": ("2026-05-19 10:00" if i < 3 else "2026-05-25 10:00")
            if i < 4 else "",
        })
    # the last day with data: 31 May
    rows.append(dict(rows[-1], contact_id="K99", manager_id="B1", occurred_at="2026-05-31 10:00",
                     logged_at="2026-05-31 11:00", complaint="0", resolved_at=""))
    return rows


def _learning():
    spec = [("2026-05-04 10:00", "credit", "passed", 60), ("2026-05-05 20:00", "risk", "passed",
                                                              60),
            ("2026-05-06 10:00", "compliance", "failed", 30),
            ("2026-05-09 10:00", "law", "completed", 30),       # a Saturday
            ("2026-05-11 11:00", "finance", "completed", 120)]
    return [{"event_id": f"L{i}", "manager_id": "A1", "occurred_at": when, "category": cat,
             "verb": verb, "duration_min": str(minutes)}
            for i, (when, cat, verb, minutes) in enumerate(spec)]


def _portfolio():
    kinds = ["disbursed", "disbursed", "disbursed", "overdue", "audit_finding"]
    return [{"event_id": f"P{i}", "manager_id": "A1", "occurred_at": f"2026-05-{10 + i} 09:00",
             "kind": k, "confirmed": "1"} for i, k in enumerate(kinds)]


TARGETS = [{"scope": "manager", "scope_id": "A1", "period": MONTH, "metric_key": k, "target": v}
           for k, v in (("approved_amount", "3100000"), ("new_prospects", "10"))]

H = -(4 / 7 * math.log(4 / 7) + 3 / 7 * math.log(3 / 7)) / math.log(6)
EXPECTED = {
    # integrity
    "prompt_logging": 0.9, "verified_visits": 0.8, "prompt_marketing_logs": 0.8,
    "confirmed_misconduct": 0.0,
    # market
    "industry_breadth": 3, "prospect_yield": 0.6,
    # customer
    "satisfaction": 4.0, "complaint_free": 0.9, "clients_reached": 4,
    # marketing
    "proactive_share": 0.7, "channel_diversity": H, "conversion": 2 / 6,
    # teamwork
    "joint_activity": 0.3, "referral_work": 0.1,
    # goals
    "loan_attainment": 2_000_000 / 3_100_000, "prospect_attainment": 0.6,
    "planned_follow_ups_done": 1.0,
    # risk
    "post_loan_inspections": 2 / WEEKS, "risk_flags_raised": 1 / 3,
    "risk_learning": 2 / WEEKS, "overdue_share": 0.25,
    # compliance
    "checklist_complete": 0.8, "compliance_learning": 1 / WEEKS, "audit_findings": 1,
    # responsibility
    "follow_up_on_time": 0.75, "complaint_sla": 1.0,
    # learning
    "learning_hours": 5 / WEEKS, "off_hours_learning": 0.4, "learning_breadth": 5,
    "pass_rate": 2 / 3,
}


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    from pipelines.config import ENV_DATA, load_settings
    from tests.conftest import ROSTER
    tmp = tmp_path_factory.mktemp("metrics")
    settings = load_settings({ENV_DATA: str(tmp / "data")})
    files = [write_csv(tmp / "roster.csv", ROSTER)]
    for name, rows in (("m", _mkt()), ("c", _contacts()), ("l", _learning()),
                       ("p", _portfolio()), ("t", TARGETS)):
        files.append(write_csv(tmp / f"{name}.csv", rows))
    for r in load.load_paths(settings, files):
        assert r.error is None and r.quarantined == 0, (r.file, r.reasons)
    with db.warehouse(settings.db_path) as con:
        score.score(con, load_rules(settings.rules_path))
    con = duckdb.connect(str(settings.db_path), read_only=True)
    yield con
    con.close()


def test_every_metric_in_the_rules_has_a_hand_checked_case():
    rules = load_rules(db.SQL_DIR.parent / "rules.toml")
    assert sorted(m.key for m in rules.metrics) == sorted(EXPECTED)


@pytest.mark.parametrize("metric", sorted(EXPECTED))
def test_metric_value(scored, metric):
    rows = scored.execute("SELECT value, status, score FROM metric_score WHERE manager_id = 'A1' "
                          "AND grain = 'month' AND period = ? AND metric_key = ?",
                          [MONTH, metric]).fetchall()
    assert rows, f"no score row for {metric}"
    value, status, s = rows[0]
    assert status == "ok", (metric, status)
    assert value == pytest.approx(EXPECTED[metric]), metric
    assert 0 <= s <= 100
