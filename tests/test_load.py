"""Loading: each row lands, is a duplicate, or is quarantined with a reason; reloads add nothing."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from pipelines import load
from tests.conftest import ROSTER, query, write_csv

MKT = {"activity_id": "M1", "manager_id": "A1", "occurred_at": "2026-05-04 10:00",
       "logged_at": "2026/5/4 11:30", "type": "visit", "channel": "supply_chain",
       "proactive": "Y", "prospect_id": "P1", "industry": "建材", "outcome": "lead",
       "amount": "", "co_manager_ids": "", "notes": "=HYPERLINK(\"http://x\")"}


_rows = query


def test_rows_land_typed(roster_loaded, tmp_path):
    rows = [MKT, dict(MKT, activity_id="M2", occurred_at="2026/5/5", proactive="no")]
    [r] = load.load_paths(roster_loaded, [write_csv(tmp_path / "m.csv", rows)])
    assert (r.feed, r.rows_read, r.landed, r.quarantined) == ("marketing_activity", 2, 2, 0)
    got = _rows(roster_loaded, "SELECT activity_id, occurred_at::VARCHAR, proactive, notes "
                               "FROM marketing_activity ORDER BY 1")
    assert got == [("M1", "2026-05-04 10:00:00", True, '=HYPERLINK("http://x")'),
                   ("M2", "2026-05-05 00:00:00", False, '=HYPERLINK("http://x")')]


def test_bad_rows_are_quarantined_with_line_column_and_reason(roster_loaded, tmp_path):
    rows = [MKT,
            dict(MKT, activity_id="M2", manager_id="ZZ"),
            dict(MKT, activity_id="M3", occurred_at="2026-02-30"),
            dict(MKT, activity_id="M4", channel="telepathy"),
            dict(MKT, activity_id="M5", occurred_at="2999-12-31"),
            dict(MKT, activity_id="M6", occurred_at="1900-01-01"),
            dict(MKT, activity_id="M7", amount="-5"),
            dict(MKT),                                   # same id again in one file
            dict(MKT, activity_id="M9", proactive="maybe")]
    [r] = load.load_paths(roster_loaded, [write_csv(tmp_path / "m.csv", rows)])
    assert r.balanced and r.landed == 1 and r.quarantined == 8
    got = _rows(roster_loaded, "SELECT line, column_name, raw_value, reason_code FROM quarantine "
                               "ORDER BY line")
    assert got == [
        (3, "manager_id", "ZZ", "unknown_manager"),
        (4, "occurred_at", "2026-02-30", "invalid_timestamp"),
        (5, "channel", "telepathy", "not_allowed"),
        (6, "occurred_at", "2999-12-31", "future_date"),
        (7, "occurred_at", "1900-01-01", "too_old"),
        (8, "amount", "-5", "below_min"),
        (9, "activity_id", "M1", "duplicate_in_file"),
        (10, "proactive", "maybe", "invalid_bool"),
    ]


def test_line_numbers_are_file_lines_even_past_malformed_rows(roster_loaded, tmp_path):
    path = write_csv(tmp_path / "m.csv", [MKT, dict(MKT, activity_id="M2"),
                                          dict(MKT, activity_id="M3", manager_id="ZZ")])
    text = path.read_text(encoding="utf-8").splitlines()
    text.insert(2, "broken,row")                      # line 3 of the file
    path.write_text("\r\n".join(text) + "\r\n", encoding="utf-8")
    [r] = load.load_paths(roster_loaded, [path])
    assert (r.rows_read, r.landed, r.quarantined) == (4, 2, 2)
    assert _rows(roster_loaded, "SELECT line, reason_code FROM quarantine ORDER BY line") == [
        (3, "malformed_row"), (5, "unknown_manager")]


def test_a_file_read_in_parallel_keeps_its_line_numbers(roster_loaded, tmp_path):
    # Big enough for DuckDB to read it in pieces on several threads. The rows are typed and
    # checked on the way in, and their line numbers come from the order they are stored in,
    # which a join in that query would shuffle (it did, at this size, with the roster check).
    n = 1_000_000
    bad = {7: "manager_id", 123_457: "occurred_at", 650_001: "manager_id", n + 1: "verb"}
    lines = ["event_id,manager_id,occurred_at,category,verb,duration_min"]
    for i in range(2, n + 2):
        lines.append(f"E{i},{'ZZ' if bad.get(i) == 'manager_id' else 'A1'},"
                     f"{'2026-13-01' if bad.get(i) == 'occurred_at' else '2026-05-04 19:00'},"
                     f"risk,{'slept' if bad.get(i) == 'verb' else 'completed'},30")
    lines.insert(600_000, "a,malformed,row")        # line 600,001: every later line moves on
    path = tmp_path / "learning.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [r] = load.load_paths(roster_loaded, [path], feed="learning_event")
    assert (r.rows_read, r.landed, r.quarantined) == (n + 1, n - 4, 5)
    got = _rows(roster_loaded, "SELECT line, column_name FROM quarantine ORDER BY line")
    assert got == [(7, "manager_id"), (123_457, "occurred_at"), (600_001, None),
                   (650_002, "manager_id"), (n + 2, "verb")]


def test_a_spelling_first_met_past_the_staged_rows_is_still_mapped(roster_loaded, tmp_path,
                                                                    monkeypatch):
    # date formats and the spellings to map are found in a CSV file's first rows; a spelling
    # that first appears further down makes the loader read the file again with it
    monkeypatch.setattr(load, "HEAD_ROWS", 2)
    rows = [dict(MKT, activity_id=f"M{i}") for i in range(1, 5)]
    rows.append(dict(MKT, activity_id="M5", channel="Supply_Chain", type="VISIT"))
    [r] = load.load_paths(roster_loaded, [write_csv(tmp_path / "m.csv", rows)])
    assert (r.landed, r.quarantined) == (5, 0)
    assert _rows(roster_loaded, "SELECT DISTINCT channel, type FROM marketing_activity") == [
        ("supply_chain", "visit")]


def test_same_file_twice_adds_nothing(roster_loaded, tmp_path):
    path = write_csv(tmp_path / "m.csv", [MKT, dict(MKT, activity_id="M2")])
    load.load_paths(roster_loaded, [path])
    before = _rows(roster_loaded, "SELECT count(*) FROM marketing_activity")
    [again] = load.load_paths(roster_loaded, [path])
    assert again.already_loaded_run is not None
    assert _rows(roster_loaded, "SELECT count(*) FROM marketing_activity") == before
    assert _rows(roster_loaded, "SELECT count(*) FROM load_run WHERE feed = 'marketing_activity'"
                 ) == [(1,)]


def test_corrected_reexport_updates_changed_rows_by_key(roster_loaded, tmp_path):
    load.load_paths(roster_loaded, [write_csv(tmp_path / "m1.csv", [MKT, dict(MKT,
                                                                              activity_id="M2")])])
    fixed = [MKT, dict(MKT, activity_id="M2", outcome="approved", amount="1,200,000")]
    [r] = load.load_paths(roster_loaded, [write_csv(tmp_path / "m2.csv", fixed)])
    assert (r.duplicates, r.updated, r.landed) == (1, 1, 0)
    assert _rows(roster_loaded, "SELECT outcome, amount FROM marketing_activity "
                                "WHERE activity_id = 'M2'") == [("approved", 1200000.0)]


def test_a_load_that_fails_halfway_leaves_the_warehouse_as_it_was(roster_loaded, tmp_path,
                                                                   monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("killed")
    monkeypatch.setattr(load, "_land", boom)
    with pytest.raises(RuntimeError):
        load.load_paths(roster_loaded, [write_csv(tmp_path / "m.csv",
                                                  [MKT, dict(MKT, manager_id="ZZ")])])
    assert _rows(roster_loaded, "SELECT count(*) FROM quarantine") == [(0,)]
    assert _rows(roster_loaded, "SELECT count(*) FROM load_run") == [(1,)]  # the roster only


def test_client_ids_are_pseudonymised_with_a_local_key(roster_loaded, tmp_path):
    contact = {"contact_id": "K1", "manager_id": "A1", "client_id": "C-0001",
               "occurred_at": "2026-05-04 10:00", "channel": "visit", "purpose": "service"}
    load.load_paths(roster_loaded, [write_csv(tmp_path / "c.csv", [
        contact, dict(contact, contact_id="K2")])])
    ids = {r[0] for r in _rows(roster_loaded, "SELECT client_id FROM client_contact")}
    assert len(ids) == 1 and "C-0001" not in ids.pop()
    assert (roster_loaded.secret_dir / "pseudonym.key").stat().st_mode & 0o077 == 0


def test_chinese_headers_and_value_maps(settings, tmp_path):
    rows = [{"客户经理工号": "Z1", "姓名": "张三", "团队代号": "T9", "团队": "一组", "分行": "上海",
             "职务类别": "对公"}]
    [r] = load.load_paths(settings, [write_csv(tmp_path / "r.csv", rows, encoding="gb18030")])
    assert (r.feed, r.landed) == ("roster", 1)
    assert _rows(settings, "SELECT peer_group, active, public_display FROM roster") == [
        ("corporate", True, True)]


def test_a_file_no_profile_fits_names_the_fix_and_the_others_still_load(settings, tmp_path):
    bad = write_csv(tmp_path / "x.csv", [{"foo": 1, "bar": 2}])
    good = write_csv(tmp_path / "roster.csv", ROSTER)
    results = {r.file: r for r in load.load_paths(settings, [bad, good])}
    assert "--feed" in results[str(bad)].error
    assert results[str(good)].landed == 3


value = st.one_of(st.sampled_from(["", "A1", "ZZ", "2026-05-04", "2026/5/4 9:30", "x", "Y", "N",
                                   "visit", "lead", "-1", "1e9", "'; DROP TABLE roster; --",
                                   "😀", "2999-01-01", "115/05/04", "115年5月4日 09:30",
                                   "1150504", "99/12/31", "115/13/40", "４５", "１，２００",
                                   "46146", "46146.5", "　", "合計", "A1 小計", "Total:"]),
                  st.text(max_size=8))


@hsettings(max_examples=25, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.fixed_dictionaries({
    "activity_id": st.sampled_from(["M1", "M2", "M3", "", "小計"]),   # a total row, too
    "manager_id": st.sampled_from(["A1", "A2", "ZZ", "", "ａ１", " a2 "]),
    "occurred_at": value, "type": st.sampled_from(["visit", "call", "nap"]),
    "channel": st.sampled_from(["online", "supply_chain", "x"]), "proactive": value,
    "outcome": st.sampled_from(["lead", "none", "??"]), "amount": value, "notes": value,
}), min_size=1, max_size=12))
def test_every_row_is_accounted_for_and_reloading_changes_nothing(roster_loaded, tmp_path, rows):
    rows = [{k: v.replace("\x00", "") for k, v in r.items()} for r in rows]
    path = write_csv(tmp_path / f"m{abs(hash(str(rows)))}.csv", rows)
    for r in load.load_paths(roster_loaded, [path]):
        # a file that cannot be read at all says so and loads nothing; any other balances
        assert r.error or r.already_loaded_run is not None or r.balanced
    snapshot = _rows(roster_loaded, "SELECT * FROM marketing_activity ORDER BY activity_id")
    path.write_bytes(path.read_bytes() + b"\r\n")   # same rows, different file bytes
    load.load_paths(roster_loaded, [path])
    assert _rows(roster_loaded, "SELECT * FROM marketing_activity ORDER BY activity_id") == snapshot


def test_quarantine_never_holds_a_raw_client_id(roster_loaded, tmp_path):
    contact = {"contact_id": "K1", "manager_id": "ZZ", "client_id": "C-SECRET-1",
               "occurred_at": "2026-05-04 10:00", "channel": "visit", "purpose": "service"}
    path = write_csv(tmp_path / "c.csv", [contact, dict(contact, contact_id="K2",
                                                        client_id="x" * 40_000)])
    with path.open("a", encoding="utf-8") as f:
        f.write("K3,A1,C-SECRET-3,2026-05-04,visit,service,EXTRA\r\n")
    [r] = load.load_paths(roster_loaded, [path])
    assert r.quarantined == 3
    dump = repr(_rows(roster_loaded, "SELECT * FROM quarantine"))
    assert "SECRET" not in dump and "x" * 100 not in dump


def test_a_voiding_statement_removes_a_statement_loaded_earlier(roster_loaded, tmp_path):
    from tests.conftest import write_json
    from tests.test_sources import _stmt
    load.load_paths(roster_loaded, [write_json(tmp_path / "a.json", [_stmt(1), _stmt(2)])])
    assert _rows(roster_loaded, "SELECT count(*) FROM learning_event") == [(2,)]
    voiding = {"id": "00000000-0000-4000-8000-00000000aaaa", "actor": _stmt(0)["actor"],
               "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
               "object": {"objectType": "StatementRef", "id": _stmt(1)["id"]},
               "timestamp": "2026-05-05T12:00:00Z"}
    [r] = load.load_paths(roster_loaded, [write_json(tmp_path / "b.json", [voiding])])
    # the instruction is skipped, not quarantined: it is not bad data
    assert (r.voided, r.quarantined, r.skipped, r.skip_reasons) == (1, 0, 1, {"xapi_voiding": 1})
    assert r.balanced
    assert _rows(roster_loaded, "SELECT event_id FROM learning_event") == [(_stmt(2)["id"],)]
    # Data health balances: read = landed + duplicates + quarantined + skipped; voided apart
    assert _rows(roster_loaded, "SELECT rows_read, rows_landed, rows_duplicate, "
                 "rows_quarantined, rows_skipped, rows_voided FROM load_run "
                 "WHERE load_run_id = ?", [r.load_run_id]) == [(1, 0, 0, 0, 1, 1)]
    # the scores of the voided statement's day are redone at the next scoring
    assert _rows(roster_loaded, "SELECT affected_from::VARCHAR FROM load_run "
                                "WHERE load_run_id = ?", [r.load_run_id]) == [("2026-05-04",)]


def test_target_months_are_normalised_or_quarantined(roster_loaded, tmp_path):
    rows = [{"scope": "manager", "scope_id": "A1", "period": p, "metric_key": f"m{i}",
             "target": "1"} for i, p in enumerate(["2026-05", "2026/06", "2026-07-01", "May"])]
    [r] = load.load_paths(roster_loaded, [write_csv(tmp_path / "t.csv", rows)])
    assert (r.landed, r.reasons) == (3, {"invalid_month": 1})
    assert _rows(roster_loaded, "SELECT period FROM targets ORDER BY 1") == [
        ("2026-05",), ("2026-06",), ("2026-07",)]


def test_a_target_repeated_in_one_file_is_a_duplicate_however_its_month_is_written(
        roster_loaded, tmp_path):
    rows = [{"scope": "manager", "scope_id": "A1", "period": p, "metric_key": "approved_amount",
             "target": t} for p, t in [("2026-05", "1"), ("2026/06", "2"), ("2026/05", "3")]]
    [r] = load.load_paths(roster_loaded, [write_csv(tmp_path / "t.csv", rows)])
    assert (r.landed, r.reasons) == (2, {"duplicate_in_file": 1})
    assert _rows(roster_loaded, "SELECT line, detail FROM quarantine") == [
        (4, "first at line 2")]
    assert _rows(roster_loaded, "SELECT period, target FROM targets ORDER BY 1") == [
        ("2026-05", 1.0), ("2026-06", 2.0)]


def test_non_finite_and_huge_numbers_are_quarantined_and_the_batch_goes_on(roster_loaded,
                                                                          tmp_path):
    contact = {"contact_id": "K1", "manager_id": "A1", "client_id": "C1",
               "occurred_at": "2026-05-04 10:00", "channel": "visit", "purpose": "service",
               "satisfaction": "4", "duration_min": "30"}
    rows = [contact, dict(contact, contact_id="K2", satisfaction="NaN"),
            dict(contact, contact_id="K3", satisfaction="99999999999"),
            dict(contact, contact_id="K4", duration_min="inf")]
    bad = write_csv(tmp_path / "c.csv", rows)
    good = write_csv(tmp_path / "m.csv", [MKT])
    results = load.load_paths(roster_loaded, [bad, good])
    assert [(r.landed, r.quarantined) for r in results] == [(1, 3), (1, 0)]
    assert results[0].reasons == {"invalid_int": 2, "invalid_number": 1}


@pytest.mark.parametrize("key", [bytes(range(32)), bytes(100), b""])
def test_keyed_hashes_made_in_duckdb_equal_python_s_hmac(key):
    import duckdb

    from pipelines.pseudonym import hmac_sql, pseudonymise
    values = ["C1", "客戶甲", "", "x" * 500, "h'; DROP TABLE x; --"]
    sql, params = hmac_sql(key, "v")
    con = duckdb.connect()
    got = [con.execute(f"SELECT {sql} FROM (SELECT ? AS v)", [*params, v]).fetchall()[0][0]
           for v in values]
    assert got == [pseudonymise(key, v) for v in values]
