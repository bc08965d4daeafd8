"""Explain a score: its metrics, how each was normalised, and the log rows behind each one."""
from __future__ import annotations

from datetime import date, timedelta

import duckdb

from pipelines.contract import DIMENSIONS, FEEDS
from pipelines.rules import Rules
from pipelines.score import UsageError, define_context, parse_period


def period_end(grain: str, start: date) -> date:
    """Last day of the week, month or quarter that begins on `start`."""
    if grain == "week":
        return start + timedelta(days=6)
    months = 3 if grain == "quarter" else 1
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def explain(con: duckdb.DuckDBPyConnection, rules: Rules, manager_id: str, grain: str,
            period: str, dimension: str | None = None) -> dict:
    """Everything behind one person's scores in one period, as plain data.

    For each metric: its value, 0-100 score and status (with the reason when not ok), how it
    was normalised, and the ids of the log rows that counted (`rows`) and, for ratios, the ones
    that met the numerator (`hits`)."""
    form, period, start = parse_period(period)
    if grain != form:
        raise UsageError(f"{period} is a {form}, not a {grain}")
    if dimension is not None and dimension not in rules.dimension_weight:
        raise UsageError(f"no dimension {dimension!r}; one of "
                         f"{', '.join(rules.dimension_weight)}")
    end = period_end(grain, start)
    define_context(con)   # a metric's filter may use data_end()
    index = con.execute(
        "SELECT score, status, eligible, gate_reason, rank_overall, rank_peer, rules_version "
        "FROM awareness_index WHERE manager_id = ? AND grain = ? AND period = ?",
        [manager_id, grain, period]).fetchall()
    found = con.execute("SELECT dimension, score, status, fallback FROM dimension_score "
                        "WHERE manager_id = ? AND grain = ? AND period = ?",
                        [manager_id, grain, period]).fetchall()
    # in the article's order of the ten (integrity first), as the dashboard lists them
    dims = {d: {"score": s, "status": st, "fallback": fb, "metrics": []}
            for d, s, st, fb in sorted(found, key=lambda r: DIMENSIONS.index(r[0]))
            if dimension is None or d == dimension}
    scores = {k: (v, sc, st, r) for k, v, sc, st, r in con.execute(
        "SELECT metric_key, value, score, status, reason FROM metric_score "
        "WHERE manager_id = ? AND grain = ? AND period = ?",
        [manager_id, grain, period]).fetchall()}
    for m in rules.metrics:
        if m.dimension not in dims:
            continue
        value, score, status, reason = scores.get(m.key, (None, None, "not_scored", None))
        key = FEEDS[m.feed].key[0]
        # the metric's own filter and date column, over this person's rows in the period
        rows = con.execute(
            f"SELECT {key}, CAST(({m.num}) AS DOUBLE) FROM {m.feed} "
            f"WHERE manager_id = ? AND CAST(({m.date}) AS DATE) BETWEEN ? AND ? "
            f"AND ({m.where}) ORDER BY {m.date}, {key}",
            [manager_id, start, end]).fetchall()
        dims[m.dimension]["metrics"].append({
            "metric": m.key, "why": m.why, "feed": m.feed, "kind": m.kind,
            "value": value, "score": score, "status": status, "reason": reason,
            "normalisation": ({"method": m.method, "zero_at": m.zero_at, "full_at": m.full_at}
                              if m.method == "linear" else
                              {"method": m.method, "within": "peer group, same period"}),
            "weight": m.weight, "min_data": m.min_data,
            "rows": [r[0] for r in rows],
            "hits": [r[0] for r in rows if r[1]] if m.kind in ("ratio", "rate", "count") else None,
        })
    return {
        "manager_id": manager_id, "grain": grain, "period": period,
        "from": start.isoformat(), "to": end.isoformat(),
        "index": dict(zip(("score", "status", "eligible", "gate_reason", "rank_overall",
                           "rank_peer", "rules_version"), index[0], strict=True))
        if index else None,
        "dimensions": dims,
    }
