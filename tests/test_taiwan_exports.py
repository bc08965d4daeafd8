"""Exports as Taiwanese and mainland systems write them: ROC calendar dates, full-width digits,
Excel serial dates, Simplified and Traditional spellings, ids typed by hand."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import opencc
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from pipelines import load, profiles
from pipelines.config import load_settings
from tests.conftest import query, write_csv

BASE = {"manager_id": "A1", "client_id": "C1", "channel": "visit", "purpose": "service"}
CRM = Path(__file__).resolve().parent.parent / "pipelines" / "profiles" / "bank_crm_visits.toml"


def _contacts(tmp_path: Path, name: str, values: list[dict]) -> Path:
    return write_csv(tmp_path / name, [dict(BASE, contact_id=f"K{i}", **v)
                                       for i, v in enumerate(values)])


def _landed(settings, column: str) -> dict[str, object]:
    return dict(query(settings, f'SELECT contact_id, "{column}" FROM client_contact'))


# Every way a Taiwanese system writes 3 Nov 2026 (民國 115), with and without a time
ROC_FORMS = {
    "115/11/03": datetime(2026, 11, 3), "115.11.03": datetime(2026, 11, 3),
    "115-11-03": datetime(2026, 11, 3), "115年11月3日": datetime(2026, 11, 3),
    "115年11月03日": datetime(2026, 11, 3), "115/1/3": datetime(2026, 1, 3),
    "1151103": datetime(2026, 11, 3), "115/11/03 14:30": datetime(2026, 11, 3, 14, 30),
    "115.11.03 14:30:05": datetime(2026, 11, 3, 14, 30, 5),
    "115年11月3日 09:05": datetime(2026, 11, 3, 9, 5), "1151103 08:00": datetime(2026, 11, 3, 8),
    "１１５/１１/０３": datetime(2026, 11, 3), "115／11／03": datetime(2026, 11, 3),
    "99/12/31": datetime(2010, 12, 31), "099/12/31": datetime(2010, 12, 31),
    "115 年 11 月 3 日": datetime(2026, 11, 3),
}


@pytest.mark.parametrize("cls", ["mixed", "alone"])
def test_roc_dates_land_as_gregorian_whatever_their_form(roster_loaded, tmp_path, cls):
    forms = list(ROC_FORMS)
    if cls == "mixed":   # one column holding ROC, ISO and slash dates
        forms += ["2026-11-03 10:00", "2026/11/03"]
    [r] = load.load_paths(roster_loaded, [_contacts(tmp_path, "c.csv",
                                                    [{"occurred_at": v} for v in forms])])
    assert (r.landed, r.quarantined) == (len(forms), 0), r.reasons
    got = _landed(roster_loaded, "occurred_at")
    for i, form in enumerate(ROC_FORMS):
        assert got[f"K{i}"] == ROC_FORMS[form], form
    # the user is told the column was read in the ROC calendar
    assert any("occurred_at" in n and "ROC" in n for n in r.notes)


def test_a_date_that_is_no_date_in_either_calendar_is_quarantined(roster_loaded, tmp_path):
    bad = ["115/13/03", "115/02/30", "11/03/2026", "0/11/03", "115年11月"]
    [r] = load.load_paths(roster_loaded, [_contacts(tmp_path, "c.csv",
                                                    [{"occurred_at": v} for v in bad])])
    assert r.landed == 0 and r.quarantined == len(bad) and r.balanced


def test_roc_dates_in_other_date_columns_and_target_months(roster_loaded, tmp_path):
    path = _contacts(tmp_path, "c.csv", [{"occurred_at": "115/11/03 10:00",
                                          "follow_up_due": "115/11/10",
                                          "logged_at": "1151103"}])
    [r] = load.load_paths(roster_loaded, [path])
    assert r.landed == 1, r.reasons
    assert query(roster_loaded, "SELECT follow_up_due::VARCHAR, logged_at::VARCHAR FROM "
                 "client_contact") == [("2026-11-10", "2026-11-03 00:00:00")]
    rows = [{"scope": "manager", "scope_id": "A1", "period": p, "metric_key": f"m{i}",
             "target": "1"} for i, p in enumerate(["115/11", "115年12月", "114-01"])]
    [r] = load.load_paths(roster_loaded, [write_csv(tmp_path / "t.csv", rows)])
    assert r.landed == 3, r.reasons
    assert query(roster_loaded, "SELECT period FROM targets ORDER BY 1") == [
        ("2025-01",), ("2026-11",), ("2026-12",)]


def test_a_profile_declares_a_column_gregorian_or_roc(settings, tmp_path):
    base = CRM.read_text(encoding="utf-8")
    folder = tmp_path / "profiles"
    folder.mkdir()
    for calendar in ("roc", "gregorian"):
        (folder / f"crm_{calendar}.toml").write_text(
            base.replace('name = "bank_crm_visits"', f'name = "crm_{calendar}"')
            + f'\n[calendar]\noccurred_at = "{calendar}"\n', encoding="utf-8")
    prof = profiles.read_profile(folder / "crm_roc.toml")
    assert prof.calendar == {"occurred_at": "roc"}
    (folder / "bad.toml").write_text(base + '\n[calendar]\noccurred_at = "lunar"\n',
                                     encoding="utf-8")
    with pytest.raises(profiles.ProfileError, match="roc"):
        profiles.read_profile(folder / "bad.toml")
    (folder / "bad.toml").write_text(base + '\n[calendar]\nchannel = "roc"\n', encoding="utf-8")
    with pytest.raises(profiles.ProfileError, match="not a date column"):
        profiles.read_profile(folder / "bad.toml")


def test_profile_calendars_decide_an_ambiguous_two_digit_year(roster_loaded, tmp_path):
    from pipelines import validate
    from pipelines.contract import FEEDS
    col = FEEDS["client_contact"].column("occurred_at")
    import duckdb
    con = duckdb.connect()
    load._register_functions(con)
    out = {}
    for calendar in ("auto", "roc", "gregorian"):
        expr, params = validate.typed(col, validate.DateRead(calendar=calendar))
        out[calendar] = con.execute(f'SELECT {expr} FROM (VALUES (?), (?)) v("occurred_at")',
                                    [*params, "99/12/31", "2026/11/03"]).fetchall()
    assert out["auto"] == out["roc"] == [(datetime(2010, 12, 31),), (datetime(2026, 11, 3),)]
    # read as Gregorian, 99/12/31 is the year 99 (which the too_old check then quarantines)
    assert out["gregorian"][0][0].year == 99 and out["gregorian"][1] == (datetime(2026, 11, 3),)


def test_full_width_numbers_and_ids_are_read_and_the_raw_value_kept_in_quarantine(
        roster_loaded, tmp_path):
    rows = [{"occurred_at": "２０２６－１１－０３　１０：００", "duration_min": "４５",
             "satisfaction": "５", "client_id": "Ｃ００１"},
            {"occurred_at": "2026-11-03 11:00", "duration_min": "１，２００．５",
             "client_id": "C001"},
            {"occurred_at": "2026-11-03 12:00", "duration_min": "四十五"}]
    [r] = load.load_paths(roster_loaded, [_contacts(tmp_path, "c.csv", rows)])
    assert (r.landed, r.reasons) == (2, {"invalid_number": 1})
    got = query(roster_loaded, "SELECT contact_id, occurred_at, duration_min, satisfaction, "
                "client_id FROM client_contact ORDER BY 1")
    assert [g[:4] for g in got] == [("K0", datetime(2026, 11, 3, 10), 45.0, 5),
                                    ("K1", datetime(2026, 11, 3, 11), 1200.5, None)]
    assert got[0][4] == got[1][4], "Ｃ００１ and C001 are one client"
    # the quarantined value is shown as it came
    assert query(roster_loaded, "SELECT raw_value FROM quarantine") == [("四十五",)]


def test_an_above_max_full_width_number_is_still_checked(roster_loaded, tmp_path):
    [r] = load.load_paths(roster_loaded, [_contacts(tmp_path, "c.csv", [
        {"occurred_at": "2026-11-03", "satisfaction": "９"}])])
    assert r.reasons == {"above_max": 1}
    assert query(roster_loaded, "SELECT raw_value FROM quarantine") == [("９",)]


@pytest.mark.parametrize("typed", ["a1", " A1 ", "Ａ１", "ａ１", "A 1", "\u3000A1\u3000"])
def test_manager_ids_match_whatever_their_case_width_and_spaces(roster_loaded, tmp_path,
                                                                typed):
    path = _contacts(tmp_path, "c.csv", [{"occurred_at": "2026-11-03", "manager_id": typed},
                                         {"occurred_at": "2026-11-03", "manager_id": "A9"}])
    [r] = load.load_paths(roster_loaded, [path])
    assert (r.landed, r.reasons) == (1, {"unknown_manager": 1})
    assert query(roster_loaded, "SELECT manager_id FROM client_contact") == [("A1",)]


def test_a_manager_id_first_typed_oddly_past_the_staged_rows_still_matches(
        roster_loaded, tmp_path, monkeypatch):
    monkeypatch.setattr(load, "HEAD_ROWS", 2)
    rows = [{"occurred_at": "2026-11-03", "manager_id": "A1"} for _ in range(4)]
    rows.append({"occurred_at": "2026-11-03", "manager_id": "ａ２"})
    [r] = load.load_paths(roster_loaded, [_contacts(tmp_path, "c.csv", rows)])
    assert (r.landed, r.quarantined) == (5, 0)
    assert query(roster_loaded, "SELECT manager_id FROM client_contact WHERE contact_id = 'K4'"
                 ) == [("A2",)]


def test_excel_serial_dates_in_a_csv_read_with_the_1900_system(roster_loaded, tmp_path):
    rows = [{"occurred_at": "46329"}, {"occurred_at": "46329.5"}, {"occurred_at": "46329.75"}]
    [r] = load.load_paths(roster_loaded, [_contacts(tmp_path, "c.csv", rows)])
    assert r.landed == 3, r.reasons
    assert sorted(_landed(roster_loaded, "occurred_at").values()) == [
        datetime(2026, 11, 3), datetime(2026, 11, 3, 12), datetime(2026, 11, 3, 18)]


T2S, S2T, S2TW = (opencc.OpenCC(c) for c in ("t2s", "s2t", "s2tw"))


def _spellings() -> list[tuple[str, str, str]]:
    prof = profiles.read_profile(CRM)
    return [(column, canonical, alias) for column in ("channel", "purpose")
            for canonical, aliases in prof.values[column].items() for alias in aliases]


@pytest.mark.parametrize("script", ["as written", "simplified", "traditional", "taiwan"])
def test_every_crm_spelling_maps_in_either_script(settings, tmp_path, script):
    """Each spelling the shipped CRM profile lists, converted to the other script, maps to the
    same value: a mainland system's 续贷 is a Taiwanese one's 續貸."""
    convert = {"as written": lambda s: s, "simplified": T2S.convert,
               "traditional": lambda s: S2T.convert(T2S.convert(s)),
               "taiwan": lambda s: S2TW.convert(T2S.convert(s))}[script]
    prof = profiles.read_profile(CRM)
    for column, canonical, alias in _spellings():
        mapping, _ = prof.value_map(column)
        assert mapping.get(profiles.norm(convert(alias))) == canonical, (column, alias)


def test_simplified_and_traditional_values_land_as_the_same_visit_purpose(roster_loaded,
                                                                          tmp_path):
    rows = [{"客戶經理工號": "A1", "客戶編號": f"C{i}", "拜訪日期": "115/11/03",
             "拜訪方式": ch, "拜訪目的": pu}
            for i, (ch, pu) in enumerate([("實地拜訪", "續貸"), ("实地拜访", "续贷"),
                                          ("線上", "貸後檢查"), ("线上", "贷后检查"),
                                          ("ＬＩＮＥ", "客訴"), ("line", "客诉")])]
    [r] = load.load_paths(roster_loaded, [write_csv(tmp_path / "v.csv", rows)])
    assert (r.profile, r.landed, r.quarantined) == ("bank_crm_visits", 6, 0), r.reasons
    got = query(roster_loaded, "SELECT channel, purpose, count(*) FROM client_contact "
                "GROUP BY ALL ORDER BY ALL")
    assert got == [("video", "post_loan_inspection", 2), ("visit", "renewal", 2),
                   ("wechat", "complaint", 2)]


def test_an_unmapped_value_says_what_is_allowed_and_where_to_map_it(roster_loaded, tmp_path):
    rows = [{"客戶經理工號": "A1", "客戶編號": "C1", "拜訪日期": "115/11/03",
             "拜訪方式": "飛鴿傳書", "拜訪目的": "續貸"}]
    [r] = load.load_paths(roster_loaded, [write_csv(tmp_path / "v.csv", rows)])
    assert r.reasons == {"not_allowed": 1}
    [(raw, detail, code, args)] = query(roster_loaded, "SELECT raw_value, detail, detail_code, "
                                        "detail_args FROM quarantine")
    assert (raw, code) == ("飛鴿傳書", "not_allowed")
    assert json.loads(args) == {"allowed": "visit, phone, wechat, email, video, branch",
                                "section": "[values.channel]", "profile": "bank_crm_visits.toml"}
    assert "[values.channel]" in detail and "bank_crm_visits.toml" in detail
    from dashboard.views.data_health import detail_text
    zh = detail_text("zh-TW", code, args, detail)
    assert "bank_crm_visits.toml" in zh and "visit, phone" in zh and "設定檔" in zh


DATE_PARTS = st.tuples(st.integers(89, 130), st.integers(1, 12), st.integers(1, 28),
                       st.sampled_from(["/", ".", "-", "年"]), st.booleans(),
                       st.one_of(st.none(), st.tuples(st.integers(0, 23), st.integers(0, 59))))


@hsettings(max_examples=25, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(DATE_PARTS, min_size=1, max_size=8))
def test_any_roc_date_lands_on_its_gregorian_day(tmp_path_factory, parts):
    tmp = tmp_path_factory.mktemp("roc")
    from tests.conftest import ROSTER
    settings = load_settings({"AWARENESS_DATA": str(tmp / "data")})
    load.load_paths(settings, [write_csv(tmp / "roster.csv", ROSTER)])
    values, want = [], []
    for y, m, d, sep, full, hm in parts:
        text = (f"{y}年{m}月{d}日" if sep == "年" else f"{y}{sep}{m:02d}{sep}{d:02d}")
        if hm:
            text += f" {hm[0]:02d}:{hm[1]:02d}"
        if full:   # typed with a full-width input method
            text = text.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
        values.append(text)
        want.append(datetime(y + 1911, m, d, *(hm or (0, 0))))
    [r] = load.load_paths(settings, [_contacts(tmp, "c.csv", [{"occurred_at": v}
                                                              for v in values])])
    future = [w for w in want if w.date() > datetime.now().date()]
    assert r.balanced and r.landed == len(values) - len(future), (values, r.reasons)
    got = _landed(settings, "occurred_at")
    for i, w in enumerate(want):
        if w not in future:
            assert got[f"K{i}"] == w, values[i]
