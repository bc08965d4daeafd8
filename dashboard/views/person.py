"""Person page (the team lead's desk): where one person stands on the ten dimensions, how each
moved, against whom, why (the log rows), what to work on next, and a workbook for the meeting."""
from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from dashboard import charts, data, desk, i18n
from dashboard.views import links
from dashboard.views.common import page_start
from pipelines.coaching import CoachingError, load_coaching
from pipelines.config import load_settings
from pipelines.contract import DIMENSIONS, GRAINS, LOCAL_TIMEZONE
from pipelines.explain import period_end
from pipelines.score import parse_period

TREND_SPAN = {"week": 26, "month": 12}
PAGE_SIZE = 50
TIER_RANK = {"bronze": 0, "silver": 1, "gold": 2}


def render() -> None:
    lang = i18n.current()
    t = i18n.translator(lang)
    started = page_start(t, "person.title")
    if started is None:
        return
    snap, meta = started
    manager_id = st.query_params.get("id")
    frames = data.person(snap, manager_id) if manager_id else None
    if frames is None:
        if manager_id:
            st.warning(t("person.unknown", id=i18n.md(manager_id)))
        _picker(t, snap)
        return
    who = frames["who"].iloc[0]
    rules = data.rules(snap)

    _identity(t, who)
    c1, c2 = st.columns([1, 3])
    grain = c1.selectbox(t("filter.grain"), GRAINS, index=GRAINS.index("month"),
                         format_func=lambda g: t(f"grain.{g}"), key="person_grain")
    mine = frames["index"]
    options = sorted(mine.loc[mine["grain"] == grain, "period"].unique(), reverse=True)
    if not options:
        _header(t, lang, who, None, frames, meta, grain, rules)
        st.info(t("person.no_scores"))
        return
    wanted = st.query_params.get("period")
    period = c2.selectbox(t("filter.period"), options,
                          index=options.index(wanted) if wanted in options else 0,
                          format_func=lambda p: i18n.period_label(lang, grain, p),
                          key=f"person_period_{grain}")
    row = mine[(mine["grain"] == grain) & (mine["period"] == period)].iloc[0]
    _header(t, lang, who, row, frames, meta, grain, rules)

    model = build(snap, frames, rules, who, grain, period)
    _standing(t, lang, model)
    _focus(t, lang, model)
    _trends(t, lang, frames, who)
    _evidence(t, lang, snap, model, rules, meta)
    _badges(t, lang, frames, rules)
    _export(t, lang, snap, model, frames, rules, meta)


def _picker(t, snap: str) -> None:
    """No person chosen (or an unknown id): pick one; the choice becomes the page's address."""
    people = data.people(snap)
    labels = dict(zip(people["manager_id"],
                      people["name"] + " · " + people["team_name"] + " · " + people["manager_id"],
                      strict=True))
    choice = st.selectbox(t("person.pick"), [None, *people["manager_id"]],
                          format_func=lambda m: t("person.pick_prompt") if m is None
                          else labels[m], key="person_pick")
    if choice:
        st.query_params["id"] = choice
        st.rerun()


def running_until(meta: dict, grain: str, period: str) -> date | None:
    """The last day with data when the period is still running (it ends after that day)."""
    end = pd.Timestamp(meta.get("data_end")).date() if meta.get("data_end") else None
    if end is None:
        return None
    _, _, start = parse_period(period)
    return end if period_end(grain, start) > end else None


def not_ranked_reason(t, row: pd.Series) -> str | None:
    """Why a person has no rank this period, in words; None when ranked."""
    if pd.notna(row["rank_overall"]):
        return None
    if row["status"] != "ok":
        return t(f"status.{row['status']}")
    reason = row["gate_reason"]
    if isinstance(reason, str) and reason.startswith("floor:"):
        return t("gate.floor", dimension=t(f"dimension.{reason.split(':', 1)[1]}"))
    return t(f"gate.{reason}") if isinstance(reason, str) else t("person.not_ranked")


def _identity(t, who) -> None:
    """Who this is: name, team, branch, peer group, id (every value from a file escaped)."""
    st.subheader(i18n.md(who["name"]))
    st.caption(" · ".join([i18n.md(who["team_name"]), i18n.md(who["branch"]),
                           t(f"peer_group.{who['peer_group']}"), i18n.md(who["manager_id"])]))
    links.team_link(t, who["team_id"], who["team_name"])


def _header(t, lang, who, row, frames, meta, grain, rules) -> None:
    if row is None:
        return
    ranked = frames["ranked"]
    sizes = ranked[(ranked["grain"] == grain) & (ranked["period"] == row["period"])]
    overall_n = int(sizes["overall"].iloc[0]) if len(sizes) else 0
    peer_n = int(sizes["peer"].iloc[0]) if len(sizes) else 0
    xp = frames["xp"]
    held = frames["awards"][frames["awards"]["revoked_at"].isna()]
    cols = st.columns(5)
    change = row["score_change"]
    cols[0].metric(t("person.index"), i18n.number(row["score"]) or "–",
                   delta=None if pd.isna(change) else f"{change:+.1f}")
    cols[1].metric(t("person.rank_overall"),
                   t("person.rank_of", rank=int(row["rank_overall"]), n=overall_n)
                   if pd.notna(row["rank_overall"]) else "–",
                   delta=_movement_delta(row))
    cols[2].metric(t("person.rank_peer"),
                   t("person.rank_of", rank=int(row["rank_peer"]), n=peer_n)
                   if pd.notna(row["rank_peer"]) else "–")
    if len(xp):
        x = xp.iloc[0]
        levels = rules["levels"].set_index("level_no")[f"name_{i18n.column_suffix(lang)}"]
        cols[3].metric(t("person.level_value", level=int(x["level_no"])),
                       levels.get(int(x["level_no"]), ""),
                       delta=t("person.xp_value", xp=i18n.number(x["xp_total"], 0)),
                       delta_color="off")
    cols[4].metric(t("person.badges_held"), str(len(held)))
    until = running_until(meta, grain, row["period"])
    period_text = i18n.period_label(lang, grain, row["period"])
    if until:
        st.caption(t("person.running", period=period_text,
                     day=f"{until.month:02d}-{until.day:02d}"))
    else:
        st.caption(t("person.finished", period=period_text))
    reason = not_ranked_reason(t, row)
    if reason:
        st.warning(t("person.not_ranked_because", reason=reason))


def _movement_delta(row) -> int | None:
    """Places gained (positive) or lost since the previous period: st.metric draws the arrow."""
    if pd.isna(row["prev_rank"]) or pd.isna(row["movement"]):
        return None
    return int(row["movement"]) or None


def build(snap: str, frames: dict, rules: dict, who, grain: str, period: str) -> dict:
    """The numbers of the page for one period: each dimension against the peer and team
    medians, strengths, the focus dimension, its driving metric and gap. Pure apart from the
    cached reads, so tests and the benchmark call it without a browser."""
    dims = frames["dims"]
    here = dims[(dims["grain"] == grain) & (dims["period"] == period)]
    scores = dict(zip(here["dimension"], here["score"], strict=True))
    bands = frames["bands"]
    b = bands[(bands["grain"] == grain) & (bands["period"] == period)]
    peer = b[b["scope"] == "peer"].set_index("dimension")
    team = b[b["scope"] == "team"].set_index("dimension")
    rows = pd.DataFrame({
        "dimension": list(DIMENSIONS),
        "score": [scores.get(d) for d in DIMENSIONS],
        "p25": [peer["p25"].get(d) for d in DIMENSIONS],
        "p50": [peer["p50"].get(d) for d in DIMENSIONS],
        "p75": [peer["p75"].get(d) for d in DIMENSIONS],
        "team_p50": [team["p50"].get(d) for d in DIMENSIONS],
    })
    weights = dict(zip(rules["dimensions"]["dimension"], rules["dimensions"]["weight"],
                       strict=True))
    floors = {d: f for d, f in zip(rules["dimensions"]["dimension"],
                                    rules["dimensions"]["floor"], strict=True) if pd.notna(f)}
    focus = desk.pick_focus(scores, dict(zip(rows["dimension"], rows["p50"], strict=True)),
                            dict(zip(rows["dimension"], rows["p75"], strict=True)), weights)
    pp = data.person_period(snap, who["manager_id"], who["peer_group"], grain, period)
    metric_rules = rules["metrics"].set_index("metric_key")
    metrics = pp["metrics"].merge(metric_rules[["weight", "min_data", "method", "zero_at",
                                                "full_at", "kind", "feed", "n_categories"]],
                                  left_on="metric_key", right_index=True, how="left")
    metrics = metrics.merge(pp["peer"], on="metric_key", how="left")
    metrics["order"] = metrics["metric_key"].map(
        dict(zip(rules["metrics"]["metric_key"], rules["metrics"]["metric_no"], strict=True)))
    metrics = metrics.sort_values("order")
    below_floor = [d for d, f in floors.items()
                   if scores.get(d) is not None and pd.notna(scores.get(d))
                   and scores[d] < f]
    # the focus is measured against its benchmark; a dimension under its floor against the
    # peer median
    against = {d: "p50" for d in below_floor}
    if focus:
        against[focus.dimension] = focus.against
    drivers = {d: _driver(metrics, d, metric_rules, a) for d, a in against.items()}
    return {"grain": grain, "period": period, "who": who, "rows": rows, "scores": scores,
            "strengths": desk.strengths(scores), "focus": focus, "floors": floors,
            "below_floor": below_floor, "metrics": metrics, "drivers": drivers,
            "weights": weights}


def _driver(metrics: pd.DataFrame, dimension: str, metric_rules: pd.DataFrame,
            against: str = "p50") -> dict | None:
    """The metric that drives a dimension's shortfall and what closing it means. Against the
    peer median, each metric is compared with the peer median's score on it; above the median
    (against p75 or a full score) with a full score: the metric with the most room left."""
    mine = metrics[metrics["dimension"] == dimension]
    if against == "p50":
        bench = {k: v for k, v in zip(mine["metric_key"], mine["score_p50"], strict=True)
                 if pd.notna(v)}
    else:
        bench = dict.fromkeys(mine["metric_key"], 100.0)
    key = desk.driving_metric(mine, bench)
    if key is None:
        return None
    m = mine.set_index("metric_key").loc[key]
    rule = {**metric_rules.loc[key].to_dict()}
    target_score = bench.get(key)
    needed = None if target_score is None else desk.needed_value(
        rule, target_score, m["value_p50"] if against == "p50" else None)
    found = desk.gap(rule, m["value"], m["data_amount"], needed)
    if found is None and against != "p50":
        found = ("desk.gap_above", {})
    return {"metric": key, "gap": found, "score": m["score"], "peer_score": target_score,
            "against": against}


def _card_text(t, lang: str, model: dict, coaching, d: str) -> str:
    driver = model["drivers"].get(d)
    peer_median = model["rows"].set_index("dimension")["p50"].get(d)
    return coaching.card(d, _lang_key(lang),
                         score=i18n.number(model["scores"].get(d), 0),
                         median=i18n.number(peer_median, 0) or "–",
                         metric=t(f"metric.{driver['metric']}") if driver else "–",
                         gap=gap_text(t, lang, driver))


def gap_text(t, lang: str, driver: dict | None) -> str:
    if not driver or not driver["gap"]:
        return t("desk.gap_unknown")
    key, values = driver["gap"]
    coaching = _coaching()
    unit = coaching.unit(driver["metric"], _lang_key(lang)) if coaching else ""
    bench = t("desk.bench_p50" if driver.get("against", "p50") == "p50" else "desk.bench_full")
    return t(key, unit=unit, bench=bench, **values)


def _coaching():
    """The admin's coaching file, or None when it cannot be used (the page says why)."""
    try:
        return load_coaching(load_settings().coaching_path)
    except CoachingError:
        return None


def _lang_key(lang: str) -> str:
    return {"zh-TW": "zh_TW", "zh-CN": "zh_CN", "en": "en"}[lang]


def _standing(t, lang, model) -> None:
    st.subheader(t("person.standing"))
    st.caption(t("person.standing_help"))
    labels = {d: t(f"dimension.{d}") for d in DIMENSIONS}
    fig = charts.standing(model["rows"], labels, {
        "band": t("person.peer_band"), "peer": t("person.peer_median"),
        "team": t("person.team_median"), "person": charts.plain(model["who"]["name"])},
        t("person.standing_chart", period=i18n.period_label(lang, model["grain"],
                                                            model["period"])))
    st.plotly_chart(fig, key="person_standing", config={"displayModeBar": False})
    missing = [labels[d] for d in DIMENSIONS if pd.isna(model["scores"].get(d, None))]
    if missing:
        st.caption(t("person.insufficient", dimensions="、".join(missing) if lang != "en"
                     else ", ".join(missing)))


def _focus(t, lang, model) -> None:
    st.subheader(t("person.strengths_focus"))
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('person.strengths')}**")
        for d in model["strengths"]:
            st.markdown(t("person.strength_line", dimension=t(f"dimension.{d}"),
                          score=i18n.number(model["scores"][d], 0)))
        if not model["strengths"]:
            st.markdown(t("person.no_strengths"))
    focus = model["focus"]
    with right:
        st.markdown(f"**{t('person.focus')}**")
        if focus is None:
            st.markdown(t("person.no_focus"))
        else:
            driver = model["drivers"].get(focus.dimension)
            st.markdown(t(f"person.focus_line_{focus.against}",
                          dimension=t(f"dimension.{focus.dimension}"),
                          score=i18n.number(focus.score, 0),
                          benchmark=i18n.number(focus.benchmark, 0),
                          gain=i18n.number(focus.gain)))
            if driver:
                st.markdown(t("person.focus_metric", metric=t(f"metric.{driver['metric']}"),
                              gap=gap_text(t, lang, driver)))
    cards = list(dict.fromkeys(([focus.dimension] if focus else []) + model["below_floor"]))
    if not cards:
        return
    st.subheader(t("person.coaching"))
    try:
        coaching = load_coaching(load_settings().coaching_path)
        texts = {d: _card_text(t, lang, model, coaching, d) for d in cards}
    except CoachingError as exc:
        st.error(t("person.coaching_broken", error=i18n.md(str(exc))))
        return
    for d in cards:
        with st.container(border=True):
            tags = ([t("person.card_focus")] if focus and d == focus.dimension else []) + (
                [t("person.card_floor", floor=i18n.number(model["floors"][d], 0))]
                if d in model["below_floor"] else [])
            st.markdown(" · ".join([f"**{t(f'dimension.{d}')}**", *tags]))
            st.markdown(texts[d])


def trend_series(frames: dict, grain: str, periods: list[str]) -> pd.DataFrame:
    """key (index or a dimension), period, score, p25, p75: the person's line and the peer
    band over `periods`."""
    idx = frames["index"]
    idx = idx[idx["grain"] == grain][["period", "score"]].assign(key="index")
    dims = frames["dims"]
    dims = dims[dims["grain"] == grain].rename(columns={"dimension": "key"})[
        ["key", "period", "score"]]
    mine = pd.concat([idx, dims], ignore_index=True)
    bands = frames["bands"]
    peer = bands[(bands["scope"] == "peer") & (bands["grain"] == grain)].rename(
        columns={"dimension": "key"})[["key", "period", "p25", "p75"]]
    out = peer.merge(mine, on=["key", "period"], how="left")
    return out[out["period"].isin(periods)]


def trend_periods(frames: dict, grain: str) -> list[str]:
    """The last 26 weeks or 12 months with scores in the person's peer group, oldest first."""
    bands = frames["bands"]
    have = sorted(bands.loc[(bands["scope"] == "peer") & (bands["grain"] == grain),
                            "period"].unique())
    return have[-TREND_SPAN[grain]:]


def _trends(t, lang, frames, who) -> None:
    st.subheader(t("person.trends"))
    st.caption(t("person.trends_help"))
    grain = st.radio(t("person.trend_grain"), list(TREND_SPAN), horizontal=True,
                     format_func=lambda g: t(f"person.trend_{g}"), key="person_trend_grain")
    periods = trend_periods(frames, grain)
    if not periods:
        st.info(t("person.no_scores"))
        return
    panels = [("index", t("column.index"), "#333333")] + [
        (d, t(f"dimension.{d}"), charts.DIMENSION_COLOURS[d]) for d in DIMENSIONS]
    fig = charts.trends(trend_series(frames, grain, periods), periods, panels,
                        {"band": t("person.peer_band"),
                         "person": charts.plain(who["name"])},
                        [i18n.period_label(lang, grain, p) for p in periods])
    st.plotly_chart(fig, key="person_trends", config={"displayModeBar": False})


def normalisation_text(t, rule) -> str:
    if rule["method"] == "linear":
        return t("person.norm_linear", zero=_value_text(rule, rule["zero_at"]),
                 full=_value_text(rule, rule["full_at"]))
    return t("person.norm_percentile")


def _value_text(rule, v) -> str:
    if v is None or pd.isna(v):
        return ""
    if desk.is_share(rule):
        return f"{float(v) * 100:.0f}%"
    digits = {"entropy": 2, "distinct": 0, "count": 0}.get(rule["kind"], 1)
    return i18n.number(v, digits)


def status_text(t, m) -> str:
    if m["status"] == "insufficient_data":
        return t("person.status_insufficient", have=i18n.number(m["data_amount"], 0),
                 need=i18n.number(m["min_data"], 0))
    return t(f"status.{m['status']}")


def metric_table(t, model, dimension: str) -> pd.DataFrame:
    ms = model["metrics"][model["metrics"]["dimension"] == dimension]
    return pd.DataFrame({
        t("person.metric"): [t(f"metric.{k}") for k in ms["metric_key"]],
        t("person.value"): [_value_text(r, r["value"]) for _, r in ms.iterrows()],
        t("person.score"): [i18n.number(v, 0) for v in ms["score"]],
        t("person.peer_score"): [i18n.number(v, 0) for v in ms["score_p50"]],
        t("person.weight"): [i18n.number(v, 1) for v in ms["weight"]],
        t("person.status"): [status_text(t, r) for _, r in ms.iterrows()],
        t("person.min_data"): [i18n.number(v, 0) for v in ms["min_data"]],
        t("person.normalisation"): [normalisation_text(t, r) for _, r in ms.iterrows()],
    })


def evidence_table(t, lang, rows: pd.DataFrame, feed: str) -> pd.DataFrame:
    """The log rows as a lead reads them: local day, the feed's own columns in words, the
    client's pseudonymous reference (never a name), and whether the row met the metric."""
    out = pd.DataFrame({
        t("evidence.day"): rows["day"].map(lambda d: "" if pd.isna(d) else f"{d:%Y-%m-%d}"),
        t("evidence.time"): rows["occurred_at"].map(
            lambda d: "" if pd.isna(d) else f"{d:%H:%M}"),
        t("evidence.feed"): t(f"feed.{feed}"),
        t("evidence.row_id"): rows["row_id"].astype(str),
    })
    for col in data.EVIDENCE_COLUMNS[feed]:
        label = t(f"evidence.{col}")
        values = rows[col]
        if col in ("client_id", "prospect_id"):
            # the keyed pseudonym, shortened: enough to tell clients apart on one page
            mark = "C-" if col == "client_id" else "P-"
            out[label] = values.map(lambda v, m=mark: "" if v is None or pd.isna(v)
                                    else m + str(v)[:8])
        elif col in ("type", "channel", "outcome", "purpose", "category", "verb", "kind"):
            out[label] = values.map(lambda v, c=col: "" if pd.isna(v) else
                                    t(f"value.{c}.{v}"))
        elif values.dtype == bool or str(values.dtype) == "boolean":
            out[label] = values.map(lambda v: "" if pd.isna(v) else
                                    t("evidence.yes") if v else t("evidence.no"))
        elif pd.api.types.is_datetime64_any_dtype(values):
            out[label] = values.map(lambda v: "" if pd.isna(v) else f"{v:%Y-%m-%d}")
        elif pd.api.types.is_numeric_dtype(values):
            digits = 2 if col == "score_scaled" else 0
            out[label] = values.map(lambda v, n=digits: i18n.number(v, n))
        else:
            out[label] = values.map(lambda v: "" if v is None or pd.isna(v) else str(v))
    out[t("evidence.counts")] = rows["counts"].map(
        lambda v: "" if pd.isna(v) else ("✓" if v == 1 else i18n.number(v, 1) if v else "–"))
    return out


def _period_days(grain: str, period: str) -> tuple[date, date]:
    _, _, start = parse_period(period)
    return start, period_end(grain, start)


def _evidence(t, lang, snap, model, rules, meta) -> None:
    st.subheader(t("person.evidence"))
    st.caption(t("person.evidence_help", rules=meta.get("rules_version")))
    default = model["focus"].dimension if model["focus"] else DIMENSIONS[0]
    dim = st.selectbox(t("person.dimension"), list(DIMENSIONS), index=DIMENSIONS.index(default),
                       format_func=lambda d: t(f"dimension.{d}"), key="person_ev_dim")
    st.dataframe(metric_table(t, model, dim), hide_index=True, key="person_metrics")
    ms = model["metrics"][model["metrics"]["dimension"] == dim]
    if ms.empty:
        return
    keys = ms["metric_key"].tolist()
    metric = st.selectbox(t("person.metric"), keys, format_func=lambda k: t(f"metric.{k}"),
                          key="person_ev_metric")
    start, end = _period_days(model["grain"], model["period"])
    rows = data.evidence(snap, model["who"]["manager_id"], metric, start, end)
    feed = rules["metrics"].set_index("metric_key").loc[metric, "feed"]
    counted = int((rows["counts"].fillna(0) > 0).sum()) if len(rows) else 0
    st.caption(t("person.evidence_count", n=len(rows), hits=counted,
                 start=f"{start:%Y-%m-%d}", end=f"{end:%Y-%m-%d}"))
    if rows.empty:
        return
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = 1
    if pages > 1:
        page = int(st.number_input(t("person.page", pages=pages), min_value=1, max_value=pages,
                                   value=1, step=1, key=f"person_ev_page_{metric}"))
    part = rows.iloc[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    st.dataframe(evidence_table(t, lang, part, feed), hide_index=True, key="person_rows")


def revoke_text(t, reason: str | None) -> str:
    """The stored revoke reason (English, from badges.py) in the page's language."""
    import re

    if not isinstance(reason, str):
        return ""
    if reason == "the badge is no longer in the rules":
        return t("revoke.removed")
    if m := re.fullmatch(r"conduct gate in (\S+): (.+)", reason):
        gate = m.group(2)
        what = (t("gate.floor", dimension=t(f"dimension.{gate.split(':', 1)[1]}"))
                if gate.startswith("floor:") else t(f"gate.{gate}")
                if gate in ("misconduct",) else gate)
        return t("revoke.gate", period=m.group(1), reason=what)
    if m := re.fullmatch(r"now (\w+) \(value (\S+)\)", reason):
        return t("revoke.tier", tier=t(f"tier.{m.group(1)}"), value=m.group(2))
    if m := re.fullmatch(r"criteria no longer met after data changes: value now (\S+)", reason):
        return t("revoke.value", value=m.group(1))
    return t("revoke.changed")


def badge_tables(t, lang, frames, rules) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    suffix = i18n.column_suffix(lang)
    defs = rules["badges"].set_index("badge_key")
    names = defs[f"name_{suffix}"].to_dict()
    awards = frames["awards"]
    held = awards[awards["revoked_at"].isna()]
    revoked = awards[awards["revoked_at"].notna()]
    held_t = pd.DataFrame({
        t("game.badge"): [names.get(k, k) for k in held["badge_key"]],
        t("game.tier"): [t(f"tier.{x}") for x in held["tier"]],
        t("filter.period"): held["period"].tolist(),
        t("game.earned_on"): held["earned_on"].map(lambda d: f"{d:%Y-%m-%d}").tolist(),
    })
    revoked_t = pd.DataFrame({
        t("game.badge"): [names.get(k, k) for k in revoked["badge_key"]],
        t("game.tier"): [t(f"tier.{x}") for x in revoked["tier"]],
        t("filter.period"): revoked["period"].tolist(),
        t("game.revoked_at"): revoked["revoked_at"].map(
            lambda d: pd.Timestamp(d).tz_localize("UTC").tz_convert(LOCAL_TIMEZONE)
            .strftime("%Y-%m-%d %H:%M")).tolist(),
        t("column.reason"): [revoke_text(t, r) for r in revoked["revoke_reason"]],
    })
    progress = desk.badge_progress(rules["badges"].set_index("badge_key"),
                                   frames["progress"], held)
    progress_t = pd.DataFrame({
        t("game.badge"): [names.get(p.badge_key, p.badge_key) for p in progress],
        t("person.next_tier"): [t(f"tier.{p.tier}") for p in progress],
        t("person.progress"): [t("person.progress_value", value=_badge_number(p.value),
                                 needs=_badge_number(p.needs)) for p in progress],
        t("person.progress_pct"): [min(100.0, p.value / p.needs * 100) if p.needs else 0.0
                                   for p in progress],
        t("filter.period"): [p.period + ("" if p.finished else " · " + t("person.running_tag"))
                             for p in progress],
    })
    return held_t, revoked_t, progress_t


def _badge_number(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() or abs(v) >= 10 else f"{v:.1f}"


def _badges(t, lang, frames, rules) -> None:
    st.subheader(t("person.badges"))
    held, revoked, progress = badge_tables(t, lang, frames, rules)
    if not progress.empty:
        st.markdown(f"**{t('person.next_badges')}**")
        st.dataframe(progress, hide_index=True, key="person_progress", column_config={
            t("person.progress_pct"): st.column_config.ProgressColumn(
                t("person.progress_pct"), min_value=0, max_value=100, format="%.0f%%")})
    st.markdown(f"**{t('person.held')}**")
    if held.empty:
        st.caption(t("person.no_badges"))
    else:
        st.dataframe(held, hide_index=True, key="person_held")
    if not revoked.empty:
        st.markdown(f"**{t('game.revoked')}**")
        st.dataframe(revoked, hide_index=True, key="person_revoked")


def export_sheets(t, lang, snap, model, frames, rules, meta) -> dict[str, pd.DataFrame]:
    """The meeting workbook's sheets: the profile, where they stand, trends, metrics, the log
    rows behind every metric of the period, badges."""
    who, grain, period = model["who"], model["grain"], model["period"]
    idx = frames["index"]
    row = idx[(idx["grain"] == grain) & (idx["period"] == period)].iloc[0]
    focus = model["focus"]
    driver = model["drivers"].get(focus.dimension) if focus else None
    profile = pd.DataFrame({t("export.field"): [
        t("column.name"), t("column.team"), t("column.branch"), t("column.peer_group"),
        t("filter.period"), t("column.index"), t("person.rank_overall"), t("person.rank_peer"),
        t("person.strengths"), t("person.focus"), t("person.focus_metric_label"),
        t("export.rules"), t("export.data_end"), t("export.exported")],
        t("export.value"): [
        str(who["name"]), str(who["team_name"]), str(who["branch"]),
        t(f"peer_group.{who['peer_group']}"), i18n.period_label(lang, grain, period),
        i18n.number(row["score"]),
        "" if pd.isna(row["rank_overall"]) else str(int(row["rank_overall"])),
        "" if pd.isna(row["rank_peer"]) else str(int(row["rank_peer"])),
        "、".join(t(f"dimension.{d}") for d in model["strengths"]),
        t(f"dimension.{focus.dimension}") if focus else "",
        (t(f"metric.{driver['metric']}") + ": " + gap_text(t, lang, driver)) if driver else "",
        str(meta.get("rules_version") or ""),
        "" if not meta.get("data_end") else f"{pd.Timestamp(meta['data_end']):%Y-%m-%d}",
        pd.Timestamp.now(tz=LOCAL_TIMEZONE).strftime("%Y-%m-%d %H:%M") + " " + LOCAL_TIMEZONE,
    ]})
    rows = model["rows"]
    standing = pd.DataFrame({
        t("person.dimension"): [t(f"dimension.{d}") for d in rows["dimension"]],
        t("person.score"): rows["score"].round(1),
        t("person.peer_median"): rows["p50"].round(1),
        t("person.team_median"): rows["team_p50"].round(1),
        t("person.peer_p25"): rows["p25"].round(1),
        t("person.peer_p75"): rows["p75"].round(1),
    })
    sheets = {t("export.sheet_profile"): profile, t("export.sheet_standing"): standing}
    for g in TREND_SPAN:
        periods = trend_periods(frames, g)
        series = trend_series(frames, g, periods)
        wide = series.pivot_table(index="period", columns="key", values="score",
                                  aggfunc="first").reindex(index=periods)
        wide = wide.reindex(columns=["index", *DIMENSIONS])
        wide.columns = [t("column.index")] + [t(f"dimension.{d}") for d in DIMENSIONS]
        wide.insert(0, t("filter.period"), [i18n.period_label(lang, g, p) for p in periods])
        sheets[t(f"export.sheet_trend_{g}")] = wide.round(1).reset_index(drop=True)
    metrics = pd.concat([metric_table(t, model, d).assign(
        **{t("person.dimension"): t(f"dimension.{d}")}) for d in DIMENSIONS], ignore_index=True)
    sheets[t("export.sheet_metrics")] = metrics
    start, end = _period_days(grain, period)
    evidence = []
    for key, feed in zip(rules["metrics"]["metric_key"], rules["metrics"]["feed"], strict=True):
        found = data.evidence(snap, who["manager_id"], key, start, end)
        if len(found):
            evidence.append(evidence_table(t, lang, found, feed).assign(
                **{t("person.metric"): t(f"metric.{key}")}))
    if evidence:
        sheets[t("export.sheet_evidence")] = pd.concat(evidence, ignore_index=True)
    held, revoked, progress = badge_tables(t, lang, frames, rules)
    sheets[t("export.sheet_badges")] = held
    sheets[t("export.sheet_progress")] = progress
    return sheets


def _export(t, lang, snap, model, frames, rules, meta) -> None:
    st.subheader(t("person.export"))
    who = model["who"]
    name = f"{who['manager_id']}_{model['period']}.xlsx"
    st.download_button(
        t("person.export_button"),
        # built on click, not on every rerun of the page
        lambda: desk.workbook(export_sheets(t, lang, snap, model, frames, rules, meta)),
        file_name="".join(c if c.isalnum() or c in "-_." else "_" for c in name),
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="person_export")
