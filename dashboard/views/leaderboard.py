"""Leaderboard page: who leads on the awareness index for a period, and on each dimension."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, data, i18n
from dashboard.views.common import page_start
from pipelines.contract import DIMENSIONS, GRAINS, PEER_GROUPS

IMPROVERS = 10


def _movement(t, movement: float, prev_rank: float) -> str:
    """▲ places gained, ▼ places lost, against the previous period of the same grain."""
    if pd.isna(prev_rank):
        return t("leaderboard.new")
    if movement > 0:
        return f"▲{int(movement)}"
    if movement < 0:
        return f"▼{-int(movement)}"
    return "＝"


def _reason(lang: str, row: pd.Series) -> str:
    if row["status"] != "ok":
        return i18n.t(lang, f"status.{row['status']}")
    reason = row["gate_reason"]
    if isinstance(reason, str) and reason.startswith("floor:"):
        dim = reason.split(":", 1)[1]
        return i18n.t(lang, "gate.floor", dimension=i18n.t(lang, f"dimension.{dim}"))
    return i18n.t(lang, f"gate.{reason}") if isinstance(reason, str) else ""


def render() -> None:
    lang = i18n.current()
    t = i18n.translator(lang)
    started = page_start(t, "leaderboard.title", "leaderboard.subtitle")
    if started is None:
        return
    snap, meta = started
    st.caption(t("leaderboard.caption", data_end=pd.Timestamp(meta.get("data_end")).date(),
                 rules=meta.get("rules_version"),
                 published=pd.Timestamp(meta.get("published_at")).strftime("%Y-%m-%d %H:%M")))

    c1, c2, c3, c4 = st.columns(4)
    grain = c1.selectbox(t("filter.grain"), GRAINS, index=GRAINS.index("month"),
                         format_func=lambda g: t(f"grain.{g}"), key="lb_grain")
    options = data.periods(snap, grain)
    if not options:
        st.info(t("leaderboard.no_rows"))
        return
    period = c2.selectbox(t("filter.period"), options, index=0, key=f"lb_period_{grain}")
    peer = c3.selectbox(
        t("filter.peer_group"), [None, *PEER_GROUPS], key="lb_peer",
        format_func=lambda p: t("filter.all") if p is None else t(f"peer_group.{p}"))
    team_df = data.teams(snap)
    team = c4.selectbox(t("filter.team"), [None, *team_df["team_id"]], key="lb_team",
                        format_func=lambda x: t("filter.all") if x is None else
                        team_df.set_index("team_id").loc[x, "team_name"])

    board = data.leaderboard(snap, grain, period)
    if peer:
        board = board[board["peer_group"] == peer]
    if team:
        board = board[board["team_id"] == team]
    rank_col = "rank_peer" if peer else "rank_overall"
    ranked = board[board[rank_col].notna()].sort_values(rank_col)
    unranked = board[board[rank_col].isna()]
    if ranked.empty and unranked.empty:
        st.info(t("leaderboard.no_rows"))
        return

    peer_labels = {p: t(f"peer_group.{p}") for p in PEER_GROUPS}
    st.subheader(t("leaderboard.ranked"))
    if not ranked.empty:
        st.plotly_chart(charts.leaderboard_bar(ranked, t("leaderboard.chart_title"), peer_labels),
                        key="lb_chart", config={"displayModeBar": False})
    table = pd.DataFrame({
        t("column.rank"): ranked[rank_col].astype("Int64"),
        **({} if peer else {t("column.movement"): [
            _movement(t, m, p) for m, p in zip(ranked["movement"], ranked["prev_rank"],
                                               strict=True)]}),
        t("column.name"): ranked["name"],
        t("column.team"): ranked["team_name"],
        t("column.peer_group"): ranked["peer_group"].map(peer_labels),
        t("column.index"): ranked["awareness_index"].round(1),
        **{t(f"dimension.{d}"): ranked[d].round(0) for d in DIMENSIONS},
    })
    progress = {t(f"dimension.{d}"): st.column_config.ProgressColumn(
        t(f"dimension.{d}"), min_value=0, max_value=100, format="%.0f") for d in DIMENSIONS}
    st.dataframe(table, hide_index=True, column_config=progress, key="lb_table")

    _teams(t, snap, grain, period)

    improvers = (ranked[ranked["score_change"] > 0]
                 .sort_values("score_change", ascending=False).head(IMPROVERS))
    if not improvers.empty:
        _people_section(t, "improvers", improvers, "lb_improvers", {
            t("column.change"): improvers["score_change"].map(lambda v: f"+{v:.1f}")})
    if not unranked.empty:
        _people_section(t, "not_ranked", unranked, "lb_unranked", {
            t("column.reason"): unranked.apply(lambda r: _reason(lang, r), axis=1)})


def _teams(t, snap: str, grain: str, period: str) -> None:
    """The team board: each team's index (its members' mean, blended with team targets)."""
    teams = data.team_board(snap, grain, period)
    if teams.empty:
        return
    st.subheader(t("leaderboard.teams"))
    st.caption(t("leaderboard.teams_help"))
    table = pd.DataFrame({
        t("column.rank"): teams["rank"].astype("Int64"),
        t("column.movement"): [_movement(t, m, p) for m, p in
                               zip(teams["movement"], teams["prev_rank"], strict=True)],
        t("column.team"): teams["team_name"],
        t("column.branch"): teams["branch"],
        t("column.index"): teams["score"].round(1),
        t("column.members"): [f"{s}/{n}" for s, n in
                              zip(teams["members_scored"], teams["members_total"], strict=True)],
        **{t(f"dimension.{d}"): teams[d].round(0) for d in DIMENSIONS},
    })
    progress = {t(f"dimension.{d}"): st.column_config.ProgressColumn(
        t(f"dimension.{d}"), min_value=0, max_value=100, format="%.0f") for d in DIMENSIONS}
    st.dataframe(table, hide_index=True, column_config=progress, key="lb_teams")


def _people_section(t, name: str, people: pd.DataFrame, key: str, extra: dict) -> None:
    """A titled list of people (name, team, index) with the columns that say why they are in it."""
    st.subheader(t(f"leaderboard.{name}"))
    st.caption(t(f"leaderboard.{name}_help"))
    st.dataframe(pd.DataFrame({
        t("column.name"): people["name"],
        t("column.team"): people["team_name"],
        **extra,
        t("column.index"): people["awareness_index"].round(1),
    }), hide_index=True, key=key)
