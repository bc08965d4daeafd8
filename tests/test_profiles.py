"""Mapping profiles: each shipped source loads to the right canonical rows (a round trip each)."""
from __future__ import annotations

import duckdb
import pytest

from pipelines import load
from pipelines.config import PACKAGE_DIR
from pipelines.profiles import ProfileError, all_profiles, norm, read_profile
from tests.conftest import ROSTER, query, write_csv

PROFILES = PACKAGE_DIR / "profiles"


_q = query


@pytest.fixture
def crm_roster(settings, tmp_path):
    rows = [dict(r, crm_user_id=f"005000000000{i}AAA") for i, r in enumerate(ROSTER)]
    load.load_paths(settings, [write_csv(tmp_path / "roster.csv", rows)])
    return settings


def test_every_shipped_profile_is_valid():
    profiles = all_profiles(PROFILES)
    for name in ("salesforce_task", "salesforce_event", "bank_crm_visits", "xapi", "roster",
                 "client_contact", "marketing_activity", "learning_event", "targets",
                 "portfolio_event"):
        assert name in profiles


def test_headers_match_in_traditional_or_simplified_chinese():
    assert norm("客戶經理工號") == norm("客户经理工号") == norm(" 客戶經理 工號 ")
    assert norm("Activity_Date") == norm("activitydate")


def test_salesforce_task_export(crm_roster, tmp_path):
    base = {"Id": "00T1", "Subject": "Follow up", "ActivityDate": "2026-05-04",
            "OwnerId": "0050000000000AAA", "WhoId": "003X", "WhatId": "001ACME",
            "Status": "Completed", "TaskSubtype": "Call", "CallDurationInSeconds": "600",
            "Description": "談續貸", "CreatedDate": "2026-05-04T02:30:00.000Z"}
    rows = [base,
            dict(base, Id="00T2", Subject="Lunch", TaskSubtype="Email", WhatId="",
                 OwnerId="0050000000001AAA"),
            dict(base, Id="00T3", Status="Not Started"),
            dict(base, Id="00T4", OwnerId="005NOBODY")]
    [r] = load.load_paths(crm_roster, [write_csv(tmp_path / "Task.csv", rows)])
    assert (r.profile, r.feed, r.landed, r.quarantined) == ("salesforce_task",
                                                             "client_contact", 2, 2)
    assert set(r.reasons) == {"not_applicable", "unknown_manager"}
    got = _q(crm_roster, "SELECT contact_id, manager_id, channel, purpose, duration_min, "
                         "logged_at::VARCHAR, client_id FROM client_contact ORDER BY 1")
    assert [g[:6] for g in got] == [
        ("00T1", "A1", "phone", "follow_up", 10.0, "2026-05-04 10:30:00"),   # UTC -> Taipei
        ("00T2", "A2", "email", "service", 10.0, "2026-05-04 10:30:00")]
    assert got[0][6] != "001ACME" and got[1][6] != "003X"  # keyed hashes, not the CRM ids


def test_salesforce_event_export(crm_roster, tmp_path):
    row = {"Id": "00U1", "Subject": "Site inspection", "ActivityDateTime": "2026-05-05T06:00:00Z",
           "DurationInMinutes": "45", "OwnerId": "0050000000002AAA", "WhatId": "001B",
           "WhoId": "", "Location": "工業區", "CreatedDate": "2026-05-05T09:00:00.000Z",
           "Description": ""}
    [r] = load.load_paths(crm_roster, [write_csv(tmp_path / "Event.csv", [row])])
    assert (r.profile, r.landed) == ("salesforce_event", 1)
    assert _q(crm_roster, "SELECT manager_id, channel, purpose, duration_min, "
                          "occurred_at::VARCHAR FROM client_contact") == [
        ("B1", "visit", "post_loan_inspection", 45.0, "2026-05-05 14:00:00")]


def _visits(trad: bool) -> list[dict]:
    h = (["客戶經理工號", "客戶編號", "客戶名稱", "拜訪日期", "拜訪方式", "拜訪目的", "訪談結果",
          "下次拜訪日期"] if trad else
         ["客户经理工号", "客户编号", "客户名称", "拜访日期", "拜访方式", "拜访目的", "访谈结果",
          "下次拜访日期"])
    values = [["A1", "C001", "大同機械股份有限公司", "2026/5/4", "實地拜訪", "貸後檢查",
               "廠房運作正常", "2026/6/4"],
              ["A2", "C002", "永豐食品行", "2026年5月6日", "電話", "續貸", "同意續貸", ""]]
    if not trad:
        values[0][4:6] = ["实地拜访", "贷后检查"]
        values[1][4:6] = ["电话", "续贷"]
    return [dict(zip(h, v, strict=True)) for v in values]


def test_bank_crm_visit_log_in_big5_then_gb18030_lands_once(roster_loaded, tmp_path):
    [r] = load.load_paths(roster_loaded, [write_csv(tmp_path / "拜訪紀錄.csv", _visits(True),
                                                    encoding="big5")])
    assert (r.profile, r.detected["encoding"], r.landed) == ("bank_crm_visits", "cp950", 2)
    # the same visits exported from a Simplified-Chinese system: same derived ids, no duplicates
    [again] = load.load_paths(roster_loaded, [write_csv(tmp_path / "拜访记录.csv",
                                                        _visits(False), encoding="gb18030")])
    assert (again.profile, again.landed, again.duplicates) == ("bank_crm_visits", 0, 2)
    got = _q(roster_loaded, "SELECT manager_id, channel, purpose, occurred_at::VARCHAR, "
                            "follow_up_due::VARCHAR, notes FROM client_contact ORDER BY 1")
    assert got == [("A1", "visit", "post_loan_inspection", "2026-05-04 00:00:00", "2026-06-04",
                    "廠房運作正常"),
                   ("A2", "phone", "renewal", "2026-05-06 00:00:00", None, "同意續貸")]


def test_client_names_never_reach_the_warehouse(roster_loaded, tmp_path):
    load.load_paths(roster_loaded, [write_csv(tmp_path / "v.csv", _visits(True))])
    con = duckdb.connect(str(roster_loaded.db_path), read_only=True)
    for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
        for row in con.execute(f'SELECT * FROM "{table}"').fetchall():
            assert "大同機械" not in repr(row), table


def test_a_profile_given_as_a_file(roster_loaded, tmp_path):
    custom = tmp_path / "my_crm.toml"
    custom.write_text('name = "my_crm"\nfeed = "marketing_activity"\n'
                      '[columns]\nactivity_id = ["編號"]\nmanager_id = ["經辦"]\n'
                      'occurred_at = ["日期"]\nchannel = ["來源"]\n'
                      '[defaults]\ntype = "visit"\nproactive = "Y"\noutcome = "none"\n'
                      '[values.channel]\nwholesale_market = ["批發市場"]\n', encoding="utf-8")
    path = write_csv(tmp_path / "x.csv", [{"編號": "X1", "經辦": "A1", "日期": "2026-05-04",
                                           "來源": "批發市場"}])
    [r] = load.load_paths(roster_loaded, [path], profile=str(custom))
    assert (r.profile, r.landed) == ("my_crm", 1)
    assert _q(roster_loaded, "SELECT channel, proactive FROM marketing_activity") == [
        ("wholesale_market", True)]


@pytest.mark.parametrize("text,message", [
    ('feed = "nope"', "feed must be one of"),
    ('feed = "roster"\n[columns]\nshoe_size = ["x"]', "unknown column"),
    ('feed = "client_contact"\n[resolve]\nmanager_id = "password"', "use one of"),
    ('feed = "roster"\ncolour = "red"', "unknown setting"),
])
def test_broken_profiles_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError, match=message):
        read_profile(path)


def test_salesforce_report_times_in_local_time_are_not_shifted(crm_roster, tmp_path):
    row = {"Id": "00T9", "Subject": "Call", "ActivityDate": "03/05/2026",
           "OwnerId": "0050000000000AAA", "WhatId": "001A", "WhoId": "", "Status": "Completed",
           "TaskSubtype": "Call", "CallDurationInSeconds": "1,200", "Description": "",
           "CreatedDate": "03/05/2026 05:00 PM"}
    [r] = load.load_paths(crm_roster, [write_csv(tmp_path / "Task.csv", [row])])
    assert r.landed == 1
    assert _q(crm_roster, "SELECT logged_at::VARCHAR, duration_min FROM client_contact") == [
        ("2026-03-05 17:00:00", 20.0)]
