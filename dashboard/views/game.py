"""Game page: what just happened, XP and levels, the badges and who holds them, closed seasons."""
from __future__ import annotations

import io
import json

import pandas as pd
import streamlit as st

from dashboard import charts, data, i18n
from dashboard.views import links
from dashboard.views.common import page_start, table
from pipelines.contract import DIMENSIONS, LOCAL_TIMEZONE, MARKETING_CHANNELS
from pipelines.season import safe_text

TIERS = ("bronze", "silver", "gold")
CHANNEL_KEYS = set(MARKETING_CHANNELS)
DIMENSION_KEYS = set(DIMENSIONS)
# Material icons ship with Streamlit's own font: emoji need a font a TV's browser may lack
KIND_ICON = {"badge": ":material/military_tech:", "level_up": ":material/trending_up:",
             "overtake": ":material/rocket_launch:"}


def render() -> None:
    lang = i18n.current()
    t = i18n.translator(lang)
    started = page_start(t, "game.title", "game.subtitle")
    if started is None:
        return
    snap, _ = started
    badge_defs = data.badge_defs(snap).set_index("badge_key")
    levels = data.levels(snap)
    name = f"name_{i18n.column_suffix(lang)}"
    names = {
        "badge": badge_defs[name].to_dict(),
        "level": dict(zip(levels["level_no"], levels[name], strict=True)),
    }
    feed, xp, catalogue, seasons = st.tabs(
        [t("game.tab_feed"), t("game.tab_xp"), t("game.tab_badges"), t("game.tab_seasons")])
    with feed:
        _feed(t, snap, names)
    with xp:
        _xp(t, snap, levels, names)
    with catalogue:
        _badges(t, lang, snap, badge_defs, names)
    with seasons:
        _seasons(t, snap, names)


def event_text(t, e: pd.Series, names: dict) -> str:
    """One celebration as a sentence in the page's language."""
    who = e["subject_name"] if isinstance(e["subject_name"], str) else e["subject_id"]
    if e["kind"] == "badge":
        return t("game.event_badge", who=who, badge=names["badge"].get(e["badge_key"],
                                                                        e["badge_key"]),
                 tier=t(f"tier.{e['tier']}"), period=e["period"])
    if e["kind"] == "level_up":
        level = int(e["level_no"])
        return t("game.event_level", who=who, level=level, name=names["level"].get(level, ""))
    passed = int(e["passed"]) if pd.notna(e["passed"]) else 1
    return t("game.event_overtake" if passed == 1 else "game.event_overtake_many", who=who,
             other=e["other_name"], more=passed - 1, passed=passed, rank=int(e["new_rank"]),
             grain=t(f"grain.{e['grain']}"), period=e["period"])


def _feed(t, snap: str, names: dict) -> None:
    st.caption(t("game.feed_help"))
    events = data.celebrations(snap)
    if events.empty:
        st.info(t("game.no_events"))
        return
    # names come from the roster file: escaped, so a name is never read as Markdown
    lines = [f"{KIND_ICON[e['kind']]} **{e['occurred_on']:%m-%d}** · "
             f"{event_text(t, _escaped(e), names)}" for _, e in events.iterrows()]
    st.markdown("\n\n".join(lines))


def _escaped(e: pd.Series) -> pd.Series:
    out = e.copy()
    for c in ("subject_name", "other_name", "subject_id"):
        if isinstance(out[c], str):
            out[c] = i18n.md(out[c])
    return out


def _xp(t, snap: str, levels: pd.DataFrame, names: dict) -> None:
    st.caption(t("game.xp_help"))
    board = data.xp_board(snap)
    if board.empty:
        st.info(t("game.no_xp"))
        return
    span = board["next_level_xp"] - board["level_min_xp"]
    progress = ((board["xp_total"] - board["level_min_xp"]) / span * 100).where(span > 0, 100)
    event = st.dataframe(pd.DataFrame({
        t("column.name"): board["name"],
        t("column.team"): board["team_name"],
        t("game.level"): [f"{n} · {names['level'].get(n, '')}" for n in board["level_no"]],
        t("game.xp"): board["xp_total"].round(0).astype("Int64"),
        t("game.to_next"): progress.round(0),
    }), hide_index=True, key="game_xp_table", on_select="rerun", selection_mode="single-cell",
        column_config={t("game.to_next"): st.column_config.ProgressColumn(
            t("game.to_next"), min_value=0, max_value=100, format="%.0f%%")})
    picked = links.selected(event, board["manager_id"].tolist())
    if picked:
        links.open_person(picked)
    people = dict(zip(board["manager_id"], board["name"], strict=True))
    who = st.selectbox(t("game.person"), list(people), format_func=people.get, key="game_person")
    history = data.xp_history(snap, who)
    if not history.empty:
        title = t("game.xp_chart", who=charts.plain(people[who]))
        st.plotly_chart(charts.xp_progress(history, levels, title, names["level"], t("game.xp")),
                        key="game_xp_chart", config={"displayModeBar": False})


def _badges(t, lang: str, snap: str, defs: pd.DataFrame, names: dict) -> None:
    counts = data.badge_counts(snap).pivot_table(index="badge_key", columns="tier", values="n",
                                                 aggfunc="sum", fill_value=0)
    counts = counts.reindex(index=defs.index, columns=list(TIERS), fill_value=0)
    st.dataframe(pd.DataFrame({
        t("game.badge"): [names["badge"][k] for k in defs.index],
        t("game.for"): [t(f"game.scope_{s}") for s in defs["scope"]],
        t("game.per"): [t(f"game.per_{p}") for p in defs["per"]],
        t("game.criteria"): defs[f"criteria_{i18n.column_suffix(lang)}"],
        **{t(f"tier.{tier}"): counts[tier].astype(int) for tier in TIERS},
    }), hide_index=True, key="game_badge_table")

    st.subheader(t("game.recent_awards"))
    held = data.awards(snap)
    st.caption(t("game.holders_help"))
    event = st.dataframe(_award_table(t, held, names), hide_index=True, key="game_awards",
                         on_select="rerun", selection_mode="single-cell")
    picked = links.selected(event, list(range(len(held))))
    if picked is not None:
        holder = held.iloc[int(picked)]
        (links.open_person if holder["scope"] == "individual" else links.open_team)(
            holder["subject_id"])
    revoked = data.awards(snap, revoked=True)
    if not revoked.empty:
        st.subheader(t("game.revoked"))
        st.caption(t("game.revoked_help"))
        table = _award_table(t, revoked, names)
        # stored in UTC; shown in the bank's time
        table[t("game.revoked_at")] = (revoked["revoked_at"].dt.tz_localize("UTC")
                                       .dt.tz_convert(LOCAL_TIMEZONE)
                                       .dt.strftime("%Y-%m-%d %H:%M"))
        table[t("column.reason")] = revoked["revoke_reason"]
        st.dataframe(table, hide_index=True, key="game_revoked")


def _award_table(t, awards: pd.DataFrame, names: dict) -> pd.DataFrame:
    def detail(evidence: str) -> str:
        doc = json.loads(evidence)
        return doc.get("detail") or ""
    return pd.DataFrame({
        t("game.badge"): [names["badge"].get(k, k) for k in awards["badge_key"]],
        t("game.tier"): [t(f"tier.{x}") for x in awards["tier"]],
        t("game.holder"): awards["subject_name"].fillna(awards["subject_id"]),
        t("filter.period"): awards["period"],
        t("game.value"): awards["value"].round(1),
        t("game.evidence"): awards["evidence"].map(lambda e: evidence_text(t, detail(e))),
        t("game.earned_on"): awards["earned_on"].dt.strftime("%Y-%m-%d"),
    })


def evidence_text(t, text: str) -> str:
    """A badge's evidence (the text its rules SQL returns) in the page's language: the shapes
    the shipped rules write, with dimension and channel keys as their labels; anything else
    as written."""
    import re

    text = text or ""
    channels = [c.strip() for c in text.split(",")]
    if text and all(c in CHANNEL_KEYS for c in channels):
        return t("game.evidence_channels", channels=t("game.list_sep").join(
            t(f"value.channel.{c}") for c in channels))
    if m := re.fullmatch(r"lowest: (\w+)", text):
        dim = m.group(1)
        return t("game.evidence_lowest", dimension=t(f"dimension.{dim}")
                 if dim in DIMENSION_KEYS else dim)
    if m := re.fullmatch(r"XP (\d+)", text):
        return t("game.evidence_xp", xp=f"{int(m.group(1)):,}")
    if m := re.fullmatch(r"(\d+) members, lowest ([\d.]+)", text):
        return t("game.evidence_members", n=m.group(1), lowest=m.group(2))
    if m := re.fullmatch(r"index ([\d.]+)", text):
        return t("game.evidence_index", score=m.group(1))
    if m := re.fullmatch(r"([\d.]+) of ([\d.]+)", text):
        return t("game.evidence_of", value=f"{float(m.group(1)):,.0f}",
                 target=f"{float(m.group(2)):,.0f}")
    if m := re.fullmatch(r"([\d.]+) -> ([\d.]+)", text):
        return f"{m.group(1)} → {m.group(2)}"
    return text


def _seasons(t, snap: str, names: dict) -> None:
    st.caption(t("game.seasons_help"))
    closed = data.seasons(snap)
    if not closed:
        st.info(t("game.no_seasons"))
        return
    season = st.selectbox(t("game.season"), closed, key="game_season")
    people, teams = data.season_standings(snap, season)
    people_table = pd.DataFrame({
        t("column.rank"): people["rank_overall"].astype("Int64"),
        t("column.name"): people["name"],
        t("column.team"): people["team_name"],
        t("column.peer_group"): [t(f"peer_group.{p}") for p in people["peer_group"]],
        t("column.index"): people["score"].round(1),
        t("game.badges"): people["badges"],
        t("game.level"): [f"{n} · {names['level'].get(n, '')}" for n in people["level_no"]],
    })
    team_table = pd.DataFrame({
        t("column.rank"): teams["rank"].astype("Int64"),
        t("column.team"): teams["team_name"],
        t("column.branch"): teams["branch"],
        t("column.index"): teams["score"].round(1),
        t("game.badges"): teams["badges"],
    })
    st.subheader(t("game.season_teams"))
    st.dataframe(table(team_table, {t("column.index"): 1}), hide_index=True,
                 key="game_season_teams")
    st.subheader(t("game.season_people"))
    st.dataframe(table(people_table, {t("column.index"): 1}), hide_index=True,
                 key="game_season_people")
    c1, c2 = st.columns(2)
    c1.download_button(t("game.download_people"), _csv(people_table),
                       file_name=f"season_{season}_individuals.csv", mime="text/csv",
                       key="game_dl_people")
    c2.download_button(t("game.download_teams"), _csv(team_table),
                       file_name=f"season_{season}_teams.csv", mime="text/csv",
                       key="game_dl_teams")


def _csv(table: pd.DataFrame) -> bytes:
    """UTF-8 with a BOM (Excel reads the Chinese right), text never read as a formula."""
    safe = table.apply(lambda col: col.map(lambda v: safe_text(v) if isinstance(v, str) else v))
    buf = io.StringIO()
    safe.to_csv(buf, index=False)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
