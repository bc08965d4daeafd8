"""End to end, as `make run` does it: build (demo, load, score, publish), then the page."""
from __future__ import annotations

import duckdb

from pipelines.cli import main
from pipelines.publish import current_snapshot
from tests.test_app import names_in_order, run


def test_build_then_leaderboard(settings, capsys):
    assert main(["build"]) == 0
    out = capsys.readouterr().out
    assert "generating the demo organisation" in out and "published" in out
    snap = current_snapshot(settings.snapshot_dir)
    con = duckdb.connect(str(snap), read_only=True)
    leader = con.execute("""
        SELECT r.name FROM awareness_index a JOIN roster r USING (manager_id)
        WHERE a.grain = 'month' AND a.rank_overall = 1
        ORDER BY a.period DESC LIMIT 1""").fetchall()[0][0]
    dims = con.execute("SELECT count(DISTINCT dimension) FROM dimension_score").fetchall()[0][0]
    con.close()
    assert dims == 10
    at = run()
    assert not at.exception and names_in_order(at)[0] == leader

    # a second build (the second `make run`) regenerates, reloads and rescores nothing
    assert main(["build"]) == 0
    again = capsys.readouterr().out
    assert "generating" not in again and "scored" not in again
    assert "snapshot is up to date" in again
    assert current_snapshot(settings.snapshot_dir) == snap
