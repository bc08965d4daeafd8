"""Data health page: what was loaded, how fresh each feed is, and every quarantined row."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from dashboard import data, i18n
from dashboard.views.common import page_start
from pipelines.contract import LOCAL_TIMEZONE

# A feed this far behind the freshest one is probably no longer being exported.
STALE_DAYS = 7
QUARANTINE_ROWS = 1000
DELIMITERS = {",": "delim_comma", ";": "delim_semicolon", "\t": "delim_tab", "|": "delim_pipe"}


def render() -> None:
    lang = i18n.current()
    t = i18n.translator(lang)
    started = page_start(t, "health.title")
    if started is None:
        return
    snap, meta = started
    st.caption(t("health.caption", rules=_blank(meta.get("rules_version")),
                 published=_local(pd.Series([_published_at(snap, meta)]))[0]))
    st.caption(t("detail.times_in", zone=_zone_name(t, lang), offset=_utc_offset()))

    st.subheader(t("health.freshness"))
    feeds = data.feed_summary(snap)
    newest = feeds["last_at"].max()
    feeds["behind"] = (newest - feeds["last_at"]).dt.days
    st.dataframe(pd.DataFrame({
        t("health.feed"): feeds["feed"].map(lambda f: t(f"feed.{f}")),
        t("health.rows"): feeds["rows"],
        # occurred_at is the bank's local time already (the loader converts UTC exports)
        t("health.first"): _day(feeds["first_at"]),
        t("health.last"): _day(feeds["last_at"]),
        t("health.last_loaded"): _local(feeds["last_loaded"]),
        t("health.status"): [
            t("health.empty") if rows == 0 else
            t("health.stale", days=int(days)) if days > STALE_DAYS else t("health.fresh")
            for rows, days in zip(feeds["rows"], feeds["behind"].fillna(0), strict=True)],
    }), hide_index=True, key="dh_feeds")

    st.subheader(t("health.loads"))
    runs = data.load_runs(snap)
    st.dataframe(pd.DataFrame({
        "#": runs["load_run_id"],
        t("health.loaded_at"): _local(runs["finished_at"]),
        t("health.file"): runs["source_file"].map(lambda p: Path(p).name),
        t("health.feed"): runs["feed"].map(lambda f: t(f"feed.{f}")),
        t("health.profile"): runs["profile"].fillna(""),
        t("health.detected"): runs["detected"].map(lambda d: _detected(t, d)),
        t("health.read"): runs["rows_read"],
        t("health.landed"): runs["rows_landed"],
        t("health.duplicates"): runs["rows_duplicate"],
        t("health.quarantined"): runs["rows_quarantined"],
        t("health.skipped"): runs["rows_skipped"],
        t("health.voided"): runs["rows_voided"],
        t("health.replaced"): runs["rows_replaced"],
    }), hide_index=True, key="dh_runs")

    st.subheader(t("health.quarantine"))
    reasons = data.quarantine_by_reason(snap)
    if reasons.empty:
        st.success(t("health.no_quarantine"))
    else:
        _open_quarantine(t, lang, snap, runs, reasons)
    resolved = data.quarantine_resolved(snap, QUARANTINE_ROWS)
    if not resolved.empty:
        st.subheader(t("health.resolved"))
        st.caption(t("health.resolved_caption"))
        st.dataframe(pd.DataFrame({
            t("health.file"): resolved["source_file"].map(lambda p: Path(p).name),
            t("health.line"): resolved["line"].astype("Int64").astype("string").fillna(""),
            t("health.reason"): resolved["reason_code"].map(lambda r: t(f"quarantine.{r}")),
            t("health.status"): resolved["resolved_by_run"].map(
                lambda r: t("health.resolved_by", run=int(r))),
        }), hide_index=True, key="dh_resolved")


def _open_quarantine(t, lang: str, snap: str, runs: pd.DataFrame,
                     reasons: pd.DataFrame) -> None:
    """The open quarantined rows: per reason, then row by row (of one load, or all)."""
    st.dataframe(pd.DataFrame({
        t("health.reason"): reasons["reason_code"].map(lambda r: t(f"quarantine.{r}")),
        t("health.rows"): reasons["rows"],
    }), hide_index=True, key="dh_reasons")
    choices = [None, *data.quarantine_open_runs(snap)]
    names = dict(zip(runs["load_run_id"], runs["source_file"].map(lambda p: Path(p).name),
                     strict=True))
    run = st.selectbox(t("health.file"), choices, key="dh_run",
                       format_func=lambda r: t("filter.all") if r is None else f"#{r} {names[r]}")
    rows = _quarantine(snap, run)
    st.dataframe(pd.DataFrame({
        t("health.file"): rows["source_file"].map(lambda p: Path(p).name),
        t("health.line"): rows["line"].astype("Int64").astype("string").fillna(""),
        # a canonical column by its label; a source header (from the file) as written
        t("health.column"): rows["column_name"].map(
            lambda c: "" if not isinstance(c, str) else
            i18n.t(lang, f"field.{c}") if f"field.{c}" in i18n.catalogue(lang) else c),
        t("health.value"): rows["raw_value"].fillna(""),
        t("health.reason"): rows["reason_code"].map(lambda r: t(f"quarantine.{r}")),
        t("health.detail"): [detail_text(lang, c, a, d) for c, a, d in zip(
            rows["detail_code"], rows["detail_args"], rows["detail"], strict=True)],
    }), hide_index=True, key="dh_rows")


def _quarantine(snap: str, load_run_id: int | None) -> pd.DataFrame:
    """The open quarantined rows with their detail codes. (Every column: a snapshot published before
    the codes existed has none, and its rows show their stored text.)"""
    rows = data.query(snap, f"SELECT * FROM quarantine q WHERE {data.OPEN} AND "
                            "(? IS NULL OR q.load_run_id = ?) "
                            "ORDER BY q.load_run_id DESC, q.line LIMIT ?",
                      (load_run_id, load_run_id, QUARANTINE_ROWS))
    for column in ("detail_code", "detail_args"):
        if column not in rows:
            rows[column] = None
    return rows


def detail_text(lang: str, code: object, args: object, stored: object) -> str:
    """A quarantined row's detail in `lang`: catalogue key detail.<code> filled in with its
    arguments (a list argument holds codes too); the stored English text if there is no code."""
    cat = i18n.catalogue(lang)
    stored = _blank(stored)
    if not isinstance(code, str) or f"detail.{code}" not in cat:
        return stored
    try:
        values = json.loads(args) if isinstance(args, str) and args else {}
    except ValueError:
        return stored
    if not isinstance(values, dict):
        return stored
    filled = {}
    for key, value in values.items():
        if isinstance(value, list):
            value = cat["detail.list_sep"].join(
                cat.get(f"detail.{v}", str(v)) for v in value)
        elif isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:,}"
        filled[key] = value
    try:
        text = cat[f"detail.{code}"].format(**filled)
    except (KeyError, IndexError, ValueError):
        return stored
    return text + (cat["detail.raw_withheld"] if values.get("withheld") is True else "")


def _published_at(snap: str, meta: dict) -> object:
    """When the snapshot was published, as naive UTC: its file is named by that UTC time."""
    try:
        return datetime.strptime(Path(snap).stem, "snapshot-%Y%m%dT%H%M%S%fZ")
    except ValueError:
        return meta.get("published_at")


def _local(times: pd.Series) -> pd.Series:
    """Naive UTC times (as the pipeline stores them) in the bank's zone; blank when missing."""
    utc = pd.to_datetime(times, errors="coerce").dt.tz_localize(UTC)
    return utc.dt.tz_convert(LOCAL_TIMEZONE).dt.strftime("%Y-%m-%d %H:%M").fillna("")


def _day(times: pd.Series) -> pd.Series:
    return pd.to_datetime(times, errors="coerce").dt.strftime("%Y-%m-%d").fillna("")


def _zone_name(t, lang: str) -> str:
    key = "detail.zone_" + LOCAL_TIMEZONE.lower().replace("/", "_")
    return t(key) if key in i18n.catalogue(lang) else LOCAL_TIMEZONE


def _utc_offset() -> str:
    offset = datetime.now(ZoneInfo(LOCAL_TIMEZONE)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    hours, rest = divmod(abs(minutes), 60)
    return f"{'-' if minutes < 0 else '+'}{hours}" + (f":{rest:02d}" if rest else "")


def _blank(value: object) -> str:
    return "" if value is None or value is pd.NA or value is pd.NaT or (
        isinstance(value, float) and value != value) else str(value)


def _detected(t, text: str) -> str:
    """What the reader found: format, encoding, delimiter, sheet, damaged bytes."""
    try:
        d = json.loads(text)
    except (TypeError, ValueError):
        return ""
    if not isinstance(d, dict):
        return ""
    parts = [str(d[k]) for k in ("format", "encoding") if d.get(k)]
    if d.get("delimiter"):
        key = DELIMITERS.get(d["delimiter"])
        parts.append(t(f"detail.{key}") if key else repr(d["delimiter"]))
    if d.get("sheet"):
        parts.append(t("detail.sheet", name=d["sheet"]))
    if d.get("damaged_sequences"):
        parts.append(t("detail.damaged", n=d["damaged_sequences"]))
    return " · ".join(parts)
