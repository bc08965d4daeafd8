"""Chart functions are pure: DataFrame in, figure out."""
from __future__ import annotations

import pandas as pd

from dashboard.charts import PEER_COLOURS, leaderboard_bar


def test_leaderboard_bar_puts_the_best_on_top_and_colours_by_peer_group():
    df = pd.DataFrame({
        "name": ["甲", "乙", "丙", "丁"], "team_name": ["一組", "一組", "二組", "二組"],
        "peer_group": ["corporate", "retail", "retail", "sme"],
        "awareness_index": [70.0, 90.0, 50.0, None], "manager_id": ["M1", "M2", "M3", "M4"],
    })
    fig = leaderboard_bar(df, "綜合意識指數", {"corporate": "企業金融", "retail": "個人金融"})
    order = list(fig.layout.yaxis.categoryarray)
    assert order == ["丙 · 二組", "甲 · 一組", "乙 · 一組"]  # plotly draws the last on top
    names = {trace.name: trace.marker.color for trace in fig.data}
    assert names == {"企業金融": PEER_COLOURS["corporate"], "個人金融": PEER_COLOURS["retail"]}
    assert fig.layout.title.text == "綜合意識指數"
    assert fig.layout.xaxis.range == (0, 105)


def test_chart_text_from_files_is_escaped_and_namesakes_stay_apart():
    """Plotly renders a subset of HTML in tick labels: a roster name is shown as typed, and two
    people with one name get a bar each."""
    df = pd.DataFrame({
        "name": ['<a href="http://x">點我</a>', "王小明", "王小明"],
        "team_name": ["一組", "二組", "二組"], "peer_group": ["retail"] * 3,
        "awareness_index": [60.0, 70.0, 80.0], "manager_id": ["M1", "M2", "M3"]})
    fig = leaderboard_bar(df, "t", {"retail": "個人金融"})
    labels = list(fig.layout.yaxis.categoryarray)
    assert not [x for x in labels if "<a" in x] and "&lt;a" in labels[0]
    assert len(set(labels)) == 3 and {"王小明 · 二組 (M2)", "王小明 · 二組 (M3)"} <= set(labels)
    assert list(fig.data[0].customdata) == ["M1", "M2", "M3"]
