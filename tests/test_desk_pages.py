"""The team lead's desk in AppTest: the person and team pages show the right person, numbers
and focus; and every page in every language speaks only that language (no raw keys, no None
or nan, no English words in the Chinese pages beyond ids and units)."""
from __future__ import annotations

import json
import re

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import i18n
from pipelines.contract import DIMENSIONS

LANGS = list(i18n.LANGUAGES)


def _page(which: str, lang: str):
    import streamlit as st

    from dashboard import i18n
    from dashboard.views import data_health, game, leaderboard, person, team
    st.session_state[i18n.LANG_KEY] = lang
    {"person": person, "team": team, "leaderboard": leaderboard, "game": game,
     "data_health": data_health}[which].render()


def render(which: str, lang: str = "zh-TW", **params: str) -> AppTest:
    at = AppTest.from_function(_page, args=(which, lang), default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def snap_rows(demo_env, sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(str(demo_env["snapshot"]), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _chart_texts(spec: dict) -> list[str]:
    """Every word a Plotly figure shows: titles, trace names, category ticks, annotations."""
    out = []
    layout = spec.get("layout", {})
    for value in layout.values():
        if isinstance(value, dict):
            title = value.get("title")
            if isinstance(title, dict) and title.get("text"):
                out.append(title["text"])
            elif isinstance(title, str):
                out.append(title)
    out += [a.get("text", "") for a in layout.get("annotations", [])]
    for trace in spec.get("data", []):
        if trace.get("name") and trace.get("showlegend", True) is not False:
            out.append(str(trace["name"]))
        for axis in ("x", "y"):
            values = trace.get(axis)
            if isinstance(values, list):
                out += [v for v in values if isinstance(v, str)]
    return out


def _values(arr) -> list:
    """A Plotly array as plain values (Plotly 6 sends numeric arrays base64-encoded)."""
    import base64

    import numpy as np

    if isinstance(arr, dict) and "bdata" in arr:
        return np.frombuffer(base64.b64decode(arr["bdata"]), dtype=arr["dtype"]).tolist()
    return [float("nan") if v is None else v for v in arr]


def page_texts(at: AppTest) -> list[str]:
    """What a reader sees on the page, as strings: headings, text, tables (headers and cells),
    widget labels and options, metrics, chart words."""
    out: list[str] = []
    for root in (at.main, at.sidebar):
        for el in root:
            kind = type(el).__name__
            if kind in ("Title", "Header", "Subheader", "Markdown", "Caption", "Info", "Warning",
                        "Success", "Error", "Text"):
                out.append(str(el.value))
            elif kind == "Metric":
                out += [str(el.label), str(el.value), str(el.delta or "")]
            elif kind == "Dataframe":
                df = el.value
                styler = el.proto.arrow_data.styler if el.proto.arrow_data.HasField(
                    "styler") else None
                if styler is not None and styler.display_values:
                    # a styled table shows its formatted values (blank for missing ones)
                    from streamlit import dataframe_util
                    df = dataframe_util.convert_arrow_bytes_to_pandas_df(
                        styler.display_values)
                    df = df.astype(object).where(df.notna(), "")
                out += [str(c) for c in df.columns]
                # a quarantined row's raw value is the file's own text, shown as it was
                raw = {i18n.t(lang, "health.value") for lang in LANGS}
                df = df[[c for c in df.columns if c not in raw]]
                out += [str(v) for v in df.astype(object).to_numpy().ravel()]
            elif kind in ("Selectbox", "Radio"):
                out += [str(el.label), *[str(o) for o in el.options]]
            elif kind == "Tab" or kind in ("Button", "NumberInput"):
                out.append(str(el.label))
            elif kind == "UnknownElement" and el.type == "plotly_chart":
                out += _chart_texts(json.loads(el.proto.spec))
            elif kind == "UnknownElement" and el.type == "download_button":
                out.append(str(el.proto.label))
    return out


# what may stay in Latin letters on a Chinese page: ids, codes, file and format names, units
ALLOWED = re.compile(
    r"RM\d+|T\d+|CC\d+|MA\d+|LE\d+|PE\d+|[CP]-\w{8}|\b[0-9a-f]{12}\b|\d{4}-W\d{2}|\d{4}Q\d|"
    r"Excel|UTC|[\w-]+\.(csv|xlsx|json|jsonl|tsv|txt)|utf-8(-sig)?|gb18030|big5|cp950|csv|xlsx|"
    r"xlsx?|json|jsonl|xapi|tsv|bank_crm_visits|salesforce_\w+|marketing_activity|"
    r"client_contact|learning_event|portfolio_event|roster|targets|\bid\b|Q\d|CRM|"
    r":material/\w+:|"
    r"「[^」]*」", re.I)   # quoted: codes and names the user types as they are (allowed values)
RAW_KEY = re.compile(r"^[a-z_]+\.[a-z_]+(\.[a-z_]+)?$(?<!\.csv)(?<!\.xlsx)(?<!\.json)")
EMPTY = {"None", "nan", "NaN", "NaT", "<NA>", "null"}


def problems(texts: list[str], lang: str) -> list[str]:
    found = []
    for text in texts:
        if text.strip() in EMPTY or re.search(r"\b(None|nan|NaT)\b", text):
            found.append(f"empty value shown: {text!r}")
        if RAW_KEY.match(text.strip()):
            found.append(f"raw catalogue key: {text!r}")
        if lang != "en":
            latin = re.findall(r"[A-Za-z]{2,}", ALLOWED.sub("", text))
            if latin:
                found.append(f"Latin words {latin} in {text[:80]!r}")
    return sorted(set(found))


@pytest.fixture(scope="module")
def people(demo_build):
    con = duckdb.connect(str(demo_build["snapshot"]), read_only=True)
    try:
        return con.execute("SELECT manager_id, name, team_id, peer_group FROM roster "
                           "ORDER BY manager_id").df()
    finally:
        con.close()


PAGES = [("leaderboard", {}), ("person", {"id": "RM030"}), ("person", {"id": "RM001"}),
         ("team", {"id": "T01"}), ("game", {}), ("data_health", {}), ("person", {}),
         ("team", {})]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("which,params", PAGES)
def test_every_page_speaks_the_language(demo_env, which, params, lang):
    at = render(which, lang, **params)
    texts = page_texts(at)
    assert len(texts) > 5
    assert problems(texts, lang) == []


def test_the_person_page_shows_that_person_with_their_numbers(demo_env):
    (name, team, score, rank, n), = snap_rows(demo_env, """
        SELECT r.name, r.team_name, a.score, a.rank_overall,
               (SELECT count(rank_overall) FROM awareness_index
                WHERE grain = 'month' AND period = a.period)
        FROM awareness_index a JOIN roster r USING (manager_id)
        WHERE manager_id = 'RM030' AND grain = 'month'
        ORDER BY period DESC LIMIT 1""")
    at = render("person", id="RM030")
    assert at.subheader[0].value == name
    assert team in at.caption[0].value and "RM030" in at.caption[0].value
    metrics = {m.label: m for m in at.metric}
    assert metrics["綜合指數"].value == f"{score:.1f}"
    assert metrics["全行名次"].value == f"{int(rank)} / {n}"
    # a running month says so, with the last day of data
    assert any("進行中" in c.value and "資料截至 11-27" in c.value for c in at.caption)


def _expected_focus(demo_env, manager_id: str, grain: str, period: str):
    """The focus by the issue's rule, computed here straight from the snapshot: the dimension
    where reaching the peer median lifts the index most (weight share x shortfall)."""
    rows = snap_rows(demo_env, """
        SELECT d.dimension, d.score, b.p50, w.weight
        FROM dimension_score d JOIN roster r USING (manager_id)
        JOIN score_band b ON b.scope = 'peer' AND b.scope_id = r.peer_group
         AND b.grain = d.grain AND b.period = d.period AND b.dimension = d.dimension
        JOIN rule_dimension w ON w.dimension = d.dimension
        WHERE d.manager_id = ? AND d.grain = ? AND d.period = ? AND d.score IS NOT NULL""",
                     (manager_id, grain, period))
    total = sum(r[3] for r in rows)
    gains = {d: w / total * max(0, p50 - s) for d, s, p50, w in rows}
    best = max(gains, key=gains.get)
    return best, gains[best], dict((d, s) for d, s, _, _ in rows)


def test_the_focus_is_the_dimension_that_lifts_the_index_most(demo_env):
    # someone below the peer median somewhere in October
    candidates = snap_rows(demo_env, """
        SELECT DISTINCT d.manager_id FROM dimension_score d JOIN roster r USING (manager_id)
        JOIN score_band b ON b.scope = 'peer' AND b.scope_id = r.peer_group
         AND b.grain = d.grain AND b.period = d.period AND b.dimension = d.dimension
        WHERE d.grain = 'month' AND d.period = '2026-10' AND d.score < b.p50 - 5
        ORDER BY 1 LIMIT 3""")
    assert candidates
    for (manager_id,) in candidates:
        best, gain, scores = _expected_focus(demo_env, manager_id, "month", "2026-10")
        at = render("person", id=manager_id, period="2026-10")
        focus = next(m.value for m in at.markdown if "追上中位數" in m.value)
        label = i18n.t("zh-TW", f"dimension.{best}")
        assert focus.startswith(f"**{label}**"), (manager_id, focus, best)
        assert f"約可提高 {gain:.1f} 分" in focus
        # the lowest score is not always the focus: the rule weighs the median and the weight
        card = [c for c in at.markdown if label in c.value and "加強重點" in c.value]
        assert card, ("the focus has a coaching card", [m.value for m in at.markdown])


def test_a_dimension_without_enough_data_is_a_gap_not_a_zero(demo_env):
    # a week where someone's dimension had too little data
    (manager_id, period, dimension), = snap_rows(demo_env, """
        SELECT d.manager_id, d.period, d.dimension FROM dimension_score d
        WHERE d.grain = 'week' AND d.score IS NULL AND d.period = (
            SELECT max(period) FROM dimension_score WHERE grain = 'week')
        ORDER BY 1, 3 LIMIT 1""")
    from dashboard import data
    from dashboard.views import person

    snap = str(demo_env["snapshot"])
    frames = data.person(snap, manager_id)
    periods = person.trend_periods(frames, "week")
    series = person.trend_series(frames, "week", periods)
    cell = series[(series["key"] == dimension) & (series["period"] == period)]
    assert len(cell) == 1 and pd.isna(cell["score"].iloc[0])    # a gap, drawn as a break
    at = render("person", id=manager_id)
    at.radio(key="person_trend_grain").set_value("week").run()
    spec = json.loads(at.get("plotly_chart")[1].proto.spec)
    panel = DIMENSIONS.index(dimension) + 1            # panel 0 is the index
    line = spec["data"][panel * 3 + 2]
    assert line["connectgaps"] is False
    y = _values(line["y"])
    assert pd.isna(y[periods.index(period)])              # not 0
    assert not pd.isna(y).all()
    # the standing chart and the caption say which dimensions lacked data this week
    at.selectbox(key="person_grain").set_value("week").run()
    assert any(i18n.t("zh-TW", f"dimension.{dimension}") in c.value and "資料不足" in c.value
               for c in at.caption)


def test_evidence_lists_the_rows_behind_a_metric_with_pseudonymous_clients(demo_env):
    at = render("person", id="RM030", period="2026-10")
    at.selectbox(key="person_ev_dim").set_value("customer").run()
    at.selectbox(key="person_ev_metric").set_value("clients_reached").run()
    rows = next(df.value for df in at.dataframe if "客戶代號" in df.value.columns)
    (n,), = snap_rows(demo_env, "SELECT count(*) FROM client_contact WHERE manager_id = 'RM030' "
                                "AND occurred_at >= '2026-10-01' AND occurred_at < '2026-11-01'")
    caption = next(c.value for c in at.caption if "筆達標" in c.value)
    assert f"計入 {n} 筆" in caption
    assert len(rows) == min(n, 50)
    assert rows["客戶代號"].str.match(r"^C-\w{8}$").all()
    raw = set(pd.read_csv(demo_env["settings"].demo_dir / "client_contact.csv")["client_id"])
    assert not set(rows["客戶代號"].str[2:]) & {str(r)[:8] for r in raw}
    metrics = next(df.value for df in at.dataframe if "換算方式" in df.value.columns)
    assert set(metrics["指標"]) >= {i18n.t("zh-TW", "metric.clients_reached")}


def test_badges_show_progress_to_the_next_tier(demo_env):
    at = render("person", id="RM030")
    progress = next(df.value for df in at.dataframe if "下一級" in df.value.columns)
    assert len(progress) > 0
    assert progress["目前 / 需要"].str.match(r"^[\d.]+ / [\d.]+$").all()
    assert set(progress["下一級"]) <= {"銅牌", "銀牌", "金牌"}


def test_the_export_workbook_holds_the_profile_trends_and_evidence(demo_env):
    import io

    import openpyxl

    from dashboard import data, desk
    from dashboard.views import person

    snap = str(demo_env["snapshot"])
    frames = data.person(snap, "RM030")
    rules = data.rules(snap)
    who = frames["who"].iloc[0]
    model = person.build(snap, frames, rules, who, "month", "2026-10")
    t = i18n.translator("zh-TW")
    meta = data.info(snap)
    wb = openpyxl.load_workbook(io.BytesIO(desk.workbook(
        person.export_sheets(t, "zh-TW", snap, model, frames, rules, meta))))
    assert {"個人概況", "各項意識", "週趨勢", "月趨勢", "指標", "原始紀錄", "徽章"} <= set(
        wb.sheetnames)
    profile = {r[0]: r[1] for r in wb["個人概況"].iter_rows(min_row=2, values_only=True)}
    assert profile["姓名"] == who["name"] and profile["期間"] == "2026年10月"
    assert profile["加強重點"]
    assert wb["原始紀錄"].max_row > 50


def test_the_team_page_lists_members_and_who_lifts_the_team(demo_env):
    members = snap_rows(demo_env, "SELECT name FROM roster WHERE team_id = 'T01'")
    at = render("team", id="T01")
    table = next(df.value for df in at.dataframe if "綜合指數" in df.value.columns)
    assert set(table["姓名"]) == {m[0] for m in members}
    lifters = next(df.value for df in at.dataframe if "帶動團隊" in df.value.columns)
    assert len(lifters) == 10
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][0]["type"] == "heatmap" and len(spec["data"][0]["y"]) == len(members)


def test_an_unknown_id_says_so_and_offers_a_picker(demo_env):
    at = render("person", id="NOPE")
    assert "NOPE" in at.warning[0].value
    assert at.selectbox(key="person_pick")


def test_hostile_names_are_shown_as_typed_on_the_desk(tmp_path, monkeypatch):
    """A roster name made of Markdown and HTML shows as text in headings and chart labels."""
    from pipelines import badges, db, load, publish, score
    from pipelines.config import ENV_DATA, load_settings
    from pipelines.rules import load_rules
    from tests.conftest import write_csv

    monkeypatch.setenv(ENV_DATA, str(tmp_path / "data"))
    settings = load_settings()
    hostile = "![x](http://127.0.0.1:9/a.png)<b>王</b>"
    write_csv(tmp_path / "roster.csv", [
        {"manager_id": "H1", "name": hostile, "team_id": "T9", "team_name": "[組](http://x)",
         "branch": "台北", "peer_group": "retail", "hire_date": "2020-01-01"}])
    write_csv(tmp_path / "client_contact.csv", [
        {"contact_id": f"c{i}", "manager_id": "H1", "client_id": f"K{i}", "client_tier": "A",
         "occurred_at": f"2026-10-{i + 1:02d} 10:00", "logged_at": f"2026-10-{i + 1:02d} 11:00",
         "channel": "visit", "purpose": "service", "satisfaction": "5", "complaint": "0",
         "checklist_complete": "1", "location_verified": "1"} for i in range(10)])
    load.load_paths(settings, [tmp_path / "roster.csv", tmp_path / "client_contact.csv"])
    rules = load_rules(settings.rules_path)
    with db.warehouse(settings.db_path) as con:
        score.score(con, rules)
        badges.award(con, rules)
    publish.publish(settings)
    at = render("person", id="H1")
    assert at.subheader[0].value == i18n.md(hostile)
    assert "!" not in at.subheader[0].value.replace("\\!", "")
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [tr.get("name", "") for tr in spec["data"]]
    assert "&lt;b&gt;王&lt;/b&gt;" in "".join(names) and "<b>" not in "".join(names)


def test_a_warmed_snapshot_opens_the_leaderboard_without_touching_the_database(
        demo_env, monkeypatch):
    """The server warms each new snapshot in the background; the first lead to open the
    leaderboard afterwards must then be served from the cache, not pay for the queries."""
    from dashboard import data, runtime

    data.query.clear()
    snap = data.snapshot()
    assert runtime.warm(snap) >= 0
    opened = []

    def counting_reader(path):
        opened.append(path)
        raise AssertionError("the leaderboard queried the snapshot after warm-up")

    monkeypatch.setattr(data, "reader", counting_reader)
    at = render("leaderboard")
    assert not opened
    assert at.dataframe, "the warmed board shows no table"
