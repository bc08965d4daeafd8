"""The wall screen: only the top of the board, never people who opted out, every panel's content
(pure functions on hand-made frames, then the real page in AppTest)."""
from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import i18n, wall
from pipelines.contract import DIMENSIONS

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
T = i18n.translator("zh-TW")


def frames(n: int = 8, opted_out: tuple[str, ...] = ("P2",), gated: tuple[str, ...] = (),
           events: list[dict] | None = None) -> wall.Frames:
    """n people P1..Pn (P1 best), two teams in branch 北 (A: odd, B: even) and one in 南 (C)."""
    people = [f"P{i}" for i in range(1, n + 1)]
    roster = pd.DataFrame({
        "manager_id": people + ["S1"], "name": [f"名{p}" for p in people] + ["南一"],
        "team_id": ["A" if i % 2 else "B" for i in range(1, n + 1)] + ["C"],
        "team_name": ["甲隊" if i % 2 else "乙隊" for i in range(1, n + 1)] + ["丙隊"],
        "branch": ["北"] * n + ["南"],
        "public_display": [p not in opted_out for p in people] + [True]})
    score = {p: 100.0 - 5 * i for i, p in enumerate(people)} | {"S1": 50.0}

    def index(shift: float) -> pd.DataFrame:
        ids = list(score)
        return pd.DataFrame({"manager_id": ids, "score": [score[m] - shift * (m == "P3")
                                                          for m in ids],
                             "status": "ok", "eligible": [m not in gated for m in ids]})
    dims = pd.DataFrame([{"manager_id": m, "dimension": d, "score": s, "status": "ok"}
                         for m, s in score.items() for d in DIMENSIONS])
    members = {"A": (n + 1) // 2, "B": n // 2, "C": 1}
    team_now = pd.DataFrame([{"team_id": t, "dimension": d, "score": s,
                              "members_scored": members[t]}
                             for t, s in (("A", 80.0), ("B", 70.0), ("C", 60.0))
                             for d in (*DIMENSIONS, "index")])
    team_prev = pd.DataFrame({"team_id": ["A", "B", "C"], "dimension": "index",
                              "score": [60.0, 75.0, 50.0],
                              "members_scored": [members[t] for t in "ABC"]})
    return wall.Frames(
        period="2026-11", roster=roster, index_now=index(0), index_prev=index(-30),
        dims_now=dims, team_now=team_now, team_prev=team_prev,
        events=pd.DataFrame(events or [], columns=[
            "kind", "scope", "subject_id", "other_id", "badge_key", "tier", "level_no",
            "new_rank", "grain", "period", "passed", "recorded_at", "occurred_on"]),
        badge_names={"risk_guardian": "風險守門人"}, level_names={3: "穩健經理"})


def test_the_wall_shows_the_top_half_at_most_and_never_who_opted_out():
    board = wall.build(frames(n=8), top=10)
    # 8 the wall may show (7 + the southern one; P2 opted out): the top 4 of them, ranked
    # among themselves, so no gap in the ranks gives away that someone is missing
    assert [r["name"] for r in board.top] == ["名P1", "名P3", "名P4", "名P5"]
    assert [r["rank"] for r in board.top] == [1, 2, 3, 4]
    assert board.top[1]["movement"] == -1    # P3 was first before (30 points higher)
    assert wall.build(frames(n=8), top=2).top == board.top[:2]


def test_a_team_wall_whose_best_opted_out_starts_at_one():
    board = wall.build(frames(n=8, opted_out=("P1",)), scope="team", scope_id="A", top=10)
    assert [r["rank"] for r in board.top] == list(range(1, len(board.top) + 1))
    assert board.top and "名P1" not in [r["name"] for r in board.top]


def test_gated_people_are_not_ranked_and_not_champions():
    board = wall.build(frames(gated=("P1",)))
    assert "名P1" not in {r["name"] for r in board.top}
    assert {n for c in board.champions for n in c["names"]} == {"名P3"}   # P2 out, P1 gated
    assert [c["dimension"] for c in board.champions] == list(DIMENSIONS)


def test_a_team_wall_ranks_its_people_and_its_branch_s_teams():
    board = wall.build(frames(n=8), scope="team", scope_id="A")
    assert board.scope_label == "甲隊"
    assert [r["name"] for r in board.top] == ["名P1", "名P3"]       # 4 people: top 2 only
    assert [(r["name"], r["own"], r["movement"]) for r in board.teams] == [
        ("甲隊", True, 1), ("乙隊", False, -1)]                       # 丙隊 is another branch
    assert [h["name"] for h in board.heatmap] == ["甲隊", "乙隊"]


def test_a_branch_wall_keeps_to_its_branch():
    board = wall.build(frames(), scope="branch", scope_id="南")
    assert board.top == []      # one person is both the top and the bottom of that board
    # and a one-person team's score is that person's own: not shown either
    assert board.teams == [] and board.heatmap == []
    north = wall.build(frames(), scope="branch", scope_id="北")
    assert [r["name"] for r in north.teams] == ["甲隊", "乙隊"]


def test_events_leave_out_people_who_opted_out_and_other_walls():
    def ev(kind, subject, other=None, scope="individual", **kw):
        return {"kind": kind, "scope": scope, "subject_id": subject, "other_id": other,
                "badge_key": kw.get("badge"), "tier": kw.get("tier"),
                "level_no": kw.get("level"), "new_rank": kw.get("rank"), "grain": "month",
                "period": "2026-11", "passed": kw.get("passed"),
                "recorded_at": datetime(2026, 11, 28, 9), "occurred_on": date(2026, 11, 27)}
    events = [ev("badge", "P2", badge="risk_guardian", tier="gold"),        # opted out
              ev("overtake", "P3", "P2", rank=2, passed=1),                 # passed P2
              ev("overtake", "P4", "P3", rank=3, passed=2),
              ev("overtake", "P7", "P8", rank=7, passed=1),                 # bottom half
              ev("level_up", "P1", level=3),
              ev("badge", "C", scope="team", badge="risk_guardian", tier="bronze"),
              ev("badge", "A", scope="team", badge="risk_guardian", tier="silver")]
    board = wall.build(frames(events=events), scope="branch", scope_id="北")
    texts = [wall.event_text(e, T) for e in board.events]
    # on a branch wall an overtake's rank is said to be the bank's
    assert texts == ["名P4 超越 名P3 等 2 人，升至全行第 3 名", "名P1 升上第 3 級「穩健經理」",
                     "甲隊 獲得「風險守門人」銀牌"]


def test_a_wall_for_a_team_that_does_not_exist_says_so():
    board = wall.build(frames(), scope="team", scope_id="ZZ")
    page = wall.page_html(board, "top", T, title="t", clock="09:00", ticker_offset=0)
    assert "名冊裡找不到 team=ZZ" in page and board.top == [] and board.events == []


def test_names_are_escaped_in_the_html():
    f = frames()
    f.roster.loc[f.roster["manager_id"] == "P1", "name"] = "<img src=x onerror=alert(1)>"
    board = wall.build(f)
    page = wall.page_html(board, "top", T, title="t", clock="09:00", ticker_offset=0)
    assert "<img" not in page and "&lt;img src=x" in page


def test_heat_colours_run_from_red_through_amber_to_green():
    assert wall.heat_colour(0) == "#6e1c28"
    assert wall.heat_colour(50) == "#966e14"
    assert wall.heat_colour(100) == "#198246"
    assert wall.heat_colour(None) == "#1c2230"


# --- the real page, on the demo snapshot -------------------------------------------------------

def wall_page(panel: str, lang: str | None = None, **params) -> tuple[AppTest, str]:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["wall"] = params.pop("scope", "bank")
    at.query_params["panel"] = panel
    for k, v in params.items():
        at.query_params[k] = v
    if lang:
        at.query_params["lang"] = lang
    at.run()
    assert not at.exception
    body = next(e.proto.body for e in at.get("html") if 'class="wall"' in e.proto.body)
    return at, body


def snapshot_rows(demo_env, sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(str(demo_env["snapshot"]), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def visible_text(body: str) -> str:
    return re.sub(r"<[^>]+>", " ", body)


def panel_text(body: str) -> str:
    """The rotating panel alone: the ticker celebrates anyone's badge, wherever they rank."""
    return visible_text(body[body.index('<div class="panel'):body.index('<div class="ticker"')])


@pytest.fixture
def demo_people(demo_env):
    month = snapshot_rows(demo_env, "SELECT max(period) FROM awareness_index "
                                    "WHERE grain = 'month'")[0][0]
    rows = snapshot_rows(demo_env, """
        SELECT r.name, r.public_display, a.rank_overall
        FROM awareness_index a JOIN roster r USING (manager_id)
        WHERE a.grain = 'month' AND a.period = ? ORDER BY a.rank_overall NULLS LAST""",
                         [month])
    hidden = [n for n, public, _ in rows if not public]
    ranked = [n for n, _, rank in rows if rank is not None]
    return {"month": month, "hidden": hidden, "ranked": ranked,
            "bottom": ranked[len(ranked) // 2:], "top": ranked[:10]}


def test_the_wall_has_no_navigation_or_sidebar(demo_env):
    at, _ = wall_page("top")
    assert len(at.sidebar) == 0
    assert at.get("selectbox") == [] or len(at.get("selectbox")) == 0


def test_top_panel_shows_the_leaders_but_not_the_opted_out_or_the_bottom(demo_env, demo_people):
    _, body = wall_page("top")
    text = panel_text(body)
    assert demo_people["hidden"], "the demo has someone who opted out"
    assert demo_people["hidden"][0] in demo_people["top"], "and who would be in the top 10"
    for name in demo_people["hidden"] + demo_people["bottom"]:
        assert name not in text
    for name in demo_people["hidden"]:
        assert name not in visible_text(body)
    shown = [n for n in demo_people["top"] if n not in demo_people["hidden"]]
    positions = [text.index(n) for n in shown]
    assert positions == sorted(positions) and len(shown) >= 9
    assert demo_people["month"] in visible_text(body) and "個人前 10 名" in text


def test_team_panel_lists_every_team(demo_env):
    _, body = wall_page("teams")
    teams = {n for (n,) in snapshot_rows(demo_env, "SELECT DISTINCT team_name FROM roster")}
    assert all(t in body for t in teams) and "團隊排名" in body


def test_champions_panel_has_every_dimension_and_no_hidden_person(demo_env, demo_people):
    _, body = wall_page("champions")
    for d in DIMENSIONS:
        assert i18n.t("zh-TW", f"dimension.{d}") in body
    assert not any(n in visible_text(body) for n in demo_people["hidden"])


def test_heatmap_panel_is_teams_by_dimensions(demo_env):
    _, body = wall_page("heatmap")
    assert body.count("<tr>") == 1 + 8       # the header and the demo's 8 teams
    assert body.count("<td ") == 8 * len(DIMENSIONS)


def test_feed_panel_and_ticker_show_wall_safe_news(demo_env, demo_people):
    _, body = wall_page("feed")
    assert "最新喜訊" in body and 'class="event' in body
    assert not any(n in visible_text(body) for n in demo_people["hidden"])


def test_a_team_wall_in_english_shows_only_that_team(demo_env, demo_people):
    _, body = wall_page("top", lang="en", scope="team", id="T03")
    (team_name,), = snapshot_rows(demo_env, "SELECT DISTINCT team_name FROM roster "
                                            "WHERE team_id = 'T03'")
    members = {n for (n,) in snapshot_rows(demo_env, "SELECT name FROM roster "
                                                     "WHERE team_id = 'T03'")}
    text = panel_text(body)
    shown = [n for n in demo_people["ranked"] if n in text]
    # the top half of the team's people the wall may show (who opted out is not counted)
    visible = [n for n in demo_people["ranked"] if n in members - set(demo_people["hidden"])]
    top_n = min(wall.TOP_DEFAULT, len(visible) // 2)
    assert f"Awareness Leaderboard ・ {team_name}" in visible_text(body) and f"Top {top_n}" in text
    assert shown == visible[:top_n]


@pytest.mark.parametrize("params", [{"top": "999"}, {"top": "abc"}, {"grain": "year"},
                                    {"rotate": "-5"}, {"panel": "nope"}])
def test_odd_url_parameters_fall_back_to_safe_values(demo_env, demo_people, params):
    panel = params.pop("panel", "top")
    _, body = wall_page(panel, **params)
    shown = re.search(r'class="wall" data-panel="(\w+)"', body).group(1)
    assert shown in wall.PANELS     # an unknown panel falls back to the rotation
    for name in demo_people["hidden"]:
        assert name not in visible_text(body)
    # rankings show the top only; the news panel celebrates anyone who is shown
    for name in demo_people["bottom"] if shown != "feed" else ():
        assert name not in panel_text(body)


def _wall_script():
    import streamlit as st

    from dashboard import i18n
    from dashboard.views import wall as wall_view
    st.query_params["panel"] = "top"
    wall_view.render(i18n.DEFAULT)


def _wall_body(at: AppTest) -> str:
    return next(e.proto.body for e in at.get("html") if 'class="wall"' in e.proto.body)


def test_a_failed_refresh_keeps_the_last_good_board(demo_env, monkeypatch):
    from dashboard import data
    at = AppTest.from_function(_wall_script, default_timeout=30).run()
    before = panel_text(_wall_body(at))

    def broken(*args, **kwargs):
        raise duckdb.IOException("snapshot is being replaced")
    monkeypatch.setattr(data, "wall_board", broken)
    at.run()
    assert not at.exception
    body = _wall_body(at)
    assert panel_text(body) == before
    assert "資料更新暫停" in body


def test_a_new_celebration_is_shown_once_big(demo_env, monkeypatch):
    import dataclasses

    from dashboard import data
    at = AppTest.from_function(_wall_script, default_timeout=30).run()
    assert 'class="celebrate"' not in _wall_body(at)   # a screen just switched on: no party
    real = data.wall_board

    def with_news(*args, **kwargs):
        board = real(*args, **kwargs)
        news = dict(board.events[0], kind="level_up", who="新聞人物", level=5,
                    level_name="專業能手", recorded_at=datetime(2099, 1, 1))
        return dataclasses.replace(board, events=[news, *board.events])
    monkeypatch.setattr(data, "wall_board", with_news)
    at.run()
    body = _wall_body(at)
    assert 'class="celebrate"' in body and "新聞人物 升上第 5 級「專業能手」" in body
    at.run()
    assert 'class="celebrate"' not in _wall_body(at)    # once, not on every refresh


@pytest.fixture
def two_snapshots(demo_build, tmp_path, monkeypatch):
    """A data directory of its own holding the demo snapshot twice (an older and a newer
    copy), the pointer naming the newer: its pointer and files may be damaged."""
    import shutil

    from pipelines.config import ENV_DATA
    from pipelines.publish import POINTER
    snaps = tmp_path / "snapshots"
    snaps.mkdir()
    older = snaps / "snapshot-20260101T000000000000Z.duckdb"
    newer = snaps / "snapshot-20260102T000000000000Z.duckdb"
    shutil.copy(demo_build["snapshot"], older)
    shutil.copy(demo_build["snapshot"], newer)
    (snaps / POINTER).write_text(newer.name, encoding="utf-8")
    monkeypatch.setenv(ENV_DATA, str(tmp_path))
    return {"pointer": snaps / POINTER, "older": older, "newer": newer}


@pytest.mark.parametrize("damage", ["missing", "empty", "torn", "names a deleted file"])
def test_a_fresh_screen_shows_the_last_good_board_whatever_the_pointer_says(two_snapshots,
                                                                           damage):
    pointer = two_snapshots["pointer"]
    if damage == "missing":
        pointer.unlink()
    elif damage == "empty":
        pointer.write_text("", encoding="utf-8")
    elif damage == "torn":
        pointer.write_text("snapshot-2026", encoding="utf-8")
    else:
        two_snapshots["newer"].unlink()
    at = AppTest.from_function(_wall_script, default_timeout=30).run()
    assert not at.exception
    body = _wall_body(at)
    assert "等待資料發布中" not in body and 'class="panel' in body
    assert panel_text(body).strip()


def test_a_running_screen_keeps_its_board_when_the_snapshot_it_reads_is_deleted(two_snapshots):
    at = AppTest.from_function(_wall_script, default_timeout=30).run()
    before = panel_text(_wall_body(at))
    two_snapshots["newer"].unlink()
    at.run()
    assert not at.exception
    body = _wall_body(at)
    assert panel_text(body) == before and "資料更新暫停" not in body


def test_the_leaderboard_opens_on_the_older_snapshot_when_the_newer_is_damaged(two_snapshots):
    two_snapshots["newer"].write_bytes(b"not a database")
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert not [e for e in at.get("alert") if "IO Error" in str(e.proto)]
    assert at.get("plotly_chart") or at.dataframe


@pytest.mark.parametrize("grain", ["month", "week"])
def test_the_overtakes_a_wall_tells_are_of_its_own_board(demo_env, grain):
    from dashboard import data
    every = snapshot_rows(demo_env, "SELECT DISTINCT grain FROM celebration "
                                    "WHERE kind = 'overtake'")
    assert len(every) > 1            # the demo has overtakes on other boards to leave out
    frames = data.wall_frames(str(demo_env["snapshot"]), grain, "zh-TW")
    overtakes = frames.events[frames.events["kind"] == "overtake"]
    assert set(overtakes["grain"]) <= {grain} and set(overtakes["period"]) <= {frames.period}


def test_tied_champions_are_all_named():
    f = frames(n=6)
    tie = f.dims_now["manager_id"].isin(["P3", "P4"]) & (f.dims_now["dimension"] == "risk")
    f.dims_now.loc[tie, "score"] = 100.5     # both above P1, the best elsewhere
    board = wall.build(f, top=10)
    risk = next(c for c in board.champions if c["dimension"] == "risk")
    assert risk["names"] == ["名P3", "名P4"] and risk["score"] == 100.5
    html = wall.champions_panel(board, T)
    assert "名P3、名P4" in html
    others = [c for c in board.champions if c["dimension"] != "risk"]
    assert all(c["names"] == ["名P1"] for c in others)


def test_a_champion_off_the_top_list_is_counted_not_named():
    f = frames(n=8)
    low = (f.dims_now["manager_id"] == "P8") & (f.dims_now["dimension"] == "learning")
    f.dims_now.loc[low, "score"] = 120.0       # the best learner ranks at the bottom
    board = wall.build(f, top=10)
    learning = next(c for c in board.champions if c["dimension"] == "learning")
    assert learning["names"] == [] and learning["others"] == 1
    html = wall.champions_panel(board, T)
    assert "名P8" not in html and "1 位同仁" in html
