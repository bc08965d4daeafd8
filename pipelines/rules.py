"""Read and check the rules file (rules.toml): metrics, weights, normalisation, floors, and the
game: XP, levels and badges."""
from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.contract import DIMENSIONS, FEEDS

KINDS = ("ratio", "rate", "count", "distinct", "entropy", "attainment")
LANGUAGES = ("zh_TW", "zh_CN", "en")
TIERS = ("bronze", "silver", "gold")
BADGE_PER = ("week", "month", "quarter", "once")
METHODS = ("linear", "peer_percentile")


MAX_METRICS = 1024


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
class XpRule:
    key: str
    feed: str
    where: str
    date: str
    points: float
    daily_cap: float
    line: int = 0


@dataclass(frozen=True)
class Level:
    no: int                       # 1 = the first level
    min_xp: float
    name: dict[str, str]          # per UI language


@dataclass(frozen=True)
class Badge:
    key: str
    scope: str                    # individual | team
    per: str                      # week | month | quarter | once
    sql: str
    tiers: tuple[tuple[str, float], ...]   # (tier, value needed), lowest first
    name: dict[str, str]          # per UI language
    criteria: dict[str, str]      # per UI language: what earns it, in words
    line: int = 0


@dataclass(frozen=True)
class Rules:
    version: str
    path: Path
    dimension_weight: dict[str, float]
    floors: dict[str, float]
    min_dimensions: int
    # the grains a floor gates: a week holds too few rows to judge conduct on
    floor_grains: tuple[str, ...] = ("month", "quarter")
    metrics: tuple[Metric, ...] = field(default=())
    # metric key -> gate reason: any value above 0 in a period makes the person ineligible
    gates: dict[str, str] = field(default_factory=dict)
    team_metrics: tuple[TeamMetric, ...] = field(default=())
    xp: tuple[XpRule, ...] = field(default=())
    levels: tuple[Level, ...] = field(default=())
    badges: tuple[Badge, ...] = field(default=())
    issuer: dict[str, str] = field(default_factory=dict)

    def badge(self, key: str) -> Badge:
        return next(b for b in self.badges if b.key == key)


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
    floor_grains = doc.get("index", {}).get("floor_grains", ["month", "quarter"])
    if (not isinstance(floor_grains, list)
            or not set(floor_grains) <= {"week", "month", "quarter"}):
        raise fail(_line_of(text, r"^floor_grains\s*="),
                   "floor_grains lists grains: any of \"week\", \"month\", \"quarter\"")
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
    if len(metrics) >= MAX_METRICS:  # scoring packs the metric's number into 10 bits
        raise fail(metrics[MAX_METRICS - 1].line, f"more than {MAX_METRICS - 1} metrics")
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
    xp, levels, badges = _game(doc, text, fail)
    return Rules(
        version=hashlib.sha256(raw).hexdigest()[:12], path=path, dimension_weight=weights,
        floors=floors, min_dimensions=int(doc.get("index", {}).get("min_dimensions", 7)),
        floor_grains=tuple(floor_grains),
        metrics=tuple(metrics), gates=gates, team_metrics=tuple(team_metrics),
        xp=xp, levels=levels, badges=badges,
        issuer={k: str(v) for k, v in doc.get("issuer", {}).items()})


def _labels(value: object) -> dict[str, str] | None:
    """A {language: text} table with every UI language, or None."""
    if not isinstance(value, dict) or any(not str(value.get(lang, "")).strip()
                                          for lang in LANGUAGES):
        return None
    return {lang: str(value[lang]) for lang in LANGUAGES}


def _game(doc: dict, text: str, fail) -> tuple[tuple[XpRule, ...], tuple[Level, ...],
                                                tuple[Badge, ...]]:
    xp, seen = [], set()
    for x in doc.get("xp", []):
        key = str(x.get("key", ""))
        line = _line_of(text, rf'^key\s*=\s*"{re.escape(key)}"') if key else 0
        if not key or key in seen:
            raise fail(line, f"xp rule needs a unique key (got {key!r})")
        seen.add(key)
        if x.get("feed") not in FEEDS or x.get("feed") in ("roster", "targets"):
            raise fail(line, f"xp {key}: unknown event feed {x.get('feed')!r}")
        points, cap = float(x.get("points", 0)), float(x.get("daily_cap", 0))
        if points <= 0 or cap < points:
            raise fail(line, f"xp {key}: points must be > 0 and daily_cap at least points")
        xp.append(XpRule(key, x["feed"], str(x.get("where", "TRUE")),
                         str(x.get("date", "occurred_at")), points, cap, line))
    levels = []
    for i, lv in enumerate(sorted(doc.get("levels", []), key=lambda v: v.get("min_xp", 0))):
        names = _labels(lv.get("name"))
        if names is None:
            raise fail(_line_of(text, r"^\[\[levels\]\]"),
                       f"level {i + 1}: name needs {', '.join(LANGUAGES)}")
        levels.append(Level(i + 1, float(lv.get("min_xp", 0)), names))
    if levels and levels[0].min_xp != 0:
        raise fail(_line_of(text, r"^\[\[levels\]\]"), "the first level must start at min_xp = 0")
    badges, seen = [], set()
    for b in doc.get("badges", []):
        key = str(b.get("key", ""))
        line = _line_of(text, rf'^key\s*=\s*"{re.escape(key)}"') if key else 0
        if not key or key in seen:
            raise fail(line, f"badge needs a unique key (got {key!r})")
        seen.add(key)
        if b.get("scope") not in ("individual", "team"):
            raise fail(line, f"badge {key}: scope must be individual or team")
        if b.get("per") not in BADGE_PER:
            raise fail(line, f"badge {key}: per must be one of {', '.join(BADGE_PER)}")
        tiers = b.get("tiers", {})
        if not tiers or any(t not in TIERS for t in tiers):
            raise fail(line, f"badge {key}: tiers must name at least one of {', '.join(TIERS)}")
        ordered = tuple((t, float(tiers[t])) for t in TIERS if t in tiers)
        if any(a[1] >= b_[1] for a, b_ in zip(ordered, ordered[1:], strict=False)):
            raise fail(line, f"badge {key}: each tier must need more than the one below")
        names, criteria = _labels(b.get("name")), _labels(b.get("criteria"))
        if names is None or criteria is None:
            raise fail(line, f"badge {key}: name and criteria need {', '.join(LANGUAGES)}")
        if not str(b.get("sql", "")).strip():
            raise fail(line, f"badge {key}: sql is missing")
        badges.append(Badge(key, b["scope"], b["per"], str(b["sql"]), ordered, names, criteria,
                            line))
    return tuple(xp), tuple(levels), tuple(badges)
