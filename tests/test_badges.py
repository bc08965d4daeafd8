"""The game: given score and event rows -> expected awards for every badge, the conduct gate,
revocation with history, streaks over gaps, the new year and ISO week 53, idempotence."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from pipelines import badges, db
from pipelines.contract import DIMENSIONS
from pipelines.rules import RulesError, load_rules

RULES = load_rules(Path(__file__).resolve().parent.parent / "pipelines" / "rules.toml")
T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
PEERS = {"A1": ("T1", "corporate"), "A2": ("T1", "corporate"), "B1": ("T2", "retail")}
DIMENSION_BADGE = {"integrity": "integrity_star", "market": "market_scout",
                   "customer": "client_first", "marketing": "go_getter",
                   "teamwork": "team_player", "goals": "goal_keeper", "risk": "risk_guardian",
                   "compliance": "by_the_book", "responsibility": "dependable",
                   "learning": "lifelong_learner"}


def put(con, table: str, **row) -> None:
    cols = ", ".join(row)
    con.execute(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()))


def contact(con, i: int, manager: str, when: str, **kw) -> None:
    put(con, "client_contact", contact_id=f"{manager}-{i}-{when}", manager_id=manager,
        client_id="h1", occurred_at=when, channel="visit", purpose="service",
        load_run_id=1, **kw)


def index(con, manager: str, grain: str, period: str, score: float = 70.0,
          eligible: bool = True, gate: str | None = None, **kw) -> None:
    put(con, "awareness_index", manager_id=manager, grain=grain, period=period, score=score,
        dimensions_used=10, status="ok", eligible=eligible, gate_reason=gate,
        rules_version="x", **kw)


def manager_no(con, manager: str) -> int:
    """The manager's number in score_manager, added as scoring would number them."""
    found = con.execute("SELECT manager_no FROM score_manager WHERE manager_id = ?",
                        [manager]).fetchall()
    if found:
        return found[0][0]
    no = con.execute("SELECT coalesce(max(manager_no), 0) + 1 FROM score_manager").fetchall()[0][0]
    put(con, "score_manager", manager_no=no, manager_id=manager)
    return no


def dimension(con, manager: str, dim: str, score: float | None, period: str = "2026-05",
              status: str = "ok") -> None:
    """A month's dimension score, stored as scoring stores it (dimension_score is a view)."""
    start = date.fromisoformat(f"{period}-01")
    end = (start + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    key = 2_000_000 + (start - date(1970, 1, 1)).days
    con.execute("INSERT OR IGNORE INTO score_period VALUES (?, 'month', ?, ?, ?, 'x')",
                [key, period, start, end])
    no = sorted(DIMENSIONS).index(dim) + 1
    con.execute("INSERT OR IGNORE INTO score_dimension VALUES (?, ?)", [no, dim])
    put(con, "dimension_value", manager_no=manager_no(con, manager), period_key=key,
        dimension_no=no, score=score, metrics_used=1 if status == "ok" else 0)


@pytest.fixture
def game(settings):
    """A warehouse with a three-person roster (A1, A2 in T1; B1 in T2) and data from
    2026-05-01 to 2026-07-01, so May, June and 2026Q2 are finished."""
    with db.warehouse(settings.db_path) as con:
        for m, (team, peer) in PEERS.items():
            put(con, "roster", manager_id=m, name=f"name {m}", team_id=team,
                team_name=f"team {team}", branch="台北", peer_group=peer)
        contact(con, 0, "B1", "2026-05-01 10:00")
        contact(con, 1, "B1", "2026-07-01 10:00")
        yield con


def held(con, badge: str | None = None) -> dict[tuple[str, str], str]:
    """(subject, period) -> tier of the awards held now."""
    rows = con.execute("SELECT subject_id, period, tier, badge_key FROM badge_award "
                       "WHERE revoked_at IS NULL").fetchall()
    return {(s, p): t for s, p, t, b in rows if badge is None or b == badge}


def run(con, when: datetime = T0) -> badges.AwardResult:
    return badges.award(con, RULES, now=when)


def test_a_broken_badge_query_names_its_line(game, tmp_path):
    text = RULES.path.read_text(encoding="utf-8").replace(
        "FROM awareness_index WHERE grain = 'month' AND rank_peer = 1",
        "FROM awareness_index WHERE grain = 'month' AND rank_pear = 1")
    broken = tmp_path / "rules.toml"
    broken.write_text(text, encoding="utf-8")
    rules = load_rules(broken)
    with pytest.raises(RulesError, match=rf"rules.toml:{rules.badge('peer_champion').line}: "
                                         "badge peer_champion: .*rank_pear"):
        badges.award(game, rules, now=T0)
    assert game.execute("SELECT count(*) FROM badge_award").fetchall() == [(0,)]


def test_every_badge_and_level_has_a_name_in_every_language():
    for item in (*RULES.badges, *RULES.levels):
        assert set(item.name) == {"zh_TW", "zh_CN", "en"} and all(item.name.values())
    for b in RULES.badges:
        assert all(b.criteria.values())


def test_the_rules_define_at_least_twenty_badges_with_the_issue_s_kinds():
    keys = {b.key for b in RULES.badges}
    assert len(keys) >= 20
    assert set(DIMENSION_BADGE.values()) <= keys
    assert {"all_rounder", "most_improved", "learning_streak", "channel_explorer",
            "complaint_free_quarter", "no_one_left_behind", "team_target_met"} <= keys
    assert {b.scope for b in RULES.badges} == {"individual", "team"}
    assert {b.per for b in RULES.badges} >= {"month", "quarter", "once"}


@pytest.mark.parametrize("dim", DIMENSIONS)
def test_a_dimension_badge_goes_to_the_highest_tier_reached(game, dim):
    for m, score in (("A1", 96.0), ("A2", 80.0), ("B1", 70.0)):
        dimension(game, m, dim, score)
        index(game, m, "month", "2026-05")
    run(game)
    assert held(game, DIMENSION_BADGE[dim]) == {("A1", "2026-05"): "gold",
                                                ("A2", "2026-05"): "bronze"}


def test_a_period_badge_waits_for_the_period_to_end(game):
    dimension(game, "A1", "risk", 99.0, period="2026-07")
    index(game, "A1", "month", "2026-07")
    run(game)
    assert held(game, "risk_guardian") == {}


def test_all_rounder_needs_all_ten_scored_and_the_lowest_sets_the_tier(game):
    for dim in DIMENSIONS:
        dimension(game, "A1", dim, 72.0)
        dimension(game, "A2", dim, 55.0 if dim == "risk" else 90.0)
        if dim == "learning":
            dimension(game, "B1", dim, None, status="insufficient_data")
        else:
            dimension(game, "B1", dim, 95.0)
    for m in PEERS:
        index(game, m, "month", "2026-05")
    run(game)
    assert held(game, "all_rounder") == {("A1", "2026-05"): "gold",
                                         ("A2", "2026-05"): "bronze"}
    evidence = game.execute("SELECT evidence FROM badge_award WHERE badge_key = 'all_rounder' "
                            "AND subject_id = 'A2'").fetchall()[0][0]
    assert "lowest: risk" in evidence


def test_most_improved_is_the_biggest_rise_in_the_peer_group(game):
    index(game, "A1", "month", "2026-05", score=70, prev_score=58, score_change=12)
    index(game, "A2", "month", "2026-05", score=70, prev_score=66, score_change=4)
    index(game, "B1", "month", "2026-05", score=70, prev_score=66, score_change=4)
    run(game)
    assert held(game, "most_improved") == {("A1", "2026-05"): "gold",
                                           ("B1", "2026-05"): "bronze"}


def _weekly_learning(con, manager: str, mondays: list[date]) -> None:
    for i, monday in enumerate(mondays):
        when = f"{monday + timedelta(days=2)} 20:00"
        put(con, "learning_event", event_id=f"{manager}-w{i}", manager_id=manager,
            occurred_at=when, category="credit", verb="passed", load_run_id=1)
        index(con, manager, "week", (monday + timedelta(days=2)).strftime("%G-W%V"))


def _mondays(first: date, n: int) -> list[date]:
    return [first + timedelta(weeks=i) for i in range(n)]


def test_learning_streak_counts_consecutive_weeks_and_a_gap_starts_over(game):
    _weekly_learning(game, "A1", _mondays(date(2026, 5, 4), 8))
    _weekly_learning(game, "A2", _mondays(date(2026, 5, 4), 3) + _mondays(date(2026, 6, 1), 3))
    run(game)
    # weeks 19..26: the 4th (W22) reaches bronze, the 8th (W26) silver; A2's 3 + gap + 3 none
    assert held(game, "learning_streak") == {("A1", "2026-W22"): "bronze",
                                             ("A1", "2026-W26"): "silver"}


def test_learning_streak_runs_across_the_new_year_and_iso_week_53(settings):
    with db.warehouse(settings.db_path) as con:
        put(con, "roster", manager_id="A1", name="n", team_id="T1", team_name="t", branch="b",
            peer_group="corporate")
        # 2026 has an ISO week 53 (Mon 2026-12-28); 2025-W52 runs into 2026-W01
        _weekly_learning(con, "A1", _mondays(date(2025, 12, 15), 4))       # W51 .. 2026-W02
        put(con, "roster", manager_id="A2", name="n", team_id="T1", team_name="t", branch="b",
            peer_group="corporate")
        _weekly_learning(con, "A2", _mondays(date(2026, 12, 14), 4))       # W51 .. 2027-W01
        badges.award(con, RULES, now=T0)
        assert held(con, "learning_streak") == {("A1", "2026-W02"): "bronze",
                                                ("A2", "2027-W01"): "bronze"}
        weeks = con.execute("SELECT period FROM badge_period WHERE grain = 'week' "
                            "AND period LIKE '2026-W5%' ORDER BY period").fetchall()
        assert ("2026-W53",) in weeks


def test_channel_explorer_counts_the_article_s_channels_in_a_quarter(game):
    channels = ["supply_chain", "wholesale_market", "industrial_park_gov", "association",
                "intermediary", "referral"]
    for m, used in (("A1", channels), ("A2", channels[:4]), ("B1", channels[:3] + ["online"])):
        for i, ch in enumerate(used):
            put(game, "marketing_activity", activity_id=f"{m}-{i}", manager_id=m,
                occurred_at=f"2026-0{4 + i % 3}-10 10:00", type="visit", channel=ch,
                proactive=True, outcome="none", load_run_id=1)
        index(game, m, "quarter", "2026Q2")
    run(game)
    assert held(game, "channel_explorer") == {("A1", "2026Q2"): "gold",
                                              ("A2", "2026Q2"): "bronze"}


def test_complaint_free_quarter_needs_enough_contacts_and_no_complaint(game):
    for i in range(25):
        contact(game, 100 + i, "A1", f"2026-05-{1 + i:02d} 10:00")
    for i in range(60):
        contact(game, 200 + i, "A2", f"2026-06-{1 + i % 28:02d} 11:{i % 60:02d}",
                complaint=(i == 7))
    for m in ("A1", "A2", "B1"):
        index(game, m, "quarter", "2026Q2")
    run(game)
    assert held(game, "complaint_free_quarter") == {("A1", "2026Q2"): "bronze"}


def test_peer_champion_and_follow_through(game):
    index(game, "A1", "month", "2026-05", rank_peer=1)
    index(game, "A2", "month", "2026-05", rank_peer=2)
    # metric_score is a view over integer-keyed rows: store them as scoring does
    put(game, "rule_metric", metric_key="follow_up_on_time", dimension="responsibility",
        feed="client_contact", kind="ratio", method="linear", weight=1, min_data=1, metric_no=1)
    put(game, "score_period", period_key=2_020_575, grain="month", period="2026-05",
        period_start=date(2026, 5, 1), period_end=date(2026, 5, 31), rules_version="x")
    for no, (m, value) in enumerate((("A1", 0.9), ("A2", 0.96), ("B1", 0.5)), start=1):
        put(game, "score_manager", manager_no=no, manager_id=m)
        put(game, "metric_value", manager_no=no, period_key=2_020_575, metric_no=1, value=value,
            data_amount=10, score=50, status_no=0)
    assert len(game.execute("SELECT * FROM metric_score").fetchall()) == 3
    run(game)
    assert held(game, "peer_champion") == {("A1", "2026-05"): "gold"}
    assert held(game, "follow_through") == {("A1", "2026-05"): "bronze",
                                            ("A2", "2026-05"): "silver"}


def test_xp_is_capped_per_day_and_levels_follow_the_total(game):
    # 30 days x 5 passed courses: 5 x 25 = 125 XP a day is capped at 50 -> 1,500 XP = level 3
    start = date(2026, 5, 4)
    for d in range(30):
        day = start + timedelta(days=d)
        index(game, "A1", "week", day.strftime("%G-W%V"))
        for k in range(5):
            put(game, "learning_event", event_id=f"x{d}-{k}", manager_id="A1",
                occurred_at=f"{day} 19:0{k}", category="law", verb="passed", load_run_id=1)
    run(game)
    assert game.execute("SELECT xp_total, level_no FROM manager_xp WHERE manager_id = 'A1'"
                        ).fetchall() == [(1500.0, 3)]
    assert game.execute("SELECT sum(qualifying_rows) FROM xp_day").fetchall() == [(150,)]
    reached = dict(game.execute("SELECT level_no, reached_on FROM level_up "
                                "WHERE manager_id = 'A1'").fetchall())
    assert reached == {2: start + timedelta(days=9), 3: start + timedelta(days=29)}
    assert held(game, "level_milestone") == {("A1", (start + timedelta(days=29))
                                              .strftime("%G-W%V")): "bronze"}


def _team_month(con, scores: dict[str, float | None]) -> None:
    for m, s in scores.items():
        if s is None:
            put(con, "awareness_index", manager_id=m, grain="month", period="2026-05",
                score=None, dimensions_used=3, status="insufficient_data", eligible=True,
                rules_version="x")
        else:
            index(con, m, "month", "2026-05", score=s)


def test_no_one_left_behind_needs_every_member_over_the_floor(game):
    _team_month(game, {"A1": 72.0, "A2": 65.0, "B1": 80.0})
    run(game)
    assert held(game, "no_one_left_behind") == {("T1", "2026-05"): "silver",
                                                ("T2", "2026-05"): "gold"}


@pytest.mark.parametrize("short", [45.0, None])
def test_the_team_badge_fails_when_one_member_falls_short(game, short):
    _team_month(game, {"A1": 90.0, "A2": short, "B1": 80.0})
    run(game)
    assert ("T1", "2026-05") not in held(game, "no_one_left_behind")


def test_team_target_met_and_team_champion(game):
    put(game, "targets", scope="team", scope_id="T1", period="2026-05",
        metric_key="approved_amount", target=1_000_000)
    put(game, "targets", scope="team", scope_id="T2", period="2026-05",
        metric_key="approved_amount", target=1_000_000)
    for i, (m, amount) in enumerate((("A1", 700_000), ("A2", 550_000), ("B1", 900_000))):
        put(game, "marketing_activity", activity_id=f"d{i}", manager_id=m,
            occurred_at="2026-05-12 10:00", type="visit", channel="referral", proactive=True,
            outcome="approved", amount=amount, load_run_id=1)
    for team, score in (("T1", 70.0), ("T2", 60.0)):
        put(game, "team_score", team_id=team, grain="month", period="2026-05",
            dimension="index", score=score, members_scored=1, members_total=1,
            rules_version="x")
    run(game)
    assert held(game, "team_target_met") == {("T1", "2026-05"): "silver"}
    assert held(game, "team_champion") == {("T1", "2026-05"): "gold"}


def test_the_conduct_gate_withholds_individual_badges(game):
    dimension(game, "A1", "risk", 97.0)
    index(game, "A1", "month", "2026-05", eligible=False, gate="misconduct")
    run(game)
    assert held(game, "risk_guardian") == {}


def test_corrected_data_revokes_with_a_reason_and_keeps_the_history(game):
    dimension(game, "A1", "risk", 97.0)
    dimension(game, "A2", "risk", 90.0)
    index(game, "A1", "month", "2026-05")
    index(game, "A2", "month", "2026-05")
    run(game)
    assert held(game, "risk_guardian") == {("A1", "2026-05"): "gold",
                                           ("A2", "2026-05"): "silver"}
    # corrections: A1 falls to silver, A2 below bronze; then A1 is found to have a misconduct
    for m, score in (("A1", 88), ("A2", 60)):
        game.execute("UPDATE dimension_value SET score = ? WHERE manager_no = ?",
                     [score, manager_no(game, m)])
    later = T0 + timedelta(days=1)
    result = run(game, later)
    assert (result.awarded, result.revoked) == (1, 2)
    assert held(game, "risk_guardian") == {("A1", "2026-05"): "silver"}
    reasons = dict(game.execute("SELECT subject_id || ':' || tier, revoke_reason FROM "
                                "badge_award WHERE revoked_at = ?", [later.replace(tzinfo=None)]
                                ).fetchall())
    assert reasons["A1:gold"] == "now silver (value 88)"
    assert reasons["A2:silver"] == "criteria no longer met after data changes: value now 60"
    game.execute("UPDATE awareness_index SET eligible = FALSE, gate_reason = 'misconduct' "
                 "WHERE manager_id = 'A1'")
    run(game, later + timedelta(days=1))
    assert held(game, "risk_guardian") == {}
    history = game.execute("SELECT tier, revoke_reason FROM badge_award WHERE subject_id = 'A1' "
                           "ORDER BY awarded_at").fetchall()
    assert history == [("gold", "now silver (value 88)"),
                       ("silver", "conduct gate in 2026-05: misconduct")]


def test_celebrations_since_a_time_show_only_what_is_new(game, capsys):
    dimension(game, "A1", "risk", 97.0)
    index(game, "A1", "month", "2026-05", rank_overall=2, prev_rank=1)
    index(game, "A2", "month", "2026-05", rank_overall=1, prev_rank=2)
    run(game)
    kinds = {(e["kind"], e["subject_id"]) for e in badges.celebrations(game)}
    # A1's risk badge, T1's no-one-left-behind (both members at 70), A2 passing A1
    assert kinds == {("badge", "A1"), ("badge", "T1"), ("overtake", "A2")}
    assert badges.celebrations(game, since=T0) == []
    dimension(game, "B1", "risk", 99.0)
    index(game, "B1", "month", "2026-05", rank_overall=3)
    run(game, T0 + timedelta(hours=1))
    new = badges.celebrations(game, since=T0)
    assert sorted((e["kind"], e["subject_id"], e["subject_name"]) for e in new) == [
        ("badge", "B1", "name B1"), ("badge", "T2", "team T2")]
    from pipelines.cli import main
    assert main(["celebrations", "--since", "2026-07-01T17:00+08:00"]) == 0   # T0, in Taipei
    out = capsys.readouterr().out
    # recorded at 10:00 UTC, shown in local time next to the data day it happened on
    assert "Recorded since 2026-07-01T17:00:00+08:00" in out
    assert "2026-07-01 18:00" in out and "name B1" in out and "name A1" not in out


def _snapshot(con) -> tuple[list, list]:
    return (con.execute("SELECT * FROM badge_award ORDER BY award_id").fetchall(),
            con.execute("SELECT * FROM celebration ORDER BY event_id").fetchall())


@hsettings(max_examples=12, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scores=st.lists(st.tuples(st.sampled_from(sorted(PEERS)), st.sampled_from(DIMENSIONS),
                                 st.floats(0, 100), st.booleans()), max_size=20))
def test_awarding_twice_changes_nothing(tmp_path_factory, scores):
    path = tmp_path_factory.mktemp("twice") / "w.duckdb"
    with db.warehouse(path) as con:
        for m, (team, peer) in PEERS.items():
            put(con, "roster", manager_id=m, name=m, team_id=team, team_name=team, branch="b",
                peer_group=peer)
        contact(con, 0, "A1", "2026-05-01 10:00")
        contact(con, 1, "A1", "2026-07-01 10:00")
        seen = set()
        for m, dim, score, _eligible in scores:
            if (m, dim) not in seen:
                seen.add((m, dim))
                dimension(con, m, dim, score)
        for m in PEERS:
            index(con, m, "month", "2026-05", eligible=any(
                e for mm, _, _, e in scores if mm == m))
        badges.award(con, RULES, now=T0)
        first = _snapshot(con)
        again = badges.award(con, RULES, now=T0 + timedelta(hours=5))
        assert (again.awarded, again.revoked, again.celebrations) == (0, 0, 0)
        assert _snapshot(con) == first


def test_someone_who_left_keeps_what_they_earned(game):
    dimension(game, "A1", "risk", 97.0)
    index(game, "A1", "month", "2026-05")
    run(game)
    # they leave: the roster marks them inactive and scoring no longer covers them
    game.execute("UPDATE roster SET active = FALSE WHERE manager_id = 'A1'")
    game.execute("DELETE FROM dimension_value WHERE manager_no = ?", [manager_no(game, "A1")])
    game.execute("DELETE FROM awareness_index WHERE manager_id = 'A1'")
    run(game, T0 + timedelta(days=1))
    assert held(game, "risk_guardian") == {("A1", "2026-05"): "gold"}
    assert game.execute("SELECT count(*) FROM badge_award WHERE scope = 'individual' "
                        "AND revoked_at IS NOT NULL").fetchall() == [(0,)]


def test_a_rescore_that_reshuffles_old_periods_is_not_news(game):
    index(game, "A1", "month", "2026-05", rank_overall=2, prev_rank=1)
    index(game, "A2", "month", "2026-05", rank_overall=1, prev_rank=2)
    run(game)
    assert [e["kind"] for e in badges.celebrations(game)].count("overtake") == 1
    # new rules reorder May (long over): B1 now passes both; July is still running
    index(game, "B1", "month", "2026-05", rank_overall=1, prev_rank=3)
    index(game, "A1", "month", "2026-07", rank_overall=1, prev_rank=2)
    index(game, "A2", "month", "2026-07", rank_overall=2, prev_rank=1)
    run(game, T0 + timedelta(hours=1))
    new = badges.celebrations(game, since=T0)
    assert [(e["kind"], e["subject_id"], e["period"]) for e in new
            if e["kind"] == "overtake"] == [("overtake", "A1", "2026-07")]
