"""The team lead's desk as pure functions: strengths, the focus dimension, a metric's gap in its
own units, badge progress and the meeting workbook. DataFrames and dicts in, values out."""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import pandas as pd

from pipelines.contract import DIMENSIONS
from pipelines.season import safe_text

TIERS = ("bronze", "silver", "gold")


def _num(v) -> float | None:
    """A float, or None for missing values (None, NaN, pd.NA)."""
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


@dataclass
class Focus:
    """The one dimension to work on: where reaching the peer median lifts the index most."""
    dimension: str
    gain: float                  # index points gained by reaching the benchmark
    score: float
    benchmark: float             # the peer median (or the peer's 75th percentile, see `against`)
    against: str                 # "p50" | "p75" | "max": the benchmark the person is under
    gains: dict[str, float] = field(default_factory=dict)


def strengths(scores: dict[str, float | None], n: int = 2) -> list[str]:
    """The n best-scored dimensions, ties in the fixed dimension order."""
    scored = [(d, s) for d in DIMENSIONS if (s := _num(scores.get(d))) is not None]
    return [d for d, _ in sorted(scored, key=lambda x: (-x[1], DIMENSIONS.index(x[0])))[:n]]


def index_gains(scores: dict[str, float | None], benchmark: dict[str, float | None],
                weights: dict[str, float]) -> dict[str, float]:
    """Index points the person gains by reaching `benchmark` on each dimension alone: the
    index is the weighted mean of the dimensions with data, so the gain is the dimension's
    weight share times its shortfall."""
    have = {d: s for d in DIMENSIONS if (s := _num(scores.get(d))) is not None}
    total = sum(weights.get(d, 0.0) for d in have)
    if total <= 0:
        return {}
    out = {}
    for d, s in have.items():
        b = _num(benchmark.get(d))
        if b is not None:
            out[d] = weights.get(d, 0.0) / total * max(0.0, b - s)
    return out


def pick_focus(scores: dict[str, float | None], p50: dict[str, float | None],
               p75: dict[str, float | None], weights: dict[str, float]) -> Focus | None:
    """The focus dimension; against the 75th percentile when the person is at or above the
    peer median everywhere, and against a full score above that. None when nothing is scored
    (or everything scores 100)."""
    full = dict.fromkeys(DIMENSIONS, 100.0)
    for against, bench in (("p50", p50), ("p75", p75), ("max", full)):
        gains = index_gains(scores, bench, weights)
        positive = {d: g for d, g in gains.items() if g > 1e-9}
        if positive:
            best = max(positive, key=lambda d: (positive[d], -DIMENSIONS.index(d)))
            return Focus(best, positive[best], float(scores[best]), float(bench[best]),
                         against, gains)
    return None


def driving_metric(metrics: pd.DataFrame, peer: dict[str, float]) -> str | None:
    """Within one dimension, the metric whose shortfall against the peer median score costs the
    dimension most (weight share x shortfall); the weakest metric if none falls short.
    `metrics` has metric_key, score, status, weight; `peer` maps metric_key -> median score."""
    ok = metrics[metrics["status"] == "ok"]
    if ok.empty:
        return None
    total = float(ok["weight"].sum()) or 1.0
    costs = {r.metric_key: r.weight / total * max(0.0, peer.get(r.metric_key, r.score) - r.score)
             for r in ok.itertuples()}
    if max(costs.values()) > 1e-9:
        return max(costs, key=costs.get)
    return str(ok.sort_values(["score", "metric_key"]).iloc[0]["metric_key"])


def needed_value(rule: dict, target_score: float, peer_value: float | None) -> float | None:
    """The metric value that scores `target_score`: on the rule's straight line, or the peer
    median's value for a percentile metric."""
    if rule["method"] == "linear":
        zero, full = _num(rule["zero_at"]), _num(rule["full_at"])
        if zero is None or full is None:
            return None
        return zero + target_score / 100.0 * (full - zero)
    return _num(peer_value)


def is_share(rule: dict) -> bool:
    """A metric whose value is a share (0-1, shown as a percentage): a ratio or an attainment,
    unless its straight line runs outside 0-1 (an average rating, say)."""
    if rule["kind"] not in ("ratio", "attainment"):
        return False
    if rule["method"] != "linear":
        return True
    zero, full = _num(rule.get("zero_at")), _num(rule.get("full_at"))
    return zero is not None and full is not None and min(zero, full) >= 0 \
        and max(zero, full) <= 1.0


def _fmt(v: float, share: bool) -> str:
    if share:
        return f"{v * 100:.0f}%"
    return f"{v:,.0f}" if abs(v) >= 10 else f"{v:.1f}"


def gap(rule: dict, value: float | None, data_amount: float | None,
        needed: float | None) -> tuple[str, dict] | None:
    """What closing a metric's gap means in its own units: a catalogue key (desk.gap_*) and the
    values to fill it with. None when there is nothing to say."""
    value, needed = _num(value), _num(needed)
    if value is None or needed is None:
        return None
    zero, full = _num(rule.get("zero_at")), _num(rule.get("full_at"))
    lower_better = rule["method"] == "linear" and zero is not None and full is not None \
        and full < zero
    kind = rule["kind"]
    behind = value > needed + 1e-9 if lower_better else value < needed - 1e-9
    if not behind:
        return "desk.gap_reached", {}
    if kind == "count" and lower_better:
        return "desk.gap_none", {"now": f"{value:.0f}"}
    share = is_share(rule)
    values = {"now": _fmt(value, share), "target": _fmt(needed, share)}
    den = _num(data_amount) or 0.0
    if kind == "ratio" and share:
        more = math.ceil(abs(needed - value) * den - 1e-9)
        return ("desk.gap_ratio_fewer" if lower_better else "desk.gap_ratio_more",
                {**values, "den": f"{den:.0f}", "more": f"{max(more, 1)}"})
    if kind == "ratio":
        return "desk.gap_mean", {**values, "diff": f"{abs(needed - value):.1f}"}
    if kind == "rate":
        return "desk.gap_rate", {**values, "more": _fmt(abs(needed - value), False)}
    if kind == "attainment":
        return "desk.gap_attainment", {**values,
                                       "diff": f"{abs(needed - value) * 100:.0f}"}
    if kind == "entropy":
        n = int(_num(rule.get("n_categories")) or 0)
        if n < 2:
            return None
        k = min(n, math.ceil(n ** needed - 1e-9))
        return "desk.gap_entropy", {"now": f"{value:.2f}", "target": f"{needed:.2f}",
                                    "k": f"{k}", "n": f"{n}"}
    more = math.ceil(abs(needed - value) - 1e-9)
    return "desk.gap_count", {**values, "more": f"{max(more, 1)}"}


@dataclass
class Progress:
    badge_key: str
    tier: str                    # the next tier to reach
    value: float
    needs: float
    period: str
    finished: bool


def badge_progress(defs: pd.DataFrame, progress: pd.DataFrame, held: pd.DataFrame,
                   scope: str = "individual") -> list[Progress]:
    """For each badge of `scope` the subject can still earn: the next tier above the best one
    held for the same period (ever, for once badges), with the latest value against it."""
    import json

    out = []
    values = {r.badge_key: r for r in progress.itertuples()}
    # (badge, period) -> tiers held, in plain Python: a frame filter per badge cost ~4 ms each
    held_tiers: dict[tuple[str, str], set[str]] = {}
    ever: dict[str, set[str]] = {}
    for key, period, tier in zip(held["badge_key"], held["period"], held["tier"], strict=True):
        held_tiers.setdefault((key, period), set()).add(tier)
        ever.setdefault(key, set()).add(tier)
    for key, d in defs[defs["scope"] == scope].iterrows():
        row = values.get(key)
        if row is None:
            continue
        tiers = sorted(json.loads(d["tiers"]).items(), key=lambda kv: TIERS.index(kv[0]))
        got = ever.get(key, set()) if d["per"] == "once" else held_tiers.get((key, row.period),
                                                                             set())
        best = max((TIERS.index(t) for t in got), default=-1)
        nxt = next(((t, v) for t, v in tiers if TIERS.index(t) > best and row.value < v), None)
        if nxt is None:
            continue
        out.append(Progress(key, nxt[0], float(row.value), float(nxt[1]), row.period,
                            bool(row.finished)))
    # closest to the next tier first: the badge a person can get soonest
    return sorted(out, key=lambda p: (-(p.value / p.needs if p.needs else 0), p.badge_key))


def workbook(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An .xlsx with one sheet per table; text a spreadsheet would run as a formula is defused
    (a leading apostrophe), numbers stay numbers."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for title, df in sheets.items():
        ws = wb.create_sheet(title=safe_sheet(title))
        ws.append([safe_text(str(c)) for c in df.columns])
        for row in df.itertuples(index=False):
            ws.append([_cell(v) for v in row])
        for i, col in enumerate(df.columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = max(10, min(40, len(str(col)) * 2))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def safe_sheet(title: str) -> str:
    """A sheet title Excel accepts: no []:*?/\\ and at most 31 characters."""
    return "".join("_" if c in "[]:*?/\\" else c for c in title)[:31] or "sheet"


def _cell(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, str):
        return safe_text(v)
    if hasattr(v, "item"):          # numpy scalars
        return v.item()
    return v
