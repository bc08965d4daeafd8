"""The command line: every verb has help, and problems become messages with exit code 2."""
from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest

from pipelines.cli import EXIT_USER_ERROR, build_parser, main

VERBS = ["demo", "load", "score", "publish", "build", "explain", "award", "celebrations",
         "season", "export-badges", "watch", "simulate"]


def test_the_parser_knows_every_verb():
    sub = next(a for a in build_parser()._actions if a.dest == "verb")
    assert sorted(sub.choices) == sorted(VERBS)


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(verb):
    out = subprocess.run([sys.executable, "-m", "pipelines", verb, "--help"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.startswith("usage: python -m pipelines " + verb)
    assert "--db" in out.stdout


def test_a_missing_file_is_a_message_not_a_traceback(settings, capsys, tmp_path):
    assert main(["load", str(tmp_path / "nope.csv")]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "no such file" in err and "Traceback" not in err


def test_a_broken_rules_file_is_a_message(settings, capsys, tmp_path, monkeypatch):
    bad = tmp_path / "rules.toml"
    bad.write_text("[dimensions.nonsense]\nweight = 1\n", encoding="utf-8")
    monkeypatch.setenv("AWARENESS_RULES", str(bad))
    assert main(["score"]) == EXIT_USER_ERROR
    assert "unknown dimension 'nonsense'" in capsys.readouterr().err


def test_load_json_summary_is_machine_readable(roster_loaded, capsys, tmp_path):
    from tests.conftest import ROSTER, write_csv
    path = write_csv(tmp_path / "r2.csv", [dict(ROSTER[0], name="王大明(更名)")])
    capsys.readouterr()
    assert main(["load", str(path), "--json"]) == 0
    import json
    [summary] = json.loads(capsys.readouterr().out)
    assert summary["feed"] == "roster" and summary["updated"] == 1


def test_load_with_a_progress_bar_still_prints_the_summary(roster_loaded, capsys, tmp_path,
                                                          monkeypatch):
    from pipelines import cli
    from tests.conftest import write_csv
    monkeypatch.setattr(cli._LoadProgress, "LARGE", 0)  # every file counts as large
    path = write_csv(tmp_path / "t.csv", [{"scope": "manager", "scope_id": "A1",
                                           "period": "2026-05", "metric_key": "x",
                                           "target": "1"}])
    assert main(["load", str(path)]) == 0
    out = capsys.readouterr().out
    assert "t.csv" in out and "targets" in out


def test_a_failed_file_makes_the_exit_code_2_but_the_others_load(roster_loaded, capsys,
                                                                 tmp_path):
    from tests.conftest import write_csv
    good = write_csv(tmp_path / "t.csv", [{"scope": "manager", "scope_id": "A1",
                                           "period": "2026-05", "metric_key": "x",
                                           "target": "1"}])
    bad = tmp_path / "empty.csv"
    bad.write_bytes(b"")
    assert main(["load", str(good), str(bad)]) == EXIT_USER_ERROR
    captured = capsys.readouterr()
    assert "empty" in captured.err
    assert main(["load", str(good), "--json"]) == 0
    import json
    assert json.loads(capsys.readouterr().out)[0]["already_loaded_run"] is not None


def test_game_verbs_turn_bad_input_into_messages(settings, capsys):
    assert main(["season", "close", "2026Q5"]) == EXIT_USER_ERROR
    assert "YYYYQn" in capsys.readouterr().err
    main(["season", "close", "2026q2"])   # in lower case: the same quarter (not scored here)
    assert "YYYYQn" not in capsys.readouterr().err
    assert main(["celebrations", "--since", "yesterday"]) == EXIT_USER_ERROR
    assert "2026-11-28T09:00" in capsys.readouterr().err


def test_award_and_season_close_refuse_stale_scores(roster_loaded, tmp_path, capsys):
    from tests.conftest import write_csv
    assert main(["score"]) == 0
    capsys.readouterr()
    row = {"contact_id": "c1", "manager_id": "A1", "client_id": "C1",
           "occurred_at": "2026-05-04 10:00", "channel": "visit", "purpose": "service"}
    assert main(["load", str(write_csv(tmp_path / "c.csv", [row]))]) == 0
    assert main(["award"]) == EXIT_USER_ERROR
    assert "run `python -m pipelines score` first" in capsys.readouterr().err
    assert main(["season", "close", "2026Q2"]) == EXIT_USER_ERROR
    assert "run `python -m pipelines score` first" in capsys.readouterr().err


@pytest.mark.parametrize("label", ["2026-13", "2026-W60", "2026-W00", "2026Q5", "oct", ""])
def test_a_period_that_does_not_exist_is_a_message(roster_loaded, capsys, label):
    for argv in (["explain", "A1", label], ["score", "--since", label]):
        assert main(argv) == EXIT_USER_ERROR
        err = capsys.readouterr().err
        assert "is not a period" in err and "2026-W42" in err and "Traceback" not in err


def test_score_since_a_period_after_the_data_says_so(roster_loaded, tmp_path, capsys):
    from tests.conftest import write_csv
    row = {"contact_id": "c1", "manager_id": "A1", "client_id": "C1",
           "occurred_at": "2026-05-04 10:00", "channel": "visit", "purpose": "service"}
    assert main(["load", str(write_csv(tmp_path / "c.csv", [row]))]) == 0
    assert main(["score"]) == 0
    capsys.readouterr()
    assert main(["score", "--since", "2027-01"]) == EXIT_USER_ERROR
    assert "2027-01 starts after the last day with data (2026-05-04)" in capsys.readouterr().err
    assert main(["score", "--since", "2026-W19"]) == 0     # the week of 4 May


def test_period_labels_are_read_in_any_case(roster_loaded, tmp_path):
    from pipelines.score import parse_period
    assert parse_period(" 2026q3") == ("quarter", "2026Q3", date(2026, 7, 1))
    assert parse_period("2026-w05") == ("week", "2026-W05", date(2026, 1, 26))
    assert parse_period("2026-10") == ("month", "2026-10", date(2026, 10, 1))


def test_explain_names_the_dimensions_when_one_is_misspelt(roster_loaded, tmp_path, capsys):
    from tests.test_score import _mkt, build
    build(roster_loaded, tmp_path, marketing=[_mkt(i, "A1") for i in range(5)]).close()
    assert main(["explain", "A1", "2026-05", "--dimension", "Integrty", "--lang", "en"]) \
        == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "no dimension 'Integrty'" in err and "Integrity, Market" in err
    assert main(["explain", "A1", "2026-05", "--grain", "week", "--lang", "en"]) \
        == EXIT_USER_ERROR
    assert "2026-05 is a month, not a week" in capsys.readouterr().err
    assert main(["explain", "A1", "2026-05", "--grain", "week"]) == EXIT_USER_ERROR
    assert "2026-05 是月，不是週" in capsys.readouterr().err   # zh-TW by default


def test_load_and_celebrations_say_what_is_wrong_with_their_arguments(settings, capsys,
                                                                     tmp_path):
    (tmp_path / "empty").mkdir()
    assert main(["load", str(tmp_path / "empty")]) == EXIT_USER_ERROR
    assert "no file to load there" in capsys.readouterr().err
    (tmp_path / "x.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert main(["load", str(tmp_path / "x.csv"), "--profile", str(tmp_path / "no.toml")]) \
        == EXIT_USER_ERROR
    assert "no such profile file" in capsys.readouterr().err
    assert main(["load", str(tmp_path / "x.csv"), "--feed", "roster"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "not a roster export" in err and "name the feed with --feed" not in err
    with pytest.raises(SystemExit):
        main(["celebrations", "--limit", "-1"])
    assert "not a whole number of 1 or more" in capsys.readouterr().err
    not_db = tmp_path / "x.duckdb"
    not_db.write_text("plain text", encoding="utf-8")
    assert main(["score", "--db", str(not_db)]) == EXIT_USER_ERROR
    assert "point --db (or AWARENESS_DATA) at the warehouse file" in capsys.readouterr().err


HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold_warehouse(settings, seconds: float) -> subprocess.Popen:
    """Another process holding the warehouse (as the watcher does while it loads)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(settings.db_path), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_a_command_waits_for_the_process_holding_the_warehouse(roster_loaded, capsys,
                                                               monkeypatch):
    monkeypatch.setenv("AWARENESS_LOCK_WAIT", "60")
    holder = _hold_warehouse(roster_loaded, 2)
    try:
        assert main(["score"]) == 0
    finally:
        holder.wait()
    out = capsys.readouterr()
    assert "waiting for the running load to finish" in out.err
    assert "scored" in out.out or "up to date" in out.out


def test_a_command_gives_up_after_the_wait_with_what_to_do(roster_loaded, capsys, monkeypatch):
    monkeypatch.setenv("AWARENESS_LOCK_WAIT", "0.5")
    holder = _hold_warehouse(roster_loaded, 10)
    try:
        assert main(["score"]) == EXIT_USER_ERROR
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert "still holds the warehouse" in err and "AWARENESS_LOCK_WAIT" in err
    assert "Traceback" not in err
