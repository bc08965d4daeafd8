"""Corrections and reloads: an export without row ids replaces its scope, and quarantined rows
can be loaded again once their cause is fixed, without anything counted twice."""
from __future__ import annotations

import dataclasses
import json
import shutil

import duckdb
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from pipelines import db, load
from pipelines.cli import EXIT_USER_ERROR, main
from tests.conftest import ROSTER, query, write_csv

# A bank CRM visit log (profile bank_crm_visits): no row id, contact_id is derived from the
# manager, client, time, channel and purpose.
HEAD = ("客戶經理工號", "客戶編號", "拜訪日期", "拜訪方式", "拜訪目的", "拜訪時長")
PURPOSES = {"日常維護": "service", "回訪": "follow_up", "貸後檢查": "post_loan_inspection",
            "續貸": "renewal"}


def visit(manager: str, client: str, day: int, purpose: str = "日常維護",
          minutes: str = "30", channel: str = "實地拜訪") -> dict:
    return dict(zip(HEAD, [manager, client, f"2026/5/{day} 10:00", channel, purpose, minutes],
                    strict=True))


V1 = [visit("A1", "C1", 4), visit("A1", "C2", 5), visit("A1", "C3", 6),
      visit("A2", "C4", 4), visit("A2", "C5", 7), visit("B1", "C6", 8)]

FEED_COLUMNS = ("contact_id, manager_id, client_id, client_tier, occurred_at, logged_at, "
                "channel, purpose, duration_min, satisfaction, complaint, resolved_at, "
                "follow_up_due, follow_up_done_at, checklist_complete, risk_flag, "
                "location_verified, notes")


def _contacts(settings) -> list[tuple]:
    """The stored visits, every column but load_run_id."""
    return query(settings, f"SELECT {FEED_COLUMNS} FROM client_contact ORDER BY ALL")


def _visits(settings) -> list[tuple]:
    return query(settings, "SELECT manager_id, occurred_at::DATE::VARCHAR, purpose, duration_min "
                           "FROM client_contact ORDER BY ALL")


def _load(settings, path, **kw) -> load.FileResult:
    [r] = load.load_paths(settings, [path], **kw)
    assert r.error is None, r.error
    return r


def test_a_corrected_visit_export_replaces_the_visits_it_no_longer_has(roster_loaded, tmp_path):
    _load(roster_loaded, write_csv(tmp_path / "v1.csv", V1))
    v2 = [dict(r) for r in V1]
    v2[1] = visit("A1", "C2", 5, purpose="回訪")          # purpose corrected
    v2[4] = visit("A2", "C5", 6)                          # date corrected
    r = _load(roster_loaded, write_csv(tmp_path / "v2.csv", v2))
    # 6 visits, not 8: the two corrected ones replaced their earlier versions
    assert (r.rows_read, r.landed, r.duplicates, r.replaced, r.kept) == (6, 2, 4, 2, 0)
    assert r.balanced
    assert query(roster_loaded, "SELECT count(*) FROM client_contact") == [(6,)]
    assert ("A1", "2026-05-05", "follow_up", 30.0) in _visits(roster_loaded)
    assert ("A2", "2026-05-06", "service", 30.0) in _visits(roster_loaded)
    # what was replaced is kept, as stored (client ids pseudonymised), with the run that did it
    history = query(roster_loaded, "SELECT feed, occurred_on::VARCHAR, manager_id, "
                                   "replaced_by_run, stored FROM replaced_row ORDER BY 2")
    assert [h[:4] for h in history] == [("client_contact", "2026-05-05", "A1", r.load_run_id),
                                        ("client_contact", "2026-05-07", "A2", r.load_run_id)]
    stored = json.loads(history[0][4])
    assert stored["purpose"] == "service" and stored["client_id"] != "C2"
    assert "C2" not in repr(history)
    # the run says so, and the boards redo the days from the earliest row it touched
    assert query(roster_loaded, "SELECT rows_replaced, affected_from::VARCHAR FROM load_run "
                                "WHERE load_run_id = ?", [r.load_run_id]) == [(2, "2026-05-04")]


def test_a_replaced_row_before_the_new_rows_sets_where_scoring_starts(roster_loaded, tmp_path):
    # the corrected file's first day holds only a quarantined row (its day is readable): the
    # window starts there, B1's visit that day is gone, and scores are redone from that day
    _load(roster_loaded, write_csv(tmp_path / "v1.csv", [
        visit("B1", "C6", 2), visit("A1", "C1", 5), visit("B1", "C7", 5)]))
    r = _load(roster_loaded, write_csv(tmp_path / "v2.csv", [
        visit("A2", "C9", 2, minutes="-5"), visit("A1", "C1", 5), visit("B1", "C7", 5)]))
    assert (r.replaced, r.quarantined, r.duplicates) == (1, 1, 2)
    assert query(roster_loaded, "SELECT affected_from::VARCHAR FROM load_run "
                                "WHERE load_run_id = ?", [r.load_run_id]) == [("2026-05-02",)]


def test_only_the_managers_and_days_the_file_covers_are_replaced(roster_loaded, tmp_path):
    _load(roster_loaded, write_csv(tmp_path / "v1.csv", V1 + [visit("A1", "C7", 20)]))
    # a file for A1 only, 4-6 May, without its visit of the 5th
    r = _load(roster_loaded, write_csv(tmp_path / "a1.csv", [visit("A1", "C1", 4),
                                                             visit("A1", "C3", 6)]))
    assert (r.replaced, r.duplicates) == (1, 2)
    got = _visits(roster_loaded)
    assert ("A1", "2026-05-05", "service", 30.0) not in got
    # A2's visit of the 4th (another manager) and A1's of the 20th (outside 4-6 May) stay
    assert ("A2", "2026-05-04", "service", 30.0) in got
    assert ("A1", "2026-05-20", "service", 30.0) in got


def test_a_quarantined_correction_keeps_the_row_it_may_correct(roster_loaded, tmp_path):
    _load(roster_loaded, write_csv(tmp_path / "v1.csv", V1))
    v2 = [dict(r) for r in V1]
    v2[0] = visit("A1", "C1", 4, purpose="喝茶")          # no such purpose: quarantined
    v2[3] = visit("A2", "C4", 4, minutes="很久")          # not a number, same id
    del v2[4]                                              # A2's visit of the 7th is gone
    r = _load(roster_loaded, write_csv(tmp_path / "v2.csv", v2))
    assert (r.quarantined, r.replaced, r.kept) == (2, 1, 1)
    got = _visits(roster_loaded)
    # A1's visit of the 4th is kept (its correction failed), so is A2's (same id as its
    # failed update); A2's visit of the 7th, on a day with nothing broken, is replaced
    assert ("A1", "2026-05-04", "service", 30.0) in got
    assert ("A2", "2026-05-04", "service", 30.0) in got
    assert ("A2", "2026-05-07", "service", 30.0) not in got
    assert any("--retry-quarantine" in n and "kept 1" in n for n in r.notes)


def test_a_manager_with_only_quarantined_rows_keeps_those_days_only(roster_loaded, tmp_path):
    _load(roster_loaded, write_csv(tmp_path / "v1.csv", V1))
    # A2's two visits (4th, 7th): the file has one row of A2, on the 7th, and it is broken
    # (a corrected purpose, so a new id, and a negative duration)
    v2 = [V1[0], V1[1], V1[2], visit("A2", "C5", 7, purpose="回訪", minutes="-1"), V1[5]]
    r = _load(roster_loaded, write_csv(tmp_path / "v2.csv", v2))
    assert (r.quarantined, r.replaced, r.kept) == (1, 1, 1)
    a2 = [v for v in _visits(roster_loaded) if v[0] == "A2"]
    assert a2 == [("A2", "2026-05-07", "service", 30.0)]


def test_unreadable_rows_widen_what_is_kept(roster_loaded, tmp_path):
    _load(roster_loaded, write_csv(tmp_path / "v1.csv", V1))
    # an unreadable date keeps its manager's whole window; a blank manager keeps the day for
    # everyone; a year-2999 typo does not stretch the window to the far future
    v2 = [V1[0], visit("A1", "C2", 5, purpose="回訪"), V1[3], visit("B1", "C10", 6),
          visit("", "C6", 8), visit("A2", "C8", 99),
          dict(visit("A2", "C8", 9), 拜訪日期="2999/5/9 10:00")]
    r = _load(roster_loaded, write_csv(tmp_path / "v2.csv", v2))
    assert r.quarantined == 3
    got = _visits(roster_loaded)
    assert ("A2", "2026-05-07", "service", 30.0) in got     # A2's date unreadable: kept
    assert ("B1", "2026-05-08", "service", 30.0) in got     # blank manager on the 8th: kept
    # A1's old visit of the 5th and its visit of the 6th: no broken row can be theirs
    assert ("A1", "2026-05-05", "service", 30.0) not in got
    assert ("A1", "2026-05-06", "service", 30.0) not in got
    assert (r.replaced, r.kept) == (2, 2)


def test_a_line_that_cannot_be_read_keeps_the_whole_scope(roster_loaded, tmp_path):
    _load(roster_loaded, write_csv(tmp_path / "v1.csv", V1))
    path = write_csv(tmp_path / "v2.csv", V1[:2] + V1[3:5])     # without A1's visit of the 6th
    with path.open("a", encoding="utf-8") as f:
        f.write("A2,C5,2026/5/7 10:00,實地拜訪,日常維護,30,extra,fields\r\n")
    r = _load(roster_loaded, path)
    assert r.reasons.get("malformed_row") == 1
    assert (r.replaced, r.kept) == (0, 1)
    assert query(roster_loaded, "SELECT count(*) FROM client_contact") == [(6,)]


def test_a_file_with_its_own_row_ids_never_replaces(roster_loaded, tmp_path):
    rows = [{"contact_id": f"K{i}", "manager_id": "A1", "client_id": f"C{i}",
             "occurred_at": f"2026-05-0{i} 10:00", "channel": "visit", "purpose": "service"}
            for i in range(1, 5)]
    _load(roster_loaded, write_csv(tmp_path / "k1.csv", rows))
    r = _load(roster_loaded, write_csv(tmp_path / "k2.csv", [rows[0], rows[3]]))
    assert (r.replaced, r.duplicates) == (0, 2)
    assert query(roster_loaded, "SELECT count(*) FROM client_contact") == [(4,)]
    # nor does a visit log that carries the id column, even with ids left blank
    _load(roster_loaded, write_csv(tmp_path / "v1.csv", V1))
    r = _load(roster_loaded, write_csv(tmp_path / "v2.csv",
                                       [dict(v, contact_id="") for v in V1[:2]]))
    assert r.replaced == 0 and query(roster_loaded, "SELECT count(*) FROM client_contact") == [
        (10,)]


def test_the_roster_and_targets_are_never_replaced(roster_loaded, tmp_path):
    r = _load(roster_loaded, write_csv(tmp_path / "roster2.csv", ROSTER[:1]))
    assert r.replaced == 0
    assert query(roster_loaded, "SELECT count(*) FROM roster") == [(3,)]
    target = {"scope": "manager", "scope_id": "A1", "period": "2026-05", "metric_key": "m",
              "target": "1"}
    _load(roster_loaded, write_csv(tmp_path / "t1.csv", [target, dict(target, metric_key="n")]))
    r = _load(roster_loaded, write_csv(tmp_path / "t2.csv", [target]))
    assert r.replaced == 0 and query(roster_loaded, "SELECT count(*) FROM targets") == [(2,)]


def _second_warehouse(settings, name: str):
    """Settings for another warehouse sharing the pseudonym key (so client ids compare)."""
    return settings.with_db(settings.db_path.parent / name)


def test_reloading_corrected_files_ends_where_loading_only_them_ends(roster_loaded, tmp_path):
    may = [visit(m, f"C{i}", d, p) for i, (m, d, p) in enumerate([
        ("A1", 4, "日常維護"), ("A1", 5, "回訪"), ("A2", 6, "續貸"), ("B1", 7, "貸後檢查"),
        ("B1", 8, "日常維護"), ("A2", 9, "回訪")])]
    june = [dict(v, 拜訪日期=v["拜訪日期"].replace("2026/5/", "2026/6/")) for v in may]
    v1 = [write_csv(tmp_path / "may_v1.csv", may), write_csv(tmp_path / "june_v1.csv", june)]
    may2 = [dict(v) for v in may]
    may2[0]["拜訪目的"] = "續貸"
    may2[3]["拜訪日期"] = "2026/5/5 15:30"
    may2[4]["拜訪時長"] = "45"                              # same id, updated in place
    june2 = june[:2] + june[3:] + [dict(visit("A1", "C99", 9), 拜訪日期="2026/6/9 11:00")]
    v2 = [write_csv(tmp_path / "may_v2.csv", may2), write_csv(tmp_path / "june_v2.csv", june2)]
    for r in load.load_paths(roster_loaded, v1 + v2):
        assert r.error is None and r.balanced
    clean = _second_warehouse(roster_loaded, "clean.duckdb")
    load.load_paths(clean, [tmp_path / "roster.csv", *v2])
    assert _contacts(roster_loaded) == _contacts(clean)
    assert len(_contacts(clean)) == 12


correction = st.sampled_from(["keep", "purpose", "date", "drop", "minutes"])


@hsettings(max_examples=20, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.lists(st.tuples(st.sampled_from(["A1", "A2", "B1"]), st.integers(1, 20),
                                st.sampled_from(sorted(PURPOSES))), min_size=1, max_size=10),
       changes=st.lists(correction, min_size=10, max_size=10),
       added=st.lists(st.tuples(st.sampled_from(["A1", "A2", "B1"]), st.integers(1, 20)),
                      max_size=3))
def test_a_correction_leaves_exactly_its_rows_in_its_scope(roster_loaded, tmp_path, first,
                                                           changes, added):
    """v1 then v2 holds what v2 alone holds, plus the v1 rows outside v2's scope (its managers,
    from its first to its last day)."""
    tag = abs(hash((tuple(first), tuple(changes), tuple(added))))
    v1 = [visit(m, f"C{i}", d, p) for i, (m, d, p) in enumerate(first)]
    v2 = []
    for row, change in zip(v1, changes, strict=False):
        if change == "purpose":
            row = dict(row, 拜訪目的="回訪" if row["拜訪目的"] != "回訪" else "續貸")
        elif change == "date":
            row = dict(row, 拜訪日期=row["拜訪日期"].replace("10:00", "16:45"))
        elif change == "minutes":
            row = dict(row, 拜訪時長="55")
        if change != "drop":
            v2.append(row)
    v2 += [visit(m, f"N{i}", d) for i, (m, d) in enumerate(added)]
    if not v2:
        return
    a = _second_warehouse(roster_loaded, f"a{tag}.duckdb")
    b = _second_warehouse(roster_loaded, f"b{tag}.duckdb")
    roster = tmp_path / "roster.csv"
    p1, p2 = write_csv(tmp_path / f"v1_{tag}.csv", v1), write_csv(tmp_path / f"v2_{tag}.csv", v2)
    for r in load.load_paths(a, [roster, p1, p2]) + load.load_paths(b, [roster, p2]):
        assert r.error is None and r.balanced
    days = [int(r["拜訪日期"].split("/")[2].split()[0]) for r in v2]
    managers = {r["客戶經理工號"] for r in v2}
    outside = [(m, d, PURPOSES[p]) for m, d, p in first
               if m not in managers or not min(days) <= d <= max(days)]
    got = query(a, "SELECT manager_id, day(occurred_at), purpose FROM client_contact")
    want = query(b, "SELECT manager_id, day(occurred_at), purpose FROM client_contact")
    assert sorted(got) == sorted(want + outside)
    # and what went is in the history, once
    [(replaced,)] = query(a, "SELECT count(*) FROM replaced_row")
    def key(row):   # what the derived id is made of (not the minutes)
        return tuple(row[h] for h in HEAD[:5])
    kept_ids = {key(row) for row in v2}
    assert replaced == len([row for row, (m, d, _) in zip(v1, first, strict=True)
                            if (m, d, PURPOSES[row["拜訪目的"]]) not in outside
                            and key(row) not in kept_ids])


# --- quarantine recovered --------------------------------------------------------------------

CONTACT = {"contact_id": "K1", "manager_id": "A1", "client_id": "C1",
           "occurred_at": "2026-05-04 10:00", "channel": "visit", "purpose": "service"}


def _open(settings) -> list[tuple]:
    return query(settings, "SELECT load_run_id, line, reason_code FROM quarantine WHERE "
                           "resolved_by_run IS NULL AND requarantined_by_run IS NULL ORDER BY ALL")


def test_a_roster_fix_then_retry_quarantine_lands_the_rows_once(roster_loaded, tmp_path, capsys):
    rows = [CONTACT, dict(CONTACT, contact_id="K2", manager_id="C9"),
            dict(CONTACT, contact_id="K3", manager_id="C9"),
            dict(CONTACT, contact_id="K4", channel="telepathy")]
    first = _load(roster_loaded, write_csv(tmp_path / "c.csv", rows))
    assert (first.landed, first.quarantined) == (1, 3)
    # the new person joins the roster; the contact file itself is unchanged
    new = dict(ROSTER[0], manager_id="C9", name="新人", lms_account="", email="")
    assert main(["load", str(write_csv(tmp_path / "roster2.csv", [*ROSTER, new]))]) == 0
    capsys.readouterr()
    assert main(["load", "--retry-quarantine"]) == 0
    out = capsys.readouterr().out
    assert "c.csv" in out and "resolved 2" in out
    assert query(roster_loaded, "SELECT contact_id FROM client_contact ORDER BY 1") == [
        ("K1",), ("K2",), ("K3",)]
    [(retry, read, landed, dup, bad)] = query(
        roster_loaded, "SELECT load_run_id, rows_read, rows_landed, rows_duplicate, "
                       "rows_quarantined FROM load_run ORDER BY load_run_id DESC LIMIT 1")
    assert (read, landed, dup, bad) == (4, 2, 1, 1)
    # the first run's quarantine is settled: two rows resolved, telepathy open under the retry
    assert query(roster_loaded, "SELECT line, resolved_by_run, requarantined_by_run "
                                "FROM quarantine WHERE load_run_id = ? ORDER BY line",
                 [first.load_run_id]) == [(3, retry, None), (4, retry, None), (5, None, retry)]
    assert _open(roster_loaded) == [(retry, 5, "not_allowed")]
    # nothing left to retry that could land: a second retry changes nothing
    assert main(["load", "--retry-quarantine"]) == 0
    assert query(roster_loaded, "SELECT count(*) FROM client_contact") == [(3,)]
    assert len(_open(roster_loaded)) == 1


def _health_page_in(lang):
    import streamlit as st

    from dashboard import i18n
    from dashboard.views import data_health
    st.session_state[i18n.LANG_KEY] = lang
    data_health.render()


def _health(lang: str):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_function(_health_page_in, args=(lang,), default_timeout=30).run()
    assert not at.exception
    return at


def test_data_health_counts_open_quarantine_and_shows_resolved_rows(roster_loaded, tmp_path):
    from pipelines import publish
    rows = [CONTACT, dict(CONTACT, contact_id="K2", manager_id="C9"),
            dict(CONTACT, contact_id="K3", channel="telepathy")]
    _load(roster_loaded, write_csv(tmp_path / "c.csv", rows))
    publish.publish(roster_loaded)
    reasons = _health("en").dataframe[2].value
    assert dict(zip(reasons["Reason"], reasons["Rows"], strict=True)) == {
        "No such manager in the roster": 1, "Value not allowed": 1}
    new = dict(ROSTER[0], manager_id="C9", name="新人", lms_account="", email="")
    _load(roster_loaded, write_csv(tmp_path / "roster2.csv", [*ROSTER, new]))
    [retry] = load.retry_quarantine(roster_loaded)
    assert retry.resolved == 1
    publish.publish(roster_loaded)
    at = _health("en")
    # one row is still open (under the retry only: not twice), one shows as resolved
    reasons, rows, resolved = (d.value for d in at.dataframe[2:5])
    assert dict(zip(reasons["Reason"], reasons["Rows"], strict=True)) == {"Value not allowed": 1}
    assert list(rows["Line"]) == ["4"]
    assert resolved.to_dict("records") == [{
        "File": "c.csv", "Line": "3", "Reason": "No such manager in the roster",
        "Status": f"Resolved by load #{retry.load_run_id}"}]
    tw = _health("zh-TW")
    assert set(tw.dataframe[4].value["狀態"]) == {f"已於載入 #{retry.load_run_id} 入庫"}
    assert "已由之後的載入解決" in [h.value for h in tw.subheader]


def _crm_profiles(tmp_path, drop: str | None = None):
    """A copy of the shipped profiles, the visit log's purpose spelling `drop` left out."""
    folder = tmp_path / "profiles"
    shutil.copytree(load.profiles.Path(__file__).resolve().parent.parent / "pipelines"
                    / "profiles", folder, dirs_exist_ok=True)
    crm = folder / "bank_crm_visits.toml"
    text = crm.read_text(encoding="utf-8")
    if drop:
        text = text.replace(f'"{drop}", ', "").replace(f', "{drop}"', "")
    crm.write_text(text, encoding="utf-8")
    return folder


def test_a_profile_fix_then_force_lands_the_mapped_rows(roster_loaded, tmp_path):
    broken = dataclasses.replace(roster_loaded, profiles_dir=_crm_profiles(tmp_path, "追蹤"))
    path = write_csv(tmp_path / "v.csv", V1 + [visit("B1", "C7", 9, purpose="追蹤")])
    first = _load(broken, path)
    assert (first.landed, first.reasons) == (6, {"not_allowed": 1})
    # without --force the file is not read again
    assert _load(roster_loaded, path).already_loaded_run == first.load_run_id
    r = _load(roster_loaded, path, force=True)      # the shipped profile maps 追蹤
    assert (r.landed, r.duplicates, r.quarantined, r.replaced, r.resolved) == (1, 6, 0, 0, 1)
    assert ("B1", "2026-05-09", "follow_up", 30.0) in _visits(roster_loaded)
    assert _open(roster_loaded) == []


def test_retry_says_which_files_are_gone_or_changed(roster_loaded, tmp_path, capsys):
    gone = write_csv(tmp_path / "gone.csv", [dict(CONTACT, manager_id="C9")])
    changed = write_csv(tmp_path / "changed.csv", [dict(CONTACT, contact_id="K2",
                                                        manager_id="C9")])
    runs = [_load(roster_loaded, p).load_run_id for p in (gone, changed)]
    gone.unlink()
    changed.write_bytes(changed.read_bytes() + b"K3,A1,C3,2026-05-05,visit,service\r\n")
    capsys.readouterr()
    assert main(["load", "--retry-quarantine"]) == EXIT_USER_ERROR
    err = " ".join(capsys.readouterr().err.split())
    assert f"gone.csv no longer exists, so the rows run {runs[0]} quarantined" in err
    assert f"changed.csv has changed since run {runs[1]}" in err
    assert err.count("load the corrected file instead") == 2
    assert len(_open(roster_loaded)) == 2         # still open: nothing was loaded


def test_retry_with_nothing_open_says_so(roster_loaded, capsys):
    assert main(["load", "--retry-quarantine"]) == 0
    assert "no quarantined rows" in capsys.readouterr().out


def test_load_needs_files_or_retry(settings, capsys):
    assert main(["load"]) == EXIT_USER_ERROR
    assert "--retry-quarantine" in capsys.readouterr().err


@hsettings(max_examples=15, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(["A1", "A2", "ZZ", ""]), st.integers(1, 31),
                               st.sampled_from([*PURPOSES, "喝茶"]),
                               st.sampled_from(["30", "-1", "x", ""])),
                     min_size=1, max_size=10),
       times=st.integers(1, 3))
def test_reloading_with_force_changes_nothing(roster_loaded, tmp_path, rows, times):
    # a warehouse of its own per example: the fixture is shared by every example, and one
    # example's rows (or its very file, loaded before) must not be another's starting state
    import uuid

    from pipelines.config import load_settings
    from tests.conftest import ROSTER
    tmp_path = tmp_path / uuid.uuid4().hex
    tmp_path.mkdir()
    roster_loaded = load_settings({"AWARENESS_DATA": str(tmp_path / "data")})
    load.load_paths(roster_loaded, [write_csv(tmp_path / "roster.csv", ROSTER)])
    tag = abs(hash((tuple(rows), times)))
    path = write_csv(tmp_path / f"v{tag}.csv", [visit(m, f"C{i % 4}", d, p, minutes)
                                                 for i, (m, d, p, minutes) in enumerate(rows)])
    [first] = load.load_paths(roster_loaded, [path])

    def state():
        return (_contacts(roster_loaded),
                query(roster_loaded, "SELECT count(DISTINCT line) FROM quarantine "
                                     "WHERE resolved_by_run IS NULL "
                                     "AND requarantined_by_run IS NULL"),
                query(roster_loaded, "SELECT count(*) FROM replaced_row"))
    before = state()
    for _ in range(times):
        [again] = load.load_paths(roster_loaded, [path], force=True)
        assert again.balanced and again.load_run_id != first.load_run_id
        assert (again.landed, again.updated, again.replaced) == (0, 0, 0)
        assert (again.duplicates, again.quarantined) == (first.landed + first.duplicates,
                                                         first.quarantined)
        assert again.resolved == 0
        assert state() == before


def test_a_warehouse_from_before_reloads_gains_the_columns(settings):
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.db_path))
    con.execute("CREATE TABLE quarantine (load_run_id BIGINT NOT NULL, source_file VARCHAR NOT "
                "NULL, line BIGINT, column_name VARCHAR, raw_value VARCHAR, reason_code VARCHAR "
                "NOT NULL, detail VARCHAR)")
    con.execute("INSERT INTO quarantine VALUES (0, 'old.csv', 2, NULL, NULL, 'too_long', '')")
    con.close()
    with db.warehouse(settings.db_path):
        pass
    assert query(settings, "SELECT resolved_by_run, requarantined_by_run FROM quarantine") == [
        (None, None)]
    assert query(settings, "SELECT count(*) FROM replaced_row") == [(0,)]


def test_a_correction_that_only_removes_rows_is_rescored_from_their_day(roster_loaded,
                                                                        tmp_path):
    from pipelines import score
    from pipelines.rules import load_rules
    rules = load_rules(roster_loaded.rules_path)
    _load(roster_loaded, write_csv(tmp_path / "v1.csv", V1))
    with db.warehouse(roster_loaded.db_path) as con:
        score.score(con, rules)
    # the same visits but A1's of the 5th: nothing lands, one earlier row goes
    r = _load(roster_loaded, write_csv(tmp_path / "v2.csv", [v for v in V1 if v != V1[1]]))
    assert (r.landed, r.replaced) == (0, 1)
    with db.warehouse(roster_loaded.db_path) as con:
        since, touched = score._incremental_since(con, rules, db.get_states(con))
    assert (since.isoformat(), touched) == ("2026-05-04", frozenset({"client_contact"}))
