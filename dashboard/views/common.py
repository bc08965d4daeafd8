"""What every page starts with: its title, and the snapshot it reads (or why there is none)."""
from __future__ import annotations

import streamlit as st

from dashboard import data


def page_start(t, title_key: str, subtitle_key: str | None = None) -> tuple[str, dict] | None:
    """Title the page; return (snapshot path, snapshot info), or None after saying what to do."""
    st.title(t(title_key))
    if subtitle_key:
        st.caption(t(subtitle_key))
    snap = data.snapshot()
    if snap is None:
        st.info(t("leaderboard.no_snapshot"))
        return None
    return snap, data.info(snap)


def table(df, digits: dict[str, int] | None = None):
    """A table whose missing values show as blank cells (st.dataframe writes "None" in them),
    numbers kept as numbers so columns still sort; `digits` per column."""
    formats = {c: f"{{:,.{n}f}}" for c, n in (digits or {}).items()}
    return df.style.format(formats, na_rep="")


def painted(df, css: dict[str, list[str]], digits: dict[str, int] | None = None,
            uuid: str = "board"):
    """`df` as a pandas Styler whose cells in `css` (column -> one CSS declaration string per
    row) are painted, float columns in `digits` shown to that many places, missing values blank.

    The same styles and display texts as `df.style.map(...).format(...)`, but computed here in
    bulk: Streamlit marshals a Styler through pandas' HTML renderer (`_compute`, then
    `_translate`), which for a 50-row board of 16 columns cost ~40 ms, a third of the page.
    Only the two results Streamlit reads are supplied, on this instance; tests/test_desk.py
    checks that Streamlit marshals it exactly as the pandas path, so an upgrade that changes
    either side fails there."""
    import pandas as pd

    digits = digits or {}
    position = {c: j for j, c in enumerate(df.columns)}
    shown = []   # display texts that differ from str(value): blanks and fixed decimals
    for column in df.columns:
        j = position[column]
        values = df[column]
        missing = pd.isna(values).tolist() if len(values) else []
        places = digits.get(column)
        for i, (value, gap) in enumerate(zip(values.tolist(), missing, strict=True)):
            if gap:
                shown.append({"id": f"row{i}_col{j}", "display_value": ""})
            elif places is not None:
                shown.append({"id": f"row{i}_col{j}", "display_value": f"{value:.{places}f}"})
    by_rule: dict[str, list[str]] = {}
    for column, rules in css.items():
        j = position[column]
        for i, rule in enumerate(rules):
            if rule:
                by_rule.setdefault(rule, []).append(f"row{i}_col{j}")
    translated = {
        "table_styles": [],
        "cellstyle": [{"props": [tuple(part.split(":", 1)) for part in rule.split(";")],
                       "selectors": cells} for rule, cells in by_rule.items()],
        "body": [shown],
    }
    styler = df.style.set_uuid(uuid)
    styler._compute = lambda: styler
    styler._translate = lambda *args, **kwargs: translated
    return styler
