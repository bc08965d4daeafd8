"""Explain a score: its metrics, how each was normalised, and the log rows behind each one."""
from __future__ import annotations

import difflib
import re
import unicodedata
from datetime import date, timedelta

import duckdb

from dashboard import i18n
from pipelines.contract import DIMENSIONS, FEEDS
from pipelines.rules import Rules
from pipelines.score import UsageError, define_context, parse_period

# a dimension typed without its "awareness" word (營銷 for 營銷意識) still names it
_DIMENSION_SUFFIXES = ("意識", "意识", "awareness")


def period_end(grain: str, start: date) -> date:
    """Last day of the week, month or quarter that begins on `start`."""
    if grain == "week":
        return start + timedelta(days=6)
    months = 3 if grain == "quarter" else 1
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def fold(text: str) -> str:
    """What two spellings of one name or id share: NFKC (full-width ｒｍ００１ is rm001),
    case-folded, spaces trimmed and runs of them made one."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def find_manager(con: duckdb.DuckDBPyConnection, who: str, lang: str = i18n.DEFAULT) -> dict:
    """The roster row of the person `who` names: a manager id in any case or width, else an
    exact name. Two people of that name, or nobody, is a UsageError that says what to type."""
    people = {}
    for manager_id, name, team, branch, peer in con.cursor().execute(
            "SELECT manager_id, name, team_name, branch, peer_group FROM roster "
            "ORDER BY manager_id").fetchall():
        people.setdefault(manager_id, {"manager_id": manager_id, "name": name,
                                       "team_name": team, "branch": branch,
                                       "peer_group": peer})
    wanted = fold(who)
    by_id = [p for p in people.values() if fold(p["manager_id"]) == wanted]
    if by_id:
        return by_id[0]
    named = [p for p in people.values() if fold(p["name"]) == wanted]
    if len(named) == 1:
        return named[0]
    t = i18n.translator(lang)
    if named:
        raise UsageError(t("explain.ambiguous", who=who.strip(), n=len(named),
                           first=named[0]["manager_id"],
                           people=t("explain.list_sep").join(
                               t("explain.candidate", id=p["manager_id"], team=p["team_name"],
                                 branch=p["branch"]) for p in named)))
    # the closest names, and ids for a mistyped id; each shown with the id to type
    pool = {}
    for p in people.values():
        pool.setdefault(fold(p["name"]), []).append(p)
        pool.setdefault(fold(p["manager_id"]), []).append(p)
    # difflib's ratio, best first; equally close ones in id/name order (RM01: RM001, RM010 ...)
    ratios = {k: difflib.SequenceMatcher(None, wanted, k).ratio() for k in pool}
    close = sorted((k for k, r in ratios.items() if r >= 0.5), key=lambda k: (-ratios[k], k))
    shown = list(dict.fromkeys(p["manager_id"] for k in close for p in pool[k]))[:5]
    hint = (t("explain.suggest", people=t("explain.list_sep").join(
                t("explain.suggestion", name=people[i]["name"], id=i) for i in shown))
            if shown else t("explain.no_suggestion"))
    raise UsageError(t("explain.no_person", who=who.strip(), hint=hint))


def find_dimension(text: str, lang: str = i18n.DEFAULT) -> str:
    """The dimension key `text` names: the key, or its label in any language, with or without
    the word for "awareness"."""
    def squash(s: str) -> str:      # 營銷 意識 and 营销意识 alike
        return re.sub(r"\s+", "", fold(s))

    names: dict[str, str] = {}
    for d in DIMENSIONS:
        names[squash(d)] = d
        for code in i18n.LANGUAGES:
            label = squash(i18n.t(code, f"dimension.{d}"))
            names[label] = d
            for suffix in _DIMENSION_SUFFIXES:
                if label.endswith(suffix) and label != suffix:
                    names[label.removesuffix(suffix)] = d
    found = names.get(squash(text))
    if found is None:
        raise UsageError(i18n.t(lang, "explain.no_dimension", dimension=text.strip(),
                                dimensions=i18n.t(lang, "explain.list_sep").join(
                                    i18n.t(lang, f"dimension.{d}") for d in DIMENSIONS)))
    return found


def explain(con: duckdb.DuckDBPyConnection, rules: Rules, who: str, grain: str,
            period: str, dimension: str | None = None, lang: str = i18n.DEFAULT) -> dict:
    """Everything behind one person's scores in one period, as plain data.

    `who` is a manager id or a roster name (see find_manager), `dimension` a key or a label
    (see find_dimension); `lang` is the language of the UsageError messages only.
    For each metric: its value, 0-100 score and status (with the reason when not ok), how it
    was normalised, and the ids of the log rows that counted (`rows`) and, for ratios, the ones
    that met the numerator (`hits`)."""
    form, period, start = parse_period(period)
    if grain != form:
        raise UsageError(i18n.t(lang, "explain.wrong_grain", period=period,
                                form=i18n.t(lang, f"explain.grain_{form}"),
                                grain=i18n.t(lang, f"explain.grain_{grain}")))
    person = find_manager(con, who, lang)
    manager_id = person["manager_id"]
    if dimension is not None:
        dimension = find_dimension(dimension, lang)
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
    scores = {k: (v, sc, st, r, n) for k, v, sc, st, r, n in con.execute(
        "SELECT metric_key, value, score, status, reason, data_amount FROM metric_score "
        "WHERE manager_id = ? AND grain = ? AND period = ?",
        [manager_id, grain, period]).fetchall()}
    for m in rules.metrics:
        if m.dimension not in dims:
            continue
        value, score, status, reason, amount = scores.get(
            m.key, (None, None, "not_scored", None, None))
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
            "data_amount": amount,
            "normalisation": ({"method": m.method, "zero_at": m.zero_at, "full_at": m.full_at}
                              if m.method == "linear" else
                              {"method": m.method, "within": "peer group, same period"}),
            "weight": m.weight, "min_data": m.min_data,
            "rows": [r[0] for r in rows],
            "hits": [r[0] for r in rows if r[1]] if m.kind in ("ratio", "rate", "count") else None,
        })
    return {
        "manager_id": manager_id, "name": person["name"], "team_name": person["team_name"],
        "branch": person["branch"], "peer_group": person["peer_group"],
        "grain": grain, "period": period,
        "from": start.isoformat(), "to": end.isoformat(),
        "index": dict(zip(("score", "status", "eligible", "gate_reason", "rank_overall",
                           "rank_peer", "rules_version"), index[0], strict=True))
        if index else None,
        "dimensions": dims,
    }


# --- the words of an explanation in one language (the CLI lays them out) --------------------

def _amount(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def status_text(status: str, lang: str) -> str:
    return i18n.t(lang, "explain.not_scored" if status == "not_scored" else f"status.{status}")


def reason_text(metric: dict, lang: str) -> str:
    """Why a metric has no score, from its numbers (metric_score.reason is English)."""
    t = i18n.translator(lang)
    status = metric["status"]
    if status == "insufficient_data":
        return t("explain.reason_insufficient", amount=_amount(metric["data_amount"]),
                 needed=_amount(metric["min_data"]))
    if status == "no_target":
        return t("explain.reason_no_target")
    if status == "no_feed":
        return t("explain.reason_no_feed", feed=t(f"feed.{metric['feed']}"))
    return ""


def normalisation_text(norm: dict, lang: str) -> str:
    if norm["method"] == "linear":
        return i18n.t(lang, "explain.linear", zero=_amount(norm["zero_at"]),
                      full=_amount(norm["full_at"]))
    return i18n.t(lang, "explain.peer_percentile")


def gate_text(reason: str, lang: str) -> str:
    """A stored gate reason ('misconduct', 'floor:integrity') in words."""
    kind, _, dim = reason.partition(":")
    if kind == "floor" and dim:
        return i18n.t(lang, "gate.floor", dimension=i18n.t(lang, f"dimension.{dim}"))
    return i18n.t(lang, f"gate.{reason}")


def fallback_text(dimension: dict, lang: str) -> str:
    """What a dimension was scored without (dimension_score.fallback is English), from its
    metrics' statuses."""
    t = i18n.translator(lang)
    left_out = [t("explain.left_out", metric=t(f"metric.{m['metric']}"),
                  why=t(f"status.{m['status']}"))
                for m in dimension["metrics"] if m["status"] in ("no_feed", "no_target")]
    return t("explain.without", metrics=t("explain.list_sep").join(left_out)) if left_out else ""
