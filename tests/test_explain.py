"""`explain` for a team lead: people by name, dimensions by label, output in the chosen language."""
from __future__ import annotations

import json
import re
import shutil

import duckdb
import pytest
from rich.console import Console

from dashboard import i18n
from pipelines import cli
from pipelines.cli import EXIT_USER_ERROR, main

PERIOD = "2026-10"


def _copy(demo_build, folder) -> str:
    """The demo warehouse copied, so that a test may change its roster (and none writes the
    session's)."""
    path = folder / "warehouse.duckdb"
    shutil.copy(demo_build["settings"].db_path, path)
    return str(path)


@pytest.fixture(scope="module")
def warehouse(demo_build, tmp_path_factory) -> str:
    return _copy(demo_build, tmp_path_factory.mktemp("explain"))


@pytest.fixture
def wide(monkeypatch):
    """A console wide enough that no label or row id is folded over two lines."""
    monkeypatch.setattr(cli, "console", Console(highlight=False, width=1000))


def _json(capsys, db: str, *argv: str) -> dict:
    capsys.readouterr()
    assert main(["explain", *argv, "--db", db, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def query_db(db: str, sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(db, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _roster(db: str) -> dict[str, tuple[str, str, str]]:
    return {i: (n, t, b) for i, n, t, b in query_db(
        db, "SELECT manager_id, name, team_name, branch FROM roster")}


def test_a_person_by_name_or_by_id_in_any_case_or_width_is_the_same_person(warehouse, capsys):
    name = _roster(warehouse)["RM001"][0]
    by_id = _json(capsys, warehouse, "RM001", PERIOD)
    assert by_id["name"] == name and by_id["dimensions"]
    for who in (name, f"  {name} ", "rm001", "ＲＭ００１"):
        assert _json(capsys, warehouse, who, PERIOD) == by_id


@pytest.mark.parametrize("label", ["營銷意識", "营销意识", "營銷", "营销", "Marketing",
                                   " marketing ", "營銷 意識"])
def test_a_dimension_by_its_key_or_its_label_in_any_language(warehouse, capsys, label):
    found = _json(capsys, warehouse, "RM001", PERIOD, "--dimension", label)
    assert list(found["dimensions"]) == ["marketing"]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_an_unknown_dimension_lists_the_ten_in_the_chosen_language(warehouse, capsys, lang):
    assert main(["explain", "RM001", PERIOD, "--db", warehouse, "--dimension", "營",
                 "--lang", lang]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    labels = [i18n.t(lang, f"dimension.{d}") for d in ("integrity", "market", "learning")]
    assert all(label in err for label in labels) and "Traceback" not in err


def test_english_output_has_the_english_labels(warehouse, capsys, wide):
    capsys.readouterr()
    assert main(["explain", "RM001", PERIOD, "--db", warehouse, "--lang", "en",
                 "--dimension", "營銷"]) == 0
    out = capsys.readouterr().out
    for key in ("dimension.marketing", "metric.proactive_share", "status.ok", "explain.metric",
                "explain.normalised"):
        assert i18n.t("en", key) in out, key
    assert "straight line between" in out and "percentile in the peer group" in out


def _not_ok(db: str, grain: str = "month") -> tuple[str, str, str]:
    """A person, period and metric with too little data, from the demo."""
    return query_db(db, "SELECT manager_id, period, metric_key FROM metric_score "
                        "WHERE status = 'insufficient_data' AND grain = ? "
                        "ORDER BY period, manager_id, metric_key LIMIT 1", [grain])[0]


def test_traditional_chinese_output_has_no_english_beyond_ids(warehouse, capsys, wide):
    who, period, metric = _not_ok(warehouse)
    found = _json(capsys, warehouse, who, period)
    assert main(["explain", who, period, "--db", warehouse]) == 0
    out = capsys.readouterr().out
    [m] = [m for d in found["dimensions"].values() for m in d["metrics"]
           if m["metric"] == metric]
    needed = i18n.t("zh-TW", "explain.reason_insufficient", amount=f"{m['data_amount']:g}",
                    needed=f"{m['min_data']:g}")
    assert needed in out and i18n.t("zh-TW", f"metric.{metric}") in out
    assert found["name"] in out and found["team_name"] in out
    ids = {who, found["index"]["rules_version"]}
    ids |= {str(r) for d in found["dimensions"].values() for m in d["metrics"] for r in m["rows"]}
    for i in sorted(ids, key=len, reverse=True):
        out = out.replace(i, "")
    assert re.findall(r"[A-Za-z]+", out) == []


def test_a_gated_person_is_told_why_in_the_language(warehouse, capsys):
    [(who, period, reason)] = query_db(warehouse, "SELECT manager_id, period, gate_reason "
                                       "FROM awareness_index WHERE grain = 'month' AND "
                                       "gate_reason LIKE 'floor:%' ORDER BY ALL LIMIT 1")
    capsys.readouterr()
    assert main(["explain", who, period, "--db", warehouse, "--lang", "zh-CN"]) == 0
    dim = i18n.t("zh-CN", f"dimension.{reason.split(':')[1]}")
    assert i18n.t("zh-CN", "gate.floor", dimension=dim) in capsys.readouterr().out


def _rename(db: str, manager_id: str, name: str) -> None:
    con = duckdb.connect(db)
    try:
        con.execute("UPDATE roster SET name = ? WHERE manager_id = ?", [name, manager_id])
    finally:
        con.close()


def test_two_people_of_one_name_are_both_listed_and_the_id_asked_for(demo_build, tmp_path,
                                                                    capsys):
    db = _copy(demo_build, tmp_path)
    roster = _roster(db)
    twin = next(i for i in sorted(roster) if roster[i][1] != roster["RM001"][1])
    _rename(db, twin, roster["RM001"][0])
    assert main(["explain", roster["RM001"][0], PERIOD, "--db", db]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    for i in ("RM001", twin):
        name, team, branch = roster[i]
        assert i18n.t("zh-TW", "explain.candidate", id=i, team=team, branch=branch) in err
    assert "編號" in err and "Traceback" not in err
    assert _json(capsys, db, twin, PERIOD)["manager_id"] == twin   # the id still works


def test_an_unknown_name_exits_2_and_suggests_the_closest(warehouse, capsys):
    name = _roster(warehouse)["RM001"][0]
    assert main(["explain", name + "甲", PERIOD, "--db", warehouse]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert i18n.t("zh-TW", "explain.suggestion", name=name, id="RM001") in err
    assert main(["explain", "nobody", PERIOD, "--db", warehouse, "--lang", "en"]) == 2
    assert "nobody in the roster is called 'nobody'" in capsys.readouterr().err


def test_a_name_from_the_roster_is_printed_as_plain_text(demo_build, tmp_path, capsys):
    db = _copy(demo_build, tmp_path)
    hostile = "[bold red]王[/] :smile: \x1b]8;;http://x\x1b\\"
    _rename(db, "RM001", hostile)
    capsys.readouterr()
    assert main(["explain", "RM001", PERIOD, "--db", db, "--dimension", "risk"]) == 0
    out = capsys.readouterr().out
    assert "[bold red]王[/] :smile:" in out and "\x1b" not in out


def test_what_a_dimension_went_without_and_why_are_said_in_the_language():
    from pipelines.explain import fallback_text, reason_text
    dim = {"metrics": [{"metric": "loan_attainment", "status": "no_target"},
                       {"metric": "overdue_share", "status": "no_feed"},
                       {"metric": "conversion", "status": "ok"}]}
    assert fallback_text(dim, "en") == ("without Approved amount vs target (No target set), "
                                        "Share of own loans overdue (Feed not provided)")
    assert fallback_text(dim, "zh-TW") == ("未計入 核貸金額達成率（未設定目標）、"
                                           "經辦授信逾期比例（未提供此資料來源）")
    metric = {"status": "no_feed", "feed": "portfolio_event", "data_amount": 0, "min_data": 1}
    assert reason_text(metric, "zh-CN") == "本期没有信贷资产事件数据"
    assert reason_text(dict(metric, status="insufficient_data", data_amount=2.0, min_data=5),
                       "en") == "2 of the 5 needed"
