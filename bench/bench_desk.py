"""`make bench-desk`: the team lead's desk at 5M events and 2,000 managers: server time to build
the person page and the leaderboard, and the number of points every chart on them draws.

Builds the bank the way bench-wall does (load, score, award, publish 5M generated events), then
runs each page's script as the server runs it for one browser session (Streamlit's AppTest runs
the same script in this process and serialises every element as it is drawn; the time is the
script's own, from its first line to its last, without AppTest's start-up), for a sample of people
spread over the board:
  restart    every cache cleared and the snapshot closed: the first page after the server
             starts (or after a publish, had the server not warmed the new snapshot)
  published  the same, then the server's own warm-up of the new snapshot (dashboard/runtime.py,
             run in the background when the pointer changes; its time is reported too): the
             first page a visitor opens after a publish
  cold       every cache cleared, the snapshot open: the first visit of this page, or another
             period or filter (the shared caches, such as the rules, would in fact be warm:
             this is the worse case)
  warm       the same page again (a rerun when the lead changes a widget or comes back)
Chart points are counted from the Plotly specs the page sends (every x/y/z value of every trace).
Goals (issue 14): person page <= 500 ms, leaderboard <= 300 ms, no chart over 5,000 points.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

SCRIPT_MS: list[float] = []   # filled by the page script, which runs in this process


def _page(which: str, lang: str) -> None:
    import time

    import streamlit as st

    from bench import bench_desk
    from dashboard import i18n
    from dashboard.views import leaderboard, person, team
    t0 = time.perf_counter()
    st.session_state[i18n.LANG_KEY] = lang
    {"person": person, "leaderboard": leaderboard, "team": team}[which].render()
    bench_desk.SCRIPT_MS.append((time.perf_counter() - t0) * 1000)


def _points(spec: dict) -> int:
    """Points a Plotly figure draws: per trace the longest of its x/y/r arrays (a heatmap: every
    cell of z), summed over the traces; base64-packed arrays (Plotly 6) are counted too."""
    import base64

    def size(values) -> int:
        if isinstance(values, dict) and "bdata" in values:
            return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).size
        if isinstance(values, list):
            return sum(size(v) if isinstance(v, list | dict) else 1 for v in values)
        return 0

    total = 0
    for trace in spec.get("data", []):
        if "z" in trace:
            total += size(trace["z"])
        else:
            total += max(size(trace.get(axis)) for axis in ("x", "y", "r"))
    return total


MODES = ("restart", "published", "cold", "warm")
WARM_UP_MS: list[float] = []   # the server's background warm-up, before each "published" run


def _run(which: str, mode: str, **params: str) -> tuple[float, list[int]]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_page, args=(which, "zh-TW"), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    if mode != "warm":
        st.cache_data.clear()
    if mode in ("restart", "published"):   # the new snapshot not open yet
        from dashboard import data, runtime
        with data._open_lock:
            while data._open:
                data._open.popitem()[1].close()
        if mode == "published":
            WARM_UP_MS.append(runtime.warm(data.snapshot()) * 1000)
    from bench import bench_desk  # the module the script sees, not __main__
    bench_desk.SCRIPT_MS.clear()
    at.run()
    if at.exception or len(bench_desk.SCRIPT_MS) != 1:
        raise SystemExit(f"{which} {params} failed: {at.exception}")
    charts = [_points(json.loads(el.proto.spec)) for el in at.get("plotly_chart")]
    return bench_desk.SCRIPT_MS[0], charts


def _report(name: str, times: dict[str, list[float]], goal: float) -> None:
    for kind in MODES:
        ms = times[kind]
        print(f"{name:12} {kind:9}: median {statistics.median(ms):6.0f} ms, worst {max(ms):6.0f} ms"
              f" over {len(ms)} runs   (goal <= {goal:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--managers", type=int, default=2_000)
    parser.add_argument("--people", type=int, default=40, help="people sampled for the person page")
    parser.add_argument("--keep", type=Path, help="build the bank here and reuse it when present")
    args = parser.parse_args()
    import logging
    logging.disable(logging.WARNING)   # AppTest outside a server warns of "no runtime" each run
    with tempfile.TemporaryDirectory(prefix="bench-desk-") as tmp_name:
        tmp = args.keep or Path(tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        os.environ["AWARENESS_DATA"] = str(tmp / "data")
        from bench.bench_wall import build
        from pipelines.config import load_settings
        from pipelines.publish import current_snapshot

        settings = load_settings()
        snapshot = current_snapshot(settings.snapshot_dir) if args.keep else None
        if snapshot is None:
            t0 = time.perf_counter()
            snapshot = build(tmp, args.events, args.managers)
            print(f"built and published in {time.perf_counter() - t0:.0f} s")
        print(f"snapshot {snapshot.stat().st_size / 2**20:.0f} MB")
        _measure(snapshot, args.people)


def _measure(snapshot: Path, sample: int) -> None:
    import duckdb

    from dashboard import runtime

    con = duckdb.connect(str(snapshot), read_only=True)
    ranked = [m for (m,) in con.execute("""
        SELECT manager_id FROM awareness_index
        WHERE grain = 'month' AND period = (SELECT max(period) FROM awareness_index
                                            WHERE grain = 'month')
        ORDER BY awareness_index DESC NULLS LAST, manager_id""").fetchall()]
    teams = [t for (t,) in con.execute(
        "SELECT DISTINCT team_id FROM roster ORDER BY team_id").fetchall()]
    con.close()
    step = max(1, len(ranked) // sample)
    people = ranked[::step][:sample]
    print(f"{len(ranked):,} people on the board; sampling {len(people)}, every {step}th")

    worst_points: dict[str, int] = {}
    results = {}
    for name, runs in (("leaderboard", [{}] * 10),
                       ("person", [{"id": m} for m in people]),
                       ("team", [{"id": t} for t in teams[::max(1, len(teams) // 10)][:10]])):
        _run(name, "restart", **runs[0])    # imports, not counted
        runtime.settle()                    # as dashboard/serve.py does at start-up
        times: dict[str, list[float]] = {m: [] for m in MODES}
        for params in runs:
            for kind in MODES:
                ms, charts = _run(name, kind, **params)
                times[kind].append(ms)
                for i, n in enumerate(charts):
                    key = f"{name} chart {i + 1}"
                    worst_points[key] = max(worst_points.get(key, 0), n)
        results[name] = times
    print()
    _report("leaderboard", results["leaderboard"], 300)
    _report("person", results["person"], 500)
    _report("team", results["team"], 500)
    print(f"\nthe server's warm-up of a new snapshot (in the background): median "
          f"{statistics.median(WARM_UP_MS):.0f} ms, worst {max(WARM_UP_MS):.0f} ms")
    print("\nmost points any chart drew (goal <= 5,000):")
    for key, n in worst_points.items():
        print(f"  {key:22} {n:6,}")


if __name__ == "__main__":
    main()
