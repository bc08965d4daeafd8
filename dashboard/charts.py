"""Pure functions: DataFrame in, Plotly figure out (no Streamlit here)."""
from __future__ import annotations

import html

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


def plain(text: object) -> str:
    """A value from a file as Plotly text: Plotly renders a subset of HTML in titles, ticks,
    hover and annotations (<a href> becomes a live link), so every markup character is escaped."""
    return html.escape("" if text is None else str(text), quote=False)


def unique_labels(labels: list[str], ids: list[str]) -> list[str]:
    """Category labels that stay apart when two people share a name (Plotly merges equal
    categories into one bar): a repeated label gets the person's id."""
    seen = pd.Series(labels).duplicated(keep=False).tolist()
    return [f"{lab} ({i})" if dup else lab for lab, i, dup in zip(labels, ids, seen,
                                                                    strict=True)]


def leaderboard_bar(df: pd.DataFrame, title: str, peer_labels: dict[str, str],
                    medians: dict[str, float] | None = None,
                    median_label: str = "{group} median") -> go.Figure:
    """Horizontal bars of the awareness index, best on top, coloured by peer group; the peer
    groups' medians as dotted lines. `df` is the top of the board (the caller cuts it)."""
    ranked = df.dropna(subset=["awareness_index"]).sort_values("awareness_index")
    labels = unique_labels([plain(n) + " · " + plain(t) for n, t in
                            zip(ranked["name"], ranked["team_name"], strict=True)],
                           [plain(i) for i in ranked["manager_id"]])
    data = []
    for peer, colour in PEER_COLOURS.items():
        mask = (ranked["peer_group"] == peer).to_numpy()
        if not mask.any():
            continue
        values = ranked["awareness_index"].round(1).to_numpy()[mask].tolist()
        data.append({
            "type": "bar", "x": values, "y": [lab for lab, m in zip(labels, mask, strict=True)
                                             if m],
            "customdata": ranked["manager_id"].to_numpy()[mask].tolist(), "orientation": "h",
            "name": plain(peer_labels.get(peer, peer)), "marker": {"color": colour},
            "text": values, "textposition": "outside",
            "hovertemplate": "%{y}<br>%{x:.1f}<extra></extra>"})
    shown = set(ranked["peer_group"])
    for peer, value in (medians or {}).items():
        if value is None or pd.isna(value) or peer not in shown or ranked.empty:
            continue
        # a line trace rather than a shape, so the legend names it
        data.append({"type": "scatter", "x": [float(value)] * 2, "y": [labels[0], labels[-1]],
                     "mode": "lines",
                     "line": {"dash": "dot", "color": PEER_COLOURS.get(peer, "#999"), "width": 2},
                     "name": plain(median_label.format(group=peer_labels.get(peer, peer))),
                     "hovertemplate": f"%{{x:.1f}}<extra>{plain(peer_labels.get(peer, peer))}"
                                      "</extra>"})
    # built from one dict: trace-by-trace construction cost more than the board's queries
    return go.Figure({"data": data, "layout": {
        "title": {"text": title, "y": 0.99, "yanchor": "top"}, "barmode": "overlay",
        "height": max(340, 24 * len(ranked) + 150),
        "margin": {"l": 10, "r": 30, "t": 90, "b": 30},
        "xaxis": {"range": [0, 105], "title": None},
        "yaxis": {"categoryorder": "array", "categoryarray": labels, "title": None},
        "legend": {"orientation": "h", "y": 1.0, "x": 0, "yanchor": "bottom"},
        "clickmode": "event+select"}})


def standing(rows: pd.DataFrame, labels: dict[str, str], names: dict[str, str],
             title: str) -> go.Figure:
    """Where one person stands on each dimension: their score (a dot in the dimension's colour)
    against the peer group's middle half (a grey bar from the 25th to the 75th percentile), the
    peer median (a diamond) and the team median (a tick). `rows`: dimension, score, p25, p50,
    p75, team_p50. Dimensions without a score show the band only."""
    rows = rows.set_index("dimension").reindex(list(DIMENSION_COLOURS))
    y = [labels[d] for d in rows.index]
    fig = go.Figure()
    fig.add_bar(y=y, x=(rows["p75"] - rows["p25"]), base=rows["p25"], orientation="h",
                marker_color="rgba(160,160,160,0.35)", name=names["band"],
                hovertemplate="%{y}<br>%{base:.0f}–%{x:.0f}<extra></extra>", width=0.5)
    fig.add_scatter(y=y, x=rows["p50"], mode="markers", name=names["peer"],
                    marker={"symbol": "diamond", "size": 11, "color": "#555555"},
                    hovertemplate="%{y}<br>%{x:.0f}<extra></extra>")
    fig.add_scatter(y=y, x=rows["team_p50"], mode="markers", name=names["team"],
                    marker={"symbol": "line-ns", "size": 18, "line": {"width": 3,
                                                                       "color": "#222222"}},
                    hovertemplate="%{y}<br>%{x:.0f}<extra></extra>")
    fig.add_scatter(y=y, x=rows["score"], mode="markers", name=names["person"],
                    marker={"size": 16, "color": [DIMENSION_COLOURS[d] for d in rows.index],
                            "line": {"width": 1.5, "color": "#222222"}},
                    hovertemplate="%{y}<br>%{x:.1f}<extra></extra>")
    fig.update_layout(
        title={"text": title, "y": 0.99, "yanchor": "top"}, height=450, barmode="overlay",
        margin={"l": 10, "r": 20, "t": 90, "b": 30},
        xaxis={"range": [0, 102], "title": None},
        yaxis={"categoryorder": "array", "categoryarray": y[::-1], "title": None},
        legend={"orientation": "h", "y": 1.0, "x": 0, "yanchor": "bottom"})
    return fig


def trends(series: pd.DataFrame, periods: list[str], panels: list[tuple[str, str, str]],
           names: dict[str, str], tick_labels: list[str]) -> go.Figure:
    """Small multiples, one panel per series (the index, then each dimension): the person's
    line over `periods` with the peer group's 25th-75th percentile band behind it. A period
    without a score is a gap in the line, never a zero. `series`: key, period, score, p25, p75;
    `panels`: (key, title, colour).

    The grid of axes is laid out here and the figure built from one dict: make_subplots and a
    trace-by-trace build cost about 0.3 s of server time per page for 33 traces."""
    cols = 3
    rows = -(-len(panels) // cols)
    gap_x, gap_y = 0.03, 0.07
    width, height = (1 - gap_x * (cols - 1)) / cols, (1 - gap_y * (rows - 1)) / rows
    wide = series.pivot_table(index="period", columns="key", values=["score", "p25", "p75"],
                              aggfunc="first").reindex(periods)

    def column(field: str, key: str) -> list:
        if (field, key) not in wide.columns:
            return [None] * len(periods)
        return [None if pd.isna(v) else round(float(v), 2) for v in wide[(field, key)]]

    data, layout = [], {}
    bottom = {min(rows - 1, (len(panels) - 1 - c) // cols) * cols + c for c in range(cols)}
    for i, (key, title, colour) in enumerate(panels):
        r, c = i // cols, i % cols
        n = "" if i == 0 else str(i + 1)
        axes = {"xaxis": f"x{n}", "yaxis": f"y{n}"}
        x0, y1 = c * (width + gap_x), 1 - r * (height + gap_y)
        layout[f"xaxis{n}"] = {"domain": [x0, x0 + width], "anchor": f"y{n}",
                               "showticklabels": i in bottom, "nticks": 6,
                               **({} if i == 0 else {"matches": "x"})}
        layout[f"yaxis{n}"] = {"domain": [y1 - height, y1], "anchor": f"x{n}",
                               "range": [0, 102], "tickvals": [0, 50, 100],
                               "showticklabels": c == 0}
        layout.setdefault("annotations", []).append(
            {"text": title, "x": x0 + width / 2, "y": y1, "xref": "paper", "yref": "paper",
             "xanchor": "center", "yanchor": "bottom", "showarrow": False,
             "font": {"size": 14}})
        data += [
            {"type": "scatter", **axes, "x": tick_labels, "y": column("p75", key),
             "mode": "lines", "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False},
            {"type": "scatter", **axes, "x": tick_labels, "y": column("p25", key),
             "mode": "lines", "line": {"width": 0}, "fill": "tonexty",
             "fillcolor": "rgba(150,150,150,0.25)", "name": names["band"], "hoverinfo": "skip",
             "showlegend": i == 0, "legendgroup": "band"},
            {"type": "scatter", **axes, "x": tick_labels, "y": column("score", key),
             "mode": "lines+markers", "connectgaps": False,
             "line": {"color": colour, "width": 2.5}, "marker": {"size": 4},
             "name": names["person"], "showlegend": i == 0, "legendgroup": "person",
             "hovertemplate": "%{x}<br>%{y:.1f}<extra></extra>"},
        ]
    layout.update(height=170 * rows + 90, margin={"l": 10, "r": 10, "t": 60, "b": 30},
                  legend={"orientation": "h", "y": 1.04, "x": 0, "yanchor": "bottom"})
    return go.Figure({"data": data, "layout": layout})


def member_heatmap(matrix: pd.DataFrame, title: str, missing: str) -> go.Figure:
    """Members x dimensions: each cell the member's score, blank when there was too little
    data. `matrix` is indexed by the member's (escaped, unique) label, columns are labels."""
    z = matrix.to_numpy(dtype=float)
    text = [[missing if pd.isna(v) else f"{v:.0f}" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(
        z=z, x=list(matrix.columns), y=list(matrix.index), text=text, texttemplate="%{text}",
        zmin=0, zmax=100, colorscale="Blues", hoverongaps=False, xgap=2, ygap=2,
        hovertemplate="%{y}<br>%{x}: %{z:.0f}<extra></extra>", colorbar={"thickness": 12}))
    fig.update_layout(title=title, height=max(260, 34 * len(matrix) + 140),
                      margin={"l": 10, "r": 10, "t": 60, "b": 30},
                      yaxis={"autorange": "reversed"}, xaxis={"side": "top"})
    return fig


TREND_LINES_MAX = 20   # other teams drawn one line each; beyond this their middle band


def team_trend(lines: pd.DataFrame, team_id: str, periods: list[str], tick_labels: list[str],
               names: dict[str, str], title: str, band_names: dict[str, str]) -> go.Figure:
    """This team's index over time (bold) against the other teams: a thin grey line each when
    there are few, else their 25th-75th percentile band and median (250 grey lines read as
    fog and cost a second to draw). `lines`: team_id, period, score; `names`: team_id ->
    escaped team name; `band_names`: band, median."""
    wide = lines.pivot_table(index="period", columns="team_id", values="score",
                             aggfunc="first").reindex(periods)

    def values(series) -> list:
        return [None if pd.isna(v) else round(float(v), 2) for v in series]

    others = [c for c in wide.columns if c != team_id]
    data = []
    if len(others) <= TREND_LINES_MAX:
        for tid in others:
            data.append({"type": "scatter", "x": tick_labels, "y": values(wide[tid]),
                         "mode": "lines", "connectgaps": False, "showlegend": False,
                         "name": names.get(tid, plain(tid)),
                         "line": {"color": "rgba(140,140,140,0.45)", "width": 1.2},
                         "hovertemplate": "%{x}<br>%{y:.1f}<extra>"
                                          + names.get(tid, plain(tid)) + "</extra>"})
    elif others:
        rest = wide[others]
        data += [
            {"type": "scatter", "x": tick_labels, "y": values(rest.quantile(0.75, axis=1)),
             "mode": "lines", "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False},
            {"type": "scatter", "x": tick_labels, "y": values(rest.quantile(0.25, axis=1)),
             "mode": "lines", "line": {"width": 0}, "fill": "tonexty",
             "fillcolor": "rgba(150,150,150,0.25)", "name": band_names["band"],
             "hoverinfo": "skip"},
            {"type": "scatter", "x": tick_labels, "y": values(rest.median(axis=1)),
             "mode": "lines", "connectgaps": False, "name": band_names["median"],
             "line": {"color": "rgba(110,110,110,0.9)", "width": 1.5, "dash": "dot"},
             "hovertemplate": "%{x}<br>%{y:.1f}<extra></extra>"},
        ]
    if team_id in wide.columns:
        name = names.get(team_id, plain(team_id))
        data.append({"type": "scatter", "x": tick_labels, "y": values(wide[team_id]),
                     "mode": "lines+markers", "connectgaps": False, "name": name,
                     "line": {"color": "#1f4e9c", "width": 3.5},
                     "hovertemplate": "%{x}<br>%{y:.1f}<extra>" + name + "</extra>"})
    return go.Figure({"data": data, "layout": {
        "title": {"text": title, "y": 0.98, "yanchor": "top"}, "height": 380,
        "margin": {"l": 10, "r": 10, "t": 90, "b": 30},
        "yaxis": {"range": [0, 102], "title": None}, "xaxis": {"title": None},
        "legend": {"orientation": "h", "y": 1.0, "x": 0, "yanchor": "bottom"}}})


def xp_progress(history: pd.DataFrame, levels: pd.DataFrame, title: str,
                level_names: dict[int, str], xp_label: str = "XP") -> go.Figure:
    """XP earned so far, week by week, against the thresholds of the levels."""
    fig = go.Figure()
    fig.add_scatter(x=history["week_start"].dt.strftime("%Y-%m-%d"), y=history["xp_total"],
                    mode="lines+markers", line={"color": "#6a3d9a", "width": 3}, name=xp_label,
                    hovertemplate="%{x}<br>%{y:,.0f}<extra></extra>")
    top = float(history["xp_total"].max()) if len(history) else 0.0
    for _, lv in levels.iterrows():
        if lv["min_xp"] <= 0 or lv["min_xp"] > top * 1.3:
            continue
        fig.add_hline(y=lv["min_xp"], line_dash="dot", line_color="#999999",
                      annotation_text=plain(level_names.get(int(lv["level_no"]), "")),
                      annotation_position="top left")
    fig.update_layout(title=title, height=360, showlegend=False,
                      margin={"l": 10, "r": 10, "t": 60, "b": 30},
                      xaxis={"title": None, "type": "category", "nticks": 8},
                      yaxis={"title": xp_label, "rangemode": "tozero"})
    return fig
