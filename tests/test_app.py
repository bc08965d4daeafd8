"""Every dashboard page renders from the published snapshot (Streamlit AppTest, no browser)."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


def run(lang: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    if lang:
        at.query_params["lang"] = lang
    return at.run()


def names_in_order(at: AppTest, column: str = "姓名") -> list[str]:
    return at.dataframe[0].value[column].tolist()


def table_with(at: AppTest, column: str):
    """The page's table that has this column (pages show several)."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_leaderboard_renders_with_the_expected_leader_on_top(demo_env):
    at = run()
    assert not at.exception
    assert at.title[0].value == "意識排行榜"
    star = next(k for k, v in demo_env["manifest"]["managers"].items() if v["star"])
    import duckdb
    con = duckdb.connect(str(demo_env["snapshot"]), read_only=True)
    star_name = con.execute("SELECT name FROM roster WHERE manager_id = ?", [star]).fetchall()[0][0]
    con.close()
    assert names_in_order(at)[0] == star_name
    table = at.dataframe[0].value
    # the ten dimensions as short headers beside the name: no header repeats another
    for label in ("誠信", "協作", "學習", "綜合指數", "團隊"):
        assert label in table.columns
    assert table.columns.is_unique
    assert set(table["團隊"]) <= {"台北企金一組", "台北企金二組", "台北個金組", "高雄企金組",
                                  "台中個金組", "台中中小企業組", "高雄個金組", "高雄中小企業組"}
    assert at.get("plotly_chart"), "the ranking chart is missing"


def test_ranks_are_consecutive_and_ineligible_people_are_listed_with_a_reason(demo_env):
    at = run()
    ranks = at.dataframe[0].value["名次"].tolist()
    assert ranks == sorted(ranks) and ranks[0] == 1
    reasons = table_with(at, "原因")["原因"].tolist()
    assert reasons and all(("門檻" in r) or ("資料不足" in r) or ("違規" in r) for r in reasons)


def test_filters_change_the_board(demo_env):
    at = run()
    at.selectbox(key="lb_peer").set_value("retail").run()
    retail = at.dataframe[0].value
    assert set(retail["職務類別"]) == {"個人金融"}
    assert retail["名次"].tolist()[0] == 1
    at.selectbox(key="lb_grain").set_value("quarter").run()
    assert not at.exception
    assert at.selectbox(key="lb_period_quarter").value.endswith("Q4")


@pytest.mark.parametrize("lang,title,column", [("zh-CN", "意识排行榜", "诚信"),
                                               ("en", "Awareness leaderboard", "Integ.")])
def test_other_languages_by_url(demo_env, lang, title, column):
    at = run(lang)
    assert not at.exception
    assert at.title[0].value == title
    assert column in at.dataframe[0].value.columns
    assert at.dataframe[0].value.columns.is_unique


def test_before_the_first_publish_the_page_says_what_to_do(settings):
    at = run()
    assert not at.exception
    assert "make run" in at.info[0].value


def _health_page():
    from dashboard.views import data_health
    data_health.render()


def test_data_health_shows_loads_freshness_and_quarantine(demo_env):
    at = AppTest.from_function(_health_page, default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "資料健康"
    feeds = at.dataframe[0].value
    assert set(feeds["資料來源"]) == {"營銷活動", "客戶聯繫", "學習紀錄", "授信資產事件"}
    assert set(feeds["狀態"]) == {"正常"}
    runs = at.dataframe[1].value
    assert len(runs) == 6 and set(runs["讀取"]) >= {60, 896}   # roster, targets
    by_file = dict(zip(runs["檔案"], runs["偵測結果"], strict=True))
    assert "gb18030" in by_file["marketing_activity_gb18030.csv"]
    reasons = at.dataframe[2].value
    assert "查無此客戶經理" in set(reasons["原因"])
    rows = at.dataframe[3].value
    assert len(rows) == sum(v["bad_rows"] for v in demo_env["manifest"]["files"].values())
    assert "RM999" in set(rows["原始值"])


def test_rank_movement_and_the_improvement_board(demo_env):
    at = run()
    at.selectbox(key="lb_period_month").set_value("2026-10").run()
    table = at.dataframe[0].value
    moves = set(table["名次變化"])
    assert any(m.startswith("▲") for m in moves) and any(m.startswith("▼") for m in moves)
    improvers = table_with(at, "進步分數")
    gains = [float(g) for g in improvers["進步分數"]]
    assert 0 < len(gains) <= 10 and gains == sorted(gains, reverse=True) and gains[-1] > 0


def _game_page():
    from dashboard.views import game
    game.render()


def _snapshot_rows(demo_env, sql: str, params=()) -> list[tuple]:
    import duckdb
    con = duckdb.connect(str(demo_env["snapshot"]), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_game_page_shows_the_feed_levels_badges_and_the_closed_season(demo_env):
    at = AppTest.from_function(_game_page, default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "徽章與等級"
    assert [tab.label for tab in at.tabs] == ["最新動態", "經驗值與等級", "徽章", "賽季"]
    # the newest event is on top, in words
    (kind, who, badge, tier), = _snapshot_rows(demo_env, """
        SELECT c.kind, r.name, c.badge_key, c.tier FROM celebration c
        LEFT JOIN roster r ON r.manager_id = c.subject_id
        ORDER BY c.occurred_on DESC, c.recorded_at DESC, c.event_id LIMIT 1""")
    feed = at.tabs[0].markdown[0].value
    assert who in feed.splitlines()[0]
    # XP: everyone on the roster, most XP first, with a level name
    xp = table_with(at, "經驗值")
    assert len(xp) == 60 and xp["經驗值"].is_monotonic_decreasing
    assert xp["等級"].str.contains("·").all()
    assert at.get("plotly_chart"), "the XP chart is missing"
    # badges: the whole catalogue with counts that match the held awards
    catalogue = table_with(at, "獲得條件")
    assert len(catalogue) == 21
    held = _snapshot_rows(demo_env, "SELECT count(*) FROM badge_award WHERE revoked_at IS NULL")
    tiers = [c for c in catalogue.columns if c.endswith(("銅牌", "銀牌", "金牌"))]
    assert int(catalogue[tiers].to_numpy().sum()) == held[0][0]
    # the closed season: frozen ranks from 1, a download per table
    at.selectbox(key="game_season").set_value("2026Q3").run()
    people = table_with(at, "徽章數")
    assert people["名次"].dropna().tolist()[:3] == [1, 2, 3]
    assert len(at.get("download_button")) == 2


def _game_page_in(lang):
    import streamlit as st

    from dashboard import i18n
    from dashboard.views import game
    st.session_state[i18n.LANG_KEY] = lang
    game.render()


@pytest.mark.parametrize("lang,title,tab", [("zh-CN", "徽章与等级", "赛季"),
                                            ("en", "Badges and levels", "Seasons")])
def test_game_page_in_other_languages(demo_env, lang, title, tab):
    at = AppTest.from_function(_game_page_in, args=(lang,), default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == title
    assert tab in [t.label for t in at.tabs]


def test_leaderboard_ranks_the_teams_with_movement(demo_env):
    at = run()
    teams = table_with(at, "有分數成員")
    assert len(teams) == 8 and teams["名次"].tolist()[0] == 1
    assert teams["綜合指數"].is_monotonic_decreasing
    assert all(m[0] in "▲▼＝新" for m in teams["名次變化"])
    assert "團隊排名" in [s.value for s in at.subheader]
