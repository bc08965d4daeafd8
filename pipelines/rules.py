"""Read and check the scoring rules file (rules.toml): metrics, weights, normalisation, floors."""
from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.contract import DIMENSIONS, FEEDS

KINDS = ("ratio", "rate", "count", "distinct", "entropy", "attainment")
METHODS = ("linear", "peer_percentile")


class RulesError(Exception):
    """The rules file cannot be used; the message names the file and line to fix."""


@dataclass(frozen=True)
class Metric:
    key: str
    dimension: str
    feed: str
    kind: str
    method: str
    num: str = "1"
    den: str = "1"
    where: str = "TRUE"
    date: str = "occurred_at"
    key_expr: str | None = None
    categories: tuple[str, ...] = ()
    target_metric: str | None = None
    min_data: float = 1
    zero_at: float | None = None
    full_at: float | None = None
    weight: float = 1.0
    why: str = ""
    line: int = 0
    no: int = 0            # position in the file, from 1: the metric's key in scoring joins


@dataclass(frozen=True)
class TeamMetric:
    key: str
    dimension: str
    from_metric: str
    target_metric: str
    weight: float = 1.0


@dataclass(frozen=True)
class Rules:
    version: str
    path: Path
    dimension_weight: dict[str, float]
    floors: dict[str, float]
    min_dimensions: int
    metrics: tuple[Metric, ...] = field(default=())
    # metric key -> gate reason: any value above 0 in a period makes the person ineligible
    gates: dict[str, str] = field(default_factory=dict)
    team_metrics: tuple[TeamMetric, ...] = field(default=())


def _line_of(text: str, pattern: str) -> int:
    for i, line in enumerate(text.splitlines(), start=1):
        if re.search(pattern, line):
            return i
    return 0


def load_rules(path: Path) -> Rules:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RulesError(f"{path}: cannot read the rules file ({exc.strerror})") from exc
    text = raw.decode("utf-8")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: {exc}") from exc

    def fail(line: int, msg: str) -> RulesError:
        return RulesError(f"{path}:{line}: {msg}")

    dims = doc.get("dimensions", {})
    for key in dims:
        if key not in DIMENSIONS:
            raise fail(_line_of(text, rf"^\[dimensions\.{re.escape(key)}\]"),
                       f"unknown dimension {key!r}; the ten are {', '.join(DIMENSIONS)}")
    weights = {d: float(dims.get(d, {}).get("weight", 1.0)) for d in DIMENSIONS}
    if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise fail(_line_of(text, r"^\[dimensions\."),
                   "dimension weights must be >= 0 and not all 0")
    floors = {d: float(v["floor"]) for d, v in dims.items() if "floor" in v}
    metrics, seen = [], set()
    for m in doc.get("metrics", []):
        key = m.get("key", "")
        line = _line_of(text, rf'^key\s*=\s*"{re.escape(key)}"') if key else 0
        if not key or key in seen:
            raise fail(line, f"every metric needs a unique key (got {key!r})")
        seen.add(key)
        if m.get("dimension") not in DIMENSIONS:
            raise fail(line, f"metric {key}: unknown dimension {m.get('dimension')!r}")
        if m.get("feed") not in FEEDS:
            raise fail(line, f"metric {key}: unknown feed {m.get('feed')!r}")
        if m.get("kind") not in KINDS:
            raise fail(line, f"metric {key}: kind must be one of {', '.join(KINDS)}")
        if m.get("method") not in METHODS:
            raise fail(line, f"metric {key}: method must be one of {', '.join(METHODS)}")
        if m["method"] == "linear" and (m.get("zero_at") is None or m.get("full_at") is None
                                        or m["zero_at"] == m["full_at"]):
            raise fail(line, f"metric {key}: linear needs different zero_at and full_at")
        if m["kind"] in ("distinct", "entropy") and not m.get("key_expr"):
            raise fail(line, f"metric {key}: kind {m['kind']} needs key_expr")
        if m["kind"] == "entropy" and len(m.get("categories", [])) < 2:
            raise fail(line, f"metric {key}: entropy needs at least two categories")
        if m["kind"] == "attainment" and not m.get("target_metric"):
            raise fail(line, f"metric {key}: attainment needs target_metric")
        if float(m.get("weight", 1.0)) <= 0:
            raise fail(line, f"metric {key}: weight must be > 0")
        metrics.append(Metric(
            key=key, dimension=m["dimension"], feed=m["feed"], kind=m["kind"],
            method=m["method"], num=str(m.get("num", "1")), den=str(m.get("den", "1")),
            where=str(m.get("where", "TRUE")), date=str(m.get("date", "occurred_at")),
            key_expr=m.get("key_expr"), categories=tuple(m.get("categories", ())),
            target_metric=m.get("target_metric"), min_data=float(m.get("min_data", 1)),
            zero_at=m.get("zero_at"), full_at=m.get("full_at"),
            weight=float(m.get("weight", 1.0)), why=m.get("why", ""), line=line,
            no=len(metrics) + 1))
    missing = [d for d in DIMENSIONS if not any(x.dimension == d for x in metrics)]
    if missing:
        raise fail(0, f"no metric for dimension(s) {', '.join(missing)}")
    gates = {}
    for g in doc.get("gates", []):
        line = _line_of(text, rf'^metric\s*=\s*"{re.escape(str(g.get("metric")))}"')
        if g.get("metric") not in seen:
            raise fail(line, f"gate on unknown metric {g.get('metric')!r}")
        gates[g["metric"]] = str(g.get("reason", g["metric"]))
    team_metrics = []
    for tm in doc.get("team_metrics", []):
        line = _line_of(text, rf'^key\s*=\s*"{re.escape(str(tm.get("key")))}"')
        if tm.get("dimension") not in DIMENSIONS or tm.get("from_metric") not in seen:
            raise fail(line, f"team metric {tm.get('key')!r}: needs a known dimension and a "
                             "from_metric that is one of the metrics")
        team_metrics.append(TeamMetric(str(tm["key"]), tm["dimension"], tm["from_metric"],
                                       str(tm.get("target_metric", "")),
                                       float(tm.get("weight", 1.0))))
    return Rules(
        version=hashlib.sha256(raw).hexdigest()[:12], path=path, dimension_weight=weights,
        floors=floors, min_dimensions=int(doc.get("index", {}).get("min_dimensions", 7)),
        metrics=tuple(metrics), gates=gates, team_metrics=tuple(team_metrics))
