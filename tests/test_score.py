"""Scoring: given rows -> expected scores, the orderings the article implies, rules errors."""
from __future__ import annotations

import math
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from pipelines import db, load, score
from pipelines.contract import DIMENSIONS
from pipelines.rules import RulesError, load_rules
from tests.conftest import ROSTER, query, write_csv

MONTH = "2026-05"
RULES = Path(__file__).resolve().parent.parent / "pipelines" / "rules.toml"


def _mkt(i, manager, day=4, **kw):
    row = {"activity_id": f"{manager}-{i}", "manager_id": manager,
           "occurred_at": f"2026-05-{day:02d} 10:00", "logged_at": f"2026-05-{day:02d} 11:00",
           "type": "visit", "channel": "supply_chain", "proactive": "Y", "industry": "建材",
           "outcome": "none", "amount": "", "co_manager_ids": ""}
    return row | kw


def _contact(i, manager, day=4, **kw):
    row = {"contact_id": f"{manager}-c{i}", "manager_id": manager, "client_id": f"C{i % 3}",
           "occurred_at": f"2026-05-{day:02d} 10:00", "logged_at": f"2026-05-{day:02d} 12:00",
           "channel": "visit", "purpose": "service", "satisfaction": "4", "complaint": "0",
           "follow_up_due": "", "follow_up_done_at": "", "checklist_complete": "1",
           "location_verified": "1"}
    return row | kw


def _learn(i, manager, when="2026-05-04 10:00", **kw):
    row = {"event_id": f"{manager}-l{i}", "manager_id": manager, "occurred_at": when,
           "course_id": "X", "title": "t", "category": "credit", "verb": "completed",
           "score_scaled": "", "duration_min": "60"}
    return row | kw


def build(settings, tmp_path: Path, marketing=(), contacts=(), learning=(), targets=()):
    """Load the given rows next to the fixture roster, score, and return a read connection."""
    files = []
    for name, rows in (("m", marketing), ("c", contacts), ("l", learning), ("t", targets)):
        if rows:
            files.append(write_csv(tmp_path / f"{name}.csv", list(rows)))
    for r in load.load_paths(settings, files):
        assert r.quarantined == 0, r.reasons
    with db.warehouse(settings.db_path) as con:
        score.score(con, load_rules(settings.rules_path), force=True)
    return duckdb.connect(str(settings.db_path), read_only=True)


def metric(con, manager, key, grain="month", period=MONTH):
    rows = con.execute("SELECT value, score, status FROM metric_score WHERE manager_id = ? AND "
                       "metric_key = ? AND grain = ? AND period = ?",
                       [manager, key, grain, period]).fetchall()
    return rows[0] if rows else None


def dim(con, manager, dimension, grain="month", period=MONTH):
    return con.execute("SELECT score FROM dimension_score WHERE manager_id = ? AND dimension = ? "
                       "AND grain = ? AND period = ?",
                       [manager, dimension, grain, period]).fetchall()[0][0]


def test_ratio_with_linear_normalisation(roster_loaded, tmp_path):
    rows = [_mkt(i, "A1", proactive="Y" if i < 4 else "N") for i in range(5)]
    con = build(roster_loaded, tmp_path, marketing=rows)
    value, s, status = metric(con, "A1", "proactive_share")
    assert (value, status) == (0.8, "ok")
    assert s == pytest.approx(100 * (0.8 - 0.2) / (0.85 - 0.2))


def test_too_little_data_is_insufficient_never_zero(roster_loaded, tmp_path):
    con = build(roster_loaded, tmp_path, marketing=[_mkt(i, "A2") for i in range(2)]
                + [_mkt(i, "A1") for i in range(6)])
    value, s, status = metric(con, "A2", "proactive_share")
    assert status == "insufficient_data" and s is None


def test_distinct_with_peer_percentile(roster_loaded, tmp_path):
    rows = ([_mkt(i, "A1", industry=ind) for i, ind in enumerate(["建材", "物流", "農業"])]
            + [_mkt(i, "A2", industry="建材") for i in range(3)]
            + [_mkt(i, "B1", industry=ind) for i, ind in enumerate(["建材", "物流", "農業"])])
    con = build(roster_loaded, tmp_path, marketing=rows)
    assert metric(con, "A1", "industry_breadth")[:2] == (3, 100.0)
    assert metric(con, "A2", "industry_breadth")[:2] == (1, 0.0)
    # B1 is retail: alone in the peer group, so in the middle rather than first or last
    assert metric(con, "B1", "industry_breadth")[:2] == (3, 50.0)


def test_entropy_over_the_articles_channels(roster_loaded, tmp_path):
    rows = [_mkt(i, "A1", channel=("association", "intermediary")[i % 2]) for i in range(4)]
    con = build(roster_loaded, tmp_path, marketing=rows)
    value, s, _ = metric(con, "A1", "channel_diversity")
    assert value == pytest.approx(math.log(2) / math.log(6))
    assert s == pytest.approx(100 * value / 0.9)


def test_rate_is_per_week_on_staff(roster_loaded, tmp_path):
    # two inspections in May; data runs to 31 May, so 31 days on staff = 31/7 weeks
    rows = [_contact(i, "A1", day=4, purpose="post_loan_inspection") for i in range(2)]
    rows.append(_contact(9, "A2", day=31))
    con = build(roster_loaded, tmp_path, contacts=rows)
    value, _, status = metric(con, "A1", "post_loan_inspections")
    assert status == "ok" and value == pytest.approx(2 / (31 / 7))


def test_attainment_against_a_target_spread_over_the_days_with_data(roster_loaded, tmp_path):
    rows = [_mkt(1, "A1", day=1, outcome="approved", amount="1500000"),
            _mkt(2, "A2", day=15)]
    targets = [{"scope": "manager", "scope_id": "A1", "period": MONTH,
                "metric_key": "approved_amount", "target": "3100000"}]
    con = build(roster_loaded, tmp_path, marketing=rows, targets=targets)
    value, s, status = metric(con, "A1", "loan_attainment")
    assert value == pytest.approx(1_500_000 / (3_100_000 * 15 / 31)) and s == 100.0
    assert metric(con, "A2", "loan_attainment")[2] == "no_target"


def test_proactive_multichannel_outranks_passive_single_channel_on_marketing(roster_loaded,
                                                                            tmp_path):
    channels = ["supply_chain", "wholesale_market", "industrial_park_gov", "association",
                "intermediary"]
    rows = ([_mkt(i, "A1", channel=channels[i % 5], outcome="lead" if i % 2 else "approved")
             for i in range(10)]
            + [_mkt(i, "A2", channel="walk_in", proactive="N", outcome="lead") for i in range(10)])
    con = build(roster_loaded, tmp_path, marketing=rows)
    assert dim(con, "A1", "marketing") > dim(con, "A2", "marketing") + 40


def test_late_follow_ups_lower_responsibility(roster_loaded, tmp_path):
    def fu(i, m, done):
        return _contact(i, m, follow_up_due="2026-05-10", follow_up_done_at=done)
    rows = ([fu(i, "A1", "2026-05-09 10:00") for i in range(4)]
            + [fu(i, "A2", "2026-05-20 10:00") for i in range(4)]
            + [_contact(9, "A1", day=31)])
    con = build(roster_loaded, tmp_path, contacts=rows)
    assert dim(con, "A1", "responsibility") == 100.0
    assert dim(con, "A2", "responsibility") == 0.0


def test_off_hours_learning_across_subjects_raises_learning(roster_loaded, tmp_path):
    cats = ["finance", "law", "psychology", "negotiation"]
    rows = ([_learn(i, "A1", when=f"2026-05-{4 + i:02d} 20:30", category=cats[i])
             for i in range(4)]
            + [_learn(i, "A2", when=f"2026-05-{4 + i:02d} 10:00") for i in range(4)])
    con = build(roster_loaded, tmp_path, learning=rows)
    assert dim(con, "A1", "learning") > dim(con, "A2", "learning") + 30


def test_a_conduct_floor_breach_removes_the_person_from_the_ranking(roster_loaded, tmp_path):
    good = [_contact(i, "A1") for i in range(6)]
    sloppy = [_contact(i, "A2", checklist_complete="0") for i in range(6)]
    con = build(roster_loaded, tmp_path, contacts=good + sloppy,
                learning=[_learn(1, "A1"), _learn(1, "A2")])
    rules = load_rules(roster_loaded.rules_path)
    rules_floor = rules.floors["compliance"]
    assert dim(con, "A2", "compliance") < rules_floor
    gate = con.execute("SELECT manager_id, eligible, gate_reason, rank_overall FROM "
                       "awareness_index WHERE grain = 'month' ORDER BY 1").fetchall()
    a2 = [g for g in gate if g[0] == "A2"][0]
    assert a2[1:] == (False, "floor:compliance", None)
    # a week is too short to judge conduct on: there the same floor does not gate A2
    week = con.execute("SELECT eligible, gate_reason FROM awareness_index "
                       "WHERE grain = 'week' AND manager_id = 'A2'").fetchall()
    assert week == [(True, None)]


def test_every_score_row_records_the_rules_version(roster_loaded, tmp_path):
    con = build(roster_loaded, tmp_path, marketing=[_mkt(i, "A1") for i in range(5)])
    version = load_rules(roster_loaded.rules_path).version
    for table in ("metric_score", "dimension_score", "awareness_index"):
        assert con.execute(f"SELECT DISTINCT rules_version FROM {table}").fetchall() == [(version,)]


def _broken_rules(tmp_path, old, new):
    text = RULES.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "rules.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path, text.replace(old, new, 1)


def test_floor_grains_must_be_grains(tmp_path):
    path, text = _broken_rules(tmp_path, 'floor_grains = ["month", "quarter"]',
                               'floor_grains = ["monthly"]')
    with pytest.raises(RulesError, match=r"rules.toml:\d+: floor_grains lists grains") as e:
        load_rules(path)
    assert text.splitlines()[int(str(e.value).split(":")[1]) - 1].startswith("floor_grains")


def test_rules_errors_name_the_line(tmp_path):
    path, text = _broken_rules(tmp_path, "[dimensions.market]", "[dimensions.markets]")
    with pytest.raises(RulesError, match=r"rules.toml:\d+: unknown dimension 'markets'") as e:
        load_rules(path)
    line = int(str(e.value).split(":")[1])
    assert text.splitlines()[line - 1] == "[dimensions.markets]"
    text = re.sub(r"(\[dimensions\.\w+\]\nweight = )[\d.]+", r"\g<1>0",
                  RULES.read_text(encoding="utf-8"))
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError, match="not all 0"):
        load_rules(path)


def test_more_metrics_than_scoring_can_number_is_an_error(tmp_path):
    text = RULES.read_text(encoding="utf-8")
    start = text.index("[[metrics]]")
    block = text[start:text.index("[[metrics]]", start + 1)]
    copies = "".join(block.replace('key = "prompt_logging"', f'key = "copy_{i}"')
                     for i in range(1100))
    path = tmp_path / "rules.toml"
    path.write_text(text + "\n" + copies, encoding="utf-8")
    with pytest.raises(RulesError, match=r"rules.toml:\d+: more than 1023 metrics"):
        load_rules(path)


def test_unknown_column_fails_score_and_keeps_previous_scores(roster_loaded, tmp_path):
    con = build(roster_loaded, tmp_path, marketing=[_mkt(i, "A1") for i in range(5)])
    before = con.execute("SELECT count(*), sum(score) FROM metric_score").fetchall()
    con.close()
    path, text = _broken_rules(tmp_path, 'num = "proactive"', 'num = "proactivity"')
    rules = load_rules(path)
    with db.warehouse(roster_loaded.db_path) as w, pytest.raises(RulesError) as e:
        score.score(w, rules, force=True)
    line = int(str(e.value).split(":")[1])
    assert "proactive_share" in str(e.value)
    assert text.splitlines()[line - 1] == 'key = "proactive_share"'
    con = duckdb.connect(str(roster_loaded.db_path), read_only=True)
    assert con.execute("SELECT count(*), sum(score) FROM metric_score").fetchall() == before


def test_unchanged_data_and_rules_skip_rescoring(roster_loaded, tmp_path):
    build(roster_loaded, tmp_path, marketing=[_mkt(i, "A1") for i in range(5)])
    with db.warehouse(roster_loaded.db_path) as con:
        assert score.score(con, load_rules(roster_loaded.rules_path)).skipped


@hsettings(max_examples=12, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["A1", "A2", "B1"]), st.integers(1, 28),
                          st.sampled_from(["supply_chain", "walk_in", "association"]),
                          st.booleans(), st.sampled_from(["none", "lead", "approved"])),
                min_size=1, max_size=40))
def test_scores_stay_within_0_and_100(settings, tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("h")
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    load.load_paths(settings, [write_csv(tmp / "r.csv", ROSTER)])
    mkt = [_mkt(i, m, day=d, channel=c, proactive="Y" if p else "N", outcome=o,
                amount="100000" if o == "approved" else "")
           for i, (m, d, c, p, o) in enumerate(rows)]
    con = build(settings, tmp, marketing=mkt)
    for table in ("metric_score", "dimension_score", "awareness_index"):
        lo, hi = con.execute(f"SELECT min(score), max(score) FROM {table}").fetchall()[0]
        assert lo is None or 0 <= lo <= hi <= 100


def _assert_same_as_a_full_rescore(settings, rules=None):
    """The scores as the incremental rescores left them equal a full rescore's."""
    incremental = _tables(settings)
    with db.warehouse(settings.db_path) as con:
        assert score.score(con, rules or load_rules(settings.rules_path), force=True).full
    assert _tables(settings) == incremental


def _tables(settings):
    con = duckdb.connect(str(settings.db_path), read_only=True)
    out = {}
    for t in ("metric_score", "dimension_score", "awareness_index", "team_score"):
        rows = con.execute(f"SELECT * FROM {t}").fetchall()
        out[t] = sorted(tuple(round(v, 9) if isinstance(v, float) else v for v in r)
                        for r in rows)
    con.close()
    return out


def test_incremental_rescore_matches_a_full_one(roster_loaded, tmp_path):
    may = [_mkt(i, "A1", day=4 + i, proactive="Y" if i % 2 else "N") for i in range(6)]
    build(roster_loaded, tmp_path, marketing=may,
          contacts=[_contact(i, "A2", day=5 + i) for i in range(6)])
    june = [_mkt(i, "A1", day=1 + i, occurred_at=f"2026-06-{1 + i:02d} 10:00",
                 logged_at=f"2026-06-{1 + i:02d} 11:00") | {"activity_id": f"J{i}"}
            for i in range(6)]
    corrected = [dict(may[0], outcome="approved", amount="500000")]   # a May row re-exported
    load.load_paths(roster_loaded, [write_csv(tmp_path / "june.csv", june + corrected)])
    with db.warehouse(roster_loaded.db_path) as con:
        result = score.score(con, load_rules(roster_loaded.rules_path))
    assert not result.full and result.since.isoformat() == "2026-05-04"
    _assert_same_as_a_full_rescore(roster_loaded)


def test_new_data_late_in_the_month_only_redoes_the_periods_it_reaches(roster_loaded, tmp_path):
    build(roster_loaded, tmp_path, marketing=[_mkt(i, "A1", day=4 + i) for i in range(20)])
    late = [_mkt(i, "A1", day=29) | {"activity_id": f"late{i}"} for i in range(3)]
    load.load_paths(roster_loaded, [write_csv(tmp_path / "late.csv", late)])
    with db.warehouse(roster_loaded.db_path) as con:
        result = score.score(con, load_rules(roster_loaded.rules_path))
    # from the day after the previous last day with data (24 May), counted from the start of
    # its week within May (18 May): weeks 21 and 22, May and Q2 are redone; earlier weeks not
    assert result.since.isoformat() == "2026-05-18" and result.periods == 4
    with db.warehouse(roster_loaded.db_path) as con:
        result = score.score(con, load_rules(roster_loaded.rules_path), since="2026-W21")
    assert result.since.isoformat() == "2026-05-18" and not result.full


def test_a_period_that_had_ended_is_not_redone_for_data_after_it(roster_loaded, tmp_path):
    # data up to Sunday 31 May: week 22 and May are complete; June's first week arrives
    may = [_mkt(i, "A1", day=4 + i) for i in range(28)]
    build(roster_loaded, tmp_path, marketing=may)
    june = [_mkt(i, "A1", occurred_at=f"2026-06-{1 + i:02d} 10:00",
                 logged_at=f"2026-06-{1 + i:02d} 11:00") | {"activity_id": f"J{i}"}
            for i in range(5)]
    load.load_paths(roster_loaded, [write_csv(tmp_path / "june.csv", june)])
    with db.warehouse(roster_loaded.db_path) as con:
        result = score.score(con, load_rules(roster_loaded.rules_path))
    assert result.since.isoformat() == "2026-06-01" and result.periods == 3   # W23, June, Q2
    _assert_same_as_a_full_rescore(roster_loaded)


def test_a_week_appended_adds_to_the_stored_distinct_counts(roster_loaded, tmp_path,
                                                            monkeypatch):
    # clients C0-C2 in May up to Sunday 17 May; then Monday 18 May brings C2 again and C7
    old = [_contact(i, "A2", day=4 + i) for i in range(12)]
    build(roster_loaded, tmp_path, contacts=old)
    new = [_contact(20, "A2", day=18, client_id="C2"), _contact(21, "A2", day=18, client_id="C7"),
           _contact(22, "A2", day=19, client_id="C7")]
    load.load_paths(roster_loaded, [write_csv(tmp_path / "week21.csv", new)])
    added = []
    monkeypatch.setattr(score, "_distinct_added_sql",
                        lambda m, *a, f=score._distinct_added_sql: added.append(m.key) or f(m, *a))
    with db.warehouse(roster_loaded.db_path) as con:
        result = score.score(con, load_rules(roster_loaded.rules_path))
    assert not result.full and "clients_reached" in added   # built on the stored counts
    con = duckdb.connect(str(roster_loaded.db_path), read_only=True)
    reached = {(g, p): metric(con, "A2", "clients_reached", g, p)[0] for g, p in (
        ("week", "2026-W21"), ("month", MONTH), ("quarter", "2026Q2"))}
    con.close()
    # C2 is new to week 21 but not to May or Q2; C7 is new to all three, and counts once
    assert reached == {("week", "2026-W21"): 2, ("month", MONTH): 4, ("quarter", "2026Q2"): 4}
    _assert_same_as_a_full_rescore(roster_loaded)


def test_distinct_counts_stay_exact_over_appended_weeks_across_a_quarter(roster_loaded, tmp_path,
                                                                         monkeypatch):
    # clients C0-C4 in May; then three appends, the second and third into a new quarter:
    # each looks up earlier sightings in keyed_seen, as the one before left it
    build(roster_loaded, tmp_path,
          contacts=[_contact(i, "A2", day=4 + i, client_id=f"C{i % 5}") for i in range(20)])
    lookups = []
    added = score._distinct_added_sql
    monkeypatch.setattr(score, "_distinct_added_sql",
                        lambda m, t, seen: lookups.append((m.key, seen)) or added(m, t, seen))
    rules = load_rules(roster_loaded.rules_path)
    reached = []
    for n, (day, clients) in enumerate((("2026-06-29", "C1 C8"), ("2026-07-02", "C8 C9"),
                                        ("2026-07-06", "C1 C9 C3"))):
        rows = [_contact(100 * (n + 1) + i, "A2", client_id=c, occurred_at=f"{day} 10:00",
                         logged_at=f"{day} 11:00") for i, c in enumerate(clients.split())]
        load.load_paths(roster_loaded, [write_csv(tmp_path / f"batch{n}.csv", rows)])
        with db.warehouse(roster_loaded.db_path) as con:
            assert not score.score(con, rules).full
        con = duckdb.connect(str(roster_loaded.db_path), read_only=True)
        reached.append([(metric(con, "A2", "clients_reached", g, p) or [None])[0] for g, p in (
            ("week", "2026-W27"), ("month", "2026-06"), ("month", "2026-07"),
            ("quarter", "2026Q2"), ("quarter", "2026Q3"))])
        con.close()
    assert lookups == [("clients_reached", True)] * 3
    assert reached == [[2, 2, None, 6, None],    # C8 is new to Q2, C1 is not
                       [3, 2, 2, 6, 2],          # W27 runs into July: C1 C8 C9
                       [3, 2, 4, 6, 4]]          # W28 (C1 C9 C3) adds C1 and C3 to July and Q3
    _assert_same_as_a_full_rescore(roster_loaded, rules)


def test_a_day_appended_within_a_week_does_not_count_its_clients_twice(roster_loaded, tmp_path,
                                                                       monkeypatch):
    # clients C0-C5 on Monday 4 May; the same six again on Tuesday 5 May, loaded later: the
    # rescore starts mid-week, where old and new rows share the week's first fragment
    build(roster_loaded, tmp_path, contacts=[
        _contact(i, "A2", client_id=f"C{i}", occurred_at="2026-05-04 10:00") for i in range(6)])
    load.load_paths(roster_loaded, [write_csv(tmp_path / "tuesday.csv", [
        _contact(10 + i, "A2", client_id=f"C{i}", occurred_at="2026-05-05 10:00",
                 logged_at="2026-05-05 11:00") for i in range(6)])])
    added = score._distinct_added_sql
    monkeypatch.setattr(score, "_distinct_added_sql",
                        lambda m, t, seen: lookups.append(seen) or added(m, t, seen))
    lookups = []
    with db.warehouse(roster_loaded.db_path) as con:
        assert not score.score(con, load_rules(roster_loaded.rules_path)).full
    assert lookups == [True]     # added to the stored counts, earlier sightings in keyed_seen
    con = duckdb.connect(str(roster_loaded.db_path), read_only=True)
    assert [metric(con, "A2", "clients_reached", g, p)[0] for g, p in (
        ("week", "2026-W19"), ("month", MONTH), ("quarter", "2026Q2"))] == [6, 6, 6]
    con.close()


def test_distinct_counts_are_recounted_when_earlier_rows_reach_past_the_last_day(
        roster_loaded, tmp_path):
    # contacts counted on the day they were logged: one of Sunday 17 May logged on Monday 18 May
    # is an earlier row dated after the last day scored, so no stored count can stand
    text = RULES.read_text(encoding="utf-8")
    for key in ("clients_reached", "prompt_logging"):
        text = text.replace(f'key = "{key}"', f'key = "{key}"\ndate = "logged_at"', 1)
    (tmp_path / "rules.toml").write_text(text, encoding="utf-8")
    rules = load_rules(tmp_path / "rules.toml")
    old = [_contact(i, "A2", day=4 + i) for i in range(13)] + [
        _contact(13, "A2", day=17, client_id="C9", logged_at="2026-05-18 01:00")]
    load.load_paths(roster_loaded, [write_csv(tmp_path / "old.csv", old)])
    with db.warehouse(roster_loaded.db_path) as con:
        score.score(con, rules, force=True)
    new = [_contact(20, "A2", day=18, client_id="C9"), _contact(21, "A2", day=18, client_id="C7")]
    load.load_paths(roster_loaded, [write_csv(tmp_path / "week21.csv", new)])
    with db.warehouse(roster_loaded.db_path) as con:
        assert not score.score(con, rules).full
    con = duckdb.connect(str(roster_loaded.db_path), read_only=True)
    reached = [metric(con, "A2", "clients_reached", g, p)[0]
               for g, p in (("week", "2026-W21"), ("month", MONTH))]
    con.close()
    assert reached == [2, 5]   # C9 (logged on the 18th, then again) and C7 count once each
    _assert_same_as_a_full_rescore(roster_loaded, rules)


def test_a_new_row_dated_earlier_by_another_column_is_rescored_from_that_day(roster_loaded,
                                                                              tmp_path):
    # a contact of Monday 18 May whose follow-up was due on 6 May (an export's slip): the
    # follow-up metrics count it on the 6th, so the rescore must reach back to that week
    build(roster_loaded, tmp_path, contacts=[
        _contact(i, "A2", day=4 + i, follow_up_due=f"2026-05-{5 + i:02d}",
                 follow_up_done_at=f"2026-05-{5 + i:02d} 09:00") for i in range(12)])
    load.load_paths(roster_loaded, [write_csv(tmp_path / "late.csv", [
        _contact(50, "A2", day=18, follow_up_due="2026-05-06")])])
    with db.warehouse(roster_loaded.db_path) as con:
        result = score.score(con, load_rules(roster_loaded.rules_path))
    assert not result.full and result.since.isoformat() == "2026-05-04"   # 6 May's week
    con = duckdb.connect(str(roster_loaded.db_path), read_only=True)
    assert metric(con, "A2", "follow_up_on_time", "week", "2026-W19")[0] == pytest.approx(6 / 7)
    con.close()
    _assert_same_as_a_full_rescore(roster_loaded)


# one row of a batch: feed, row number (a small pool, so later batches correct earlier rows),
# manager, day in May–July, and a value that varies the metrics (client, channel, subject)
BATCH_ROW = st.tuples(st.sampled_from(["c", "m", "l"]), st.integers(0, 14),
                      st.sampled_from(["A1", "A2", "B1"]), st.integers(0, 75), st.integers(0, 4))


def _batch_rows(batch):
    files = {"c": {}, "m": {}, "l": {}}
    for feed, i, manager, offset, v in batch:
        day = date(2026, 5, 4) + timedelta(days=offset)
        when = f"{day} {9 + v}:00"
        if feed == "c":
            row = _contact(i, manager, client_id=f"C{v}", occurred_at=when, logged_at=when,
                           follow_up_due=str(day + timedelta(days=v - 1)) if v else "",
                           follow_up_done_at=f"{day + timedelta(days=v)} 10:00" if v > 1 else "")
            key = row["contact_id"] = f"c{i}"
        elif feed == "m":
            row = _mkt(i, manager, occurred_at=when, logged_at=when,
                       industry=["建材", "物流"][v % 2],
                       channel=["supply_chain", "referral", "association"][v % 3])
            key = row["activity_id"] = f"m{i}"
        else:
            row = _learn(i, manager, when=when, category=["credit", "law", "ethics"][v % 3])
            key = row["event_id"] = f"l{i}"
        files[feed][key] = row       # an id twice in one file: the last version
    return files


@hsettings(max_examples=15, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(BATCH_ROW, min_size=1, max_size=12), min_size=2, max_size=4))
def test_rescoring_after_each_batch_ends_where_a_full_rescore_does(settings, tmp_path_factory,
                                                                    batches):
    # batches of new rows, corrections and late rows in any order of days and feeds, each
    # followed by a rescore that keeps what it can (month sums, counts, keyed_seen, feed days)
    tmp = tmp_path_factory.mktemp("batches")
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    load.load_paths(settings, [write_csv(tmp / "r.csv", ROSTER)])
    rules = load_rules(settings.rules_path)
    for n, batch in enumerate(batches):
        files = [write_csv(tmp / f"{feed}{n}.csv", list(rows.values()))
                 for feed, rows in _batch_rows(batch).items() if rows]
        for r in load.load_paths(settings, files):
            assert r.quarantined == 0, r.reasons
        with db.warehouse(settings.db_path) as con:
            score.score(con, rules)
    _assert_same_as_a_full_rescore(settings, rules)


def _feeds_read(monkeypatch) -> list[str]:
    """The feeds the next rescore reads for per-day sums and distinct/entropy counts."""
    read = []
    monkeypatch.setattr(score, "_day_base_sql", lambda feed, d, t, ms, f=score._day_base_sql:
                        read.append(feed) or f(feed, d, t, ms))
    for name, original in (("_keyed_sql", score._keyed_sql),
                           ("_distinct_added_sql", score._distinct_added_sql)):
        monkeypatch.setattr(score, name, lambda m, *a, f=original: read.append(m.feed) or f(m, *a))
    return read


def test_a_feed_without_new_rows_keeps_its_stored_sums_and_counts(roster_loaded, tmp_path,
                                                                   monkeypatch):
    # marketing (industries, channel spread) and courses up to Sunday 17 May; then only a
    # week of contacts arrives: May and Q2 are redone, from the other feeds' stored rows
    may = [_mkt(i, "A1", day=4 + i, industry=["建材", "物流", "農業"][i % 3],
                channel=["supply_chain", "referral"][i % 2]) for i in range(12)]
    courses = [_learn(i, "A1", when=f"2026-05-{4 + i:02d} 20:00",
                      category=["credit", "law", "ethics"][i % 3]) for i in range(12)]
    build(roster_loaded, tmp_path, marketing=may, learning=courses,
          contacts=[_contact(i, "A2", day=4 + i) for i in range(12)])
    load.load_paths(roster_loaded, [write_csv(tmp_path / "week21.csv", [
        _contact(30 + i, "A2", day=18 + i) for i in range(3)])])
    read = _feeds_read(monkeypatch)
    with db.warehouse(roster_loaded.db_path) as con:
        result = score.score(con, load_rules(roster_loaded.rules_path))
    assert not result.full and set(read) == {"client_contact"}
    con = duckdb.connect(str(roster_loaded.db_path), read_only=True)
    assert metric(con, "A1", "industry_breadth")[0] == 3      # kept, in the redone May
    assert metric(con, "A1", "channel_diversity")[0] == pytest.approx(1 / math.log(6) * math.log(2))
    con.close()
    _assert_same_as_a_full_rescore(roster_loaded)


def test_a_metric_on_the_last_day_is_redone_when_only_another_feed_moves_it(
        roster_loaded, tmp_path, monkeypatch):
    # follow-ups due 20 May count once the data reaches that day (follow_up_due <= data_end()):
    # marketing rows alone move the last day, and the contacts' follow-up metrics follow
    contacts = [_contact(i, "A2", day=4 + i, follow_up_due="2026-05-20",
                         follow_up_done_at="2026-05-19 10:00" if i % 2 else "")
                for i in range(12)]
    build(roster_loaded, tmp_path, contacts=contacts,
          marketing=[_mkt(i, "A1", day=4 + i) for i in range(12)])
    con = duckdb.connect(str(roster_loaded.db_path), read_only=True)
    assert metric(con, "A2", "follow_up_on_time")[2] == "insufficient_data"   # none due yet
    con.close()
    load.load_paths(roster_loaded, [write_csv(tmp_path / "week21.csv", [
        _mkt(30 + i, "A1", day=18 + i) for i in range(5)])])
    read = _feeds_read(monkeypatch)
    with db.warehouse(roster_loaded.db_path) as con:
        assert not score.score(con, load_rules(roster_loaded.rules_path)).full
    assert "client_contact" in read
    con = duckdb.connect(str(roster_loaded.db_path), read_only=True)
    assert metric(con, "A2", "follow_up_on_time")[0] == pytest.approx(0.5)
    con.close()
    _assert_same_as_a_full_rescore(roster_loaded)


def test_explain_names_the_rows_behind_a_metric(roster_loaded, tmp_path):
    from pipelines.explain import explain
    rows = [_mkt(i, "A1", day=4 + i, proactive="Y" if i < 3 else "N") for i in range(5)]
    build(roster_loaded, tmp_path, marketing=rows)
    with db.warehouse(roster_loaded.db_path) as con:
        found = explain(con, load_rules(roster_loaded.rules_path), "A1", "month", MONTH,
                        "marketing")
    [m] = [m for m in found["dimensions"]["marketing"]["metrics"] if m["metric"] ==
           "proactive_share"]
    assert m["rows"] == [f"A1-{i}" for i in range(5)]
    assert m["hits"] == ["A1-0", "A1-1", "A1-2"]
    assert m["value"] == 0.6 and m["normalisation"] == {"method": "linear", "zero_at": 0.2,
                                                         "full_at": 0.85}
    assert found["index"]["rules_version"] == load_rules(roster_loaded.rules_path).version


def test_explain_runs_filters_that_use_the_last_day_with_data(roster_loaded, tmp_path):
    # follow-ups count once due by the last day with data (10 May): the one due on the 20th not
    from pipelines.explain import explain
    rows = [_contact(i, "A1", day=4 + i, follow_up_due="2026-05-08",
                     follow_up_done_at="2026-05-07 10:00" if i else "") for i in range(6)]
    rows.append(_contact(9, "A1", day=10, follow_up_due="2026-05-20"))
    build(roster_loaded, tmp_path, contacts=rows).close()
    with db.warehouse(roster_loaded.db_path) as con:
        found = explain(con, load_rules(roster_loaded.rules_path), "A1", "month", MONTH, "goals")
    [m] = [m for m in found["dimensions"]["goals"]["metrics"]
           if m["metric"] == "planned_follow_ups_done"]
    assert m["rows"] == [f"A1-c{i}" for i in range(6)]
    assert m["hits"] == [f"A1-c{i}" for i in range(1, 6)]
    with db.warehouse(roster_loaded.db_path) as con:   # all ten, in the article's order
        every = explain(con, load_rules(roster_loaded.rules_path), "A1", "month", MONTH)
    assert list(every["dimensions"]) == list(DIMENSIONS)


def test_team_scores_blend_members_and_the_team_target(roster_loaded, tmp_path):
    rows = ([_mkt(i, "A1", outcome="approved", amount="1000000") for i in range(5)]
            + [_mkt(i, "A2", proactive="N") for i in range(5)]
            + [_mkt(9, "A1", day=31)])
    team_target = [{"scope": "team", "scope_id": "T1", "period": MONTH,
                    "metric_key": "approved_amount", "target": "10000000"}]
    con = build(roster_loaded, tmp_path, marketing=rows, targets=team_target)
    member = dict(con.execute("SELECT manager_id, score FROM dimension_score WHERE grain = "
                              "'month' AND period = ? AND dimension = 'marketing'",
                              [MONTH]).fetchall())
    team = con.execute("SELECT score, member_mean, members_scored, members_total FROM team_score "
                       "WHERE team_id = 'T1' AND grain = 'month' AND period = ? AND "
                       "dimension = 'marketing'", [MONTH]).fetchall()[0]
    assert team[1] == pytest.approx((member["A1"] + member["A2"]) / 2) == pytest.approx(team[0])
    assert team[2:] == (2, 2)
    goals = con.execute("SELECT score, member_mean, team_metrics FROM team_score WHERE "
                        "team_id = 'T1' AND grain = 'month' AND period = ? AND "
                        "dimension = 'goals'", [MONTH]).fetchall()[0]
    # 5,000,000 approved of a 10,000,000 target: 50; the members have no goals data of their
    # own (no personal targets, no follow-ups), so the team metric alone is the team's score
    assert goals == (50.0, None, "team_loan_attainment=50")


def test_a_missing_optional_feed_is_recorded_as_the_dimensions_fallback(roster_loaded, tmp_path):
    con = build(roster_loaded, tmp_path, contacts=[_contact(i, "A1") for i in range(6)],
                marketing=[_mkt(i, "A1") for i in range(6)])
    fallback = con.execute("SELECT fallback FROM dimension_score WHERE manager_id = 'A1' AND "
                           "grain = 'month' AND dimension = 'integrity'").fetchall()[0][0]
    assert fallback == "without confirmed_misconduct (no feed)"
    # several metrics left out of one dimension: each named once, in key order
    goals = con.execute("SELECT fallback FROM dimension_score WHERE manager_id = 'A1' AND "
                        "grain = 'month' AND dimension = 'goals'").fetchall()[0][0]
    assert goals == "without loan_attainment (no target), prospect_attainment (no target)"
    reason = con.execute("SELECT status, reason FROM metric_score WHERE manager_id = 'A1' AND "
                         "grain = 'month' AND metric_key = 'satisfaction'").fetchall()[0]
    assert reason == ("ok", None)
    thin = con.execute("SELECT status, reason FROM metric_score WHERE manager_id = 'A1' AND "
                       "grain = 'month' AND metric_key = 'follow_up_on_time'").fetchall()[0]
    assert thin == ("insufficient_data", "0 of the 3 needed")


ACTIVITY = st.tuples(st.sampled_from(["A1", "A2", "B1"]), st.integers(1, 28),
                     st.sampled_from(["supply_chain", "walk_in", "association", "referral"]),
                     st.booleans(), st.sampled_from(["none", "lead", "approved"]),
                     st.sampled_from(["建材", "物流", "農業"]))


def _activities(rows, copies=1, who=("A1", "A2", "B1")):
    out = []
    for i, (m, d, c, p, o, ind) in enumerate(rows):
        for k in range(copies if m in who else 1):
            out.append(_mkt(f"{i}x{k}", m, day=d, channel=c, proactive="Y" if p else "N",
                            outcome=o, industry=ind,
                            amount="100000" if o == "approved" else ""))
    return out


def _fresh(settings, tmp, rows):
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    load.load_paths(settings, [write_csv(tmp / "r.csv", ROSTER)])
    build(settings, tmp, marketing=rows).close()
    return _tables(settings)


@hsettings(max_examples=8, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ACTIVITY, min_size=1, max_size=30), st.randoms(use_true_random=False))
def test_the_same_rows_in_any_order_give_the_same_scores(settings, tmp_path_factory, rows, rnd):
    tmp = tmp_path_factory.mktemp("order")
    first = _fresh(settings, tmp, _activities(rows))
    shuffled = _activities(rows)
    rnd.shuffle(shuffled)
    assert _fresh(settings, tmp, shuffled) == first


@hsettings(max_examples=8, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ACTIVITY, min_size=4, max_size=30), st.integers(2, 4))
def test_scaling_a_peer_groups_volumes_keeps_its_percentile_scores(settings, tmp_path_factory,
                                                                    rows, factor):
    tmp = tmp_path_factory.mktemp("scale")
    percentile = {m.key for m in load_rules(settings.rules_path).metrics
                  if m.method == "peer_percentile"}

    def corporate_percentiles(tables):
        """(grain, period, metric) -> {manager: score} over the scored corporate managers."""
        out: dict = {}
        for r in tables["metric_score"]:
            manager, grain, period, metric, status, s = r[0], r[1], r[2], r[3], r[8], r[7]
            if metric in percentile and manager in ("A1", "A2") and status == "ok":
                out.setdefault((grain, period, metric), {})[manager] = s
        return out
    base = corporate_percentiles(_fresh(settings, tmp, _activities(rows)))
    # every corporate activity (A1 and A2 are the corporate peer group) repeated `factor` times
    scaled = corporate_percentiles(_fresh(settings, tmp, _activities(rows, factor,
                                                                      ("A1", "A2"))))
    # more rows can lift someone over min_data; where the same people are scored, the
    # percentiles must be exactly the same
    same = [k for k in base if k in scaled and base[k].keys() == scaled[k].keys()]
    assert [base[k] for k in same] == [scaled[k] for k in same]


def test_rank_movement_and_score_change_against_the_previous_period(roster_loaded, tmp_path):
    def month(m, who_leads):
        rows = []
        for who in ("A1", "A2"):
            good = who == who_leads
            rows += [_mkt(int(m) * 100 + i, who, occurred_at=f"2026-{m}-{4 + i:02d} 10:00",
                          logged_at=f"2026-{m}-{4 + i:02d} 11:00",
                          proactive="Y" if good or i == 0 else "N",
                          channel="association" if good else "walk_in") for i in range(8)]
            rows += [_contact(int(m) * 100 + i, who, occurred_at=f"2026-{m}-{4 + i:02d} 10:00",
                              logged_at=f"2026-{m}-{4 + i:02d} 11:00",
                              satisfaction="5" if good else "3") for i in range(8)]
        return rows
    rows = month("05", "A2") + month("06", "A1")
    con = build(roster_loaded, tmp_path, marketing=[r for r in rows if "activity_id" in r],
                contacts=[r for r in rows if "contact_id" in r])
    got = {m: r for m, *r in con.execute(
        "SELECT manager_id, period, rank_overall, prev_rank, movement, score_change, score, "
        "prev_score FROM awareness_index WHERE grain = 'month' AND period = '2026-06' "
        "AND manager_id IN ('A1', 'A2')").fetchall()}
    assert got["A1"][1:4] == [1, 2, 1] and got["A2"][1:4] == [2, 1, -1]
    assert got["A1"][4] == pytest.approx(got["A1"][5] - got["A1"][6])
    first = con.execute("SELECT prev_rank, movement FROM awareness_index WHERE grain = 'month' "
                        "AND period = '2026-05' AND manager_id = 'A1'").fetchall()
    assert first == [(None, None)]   # nothing before May: no movement, not a fall


def test_a_warehouse_from_an_older_version_is_rescored_in_full(roster_loaded, tmp_path):
    build(roster_loaded, tmp_path, marketing=[_mkt(i, "A1") for i in range(6)]).close()
    before = _tables(roster_loaded)
    with db.warehouse(roster_loaded.db_path) as con:
        db.set_state(con, "mart_version", "0")         # as if written by an older release
    with db.warehouse(roster_loaded.db_path) as con:   # opening it drops the old marts
        assert con.execute("SELECT count(*) FROM awareness_index").fetchall() == [(0,)]
        result = score.score(con, load_rules(roster_loaded.rules_path))
    assert result.full and not result.skipped
    assert _tables(roster_loaded) == before


def test_a_warehouse_where_metric_score_was_a_table_is_upgraded(roster_loaded, tmp_path):
    build(roster_loaded, tmp_path, marketing=[_mkt(i, "A1") for i in range(6)]).close()
    before = _tables(roster_loaded)
    with db.warehouse(roster_loaded.db_path) as con:   # as release 6 left it
        con.execute("DROP VIEW metric_score")
        con.execute("CREATE TABLE metric_score AS SELECT 'A1' AS manager_id")
        db.set_state(con, "mart_version", "6")
    with db.warehouse(roster_loaded.db_path) as con:
        assert con.execute("SELECT table_type FROM information_schema.tables "
                           "WHERE table_name = 'metric_score'").fetchall() == [("VIEW",)]
        assert score.score(con, load_rules(roster_loaded.rules_path)).full
    assert _tables(roster_loaded) == before


def test_since_never_skips_what_new_rules_require(roster_loaded, tmp_path):
    build(roster_loaded, tmp_path, marketing=[_mkt(i, "A1", day=4 + i) for i in range(8)]).close()
    text = RULES.read_text(encoding="utf-8").replace("zero_at = 0.2\nfull_at = 0.85",
                                                     "zero_at = 0.1\nfull_at = 0.5", 1)
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with db.warehouse(roster_loaded.db_path) as con:
        result = score.score(con, load_rules(path), since="2026-06")
        assert result.full
        assert con.execute("SELECT full_at FROM rule_metric WHERE metric_key = "
                           "'proactive_share'").fetchall() == [(0.5,)]


def test_a_period_emptied_by_corrections_loses_its_old_scores(roster_loaded, tmp_path):
    from tests.conftest import write_json
    from tests.test_sources import _stmt
    build(roster_loaded, tmp_path, marketing=[_mkt(i, "A1", day=4 + i) for i in range(8)]).close()
    june = _stmt(7)
    june["timestamp"] = "2026-06-10T02:00:00Z"
    load.load_paths(roster_loaded, [write_json(tmp_path / "june.json", [june])])
    with db.warehouse(roster_loaded.db_path) as con:
        score.score(con, load_rules(roster_loaded.rules_path))
    assert query(roster_loaded, "SELECT count(*) FROM awareness_index WHERE period = '2026-06'"
                 )[0][0] > 0
    voiding = {"id": "00000000-0000-4000-8000-00000000bbbb", "actor": _stmt(0)["actor"],
               "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
               "object": {"objectType": "StatementRef", "id": june["id"]}}
    load.load_paths(roster_loaded, [write_json(tmp_path / "void.json", [voiding])])
    with db.warehouse(roster_loaded.db_path) as con:
        assert not score.score(con, load_rules(roster_loaded.rules_path)).full
    assert query(roster_loaded, "SELECT count(*) FROM awareness_index WHERE period = '2026-06'"
                 ) == [(0,)]
    _assert_same_as_a_full_rescore(roster_loaded)
