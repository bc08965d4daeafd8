"""Team page: members x dimensions for a period, the team's trend against the other teams, team
badges, and per dimension who lifts the team and who needs help; every member opens their page."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, data, desk, i18n
from dashboard.views import links
from dashboard.views.common import page_start
from dashboard.views.person import revoke_text
from pipelines.contract import DIMENSIONS, GRAINS


def render() -> None:
    lang = i18n.current()
    t = i18n.translator(lang)
    started = page_start(t, "team.title")
    if started is None:
        return
    snap, _ = started
    teams = data.teams(snap)
    team_id = st.query_params.get("id")
    frames = data.team(snap, team_id) if team_id else None
    if frames is None:
        if team_id:
            st.warning(t("team.unknown", id=i18n.md(team_id)))
        names = dict(zip(teams["team_id"], teams["team_name"] + " · " + teams["branch"],
                         strict=True))
        choice = st.selectbox(t("team.pick"), [None, *teams["team_id"]], key="team_pick",
                              format_func=lambda x: t("person.pick_prompt") if x is None
                              else names[x])
        if choice:
            st.query_params["id"] = choice
            st.rerun()
        return
    info = teams.set_index("team_id").loc[team_id]
    st.subheader(i18n.md(info["team_name"]))
    st.caption(i18n.md(info["branch"]))

    c1, c2 = st.columns([1, 3])
    grain = c1.selectbox(t("filter.grain"), GRAINS, index=GRAINS.index("month"),
                         format_func=lambda g: t(f"grain.{g}"), key="team_grain")
    mine = frames["teams"][(frames["teams"]["team_id"] == team_id)
                           & (frames["teams"]["grain"] == grain)]
    options = sorted(frames["index"].loc[frames["index"]["grain"] == grain, "period"].unique(),
                     reverse=True)
    if not options:
        st.info(t("person.no_scores"))
        return
    period = c2.selectbox(t("filter.period"), options, key=f"team_period_{grain}",
                          format_func=lambda p: i18n.period_label(lang, grain, p))
    now = mine[(mine["period"] == period)].set_index("dimension")
    if "index" in now.index:
        row = now.loc["index"]
        cols = st.columns(3)
        cols[0].metric(t("column.index"), i18n.number(row["score"]) or "–")
        cols[1].metric(t("column.members"), f"{int(row['members_scored'])}/"
                                             f"{int(row['members_total'])}")
        board = frames["teams"][(frames["teams"]["grain"] == grain)
                                & (frames["teams"]["period"] == period)
                                & (frames["teams"]["dimension"] == "index")].dropna(
            subset=["score"])
        rank = int((board["score"].round(9) > round(float(row["score"]), 9)).sum()) + 1 \
            if pd.notna(row["score"]) else None
        cols[2].metric(t("team.rank"), t("person.rank_of", rank=rank, n=len(board))
                       if rank else "–")

    matrix, members = member_matrix(t, frames, grain, period)
    st.subheader(t("team.heatmap"))
    st.caption(t("team.heatmap_help"))
    st.plotly_chart(charts.member_heatmap(matrix, t("team.heatmap_title"), "–"),
                    key="team_heatmap", config={"displayModeBar": False})
    _members(t, members)
    _lifters(t, frames, grain, period)
    _trend(t, lang, frames, team_id, teams, grain)
    _badges(t, lang, snap, frames)


def member_matrix(t, frames, grain, period) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Members x dimensions (labels as Plotly text), and the members with their index."""
    members = frames["members"]
    dims = frames["dims"]
    here = dims[(dims["grain"] == grain) & (dims["period"] == period)]
    wide = here.pivot_table(index="manager_id", columns="dimension", values="score",
                            aggfunc="first").reindex(index=members["manager_id"],
                                                     columns=list(DIMENSIONS))
    labels = charts.unique_labels([charts.plain(n) for n in members["name"]],
                                  [charts.plain(i) for i in members["manager_id"]])
    matrix = wide.copy()
    matrix.index = labels
    matrix.columns = [t(f"dimension.{d}") for d in DIMENSIONS]
    idx = frames["index"]
    idx = idx[(idx["grain"] == grain) & (idx["period"] == period)].set_index("manager_id")
    members = members.assign(index=members["manager_id"].map(idx["score"]),
                             rank=members["manager_id"].map(idx["rank_overall"]))
    return matrix, members


def _members(t, members: pd.DataFrame) -> None:
    ordered = members.sort_values(["index", "name"], ascending=[False, True],
                                  na_position="last")
    st.caption(t("team.members_help"))
    ids = ordered["manager_id"].tolist()
    event = st.dataframe(pd.DataFrame({
        t("column.name"): ordered["name"].tolist(),
        t("column.peer_group"): [t(f"peer_group.{p}") for p in ordered["peer_group"]],
        t("column.index"): [i18n.number(v) for v in ordered["index"]],
        t("column.rank"): ["" if pd.isna(r) else str(int(r)) for r in ordered["rank"]],
    }), hide_index=True, key="team_members", on_select="rerun", selection_mode="single-cell")
    picked = links.selected(event, ids)
    if picked:
        links.open_person(picked)


def lifters(frames, grain, period) -> pd.DataFrame:
    """Per dimension the member who lifts the team most and the one who needs help most
    (only among members with a score; one scored member is both, so none is named)."""
    dims = frames["dims"]
    here = dims[(dims["grain"] == grain) & (dims["period"] == period)].dropna(subset=["score"])
    names = dict(zip(frames["members"]["manager_id"], frames["members"]["name"], strict=True))
    out = []
    for d in DIMENSIONS:
        part = here[here["dimension"] == d].sort_values(["score", "manager_id"])
        if len(part) < 2:
            out.append((d, None, None, None, None))
            continue
        low, high = part.iloc[0], part.iloc[-1]
        out.append((d, names.get(high["manager_id"]), high["score"], names.get(low["manager_id"]),
                    low["score"]))
    return pd.DataFrame(out, columns=["dimension", "top", "top_score", "help", "help_score"])


def _lifters(t, frames, grain, period) -> None:
    st.subheader(t("team.lifters"))
    st.caption(t("team.lifters_help"))
    table = lifters(frames, grain, period)
    st.dataframe(pd.DataFrame({
        t("person.dimension"): [t(f"dimension.{d}") for d in table["dimension"]],
        t("team.lifts"): [n or "" for n in table["top"]],
        t("team.lifts_score"): [i18n.number(v, 0) for v in table["top_score"]],
        t("team.needs_help"): [n or "" for n in table["help"]],
        t("team.needs_help_score"): [i18n.number(v, 0) for v in table["help_score"]],
    }), hide_index=True, key="team_lifters")


def _trend(t, lang, frames, team_id, teams, grain) -> None:
    st.subheader(t("team.trend"))
    all_teams = frames["teams"]
    lines = all_teams[(all_teams["grain"] == grain) & (all_teams["dimension"] == "index")]
    periods = sorted(lines["period"].unique())[-(26 if grain == "week" else 12):]
    lines = lines[lines["period"].isin(periods)]
    names = {tid: charts.plain(n) for tid, n in zip(teams["team_id"], teams["team_name"],
                                                    strict=True)}
    st.plotly_chart(charts.team_trend(lines, team_id, periods,
                                      [i18n.period_label(lang, grain, p) for p in periods],
                                      names, t("team.trend_title"),
                                      {"band": t("team.others_band"),
                                       "median": t("team.others_median")}),
                    key="team_trend", config={"displayModeBar": False})


def _badges(t, lang, snap, frames) -> None:
    st.subheader(t("team.badges"))
    rules = data.rules(snap)
    suffix = i18n.column_suffix(lang)
    defs = rules["badges"].set_index("badge_key")
    names = defs[f"name_{suffix}"].to_dict()
    awards = frames["awards"]
    held = awards[awards["revoked_at"].isna()]
    progress = desk.badge_progress(defs, frames["progress"], held, scope="team")
    if progress:
        st.dataframe(pd.DataFrame({
            t("game.badge"): [names.get(p.badge_key, p.badge_key) for p in progress],
            t("person.next_tier"): [t(f"tier.{p.tier}") for p in progress],
            t("person.progress"): [t("person.progress_value", value=f"{p.value:.0f}",
                                     needs=f"{p.needs:.0f}") for p in progress],
            t("filter.period"): [p.period + ("" if p.finished else " · "
                                             + t("person.running_tag")) for p in progress],
        }), hide_index=True, key="team_progress")
    if held.empty:
        st.caption(t("person.no_badges"))
    else:
        st.dataframe(pd.DataFrame({
            t("game.badge"): [names.get(k, k) for k in held["badge_key"]],
            t("game.tier"): [t(f"tier.{x}") for x in held["tier"]],
            t("filter.period"): held["period"].tolist(),
            t("game.earned_on"): held["earned_on"].map(lambda d: f"{d:%Y-%m-%d}").tolist(),
        }), hide_index=True, key="team_held")
    revoked = awards[awards["revoked_at"].notna()]
    if not revoked.empty:
        st.dataframe(pd.DataFrame({
            t("game.badge"): [names.get(k, k) for k in revoked["badge_key"]],
            t("game.tier"): [t(f"tier.{x}") for x in revoked["tier"]],
            t("column.reason"): [revoke_text(t, r) for r in revoked["revoke_reason"]],
        }), hide_index=True, key="team_revoked")
