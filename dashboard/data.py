"""Cached, read-only access to the published snapshot (never the pipeline's warehouse)."""
from __future__ import annotations

import duckdb
import pandas as pd
import streamlit as st

from pipelines.config import load_settings
from pipelines.contract import DIMENSIONS
from pipelines.publish import current_snapshot

TTL_SECONDS = 10


def snapshot() -> str | None:
    """Path of the snapshot to read now; changes when the pipeline publishes a new one."""
    path = current_snapshot(load_settings().snapshot_dir)
    return str(path) if path else None


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def query(snapshot_path: str, sql: str, params: tuple = ()) -> pd.DataFrame:
    """One short-lived read-only connection per query; the snapshot path is part of the key."""
    # no replacement scans: a missing table must fail, not silently read a Python variable
    con = duckdb.connect(snapshot_path, read_only=True,
                         config={"python_enable_replacements": False})
    try:
        return con.execute(sql, list(params)).df()
    finally:
        con.close()


def info(snap: str) -> dict:
    df = query(snap, "SELECT * FROM snapshot_info")
    return df.iloc[0].to_dict() if len(df) else {}


def periods(snap: str, grain: str) -> list[str]:
    df = query(snap, "SELECT DISTINCT period FROM awareness_index WHERE grain = ? "
                     "ORDER BY period DESC", (grain,))
    return df["period"].tolist()


def teams(snap: str) -> pd.DataFrame:
    return query(snap, "SELECT DISTINCT team_id, team_name, branch FROM roster ORDER BY team_id")


def leaderboard(snap: str, grain: str, period: str) -> pd.DataFrame:
    """One row per manager: index, rank, gate, and the ten dimension scores as columns."""
    base = query(snap, """
        SELECT a.manager_id, r.name, r.team_id, r.team_name, r.branch, r.peer_group,
               a.score AS awareness_index, a.status, a.eligible, a.gate_reason,
               a.rank_overall, a.rank_peer, a.prev_rank, a.movement, a.score_change
        FROM awareness_index a JOIN roster r USING (manager_id)
        WHERE a.grain = ? AND a.period = ?
        ORDER BY a.rank_overall NULLS LAST, a.score DESC NULLS LAST, r.name""", (grain, period))
    dims = query(snap, "SELECT manager_id, dimension, score FROM dimension_score "
                       "WHERE grain = ? AND period = ?", (grain, period))
    wide = (dims.pivot(index="manager_id", columns="dimension", values="score")
            .reindex(columns=list(DIMENSIONS)))
    return base.merge(wide, left_on="manager_id", right_index=True, how="left")



def feed_summary(snap: str) -> pd.DataFrame:
    return query(snap, """
        SELECT f.feed, f.rows, f.first_at, f.last_at, max(l.finished_at) AS last_loaded
        FROM feed_summary f LEFT JOIN load_run l ON l.feed = f.feed
        GROUP BY ALL ORDER BY f.feed""")


def load_runs(snap: str) -> pd.DataFrame:
    return query(snap, """
        SELECT load_run_id, finished_at, source_file, feed, profile, detected, rows_read,
               rows_landed, rows_duplicate, rows_quarantined,
               datediff('millisecond', started_at, finished_at) / 1000.0 AS seconds
        FROM load_run ORDER BY load_run_id DESC""")


def quarantine(snap: str, load_run_id: int | None = None, limit: int = 1000) -> pd.DataFrame:
    return query(snap, """
        SELECT q.load_run_id, q.source_file, q.line, q.column_name, q.raw_value, q.reason_code,
               q.detail
        FROM quarantine q WHERE ? IS NULL OR q.load_run_id = ?
        ORDER BY q.load_run_id DESC, q.line LIMIT ?""", (load_run_id, load_run_id, limit))


def quarantine_by_reason(snap: str) -> pd.DataFrame:
    return query(snap, """
        SELECT reason_code, count(DISTINCT (load_run_id, line)) AS rows
        FROM quarantine GROUP BY ALL ORDER BY rows DESC""")
