"""Pure functions: DataFrame in, Plotly figure out (no Streamlit here)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

# One colour per peer group, used wherever peer groups appear.
PEER_COLOURS = {"corporate": "#1f77b4", "retail": "#2ca02c", "sme": "#ff7f0e"}
# One colour per dimension, the same on every page and on the wall screen (bright enough for a
# dark TV background, distinct from each other).
DIMENSION_COLOURS = {"integrity": "#5B9BD5", "market": "#F28E2B", "customer": "#E15759",
                     "marketing": "#76B7B2", "teamwork": "#59A14F", "goals": "#EDC948",
                     "risk": "#B07AA1", "compliance": "#FF9DA7", "responsibility": "#C49A6C",
                     "learning": "#BAB0FF"}


def leaderboard_bar(df: pd.DataFrame, title: str, peer_labels: dict[str, str]) -> go.Figure:
    """Horizontal bars of the awareness index, best on top, coloured by peer group."""
    ranked = df.dropna(subset=["awareness_index"]).sort_values("awareness_index")
    fig = go.Figure()
    for peer, colour in PEER_COLOURS.items():
        part = ranked[ranked["peer_group"] == peer]
        if part.empty:
            continue
        fig.add_bar(
            x=part["awareness_index"].round(1), y=part["name"] + " · " + part["team_name"],
            orientation="h", name=peer_labels.get(peer, peer), marker_color=colour,
            text=part["awareness_index"].round(1), textposition="outside",
            hovertemplate="%{y}<br>%{x:.1f}<extra></extra>")
    order = (ranked["name"] + " · " + ranked["team_name"]).tolist()
    fig.update_layout(
        title=title, barmode="overlay", height=max(320, 26 * len(ranked) + 120),
        margin={"l": 10, "r": 30, "t": 60, "b": 30},
        xaxis={"range": [0, 105], "title": None},
        yaxis={"categoryorder": "array", "categoryarray": order, "title": None},
        legend={"orientation": "h", "y": 1.02, "x": 0, "yanchor": "bottom"},
    )
    return fig


def xp_progress(history: pd.DataFrame, levels: pd.DataFrame, title: str,
                level_names: dict[int, str]) -> go.Figure:
    """XP earned so far, week by week, against the thresholds of the levels."""
    fig = go.Figure()
    fig.add_scatter(x=history["week_start"], y=history["xp_total"], mode="lines+markers",
                    line={"color": "#6a3d9a", "width": 3}, name="XP",
                    hovertemplate="%{x|%Y-%m-%d}<br>XP %{y:,.0f}<extra></extra>")
    top = float(history["xp_total"].max()) if len(history) else 0.0
    for _, lv in levels.iterrows():
        if lv["min_xp"] <= 0 or lv["min_xp"] > top * 1.3:
            continue
        fig.add_hline(y=lv["min_xp"], line_dash="dot", line_color="#999999",
                      annotation_text=level_names.get(int(lv["level_no"]), ""),
                      annotation_position="top left")
    fig.update_layout(title=title, height=360, showlegend=False,
                      margin={"l": 10, "r": 10, "t": 60, "b": 30},
                      xaxis={"title": None}, yaxis={"title": "XP", "rangemode": "tozero"})
    return fig
