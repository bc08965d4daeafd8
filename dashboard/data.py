"""Cached, read-only access to the published snapshot (never the pipeline's warehouse)."""
from __future__ import annotations

from pathlib import Path

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
    con = duckdb.connect(snapshot_path, read_only=True)
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
               a.rank_overall, a.rank_peer
        FROM awareness_index a JOIN roster r USING (manager_id)
        WHERE a.grain = ? AND a.period = ?
        ORDER BY a.rank_overall NULLS LAST, a.score DESC NULLS LAST, r.name""", (grain, period))
    dims = query(snap, "SELECT manager_id, dimension, score FROM dimension_score "
                       "WHERE grain = ? AND period = ?", (grain, period))
    wide = (dims.pivot(index="manager_id", columns="dimension", values="score")
            .reindex(columns=list(DIMENSIONS)))
    return base.merge(wide, left_on="manager_id", right_index=True, how="left")


def snapshot_mtime(snap: str) -> float:
    return Path(snap).stat().st_mtime
