"""Wall screen: the office TV board, full screen and dark, rotating through wall-safe panels and
refreshing itself; nobody touches it."""
from __future__ import annotations

import os
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import duckdb
import streamlit as st

from dashboard import data, i18n, wall
from pipelines.contract import GRAINS, LOCAL_TIMEZONE

REFRESH_SECONDS = 15      # how old the data on the screen may get
POINTER_CHECK_SECONDS = 1.0   # how often the screen looks for a newly published snapshot
ROTATE_DEFAULT = 30       # seconds per panel; a multiple of the refresh
ENV_REFRESH = "AWARENESS_WALL_REFRESH"   # tests only: a faster refresh

# Everything Streamlit draws around the app goes; the stale-dimming of a rerunning fragment is
# turned off (on a TV it reads as a flicker every refresh).
CSS = """<style>
html, body, [data-testid="stApp"], [data-testid="stAppViewContainer"], [data-testid="stMain"] {
  background: #0b0f17 !important; overflow: hidden !important; }
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
[data-testid="stStatusWidget"], [data-testid="stSidebar"], #MainMenu, footer,
[data-testid="stSidebarCollapsedControl"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: 0 !important; max-width: none !important; }
[data-stale="true"] { opacity: 1 !important; transition: none !important; }
.wall { position: fixed; inset: 0; background: #0b0f17; color: #f2f4f8; overflow: hidden;
  font-family: "Noto Sans CJK TC", "Noto Sans CJK SC", "Noto Sans TC", "Microsoft JhengHei",
  "PingFang TC", sans-serif; display: flex; flex-direction: column; z-index: 1000; }
.wall .head { display: flex; align-items: baseline; gap: 2vw; padding: 2.2vh 3vw 1vh 3vw;
  border-bottom: 0.3vh solid #263043; }
.wall .title { font-size: 4.2vh; font-weight: 700; letter-spacing: 0.05em; }
.wall .period { font-size: 3.2vh; color: #9fb3d1; }
.wall .stale { font-size: 2.2vh; color: #f2c14e; }
.wall .dots { margin-left: auto; display: flex; gap: 0.8vw; }
.wall .dot { width: 1.2vh; height: 1.2vh; border-radius: 50%; background: #33405a; }
.wall .dot.on { background: #f2f4f8; }
.wall .clock { font-size: 3.2vh; color: #9fb3d1; font-variant-numeric: tabular-nums; }
.wall .panel { flex: 1; padding: 2vh 3vw; overflow: hidden; }
.wall h2 { font-size: 4.6vh; margin: 0 0 2vh 0; color: #ffffff; font-weight: 700; }
.wall .rows { --n: 10; --slot: min(12vh, calc(70vh / var(--n)));
  display: flex; flex-direction: column; gap: calc(var(--slot) * 0.16); }
.wall .row { display: flex; align-items: center; gap: 1.4vw; height: calc(var(--slot) * 0.84);
  font-size: calc(var(--slot) * 0.54); padding: 0 1vw; background: #141b29;
  border-radius: 0.8vh; }
.wall .row.own { outline: 0.4vh solid #f2c14e; }
.wall .rank { width: 3.5vw; text-align: right; font-weight: 700; font-size: 1.1em; }
.wall .mv { width: 5vw; font-size: 0.84em; font-weight: 700; }
.wall .mv.up { color: #4cd07d; } .wall .mv.down { color: #ff6b6b; }
.wall .mv.same { color: #9fb3d1; } .wall .mv.new { color: #f2c14e; font-size: 0.66em; }
.wall .name { width: 16vw; font-weight: 700; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.wall .team { width: 14vw; color: #9fb3d1; font-size: min(0.78em, 2.8vh); white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
.wall .bar { flex: 1; height: 0.6em; background: #222b3d; border-radius: 0.3em; }
.wall .fill { height: 100%; border-radius: 0.3em; }
.wall .score { width: 7vw; text-align: right; font-weight: 700;
  font-variant-numeric: tabular-nums; }
.wall .cards { display: grid; grid-template-columns: repeat(5, 1fr); gap: 2vh 1.6vw; }
.wall .card { border: 0.5vh solid; border-radius: 1.4vh; padding: 1.6vh 1vw; background: #141b29;
  height: 32vh; box-sizing: border-box; display: flex; flex-direction: column; }
.wall .card > div { flex-shrink: 0; }
.wall .card .dim { font-size: 3.2vh; font-weight: 700; }
.wall .card .who { font-size: 4.2vh; font-weight: 700; margin-top: 1.2vh; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
.wall .card .team { width: auto; }
.wall .card .big { font-size: 6.5vh; font-weight: 800; margin-top: auto; line-height: 1.1; }
.wall table.heat { border-collapse: separate; border-spacing: 0.4vh; width: 100%;
  table-layout: fixed; font-size: 3vh; }
.wall table.heat th { font-size: 2.5vh; font-weight: 700; padding: 0.6vh 0; }
.wall table.heat th.team { text-align: left; width: 14vw; font-size: 3vh; color: #f2f4f8;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.wall table.heat td { text-align: center; height: 5.4vh; font-weight: 700; border-radius: 0.6vh; }
.wall .events { display: flex; flex-direction: column; gap: 1.4vh; }
.wall .event { font-size: 3.6vh; background: #141b29; border-radius: 0.8vh; padding: 1.2vh 1.4vw;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.wall .event .when { color: #9fb3d1; margin-right: 1.4vw; font-variant-numeric: tabular-nums; }
.wall .event.badge { border-left: 0.8vh solid #f2c14e; }
.wall .event.level_up { border-left: 0.8vh solid #4cd07d; }
.wall .event.overtake { border-left: 0.8vh solid #5B9BD5; }
.wall .empty { font-size: 3.6vh; color: #9fb3d1; }
.wall .ticker { height: 7vh; background: #141b29; border-top: 0.3vh solid #263043;
  overflow: hidden; white-space: nowrap; display: flex; align-items: center; }
.wall .ticker .track { display: inline-block; padding-left: 100%; font-size: 3.4vh;
  animation: wall-ticker 60s linear infinite; }
@keyframes wall-ticker { from { transform: translateX(0); } to { transform: translateX(-100%); } }
.wall .celebrate { position: absolute; inset: 0; display: flex; flex-direction: column;
  align-items: center; justify-content: center; background: rgba(11, 15, 23, 0.86);
  animation: wall-party 7s ease-out forwards; pointer-events: none; }
.wall .celebrate .burst { font-size: 22vh; color: #f2c14e; animation: wall-burst 1.2s ease-out 3; }
.wall .celebrate .msg { font-size: 6vh; font-weight: 800; max-width: 86vw; text-align: center; }
@keyframes wall-party { 0%, 80% { opacity: 1; } 100% { opacity: 0; visibility: hidden; } }
@keyframes wall-burst { 0% { transform: scale(0.4); } 60% { transform: scale(1.15); }
  100% { transform: scale(1); } }
</style>"""


def _params(lang: str) -> dict:
    """The wall's settings from its URL, each clamped to what is wall-safe."""
    q = st.query_params
    scope = q.get("wall", "bank")
    scope = scope if scope in wall.SCOPES else "bank"

    def number(name: str, default: int, low: int, high: int) -> int:
        try:
            return max(low, min(high, int(q.get(name, default))))
        except ValueError:
            return default
    refresh = int(os.environ.get(ENV_REFRESH) or REFRESH_SECONDS)
    rotate = number("rotate", ROTATE_DEFAULT, refresh, 600)
    grain = q.get("grain", "month")
    panel = q.get("panel")
    return {"scope": scope, "id": q.get("id"), "lang": lang,
            "top": number("top", wall.TOP_DEFAULT, 1, wall.TOP_MAX), "refresh": refresh,
            "rotate": rotate - rotate % refresh, "grain": grain if grain in GRAINS else "month",
            "panel": panel if panel in wall.PANELS else None}


def render(lang: str) -> None:
    p = _params(lang)
    st.html(CSS)
    st.session_state["wall_snap"] = _published()
    board = st.fragment(run_every=p["refresh"])(_board)
    board(p)
    # a new snapshot shows within a second of its publish, not at the next refresh: a cheap
    # look at the pointer, which reruns the board only when it names another snapshot
    st.fragment(run_every=POINTER_CHECK_SECONDS)(_notice_publish)()


def _published() -> str | None:
    try:
        return data.snapshot()
    except OSError:
        return None


def _notice_publish() -> None:
    if _published() != st.session_state.get("wall_snap"):
        st.rerun()


def _board(p: dict) -> None:
    t = i18n.translator(p["lang"])
    now = time.time()
    snap = None
    try:
        snap = data.snapshot()
        board = (data.wall_board(snap, p["grain"], p["lang"], p["scope"], p["id"], p["top"])
                 if snap else None)
        stale_since = None
        if board is not None:
            st.session_state["wall_last"] = (board, now)
    except (duckdb.Error, OSError):
        # a failed refresh (snapshot being replaced, disk trouble): the last good board stays
        last = st.session_state.get("wall_last")
        board = last[0] if last else None
        stale_since = _clock(last[1], "%H:%M") if last else None
    if board is None:
        st.html(f'<div class="wall"><div class="panel"><h2>{t("wall.waiting")}</h2></div></div>')
        return
    panel = p["panel"] or wall.PANELS[int(now // p["rotate"]) % len(wall.PANELS)]
    st.html(wall.page_html(board, panel, t, title=t("wall.title"), clock=_clock(now, "%H:%M"),
                           ticker_offset=wall.ticker_offset(now),
                           celebrate=_new_event(board), stale_since=stale_since,
                           snapshot=os.path.basename(snap) if snap else ""))


def _new_event(board: wall.Wall) -> dict | None:
    """The newest celebration recorded since this screen last looked: shown once, big."""
    if not board.events:
        return None
    newest = max(board.events, key=lambda e: e["recorded_at"])
    seen = st.session_state.get("wall_seen")
    st.session_state["wall_seen"] = newest["recorded_at"]
    return newest if seen is not None and newest["recorded_at"] > seen else None


def _clock(epoch: float, fmt: str) -> str:
    return datetime.fromtimestamp(epoch, ZoneInfo(LOCAL_TIMEZONE)).strftime(fmt)
