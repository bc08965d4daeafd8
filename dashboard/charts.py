"""Pure functions: DataFrame in, Plotly figure out (no Streamlit here)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

# One colour per peer group, used wherever peer groups appear.
PEER_COLOURS = {"corporate": "#1f77b4", "retail": "#2ca02c", "sme": "#ff7f0e"}


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
