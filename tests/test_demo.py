"""The demo organisation: deterministic files, expected shape, and stories visible in scores."""
from __future__ import annotations

import json

import duckdb
import openpyxl
import pytest

from pipelines import demo

FILES = [demo.ROSTER_FILE, demo.TARGETS_FILE, demo.MARKETING_FILE, demo.CONTACT_FILE,
         demo.LEARNING_FILE, demo.PORTFOLIO_FILE, demo.MANIFEST_FILE]


def test_same_seed_gives_byte_identical_files(tmp_path):
    demo.generate(tmp_path / "a", seed=3)
    demo.generate(tmp_path / "b", seed=3)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_another_seed_gives_another_organisation(tmp_path):
    demo.generate(tmp_path / "a", seed=3)
    demo.generate(tmp_path / "b", seed=4)
    assert (tmp_path / "a" / demo.CONTACT_FILE).read_bytes() != \
        (tmp_path / "b" / demo.CONTACT_FILE).read_bytes()


def test_organisation_shape(demo_build):
    m = demo_build["manifest"]
    managers = m["managers"]
    assert 55 <= len(managers) <= 65
    assert {v["peer_group"] for v in managers.values()} == {"corporate", "retail", "sme"}
    assert len({v["team_id"] for v in managers.values()}) == 8
    archetypes = [v["archetype"] for v in managers.values()]
    for a in ("all_rounder", "proactive_marketer", "diligent_learner", "slipping_veteran",
              "rising_newcomer"):
        assert a in archetypes
    assert sum(1 for v in managers.values() if not v["public_display"]) == 1
    assert (demo.END - demo.START).days >= 182  # at least six months of every feed
    files = m["files"]
    assert files[demo.MARKETING_FILE]["rows"] > 5_000
    assert files[demo.CONTACT_FILE]["rows"] > 10_000
    assert files[demo.LEARNING_FILE]["rows"] > 1_000


def test_files_are_in_the_formats_banks_export(demo_build):
    d = demo_build["settings"].demo_dir
    assert (d / demo.ROSTER_FILE).read_bytes().startswith(b"\xef\xbb\xbf")  # Excel "CSV UTF-8"
    raw = (d / demo.MARKETING_FILE).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "批發市場" in raw.decode("gb18030")
    wb = openpyxl.load_workbook(d / demo.TARGETS_FILE, read_only=True)
    assert next(wb.worksheets[0].iter_rows(values_only=True))[:2] == ("scope", "scope_id")
    statements = json.loads((d / demo.LEARNING_FILE).read_text(encoding="utf-8"))
    s = statements[0]
    assert s["verb"]["id"].startswith("http://adlnet.gov/expapi/verbs/")
    assert s["actor"]["account"]["name"].startswith("lms-")


def test_working_rhythm_skips_weekends_and_holidays():
    days = demo.working_days()
    assert all(d.weekday() < 5 for d in days)
    assert not set(days) & demo.HOLIDAYS


def test_every_deliberately_bad_row_is_quarantined(demo_build):
    by_file = {r.file.rsplit("/", 1)[-1]: r for r in demo_build["results"]}
    for name, info in demo_build["manifest"]["files"].items():
        r = by_file[name]
        assert r.rows_read == info["rows"]
        assert r.quarantined == info["bad_rows"], (name, r.reasons)
        assert r.balanced
        # canonical exports are read with the canonical profile, not a look-alike source's
        assert r.profile == ("xapi" if info["feed"] == "learning_event" else info["feed"])


# --- the stories a manager should recognise on the boards ------------------------------------

def _con(demo_build):
    return duckdb.connect(str(demo_build["snapshot"]), read_only=True)


def _who(demo_build, archetype):
    return [k for k, v in demo_build["manifest"]["managers"].items() if v["archetype"] == archetype]


def _dim_percentile(con, manager, dimension, period="2026Q3"):
    """Share of the manager's peer group scoring below them on one dimension in a quarter."""
    return con.execute("""
        WITH s AS (SELECT d.manager_id, d.score, r.peer_group FROM dimension_score d
                   JOIN roster r USING (manager_id)
                   WHERE grain = 'quarter' AND period = ? AND dimension = ?)
        SELECT avg(CASE WHEN o.score < me.score THEN 1.0 ELSE 0.0 END)
        FROM s me JOIN s o ON o.peer_group = me.peer_group AND o.manager_id <> me.manager_id
        WHERE me.manager_id = ?""", [period, dimension, manager]).fetchall()[0][0]


def test_all_rounder_tops_the_board_every_month(demo_build):
    star = _who(demo_build, "all_rounder")[0]
    with _con(demo_build) as con:
        tops = con.execute("SELECT period, manager_id FROM awareness_index WHERE grain = 'month' "
                           "AND rank_overall = 1 ORDER BY period").fetchall()
    assert tops and all(m == star for _, m in tops), tops


def test_proactive_marketer_leads_marketing_but_neglects_learning(demo_build):
    with _con(demo_build) as con:
        for m in _who(demo_build, "proactive_marketer"):
            assert _dim_percentile(con, m, "marketing") >= 0.75
            assert _dim_percentile(con, m, "market") >= 0.75
            assert _dim_percentile(con, m, "learning") <= 0.15


def test_diligent_learner_learns_but_has_a_thin_client_book(demo_build):
    with _con(demo_build) as con:
        for m in _who(demo_build, "diligent_learner"):
            assert _dim_percentile(con, m, "learning") >= 0.8
            assert _dim_percentile(con, m, "customer") <= 0.35


def _index(con, manager, month):
    return con.execute("SELECT score FROM awareness_index WHERE grain = 'month' AND period = ? "
                       "AND manager_id = ?", [month, manager]).fetchall()[0][0]


def test_slipping_veteran_declines_and_newcomer_rises(demo_build):
    with _con(demo_build) as con:
        for m in _who(demo_build, "slipping_veteran"):
            assert _index(con, m, "2026-10") < _index(con, m, "2026-05") - 12
        for m in _who(demo_build, "rising_newcomer"):
            assert _index(con, m, "2026-10") > _index(con, m, "2026-05") + 12


def test_collaborative_team_outscores_siloed_team_on_teamwork(demo_build):
    m = demo_build["manifest"]
    with _con(demo_build) as con:
        team = dict(con.execute("""
            SELECT r.team_id, avg(d.score) FROM dimension_score d JOIN roster r USING (manager_id)
            WHERE grain = 'quarter' AND period = '2026Q3' AND dimension = 'teamwork'
            GROUP BY ALL""").fetchall())
    assert team[m["collaborative_team"]] == max(team.values())
    assert team[m["siloed_team"]] == min(team.values())
    assert team[m["collaborative_team"]] - team[m["siloed_team"]] > 30


def test_a_confirmed_misconduct_gates_the_person_and_an_allegation_does_not(demo_build):
    m = demo_build["manifest"]
    with _con(demo_build) as con:
        def gate(who):
            return con.execute(
                "SELECT eligible, gate_reason, rank_overall FROM awareness_index "
                "WHERE grain = 'month' AND period = ? AND manager_id = ?",
                [who["month"], who["manager_id"]]).fetchall()[0]
        assert gate(m["misconduct"]) == (False, "misconduct", None)
        assert gate(m["allegation"])[1] != "misconduct"
        integrity = con.execute(
            "SELECT score FROM metric_score WHERE metric_key = 'confirmed_misconduct' AND "
            "grain = 'quarter' AND period = '2026Q3' AND manager_id = ?",
            [m["misconduct"]["manager_id"]]).fetchall()[0][0]
        assert integrity == 0
