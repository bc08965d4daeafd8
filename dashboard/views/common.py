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
