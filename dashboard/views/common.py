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
