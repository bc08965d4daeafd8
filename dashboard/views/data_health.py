"""Data health page: what was loaded, how fresh each feed is, and every quarantined row."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import data, i18n
from dashboard.views.common import page_start

# A feed this far behind the freshest one is probably no longer being exported.
STALE_DAYS = 7


def render() -> None:
    t = i18n.translator(i18n.current())
    started = page_start(t, "health.title")
    if started is None:
        return
    snap, meta = started
    st.caption(t("health.caption", rules=meta.get("rules_version"),
                 published=pd.Timestamp(meta.get("published_at")).strftime("%Y-%m-%d %H:%M")))

    st.subheader(t("health.freshness"))
    feeds = data.feed_summary(snap)
    newest = feeds["last_at"].max()
    feeds["behind"] = (newest - feeds["last_at"]).dt.days
    st.dataframe(pd.DataFrame({
        t("health.feed"): feeds["feed"].map(lambda f: t(f"feed.{f}")),
        t("health.rows"): feeds["rows"],
        t("health.first"): feeds["first_at"].dt.date,
        t("health.last"): feeds["last_at"].dt.date,
        t("health.last_loaded"): feeds["last_loaded"].dt.strftime("%Y-%m-%d %H:%M"),
        t("health.status"): [
            t("health.empty") if rows == 0 else
            t("health.stale", days=int(days)) if days > STALE_DAYS else t("health.fresh")
            for rows, days in zip(feeds["rows"], feeds["behind"].fillna(0), strict=True)],
    }), hide_index=True, key="dh_feeds")

    st.subheader(t("health.loads"))
    runs = data.load_runs(snap)
    st.dataframe(pd.DataFrame({
        "#": runs["load_run_id"],
        t("health.loaded_at"): runs["finished_at"].dt.strftime("%Y-%m-%d %H:%M"),
        t("health.file"): runs["source_file"].map(lambda p: Path(p).name),
        t("health.feed"): runs["feed"].map(lambda f: t(f"feed.{f}")),
        t("health.profile"): runs["profile"],
        t("health.detected"): runs["detected"].map(_detected),
        t("health.read"): runs["rows_read"],
        t("health.landed"): runs["rows_landed"],
        t("health.duplicates"): runs["rows_duplicate"],
        t("health.quarantined"): runs["rows_quarantined"],
    }), hide_index=True, key="dh_runs")

    st.subheader(t("health.quarantine"))
    reasons = data.quarantine_by_reason(snap)
    if reasons.empty:
        st.success(t("health.no_quarantine"))
        return
    st.dataframe(pd.DataFrame({
        t("health.reason"): reasons["reason_code"].map(lambda r: t(f"quarantine.{r}")),
        t("health.rows"): reasons["rows"],
    }), hide_index=True, key="dh_reasons")
    choices = [None, *runs.loc[runs["rows_quarantined"] > 0, "load_run_id"]]
    names = dict(zip(runs["load_run_id"], runs["source_file"].map(lambda p: Path(p).name),
                     strict=True))
    run = st.selectbox(t("health.file"), choices, key="dh_run",
                       format_func=lambda r: t("filter.all") if r is None else f"#{r} {names[r]}")
    rows = data.quarantine(snap, run)
    st.dataframe(pd.DataFrame({
        t("health.file"): rows["source_file"].map(lambda p: Path(p).name),
        t("health.line"): rows["line"],
        t("health.column"): rows["column_name"],
        t("health.value"): rows["raw_value"],
        t("health.reason"): rows["reason_code"].map(lambda r: t(f"quarantine.{r}")),
        t("health.detail"): rows["detail"],
    }), hide_index=True, key="dh_rows")


def _detected(text: str) -> str:
    try:
        d = json.loads(text)
    except (TypeError, ValueError):
        return ""
    return " · ".join(str(d[k]) for k in ("format", "encoding", "delimiter", "sheet")
                      if d.get(k)).replace("\t", "TAB")
