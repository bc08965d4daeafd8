"""The wall screen's content as pure functions: wall-safe panels from the snapshot's frames, and
the HTML a TV shows (no Streamlit here)."""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import pandas as pd

from dashboard.charts import DIMENSION_COLOURS
from pipelines.contract import DIMENSIONS

PANELS = ("teams", "top", "champions", "heatmap", "feed")
TOP_DEFAULT, TOP_MAX = 10, 20
FEED_SIZE = 7         # what fits the feed panel in large type
TEAM_ROWS = 12        # team standings shown (a bank may have hundreds of teams)
CHAMPION_NAMES = 3    # tied champions named on one card; more are counted
HEAT_ROWS = 12
TEAM_MIN_SCORED = 3   # a team score from fewer people would show someone's own score
SCOPES = ("bank", "branch", "team")


@dataclass
class Frames:
    """What the wall reads from one snapshot, for one grain: the current and previous period."""
    period: str
    roster: pd.DataFrame              # manager_id, name, team_id, team_name, branch, public
    index_now: pd.DataFrame           # manager_id, score, status, eligible
    index_prev: pd.DataFrame          # manager_id, score, status, eligible
    dims_now: pd.DataFrame            # manager_id, dimension, score, status
    team_now: pd.DataFrame            # team_id, dimension ('index' too), score
    team_prev: pd.DataFrame           # team_id, score (index)
    events: pd.DataFrame              # celebration rows, newest first
    badge_names: dict[str, str] = field(default_factory=dict)
    level_names: dict[int, str] = field(default_factory=dict)


@dataclass
class Wall:
    """A wall-safe board: only the top of it, only people who agreed to be shown."""
    period: str
    scope_label: str
    teams: list[dict]
    top: list[dict]
    champions: list[dict]
    heatmap: list[dict]
    events: list[dict]
    top_n: int = 0          # the places the top list covers (someone in them may be hidden)
    unknown: str | None = None   # the URL names a branch or team the roster does not have


def scope_of(frames: Frames, scope: str, scope_id: str | None) -> tuple[set[str], set[str], str]:
    """People and teams a wall shows, and its label. A team's wall ranks the team among the
    teams of its branch, and its own people among themselves."""
    roster = frames.roster
    if scope == "branch":
        people = roster[roster["branch"] == scope_id]
        return set(people["manager_id"]), set(people["team_id"]), str(scope_id)
    if scope == "team":
        people = roster[roster["team_id"] == scope_id]
        if people.empty:
            return set(), set(), str(scope_id)
        branch = people["branch"].iloc[0]
        teams = set(roster.loc[roster["branch"] == branch, "team_id"])
        return set(people["manager_id"]), teams, str(people["team_name"].iloc[0])
    return set(roster["manager_id"]), set(roster["team_id"]), ""


def _ranked(index: pd.DataFrame, people: set[str]) -> pd.DataFrame:
    """Eligible people with an index, ranked within the wall's scope (1 = best)."""
    df = _rank_by_score(index[index["manager_id"].isin(people) & index["eligible"].astype(bool)
                              & (index["status"] == "ok")])
    return df.sort_values(["rank", "manager_id"])


def build(frames: Frames, scope: str = "bank", scope_id: str | None = None,
          top: int = TOP_DEFAULT) -> Wall:
    people, teams, label = scope_of(frames, scope, scope_id)
    if scope != "bank" and not people:
        return Wall(frames.period, label, [], [], [], [], [], unknown=f"{scope}={scope_id}")
    roster = frames.roster.set_index("manager_id")
    public = set(roster.index[roster["public_display"].astype(bool)])

    # ranked among the people the wall may show: ranks that skip someone (7, 9; a team wall
    # starting at 2) would tell the room who opted out
    shown = people & public
    now, prev = _ranked(frames.index_now, shown), _ranked(frames.index_prev, shown)
    prev_rank = dict(zip(prev["manager_id"], prev["rank"], strict=True))
    # never the bottom of the board: at most the top half of everyone ranked here
    cutoff = min(max(1, min(top, TOP_MAX)), len(now) // 2)
    top_rows = []
    for _, r in now[now["rank"] <= cutoff].iterrows():
        before = prev_rank.get(r["manager_id"])
        top_rows.append({"rank": int(r["rank"]), "name": roster.at[r["manager_id"], "name"],
                         "team": roster.at[r["manager_id"], "team_name"],
                         "score": float(r["score"]),
                         "movement": None if before is None else int(before - r["rank"])})

    team_names = frames.roster.drop_duplicates("team_id").set_index("team_id")["team_name"]
    # teams whose score is not one or two people's in disguise
    index = frames.team_now[frames.team_now["dimension"] == "index"]
    teams = teams & set(index.loc[index["members_scored"] >= TEAM_MIN_SCORED, "team_id"])
    index_now = _rank_by_score(index[index["team_id"].isin(teams)])
    index_prev = _rank_by_score(frames.team_prev[frames.team_prev["team_id"].isin(teams)
                                                 & (frames.team_prev["members_scored"]
                                                    >= TEAM_MIN_SCORED)])
    team_prev_rank = dict(zip(index_prev["team_id"], index_prev["rank"], strict=True))
    own = scope_id if scope == "team" else None
    ranked_teams = index_now.sort_values(["rank", "team_id"])["team_id"].tolist()
    rank_of = dict(zip(index_now["team_id"], index_now["rank"], strict=True))
    score_of = dict(zip(index_now["team_id"], index_now["score"], strict=True))
    team_rows = [{"rank": int(rank_of[tid]), "name": team_names.get(tid, tid),
                  "score": float(score_of[tid]), "own": tid == own,
                  "movement": (None if tid not in team_prev_rank
                               else int(team_prev_rank[tid] - rank_of[tid]))}
                 for tid in _keep_own(ranked_teams, own, TEAM_ROWS)]

    eligible = set(now["manager_id"]) & public
    listed = set(now.loc[now["rank"] <= cutoff, "manager_id"]) & public
    dims = frames.dims_now[frames.dims_now["manager_id"].isin(eligible)
                           & (frames.dims_now["status"] == "ok")
                           & frames.dims_now["score"].notna()]
    champions = []
    for dim in DIMENSIONS:
        scored = dims[dims["dimension"] == dim]
        if scored.empty:
            continue
        # a tie is a tie: everyone with the best score is its champion (not the first by
        # id). Named are those on this wall's top list; the others are counted, not named
        # (the wall never reaches the bottom half of the board)
        top = round(float(scored["score"].max()), 6)
        best = scored[scored["score"].round(6) == top].sort_values("manager_id")
        named = [m for m in best["manager_id"] if m in listed]
        teams_of = list(dict.fromkeys(roster.at[m, "team_name"] for m in named))
        champions.append({"dimension": dim, "names": [roster.at[m, "name"] for m in named],
                          "others": len(best) - len(named),
                          "team": "、".join(teams_of[:CHAMPION_NAMES]),
                          "score": float(best["score"].iloc[0])})

    heat = frames.team_now[frames.team_now["team_id"].isin(teams)
                           & frames.team_now["dimension"].isin(DIMENSIONS)]
    grid = heat.pivot_table(index="team_id", columns="dimension", values="score")
    order = ranked_teams + sorted(set(grid.index) - set(ranked_teams))
    heatmap = [{"name": team_names.get(team_id, team_id),
                "scores": {d: (None if team_id not in grid.index or d not in grid.columns
                               or pd.isna(grid.at[team_id, d]) else float(grid.at[team_id, d]))
                           for d in DIMENSIONS}}
               for team_id in _keep_own(order, own, HEAT_ROWS)]

    on_top = set(now.loc[now["rank"] <= cutoff, "manager_id"]) & public
    return Wall(frames.period, label, team_rows, top_rows, champions, heatmap,
                wall_events(frames, people, teams, public, on_top, bank_rank=scope != "bank"),
                top_n=cutoff)


def _rank_by_score(df: pd.DataFrame) -> pd.DataFrame:
    """Rows with a score, ranked 1 = best (ties share the better rank)."""
    df = df[df["score"].notna()].copy()
    df["rank"] = df["score"].rank(method="min", ascending=False).astype(int)
    return df


def _keep_own(team_ids: list[str], own: str | None, limit: int) -> list[str]:
    """The first `limit` teams; a team's own wall always shows its own, in place of the last."""
    if own in team_ids[limit:]:
        return [*team_ids[:limit - 1], own]
    return team_ids[:limit]


def wall_events(frames: Frames, people: set[str], teams: set[str], public: set[str],
                on_top: set[str], bank_rank: bool = False) -> list[dict]:
    """Celebrations about this wall's people and teams, leaving out anyone who opted out. A
    badge or a level is news about anyone shown; an overtake tells ranks, so both people must
    be on this wall's top list."""
    roster = frames.roster.set_index("manager_id")
    team_names = frames.roster.drop_duplicates("team_id").set_index("team_id")["team_name"]
    out = []
    for _, e in frames.events.iterrows():
        if e["scope"] == "team":
            if e["subject_id"] not in teams:
                continue
            who = team_names.get(e["subject_id"], e["subject_id"])
        else:
            if e["subject_id"] not in people or e["subject_id"] not in public:
                continue
            if isinstance(e["other_id"], str) and e["other_id"] not in public:
                continue
            if e["kind"] == "overtake" and not {e["subject_id"], e["other_id"]} <= on_top:
                continue
            who = roster.at[e["subject_id"], "name"]
        other = roster.at[e["other_id"], "name"] if isinstance(e["other_id"], str) else None
        out.append({"kind": e["kind"], "who": who, "other": other,
                    "badge": frames.badge_names.get(e["badge_key"], e["badge_key"]),
                    "tier": e["tier"], "level": None if pd.isna(e["level_no"])
                    else int(e["level_no"]),
                    "level_name": frames.level_names.get(
                        None if pd.isna(e["level_no"]) else int(e["level_no"]), ""),
                    "rank": None if pd.isna(e["new_rank"]) else int(e["new_rank"]),
                    "grain": e["grain"], "period": e["period"],
                    "passed": 1 if pd.isna(e["passed"]) else int(e["passed"]),
                    # on a branch or team wall an overtake's rank is still the bank's
                    "bank_rank": bank_rank,
                    "recorded_at": e["recorded_at"], "occurred_on": e["occurred_on"]})
        if len(out) == FEED_SIZE:
            break
    return out


# --- HTML -------------------------------------------------------------------------------------

def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def movement_html(movement: int | None, t) -> str:
    if movement is None:
        return f'<span class="mv new">{_e(t("wall.new"))}</span>'
    if movement > 0:
        return f'<span class="mv up">▲{movement}</span>'
    if movement < 0:
        return f'<span class="mv down">▼{-movement}</span>'
    return '<span class="mv same">＝</span>'


def event_text(e: dict, t) -> str:
    if e["kind"] == "badge":
        return t("wall.event_badge", who=e["who"], badge=e["badge"], tier=t(f"tier.{e['tier']}"))
    if e["kind"] == "level_up":
        return t("wall.event_level", who=e["who"], level=e["level"], name=e["level_name"])
    key = "wall.event_overtake" if e["passed"] == 1 else "wall.event_overtake_many"
    return t(key + ("_bank" if e.get("bank_rank") else ""), who=e["who"], other=e["other"],
             passed=e["passed"], rank=e["rank"])


def _bar(score: float, colour: str) -> str:
    width = max(0.0, min(100.0, score))
    return (f'<div class="bar"><div class="fill" style="width:{width:.1f}%;'
            f'background:{colour}"></div></div>')


def _ranked_rows(rows: list[dict], colour: str, t, with_team: bool) -> str:
    """Rank, movement, name (and team), a bar and the score: one line per team or person."""
    return "".join(
        f'<div class="row{" own" if r.get("own") else ""}"><span class="rank">{r["rank"]}</span>'
        f'{movement_html(r["movement"], t)}<span class="name">{_e(r["name"])}</span>'
        + (f'<span class="team">{_e(r["team"])}</span>' if with_team else "")
        + f'{_bar(r["score"], colour)}<span class="score">{r["score"]:.1f}</span></div>'
        for r in rows)


def teams_panel(wall: Wall, t) -> str:
    rows = _ranked_rows(wall.teams, "#5B9BD5", t, with_team=False)
    return (f'<h2>{_e(t("wall.panel_teams"))}</h2>'
            f'<div class="rows"{_sized(len(wall.teams))}>{rows or _empty(t)}</div>')


def _sized(n: int) -> str:
    """The rows share the panel's height: twenty fit the screen, three do not leave two
    thirds of it empty (`--n` sizes each row in the wall's CSS)."""
    return f' style="--n:{max(n, 1)}"'


def top_panel(wall: Wall, t) -> str:
    rows = _ranked_rows(wall.top, "#59A14F", t, with_team=True)
    return (f'<h2>{_e(t("wall.panel_top", n=wall.top_n))}</h2>'
            f'<div class="rows"{_sized(len(wall.top))}>{rows or _empty(t)}</div>')


def _champion(c: dict, t) -> str:
    colour, label = DIMENSION_COLOURS[c["dimension"]], t("dimension." + c["dimension"])
    names, others = c["names"], c["others"] + max(0, len(c["names"]) - CHAMPION_NAMES)
    if names:
        who = "、".join(names[:CHAMPION_NAMES]) + (f" ＋{others}" if others else "")
    else:
        who = t("wall.champion_others", n=others)
    return (f'<div class="card" style="border-color:{colour}">'
            f'<div class="dim" style="color:{colour}">{_e(label)}</div>'
            f'<div class="who">{_e(who)}</div><div class="team">{_e(c["team"])}</div>'
            f'<div class="big">{c["score"]:.0f}</div></div>')


def champions_panel(wall: Wall, t) -> str:
    cards = "".join(_champion(c, t) for c in wall.champions)
    return (f'<h2>{_e(t("wall.panel_champions"))}</h2>'
            f'<div class="cards">{cards or _empty(t)}</div>')


def heat_colour(score: float | None) -> str:
    """Dark red (0) through amber (50) to green (100): readable with white text on a TV."""
    if score is None:
        return "#1c2230"
    stops = [(0, (110, 28, 40)), (50, (150, 110, 20)), (100, (25, 130, 70))]
    s = max(0.0, min(100.0, score))
    (a, ca), (b, cb) = (stops[0], stops[1]) if s <= 50 else (stops[1], stops[2])
    f = (s - a) / (b - a)
    r, g, bl = (round(x + (y - x) * f) for x, y in zip(ca, cb, strict=True))
    return f"#{r:02x}{g:02x}{bl:02x}"


def _cell(score: float | None) -> str:
    text = "–" if score is None else f"{score:.0f}"
    return f'<td style="background:{heat_colour(score)}">{text}</td>'


def heatmap_panel(wall: Wall, t) -> str:
    head = "".join(f'<th style="color:{DIMENSION_COLOURS[d]}">{_e(t("dimension." + d))}</th>'
                   for d in DIMENSIONS)
    body = "".join(f'<tr><th class="team">{_e(r["name"])}</th>'
                   + "".join(_cell(r["scores"][d]) for d in DIMENSIONS) + "</tr>"
                   for r in wall.heatmap)
    return (f'<h2>{_e(t("wall.panel_heatmap"))}</h2>'
            f'<table class="heat"><thead><tr><th class="team"></th>{head}</tr></thead>'
            f'<tbody>{body}</tbody></table>' if body else
            f'<h2>{_e(t("wall.panel_heatmap"))}</h2>{_empty(t)}')


def feed_panel(wall: Wall, t) -> str:
    items = "".join(f'<div class="event {e["kind"]}"><span class="when">'
                    f'{e["occurred_on"]:%m-%d}</span>{_e(event_text(e, t))}</div>'
                    for e in wall.events)
    return (f'<h2>{_e(t("wall.panel_feed"))}</h2>'
            f'<div class="events">{items or _empty(t)}</div>')


def _empty(t) -> str:
    return f'<div class="empty">{_e(t("wall.empty"))}</div>'


PANEL_HTML = {"teams": teams_panel, "top": top_panel, "champions": champions_panel,
              "heatmap": heatmap_panel, "feed": feed_panel}


def _panel(wall: Wall, panel: str, t) -> str:
    if wall.unknown:
        return f'<h2>{_e(t("wall.unknown", scope=wall.unknown))}</h2>'
    return PANEL_HTML[panel](wall, t)


def page_html(wall: Wall, panel: str, t, *, title: str, clock: str, ticker_offset: float,
              celebrate: dict | None = None, stale_since: str | None = None,
              snapshot: str = "") -> str:
    """The whole screen. The ticker's animation starts where the last refresh left it, so a
    refresh does not make it jump back. `snapshot`: the name of the snapshot file shown (its
    time stamp; for `make bench-live` to tell when a publish reached the screen)."""
    ticker = " ・ ".join(_e(event_text(e, t)) for e in wall.events) or _e(t("wall.no_events"))
    party = ""
    if celebrate:
        party = (f'<div class="celebrate"><div class="burst">★</div>'
                 f'<div class="msg">{_e(event_text(celebrate, t))}</div></div>')
    stale = (f'<span class="stale">{_e(t("wall.stale", since=stale_since))}</span>'
             if stale_since else "")
    scope = f" ・ {_e(wall.scope_label)}" if wall.scope_label else ""
    return (f'<div class="wall" data-panel="{_e(panel)}" data-snapshot="{_e(snapshot)}">'
            f'<div class="head"><span class="title">{_e(title)}{scope}</span>'
            f'<span class="period">{_e(wall.period)}</span>{stale}'
            f'<span class="dots">{dots(panel)}</span>'
            f'<span class="clock">{_e(clock)}</span></div>'
            f'<div class="panel {panel}">{_panel(wall, panel, t)}</div>'
            f'<div class="ticker"><div class="track" style="animation-delay:'
            f'-{ticker_offset:.1f}s">{ticker}</div></div>{party}</div>')


def dots(current: str) -> str:
    return "".join(f'<span class="dot{" on" if p == current else ""}"></span>' for p in PANELS)


TICKER_SECONDS = 60   # one pass of the ticker across the screen


def ticker_offset(now_seconds: float) -> float:
    return math.fmod(now_seconds, TICKER_SECONDS)
