"""The desk's rules as pure functions: the focus a lead is told to work on, the gap in the feed's
own units, badge progress, the meeting workbook, the coaching file an admin edits, and the
charts' promises (gaps stay gaps, a chart stays readable with hundreds of teams)."""
from __future__ import annotations

import io
import math
import os
import time
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest

from dashboard import charts, desk
from pipelines.coaching import CoachingError, load_coaching
from pipelines.contract import DIMENSIONS
from pipelines.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent
EQUAL = dict.fromkeys(DIMENSIONS, 1.0)


def _dims(**values: float | None) -> dict[str, float | None]:
    return {d: values.get(d) for d in DIMENSIONS}


# --- the focus ------------------------------------------------------------------------------

def test_focus_is_where_reaching_the_peer_median_lifts_the_index_most_with_the_rule_weights():
    scores = _dims(market=40, risk=60, learning=90)
    p50 = _dims(market=50, risk=75, learning=80)
    # equal weights: risk is 15 under the median, market 10: risk lifts the index most
    focus = desk.pick_focus(scores, p50, p50, EQUAL)
    assert focus.dimension == "risk" and focus.against == "p50"
    assert focus.gain == pytest.approx(15 / 3)      # one third of the index's weight
    assert focus.benchmark == 75 and focus.score == 60
    # market weighing three times as much: 3/5 x 10 = 6 beats 1/5 x 15 = 3
    heavy = {**EQUAL, "market": 3.0}
    focus = desk.pick_focus(scores, p50, p50, heavy)
    assert focus.dimension == "market" and focus.gain == pytest.approx(6.0)


def test_a_person_at_the_median_everywhere_is_pointed_at_the_top_quarter_then_a_full_score():
    scores = _dims(market=60, risk=70)
    p50 = _dims(market=50, risk=70)
    p75 = _dims(market=65, risk=90)
    focus = desk.pick_focus(scores, p50, p75, EQUAL)
    assert (focus.dimension, focus.against, focus.benchmark) == ("risk", "p75", 90)
    top = desk.pick_focus(_dims(market=95, risk=99), p50, p75, EQUAL)
    assert (top.dimension, top.against) == ("market", "max")
    assert desk.pick_focus(_dims(market=100), p50, p75, EQUAL) is None
    assert desk.pick_focus(_dims(), p50, p75, EQUAL) is None


def test_dimensions_without_data_neither_get_the_focus_nor_dilute_the_gain():
    scores = _dims(market=40, risk=None)
    p50 = _dims(market=50, risk=90)
    focus = desk.pick_focus(scores, p50, p50, EQUAL)
    # only market has data: it carries the whole index, so closing 10 points lifts it by 10
    assert focus.dimension == "market" and focus.gain == pytest.approx(10.0)
    assert desk.strengths(_dims(market=40, risk=None, learning=70, goals=70)) == \
        ["goals", "learning"]          # ties in the fixed dimension order


def test_the_driving_metric_is_the_costliest_shortfall_not_the_lowest_score():
    metrics = pd.DataFrame({"metric_key": ["a", "b", "c"], "score": [20.0, 50.0, 90.0],
                            "status": ["ok", "ok", "insufficient_data"],
                            "weight": [1.0, 4.0, 1.0]})
    # a: 1/5 x (25-20) = 1; b: 4/5 x (70-50) = 16; c has too little data
    assert desk.driving_metric(metrics, {"a": 25.0, "b": 70.0, "c": 100.0}) == "b"
    # nobody behind the median: the weakest scored metric
    assert desk.driving_metric(metrics, {"a": 10.0, "b": 10.0}) == "a"
    assert desk.driving_metric(metrics.assign(status="insufficient_data"), {}) is None


# --- the gap in the feed's units ----------------------------------------------------------

LINEAR_COUNT = {"kind": "count", "method": "linear", "zero_at": 0.0, "full_at": 20.0}


def test_the_value_needed_is_read_off_the_rule_or_the_peer_median():
    assert desk.needed_value(LINEAR_COUNT, 60.0, None) == pytest.approx(12.0)
    falling = {**LINEAR_COUNT, "zero_at": 0.3, "full_at": 0.0}      # lower is better
    assert desk.needed_value(falling, 50.0, None) == pytest.approx(0.15)
    assert desk.needed_value({"kind": "rate", "method": "percentile"}, 50, 7.5) == 7.5
    assert desk.needed_value({"kind": "rate", "method": "percentile"}, 50, None) is None


@pytest.mark.parametrize(("rule", "value", "amount", "needed", "key", "values"), [
    (LINEAR_COUNT, 9.0, 9.0, 12.0, "desk.gap_count", {"now": "9.0", "target": "12", "more": "3"}),
    # a share: 5 of 10 contacts logged on time, 80% needed: 3 more of the 10
    ({"kind": "ratio", "method": "linear", "zero_at": 0.0, "full_at": 1.0}, 0.5, 10.0, 0.8,
     "desk.gap_ratio_more", {"now": "50%", "target": "80%", "den": "10", "more": "3"}),
    # overdue share, lower is better: 30% of 20 loans, 10% needed: 4 fewer
    ({"kind": "ratio", "method": "linear", "zero_at": 0.5, "full_at": 0.0}, 0.3, 20.0, 0.1,
     "desk.gap_ratio_fewer", {"now": "30%", "target": "10%", "den": "20", "more": "4"}),
    ({"kind": "rate", "method": "percentile"}, 2.0, 8.0, 5.25, "desk.gap_rate",
     {"now": "2.0", "target": "5.2", "more": "3.2"}),
    ({"kind": "attainment", "method": "linear", "zero_at": 0.0, "full_at": 1.0}, 0.62, 1.0,
     0.9, "desk.gap_attainment", {"now": "62%", "target": "90%", "diff": "28"}),
    # channel spread as a share of the most even use of 8 channels: 8 ** 0.5 = 2.8 -> 3
    ({"kind": "entropy", "method": "linear", "zero_at": 0.0, "full_at": 1.0,
      "n_categories": 8}, 0.2, 12.0, 0.5, "desk.gap_entropy",
     {"now": "0.20", "target": "0.50", "k": "3", "n": "8"}),
    ({"kind": "count", "method": "linear", "zero_at": 2.0, "full_at": 0.0}, 1.0, 1.0, 0.0,
     "desk.gap_none", {"now": "1"}),
    (LINEAR_COUNT, 14.0, 14.0, 12.0, "desk.gap_reached", {}),
])
def test_the_gap_says_what_closing_it_means_in_the_metric_s_own_units(
        rule, value, amount, needed, key, values):
    assert desk.gap(rule, value, amount, needed) == (key, values)


def test_no_gap_is_invented_without_a_value_or_a_target():
    assert desk.gap(LINEAR_COUNT, None, 3, 12.0) is None
    assert desk.gap(LINEAR_COUNT, 3.0, 3, float("nan")) is None
    assert desk.gap({"kind": "entropy", "method": "linear", "zero_at": 0, "full_at": 1,
                     "n_categories": 1}, 0.1, 3, 0.5) is None


def test_a_rating_average_is_not_shown_as_a_percentage():
    rating = {"kind": "ratio", "method": "linear", "zero_at": 3.0, "full_at": 5.0}
    assert not desk.is_share(rating)
    assert desk.gap(rating, 3.6, 12, 4.2) == ("desk.gap_mean",
                                              {"now": "3.6", "target": "4.2", "diff": "0.6"})
    assert desk.is_share({"kind": "ratio", "method": "percentile"})


# --- badge progress -------------------------------------------------------------------------

def _defs() -> pd.DataFrame:
    return pd.DataFrame({
        "badge_key": ["weekly", "milestone", "team_thing"],
        "scope": ["individual", "individual", "team"],
        "per": ["week", "once", "week"],
        "tiers": ['{"bronze": 2, "silver": 4, "gold": 6}', '{"bronze": 10, "gold": 50}',
                  '{"bronze": 1}'],
    }).set_index("badge_key")


def test_progress_is_toward_the_next_tier_above_the_best_held_for_that_period():
    progress = pd.DataFrame({"badge_key": ["weekly", "milestone"], "period": ["2026-W44", ""],
                             "value": [3.0, 12.0], "finished": [False, True]})
    held = pd.DataFrame({"badge_key": ["weekly", "weekly", "milestone"],
                         "period": ["2026-W43", "2026-W44", ""],
                         "tier": ["gold", "bronze", "bronze"]})
    out = desk.badge_progress(_defs(), progress, held)
    # gold last week does not count this week; a once badge counts whatever the period
    assert [(p.badge_key, p.tier, p.value, p.needs) for p in out] == [
        ("weekly", "silver", 3.0, 4.0), ("milestone", "gold", 12.0, 50.0)]
    assert out[0].finished is False
    held_gold = pd.concat([held, pd.DataFrame({"badge_key": ["milestone"], "period": ["x"],
                                               "tier": ["gold"]})])
    assert [p.badge_key for p in desk.badge_progress(_defs(), progress, held_gold)] == ["weekly"]
    assert desk.badge_progress(_defs(), progress.iloc[0:0], held) == []


# --- the meeting workbook -------------------------------------------------------------------

def test_the_workbook_keeps_numbers_as_numbers_and_never_runs_a_name_as_a_formula():
    sheets = {"Profile: 王/大明 [RM001] and a very long title": pd.DataFrame({
        "name": ["=HYPERLINK(\"http://x\",\"y\")", "+1", "王大明"],
        "score": [81.5, float("nan"), 7], "when": pd.to_datetime(["2026-11-02", None,
                                                                   "2026-11-04"])})}
    wb = openpyxl.load_workbook(io.BytesIO(desk.workbook(sheets)))
    ws = wb.worksheets[0]
    assert len(ws.title) <= 31 and not set("[]:*?/\\") & set(ws.title)
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1][0] == "'=HYPERLINK(\"http://x\",\"y\")" and rows[2][0] == "'+1"
    assert rows[3][0] == "王大明"
    assert rows[1][1] == 81.5 and rows[2][1] is None and rows[3][1] == 7
    assert rows[2][2] is None and rows[1][2].year == 2026
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


# --- the coaching file ----------------------------------------------------------------------

def test_the_shipped_coaching_file_has_a_card_and_a_unit_for_everything_the_rules_score():
    rules = load_rules(ROOT / "pipelines" / "rules.toml")
    coaching = load_coaching(ROOT / "pipelines" / "coaching.toml",
                             tuple(m.key for m in rules.metrics))
    for d in DIMENSIONS:
        for lang in ("zh_TW", "zh_CN", "en"):
            text = coaching.card(d, lang, score="41", median="63", metric="M", gap="G")
            assert "41" in text and "63" in text and "{" not in text


def _write_cards(path: Path, **override: str) -> Path:
    lines = []
    for d in DIMENSIONS:
        lines.append(f"[cards.{d}]")
        for lang in ("zh_TW", "zh_CN", "en"):
            text = override.get(f"{d}.{lang}", f"{d} {{score}} vs {{median}}: {{gap}}")
            lines.append(f"{lang} = {text!r}".replace("'", '"'))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("override", "message"), [
    ({"risk.en": ""}, 'add [cards.risk] en = "..."'),
    ({"market.zh_TW": "{score} {client_name}"}, "uses ['client_name']"),
    ({"goals.zh_CN": "score {score"}, "[cards.goals] zh_CN"),
])
def test_a_broken_coaching_file_says_which_card_to_fix(tmp_path, override, message):
    with pytest.raises(CoachingError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_coaching(_write_cards(tmp_path / "coaching.toml", **override))


def test_missing_units_and_bad_format_specs_are_errors_not_tracebacks(tmp_path):
    path = _write_cards(tmp_path / "coaching.toml", **{"risk.en": "{score:.1f} points"})
    with pytest.raises(CoachingError, match=r"add \[units.visits\] zh_TW"):
        load_coaching(path, ("visits",))
    coaching = load_coaching(path)
    with pytest.raises(CoachingError, match=r"\[cards.risk\] en"):
        coaching.card("risk", "en", score="41", median="1", metric="m", gap="g")
    with pytest.raises(CoachingError, match="coaching.toml"):
        load_coaching(tmp_path / "missing" / "coaching.toml")


def test_an_admin_s_edit_shows_without_a_restart(tmp_path):
    path = _write_cards(tmp_path / "coaching.toml")
    assert load_coaching(path).card("risk", "en", score="1", median="2", gap="g") \
        == "risk 1 vs 2: g"
    _write_cards(path, **{"risk.en": "Inspect on time ({score})."})
    later = time.time() + 5      # a coarse file clock must still see a change
    os.utime(path, (later, later))
    assert load_coaching(path).card("risk", "en", score="1") == "Inspect on time (1)."


# --- charts ---------------------------------------------------------------------------------

def test_trend_panels_leave_a_gap_where_data_was_insufficient_never_a_zero():
    periods = ["2026-09", "2026-10", "2026-11"]
    series = pd.DataFrame({"key": ["index"] * 3 + ["risk"] * 2,
                           "period": periods + ["2026-09", "2026-11"],
                           "score": [50.0, None, 70.0, 40.0, 45.0],
                           "p25": [30.0, 31.0, 32.0, 20.0, 22.0],
                           "p75": [60.0, 61.0, 62.0, 50.0, 52.0]})
    panels = [("index", "Index", "#333"), ("risk", "Risk", "#B07AA1")]
    fig = charts.trends(series, periods, panels, {"band": "b", "person": "p"}, periods)
    lines = [tr for tr in fig.data if tr.mode == "lines+markers"]
    assert list(lines[0].y) == [50.0, None, 70.0] and list(lines[1].y) == [40.0, None, 45.0]
    assert all(tr.connectgaps is False for tr in lines)
    # each panel on its own axes, titled, the band behind the line
    assert lines[1].xaxis == "x2" and [a.text for a in fig.layout.annotations] == ["Index",
                                                                                   "Risk"]
    assert fig.data[4].fill == "tonexty" and list(fig.data[4].y) == [20.0, None, 22.0]


def _team_lines(n_teams: int, periods: list[str]) -> pd.DataFrame:
    return pd.DataFrame([{"team_id": f"T{i}", "period": p, "score": float(40 + (i * 7 + j) % 50)}
                         for i in range(n_teams) for j, p in enumerate(periods)])


def test_the_team_trend_draws_few_teams_as_lines_and_many_as_a_band_with_bounded_points():
    periods = [f"2026-W{w:02d}" for w in range(19, 45)]       # 26 weeks
    names = {f"T{i}": f"Team {i}" for i in range(300)}
    bands = {"band": "others: middle half", "median": "others: median"}
    few = charts.team_trend(_team_lines(6, periods), "T2", periods, periods, names, "x", bands)
    assert len(few.data) == 6 and few.data[-1].name == "Team 2"
    many = charts.team_trend(_team_lines(300, periods), "T2", periods, periods, names, "x", bands)
    assert [tr.name for tr in many.data][1:] == ["others: middle half", "others: median",
                                                 "Team 2"]
    assert sum(len(tr.y) for tr in many.data) <= 5000
    mine = _team_lines(300, periods).query("team_id == 'T2'")["score"].tolist()
    assert list(many.data[-1].y) == mine


def test_the_leaderboard_chart_keeps_namesakes_apart_and_escapes_markup():
    top = pd.DataFrame({"manager_id": ["RM1", "RM2", "RM3"], "name": ["王", "王", "<b>x</b>"],
                        "team_name": ["A", "A", "B"], "peer_group": ["retail"] * 3,
                        "awareness_index": [80.0, 70.0, 60.0]})
    fig = charts.leaderboard_bar(top, "t", {"retail": "個金"}, {"retail": 65.0}, "{group}")
    bars = fig.data[0]
    assert len(set(bars.y)) == 3 and "王 · A (RM1)" in bars.y
    assert "&lt;b&gt;x&lt;/b&gt; · B" in bars.y and list(bars.customdata) == ["RM3", "RM2",
                                                                             "RM1"]
    assert fig.data[1].x == (65.0, 65.0) and fig.data[1].name == "個金"


# --- the snapshot reader --------------------------------------------------------------------

def test_a_snapshot_rewritten_in_place_is_read_afresh(tmp_path):
    from dashboard import data

    path = tmp_path / "snap.duckdb"
    for value in (1, 2):      # written beside it and renamed over it, as another process would
        fresh = tmp_path / f"fresh-{value}.duckdb"
        con = duckdb.connect(str(fresh))
        con.execute("CREATE TABLE t AS SELECT ? AS v", [value])
        con.close()
        os.replace(fresh, path)
        with data.reader(str(path)) as cur:
            assert cur.execute("SELECT v FROM t").fetchone() == (value,)
    with data.reader(str(path)) as cur, pytest.raises(duckdb.CatalogException):
        local_frame = pd.DataFrame({"v": [math.pi]})    # noqa: F841 (a replacement scan bait)
        cur.execute("SELECT * FROM local_frame")


def _marshalled(styler) -> tuple[dict[str, str], list[list[str]]]:
    """What Streamlit sends the browser for a Styler: each cell's CSS and the text shown."""
    import re

    import pyarrow as pa
    from streamlit.elements.lib.pandas_styler_utils import marshall_styler
    from streamlit.proto.ArrowData_pb2 import ArrowData

    proto = ArrowData()
    marshall_styler(proto, styler, "unused")
    css = {}
    for rule in proto.styler.styles.splitlines():
        selectors, body = rule.split("{")
        declarations = "; ".join(sorted(d.strip() for d in body.strip(" }").split(";")))
        for selector in selectors.split(","):
            css[re.sub(r"^#T_.*_(?=row\d)", "", selector.strip())] = declarations
    shown = pa.ipc.open_stream(proto.styler.display_values).read_all().to_pandas()
    return css, shown.astype(str).values.tolist()


def test_boards_are_painted_and_shown_exactly_as_the_pandas_styler_would_do_it():
    """The leaderboard paints its cells without pandas' HTML renderer (a third of the page's
    time); what reaches the browser must be the same, cell for cell."""
    from dashboard.views.leaderboard import cell_style, coloured

    t = lambda key, **_: key    # noqa: E731 - the column names are the catalogue keys
    dims = [f"dimension_short.{d}" for d in DIMENSIONS]
    board = pd.DataFrame({
        "column.rank": pd.array([1, 2, None], dtype="Int64"),
        "column.name": ["王小明", "=HYPERLINK(\"x\")", "<b>李</b>"],
        "column.index": [88.25, None, 40.0],
        **{d: [100.0 - 9 * k, None if k % 3 == 0 else 9.4 * k, 50.5] for k, d in
           enumerate(dims)},
    }, index=[50, 51, 52])      # a second page of a board: positions, not labels
    ours = _marshalled(coloured(t, board, "lb_table"))
    rounded = board.assign(**{c: pd.array(board[c].round(0), dtype="Int64") for c in dims})
    reference = _marshalled(rounded.style.set_uuid("lb_table").map(cell_style, subset=dims)
                            .format(na_rep="").format("{:.1f}", subset=["column.index"],
                                                      na_rep=""))
    assert ours == reference
    css, shown = ours
    assert "background-color: rgba(31, 78, 156, 0.93)" in css["row0_col3"]   # a full score
    assert "row1_col4" in css and "row1_col3" not in css     # a missing score is not painted
    assert shown[0][:3] == ["1", "王小明", "88.2"] and shown[1][2] == "" and shown[2][0] == ""
    assert shown[1][1] == '=HYPERLINK("x")' and shown[2][1] == "<b>李</b>"
