"""Season close: frozen standings, the refusals, and injection-safe xlsx/CSV exports."""
from __future__ import annotations

import csv
from datetime import date, datetime, timedelta, timezone

import duckdb
import openpyxl
import pytest

from pipelines import db, season
from pipelines.season import SeasonError

RULES = "r1"
HYPERLINK = '=HYPERLINK("http://x")'

ROSTER = [  # manager_id, name, team_id, team_name, branch, peer_group
    ("M1", "王大明", "T1", "甲組", "台北", "corporate"),
    ("M2", HYPERLINK, "T1", "甲組", "台北", "corporate"),
    ("M3", "-2+3", "T2", "+乙組", "台中", "retail"),
    ("M4", "@SUM(A1)", "T2", "+乙組", "台中", "retail"),
    ("M5", "林新人", "T2", "+乙組", "台中", "retail"),  # joined after the quarter: no index row
]
INDEX = [  # manager_id, grain, period, score, status, eligible, gate_reason, rank, rank_peer
    ("M1", "quarter", "2026Q3", 88.5, "ok", True, None, 1, 1),
    ("M2", "quarter", "2026Q3", 75 + 1 / 24, "ok", True, None, 2, 2),
    ("M3", "quarter", "2026Q3", 90.0, "ok", False, "floor:integrity", None, None),
    ("M4", "quarter", "2026Q3", None, "insufficient_data", True, None, None, None),
    ("X9", "quarter", "2026Q3", 99.0, "ok", True, None, 1, 1),  # no longer on the roster
    ("M1", "month", "2026-09", 10.0, "ok", True, None, 4, 2),
    ("M2", "quarter", "2026Q2", 99.0, "ok", True, None, 1, 1),
]
TEAMS = [  # team_id, grain, period, dimension, score, members_scored, members_total
    ("T1", "quarter", "2026Q3", "index", 81.75, 2, 2),
    ("T2", "quarter", "2026Q3", "index", None, 0, 2),
    ("T3", "quarter", "2026Q3", "index", 85.0, 3, 3),  # disbanded: not on the roster any more
    ("T1", "quarter", "2026Q3", "integrity", 99.0, 2, 2),
    ("T2", "month", "2026-09", "index", 95.0, 2, 2),
]
BADGES = [  # award_id, scope, subject_id, earned_on, revoked_at
    ("b1", "individual", "M1", date(2026, 7, 31), None),
    ("b2", "individual", "M1", date(2026, 9, 30), None),
    ("b3", "individual", "M1", date(2026, 6, 30), None),  # the quarter before
    ("b4", "individual", "M2", date(2026, 8, 31), datetime(2026, 9, 2)),  # revoked
    ("b5", "individual", "M2", date(2026, 10, 4), None),  # the quarter after
    ("b6", "team", "T1", date(2026, 9, 30), None),
    ("b7", "team", "T1", date(2026, 10, 1), None),
    ("b8", "team", "M1", date(2026, 8, 1), None),  # a team badge is not the person's
]
XP = [  # manager_id, day, xp
    ("M1", date(2026, 1, 10), 100.0),
    ("M1", date(2026, 9, 30), 50.0),
    ("M1", date(2026, 10, 2), 1000.0),  # after the season's last day
    ("M2", date(2026, 8, 1), 600.0),
    ("M3", date(2026, 7, 5), -20.0),  # a correction below zero: still level 1
]
LEVELS = [(1, 0.0), (2, 100.0), (3, 500.0)]


def _warehouse(path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute(db.sql_file("schema.sql"))
    con.executemany("INSERT INTO roster (manager_id, name, team_id, team_name, branch, "
                    "peer_group) VALUES (?, ?, ?, ?, ?, ?)", ROSTER)
    con.executemany("INSERT INTO awareness_index (manager_id, grain, period, score, status, "
                    "eligible, gate_reason, rank_overall, rank_peer, dimensions_used, "
                    "rules_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 10, 'r1')", INDEX)
    con.executemany("INSERT INTO team_score (team_id, grain, period, dimension, score, "
                    "members_scored, members_total, rules_version) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 'r1')", TEAMS)
    con.executemany("INSERT INTO badge_award (award_id, badge_key, tier, scope, subject_id, "
                    "grain, period, evidence, earned_on, awarded_at, rules_version, revoked_at) "
                    "VALUES (?, 'steady', 'gold', ?, ?, 'month', '2026-09', '{}', ?, "
                    "TIMESTAMP '2026-10-01 01:00:00', 'r1', ?)", BADGES)
    con.executemany("INSERT INTO xp_day VALUES (?, ?, 'contact', 1, ?)", XP)
    con.executemany("INSERT INTO level_def VALUES (?, ?, '等級', '等级', 'Level')", LEVELS)
    # the quarter is over in the data once a feed has a day past its end
    con.execute("INSERT INTO client_contact (contact_id, manager_id, client_id, occurred_at, "
                "channel, purpose, load_run_id) VALUES ('c1', 'M1', 'h1', "
                "TIMESTAMP '2026-10-03 09:30:00', 'visit', 'review', 1)")
    return con


@pytest.fixture
def con(tmp_path):
    con = _warehouse(tmp_path / "w.duckdb")
    yield con
    con.close()


CLOSED_AT = datetime(2026, 10, 5, 10, 0, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture
def closed(con):
    summary = season.close(con, "2026Q3", RULES, now=CLOSED_AT)
    return con, summary


def _by_id(rows, key):
    return {r[key]: r for r in rows}


def test_close_freezes_ranks_badges_xp_and_levels(closed):
    con, summary = closed
    assert summary == {"season": "2026Q3", "managers": 4, "teams": 3,
                       "closed_at": datetime(2026, 10, 5, 2, 0), "data_end": date(2026, 10, 3)}
    assert con.execute("SELECT season, closed_at, data_end, rules_version FROM season"
                       ).fetchall() == [("2026Q3", datetime(2026, 10, 5, 2, 0),
                                         date(2026, 10, 3), RULES)]
    people, teams = season.standings(con, "2026Q3")
    assert [p["manager_id"] for p in people] == ["M1", "M2", "M3", "M4"]  # unranked last
    got = _by_id(people, "manager_id")
    assert {k: got["M1"][k] for k in ("rank_overall", "rank_peer", "name", "team_name", "score",
                                      "status", "eligible", "badges", "xp_total", "level_no")} \
        == {"rank_overall": 1, "rank_peer": 1, "name": "王大明", "team_name": "甲組",
            "score": 88.5, "status": "ok", "eligible": True, "badges": 2, "xp_total": 150.0,
            "level_no": 2}
    assert (got["M2"]["badges"], got["M2"]["xp_total"], got["M2"]["level_no"]) == (0, 600.0, 3)
    assert (got["M3"]["rank_overall"], got["M3"]["eligible"], got["M3"]["gate_reason"]) \
        == (None, False, "floor:integrity")
    assert (got["M3"]["xp_total"], got["M3"]["level_no"]) == (-20.0, 1)
    assert (got["M4"]["score"], got["M4"]["status"], got["M4"]["xp_total"],
            got["M4"]["level_no"]) == (None, "insufficient_data", 0.0, 1)
    assert [(t["team_id"], t["rank"]) for t in teams] == [("T3", 1), ("T1", 2), ("T2", None)]
    team = _by_id(teams, "team_id")
    assert (team["T1"]["team_name"], team["T1"]["branch"], team["T1"]["score"],
            team["T1"]["members_scored"], team["T1"]["members_total"], team["T1"]["badges"]) \
        == ("甲組", "台北", 81.75, 2, 2, 1)
    assert (team["T2"]["team_name"], team["T2"]["badges"]) == ("+乙組", 0)
    assert (team["T3"]["team_name"], team["T3"]["branch"]) == ("T3", "")


def test_close_again_is_refused(closed):
    con, _ = closed
    with pytest.raises(SeasonError) as err:
        season.close(con, "2026q3", RULES)
    message = str(err.value)
    assert "already closed on 2026-10-05 02:00 UTC" in message
    assert "closed seasons never change" in message
    assert con.execute("SELECT count(*) FROM season_standing").fetchall() == [(4,)]


def test_running_quarter_is_refused_naming_the_last_day_with_data(con):
    with pytest.raises(SeasonError) as err:
        season.close(con, "2026Q4", RULES)
    message = str(err.value)
    assert "last day with data is 2026-10-03" in message
    assert "ends on 2026-12-31" in message and "can be closed once data up to 2026-12-31" in message
    assert con.execute("SELECT count(*) FROM season").fetchall() == [(0,)]


def test_no_data_at_all_is_refused(con):
    con.execute("DELETE FROM client_contact")
    with pytest.raises(SeasonError, match="no activity data has been loaded"):
        season.close(con, "2026Q3", RULES)


def test_quarter_without_scores_is_refused(con):
    # before the first day with data, scoring would not help: said so
    with pytest.raises(SeasonError, match="2026Q1 has no data to close: the first day with "
                                          "data is 2026-10-03, after the quarter ended on "
                                          "2026-03-31"):
        season.close(con, "2026Q1", RULES)
    con.execute("INSERT INTO client_contact (contact_id, manager_id, client_id, occurred_at, "
                "channel, purpose, load_run_id) VALUES ('c0', 'M1', 'h1', "
                "TIMESTAMP '2026-02-02 10:00', 'visit', 'service', 1)")
    with pytest.raises(SeasonError, match="2026Q1 has no quarter scores.*pipelines score"):
        season.close(con, "2026Q1", RULES)


def test_scores_from_other_rules_are_refused(con):
    with pytest.raises(SeasonError, match="scored with rules r1, but the current rules are r2"):
        season.close(con, "2026Q3", "r2")


@pytest.mark.parametrize("label", ["2026-Q3", "2026Q5", "Q3", "26Q3", "2026Q0", ""])
def test_bad_label_is_refused_with_the_format(con, label):
    with pytest.raises(SeasonError, match="YYYYQn, e.g. 2026Q3"):
        season.close(con, label, RULES)


def test_rescoring_leaves_the_frozen_standings_alone(closed):
    con, _ = closed
    before = season.standings(con, "2026Q3")
    # what a later rescore and award run could do to the quarter's live rows
    con.execute("UPDATE awareness_index SET score = 10, rank_overall = 99, status = 'ok', "
                "eligible = TRUE WHERE grain = 'quarter'")
    con.execute("DELETE FROM team_score")
    con.execute("UPDATE badge_award SET revoked_at = TIMESTAMP '2026-11-01 00:00:00'")
    con.execute("INSERT INTO xp_day VALUES ('M4', DATE '2026-08-01', 'contact', 1, 900)")
    con.execute("UPDATE roster SET name = 'renamed'")
    assert season.standings(con, "2026Q3") == before


def test_close_is_one_transaction(con):
    class FailingTeams:
        """The warehouse connection, failing on the last insert of the close."""

        def __getattr__(self, name):
            return getattr(con, name)

        def execute(self, sql, params=None):
            if "season_team_standing" in sql and "INSERT" in sql:
                raise duckdb.IOException("disk full")
            return con.execute(sql, params)

    with pytest.raises(duckdb.IOException):
        season.close(FailingTeams(), "2026Q3", RULES)
    for table in ("season", "season_standing", "season_team_standing"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchall() == [(0,)]
    assert season.close(con, "2026Q3", RULES)["managers"] == 4


def test_standings_of_an_unclosed_season_lists_the_closed_ones(closed):
    con, _ = closed
    with pytest.raises(SeasonError, match=r"2026Q2 has not been closed.*Closed seasons: 2026Q3"):
        season.standings(con, "2026Q2")


def test_standings_before_any_close(con):
    with pytest.raises(SeasonError, match="No season has been closed yet"):
        season.standings(con, "2026Q3")


def test_export_writes_xlsx_and_csv_without_formulas(closed, tmp_path):
    con, _ = closed
    out = tmp_path / "exports"
    paths = season.export(con, "2026Q3", out)
    assert [p.name for p in paths] == ["season_2026Q3.xlsx", "season_2026Q3_individuals.csv",
                                       "season_2026Q3_teams.csv"]
    assert all(p.exists() for p in paths)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)  # no .tmp left

    wb = openpyxl.load_workbook(paths[0])
    assert wb.sheetnames == ["individuals", "teams"]
    ws = wb["individuals"]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["rank_overall", "rank_peer", "manager_id", "name"]
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["D"].width >= len(HYPERLINK)
    rows = {r[2].value: {h: c for h, c in zip(header, r, strict=True)}
            for r in ws.iter_rows(min_row=2)}
    assert rows["M1"]["name"].value == "王大明"
    for manager_id, name in (("M2", HYPERLINK), ("M3", "-2+3"), ("M4", "@SUM(A1)")):
        cell = rows[manager_id]["name"]
        assert cell.value == "'" + name and cell.data_type == "s"
    # numbers stay numbers, a negative one included
    assert rows["M1"]["score"].value == 88.5 and rows["M1"]["score"].data_type == "n"
    assert rows["M1"]["rank_overall"].value == 1 and rows["M1"]["badges"].value == 2
    assert rows["M3"]["xp_total"].value == -20 and rows["M3"]["xp_total"].data_type == "n"
    assert rows["M3"]["eligible"].value is False
    assert rows["M4"]["score"].value is None
    teams = wb["teams"]
    team_names = [r[2].value for r in teams.iter_rows(min_row=2)]
    assert team_names == ["T3", "甲組", "'+乙組"]
    assert teams.freeze_panes == "A2" and all(c.font.b for c in teams[1])
    for sheet in wb.worksheets:
        assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]

    raw = paths[1].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with paths[1].open(encoding="utf-8-sig", newline="") as f:
        people = list(csv.DictReader(f))
    by_id = _by_id(people, "manager_id")
    assert by_id["M1"]["name"] == "王大明"
    assert by_id["M2"]["name"] == "'" + HYPERLINK
    assert by_id["M3"]["name"] == "'-2+3"
    assert by_id["M4"]["name"] == "'@SUM(A1)"
    assert by_id["M3"]["xp_total"] == "-20.0"  # a number, not escaped text
    assert by_id["M1"]["eligible"] == "TRUE" and by_id["M4"]["score"] == ""
    assert by_id["M2"]["score"] == "75.04"   # two decimals, not 75.04166666666667
    with paths[2].open(encoding="utf-8-sig", newline="") as f:
        team_rows = list(csv.DictReader(f))
    assert [t["team_name"] for t in team_rows] == ["T3", "甲組", "'+乙組"]


def test_export_of_an_unclosed_season_writes_nothing(con, tmp_path):
    with pytest.raises(SeasonError, match="has not been closed"):
        season.export(con, "2026Q3", tmp_path / "exports")
    assert not (tmp_path / "exports").exists()


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@x", "\tx", "\rx"])
def test_safe_text_escapes_every_formula_start(text):
    assert season.safe_text(text) == "'" + text
    assert season.safe_text("王" + text) == "王" + text


def test_formula_text_with_control_characters_stays_text(closed, tmp_path):
    con, _ = closed
    con.execute("UPDATE season_standing SET name = ? WHERE manager_id = 'M1'", ["\x01=cmd|x"])
    wb = openpyxl.load_workbook(season.export(con, "2026Q3", tmp_path)[0])
    cell = next(r[3] for r in wb["individuals"].iter_rows(min_row=2) if r[2].value == "M1")
    assert cell.value == "'=cmd|x" and cell.data_type == "s"
