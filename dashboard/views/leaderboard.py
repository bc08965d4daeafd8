"""Leaderboard page: who leads on the awareness index for a period, and on each dimension."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, data, i18n
from dashboard.views import links
from dashboard.views.common import page_start, painted
from pipelines.contract import DIMENSIONS, GRAINS, PEER_GROUPS

IMPROVERS = 10
CHART_TOP = 20      # the chart shows a readable top of the board; the table holds everyone
# rows per page of a coloured board: a styled cell costs the server ~20 us, so a 2,000-person
# board in one table took 0.8 s; a page of 50 costs ~20 ms (the table scrolls after ~10)
ROWS_PER_PAGE = 50
# pixels per dimension cell: ten of them, the name and the index fit 1440x900 with the sidebar
DIM_WIDTH = 50
FIRST_GRAIN = "month"   # the grain the board opens on


def _movement(t, movement: float, prev_rank: float) -> str:
    """▲ places gained, ▼ places lost, against the previous period of the same grain."""
    if pd.isna(prev_rank):
        return t("leaderboard.new")
    if movement > 0:
        return f"▲{int(movement)}"
    if movement < 0:
        return f"▼{-int(movement)}"
    return "＝"


def _reason(lang: str, status: str, reason: str) -> str:
    """Why a person is not ranked, in words ("" reason: none recorded)."""
    if status != "ok":
        return i18n.t(lang, f"status.{status}")
    if reason.startswith("floor:"):
        dim = reason.split(":", 1)[1]
        return i18n.t(lang, "gate.floor", dimension=i18n.t(lang, f"dimension.{dim}"))
    return i18n.t(lang, f"gate.{reason}") if reason else ""


def _page_rows(t, n: int, key: str) -> slice:
    """The rows of a long board on show: a choice of ranks 1-50, 51-100, ... when there are
    more than a page of them."""
    if n <= ROWS_PER_PAGE:
        return slice(0, n)
    starts = list(range(0, n, ROWS_PER_PAGE))
    start = st.selectbox(t("leaderboard.rows"), starts, key=key, format_func=lambda s: t(
        "leaderboard.rows_range", first=s + 1, last=min(n, s + ROWS_PER_PAGE), total=n))
    return slice(start, start + ROWS_PER_PAGE)


def render() -> None:
    lang = i18n.current()
    t = i18n.translator(lang)
    started = page_start(t, "leaderboard.title", "leaderboard.subtitle")
    if started is None:
        return
    snap, meta = started
    st.caption(t("leaderboard.caption", data_end=pd.Timestamp(meta.get("data_end")).date(),
                 rules=meta.get("rules_version"), published=local_time(meta.get("published_at"))))

    c1, c2, c3, c4 = st.columns(4)
    grain = c1.selectbox(t("filter.grain"), GRAINS, index=GRAINS.index(FIRST_GRAIN),
                         format_func=lambda g: t(f"grain.{g}"), key="lb_grain")
    options = data.periods(snap, grain)
    if not options:
        st.info(t("leaderboard.no_rows"))
        return
    first = data.ranked_period(snap, grain)
    period = c2.selectbox(t("filter.period"), options, key=f"lb_period_{grain}",
                          index=options.index(first) if first in options else 0,
                          format_func=lambda p: i18n.period_label(lang, grain, p))
    peer = c3.selectbox(
        t("filter.peer_group"), [None, *PEER_GROUPS], key="lb_peer",
        format_func=lambda p: t("filter.all") if p is None else t(f"peer_group.{p}"))
    team_df = data.teams(snap)
    team_names = dict(zip(team_df["team_id"], team_df["team_name"], strict=True))
    team = c4.selectbox(t("filter.team"), [None, *team_df["team_id"]], key="lb_team",
                        format_func=lambda x: t("filter.all") if x is None else team_names[x])

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
    medians = data.peer_medians(snap, grain, period)
    index_medians = dict(zip(medians.loc[medians["dimension"] == "index", "peer_group"],
                             medians.loc[medians["dimension"] == "index", "p50"], strict=True))
    st.subheader(t("leaderboard.ranked"))
    st.caption(t("leaderboard.open_help"))
    if not ranked.empty:
        top = ranked.head(CHART_TOP)
        event = st.plotly_chart(
            charts.leaderboard_bar(top, t("leaderboard.chart_title_top", n=len(top),
                                          total=len(ranked)), peer_labels, index_medians,
                                  t("leaderboard.median_line")),
            key="lb_chart", config={"displayModeBar": False}, on_select="rerun",
            selection_mode="points")
        picked = links.selected_point(event)
        if picked:
            links.open_person(picked)
    table = pd.DataFrame({
        t("column.rank"): ranked[rank_col].astype("Int64"),
        **({} if peer else {t("column.movement"): [
            _movement(t, m, p) for m, p in zip(ranked["movement"], ranked["prev_rank"],
                                               strict=True)]}),
        t("column.name"): ranked["name"],
        t("column.team"): ranked["team_name"],
        t("column.peer_group"): ranked["peer_group"].map(peer_labels),
        t("column.index"): ranked["awareness_index"].round(1),
        **{t(f"dimension_short.{d}"): ranked[d] for d in DIMENSIONS},   # rounded by coloured()
    })
    rows = _page_rows(t, len(table), "lb_table_page")
    _board(t, table.iloc[rows], ranked["manager_id"].tolist()[rows], "lb_table")
    _medians(t, medians, peer_labels, peer)

    _teams(t, snap, grain, period)

    improvers = (ranked[ranked["score_change"] > 0]
                 .sort_values("score_change", ascending=False).head(IMPROVERS))
    if not improvers.empty:
        _people_section(t, "improvers", improvers, "lb_improvers", {
            t("column.change"): improvers["score_change"].map(lambda v: f"+{v:.1f}")})
    if not unranked.empty:
        keys = list(zip(unranked["status"], unranked["gate_reason"].fillna(""), strict=True))
        reasons = {k: _reason(lang, *k) for k in set(keys)}    # a few kinds among many people
        _people_section(t, "not_ranked", unranked, "lb_unranked", {
            t("column.reason"): [reasons[k] for k in keys]})


def warm_up(snap: str) -> None:
    """Run the queries of the board a lead opens first (this grain's newest ranked period, no
    filter), so the first visitor after a publish reads them from the cache: opening a new
    snapshot and its first queries cost ~150 ms of a 300 ms page."""
    data.info(snap)
    grain = FIRST_GRAIN
    period = data.ranked_period(snap, grain)
    data.teams(snap)
    if period is not None:
        data.leaderboard(snap, grain, period)
        data.peer_medians(snap, grain, period)
        data.team_board(snap, grain, period)


def local_time(value) -> str:
    """A stored UTC time in the bank's zone, with the zone said (the desk is read in Taipei)."""
    from pipelines.contract import LOCAL_TIMEZONE

    if value is None or pd.isna(value):
        return ""
    return (pd.Timestamp(value).tz_localize("UTC").tz_convert(LOCAL_TIMEZONE)
            .strftime("%Y-%m-%d %H:%M"))


def cell_style(value) -> str:
    """A dimension cell coloured by its score: pale for low, deep blue for high, so ten
    columns read at a glance (one hue: no red/green a colour-blind reader cannot tell apart)."""
    if value is None or pd.isna(value):
        return ""
    v = max(0.0, min(100.0, float(value))) / 100
    text = "#ffffff" if v > 0.62 else "#1b1b1b"
    return f"background-color: rgba(31, 78, 156, {0.08 + 0.85 * v:.2f}); color: {text}"


def coloured(t, table: pd.DataFrame, key: str):
    """A board with its ten dimension columns as coloured whole-number cells and the index to
    one decimal; missing values blank."""
    dims = [t(f"dimension_short.{d}") for d in DIMENSIONS]
    table = table.assign(**{c: pd.array(pd.to_numeric(table[c]).round(0), dtype="Int64")
                            for c in dims})
    return painted(table, {c: [cell_style(v) for v in table[c].tolist()] for c in dims},
                   {t("column.index"): 1}, uuid=key)


def _board(t, table: pd.DataFrame, ids: list[str], key: str) -> None:
    """The ranked table, each dimension a compact coloured cell; a click on a row opens the
    person."""
    dims = [t(f"dimension_short.{d}") for d in DIMENSIONS]
    styled = coloured(t, table, key)
    config = {c: st.column_config.NumberColumn(c, width=DIM_WIDTH, help=t(f"dimension.{d}"))
              for c, d in zip(dims, DIMENSIONS, strict=True)}
    config[t("column.name")] = st.column_config.TextColumn(t("column.name"), pinned=True)
    config[t("column.rank")] = st.column_config.NumberColumn(t("column.rank"), width=46)
    config[t("column.movement")] = st.column_config.TextColumn(t("column.movement"), width=64)
    config[t("column.index")] = st.column_config.NumberColumn(t("column.index"), width=70)
    config[t("column.peer_group")] = st.column_config.TextColumn(t("column.peer_group"),
                                                                width=76)
    event = st.dataframe(styled, hide_index=True, column_config=config, key=key,
                         on_select="rerun", selection_mode="single-cell")
    picked = links.selected(event, ids)
    if picked:
        links.open_person(picked)


def _medians(t, medians: pd.DataFrame, peer_labels: dict[str, str], peer: str | None) -> None:
    """Each peer group's median of the index and the ten dimensions, next to the board."""
    if medians.empty:
        return
    wide = medians.pivot_table(index="peer_group", columns="dimension", values="p50",
                               aggfunc="first")
    groups = [p for p in PEER_GROUPS if p in wide.index and (peer is None or p == peer)]
    if not groups:
        return
    st.caption(t("leaderboard.medians_help"))
    table = pd.DataFrame({
        t("column.peer_group"): [peer_labels[p] for p in groups],
        t("column.index"): [wide.loc[p].get("index") for p in groups],
        **{t(f"dimension_short.{d}"): [wide.loc[p].get(d) for p in groups] for d in DIMENSIONS},
    })
    st.dataframe(coloured(t, table, "lb_medians"), hide_index=True, key="lb_medians")


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
        **{t(f"dimension_short.{d}"): teams[d] for d in DIMENSIONS},   # rounded by coloured()
    })
    rows = _page_rows(t, len(table), "lb_teams_page")
    event = st.dataframe(coloured(t, table.iloc[rows], "lb_teams"), hide_index=True, key="lb_teams",
                         on_select="rerun", selection_mode="single-cell")
    picked = links.selected(event, teams["team_id"].tolist()[rows])
    if picked:
        links.open_team(picked)


def _people_section(t, name: str, people: pd.DataFrame, key: str, extra: dict) -> None:
    """A titled list of people (name, team, index) with the columns that say why they are in it."""
    st.subheader(t(f"leaderboard.{name}"))
    st.caption(t(f"leaderboard.{name}_help"))
    event = st.dataframe(pd.DataFrame({
        t("column.name"): people["name"],
        t("column.team"): people["team_name"],
        **extra,
        t("column.index"): people["awareness_index"].map(lambda v: i18n.number(v)),
    }), hide_index=True, key=key, on_select="rerun", selection_mode="single-cell")
    picked = links.selected(event, people["manager_id"].tolist())
    if picked:
        links.open_person(picked)
