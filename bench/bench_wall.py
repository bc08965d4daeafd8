"""`make bench-wall`: the wall screen at 5M events: server time per refresh, and the server's
memory over a long run of refreshes from several screens.

Builds a 2,000-manager bank from 5M generated events (load, score, award, publish), then:
  refresh   the work one screen's refresh does on the server (read the snapshot, build the
            wall-safe board, render the HTML): cold (a new snapshot, nothing cached) and warm
  serve     the real server with N screens (Chromium pages on bank, branch and team walls)
            refreshing every 15 s for M minutes, a new snapshot published every 10 minutes;
            resident memory sampled every 30 s, and server CPU time per refresh
Goals (issue 6): server time per refresh <= 300 ms; resident memory flat (within 10%) over an
hour of refreshes from three screens.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--no-first-run"]


def build(tmp: Path, events: int, managers: int) -> Path:
    os.environ["AWARENESS_DATA"] = str(tmp / "data")
    from bench.bench_score import generate
    from pipelines import badges, db, load, publish, score
    from pipelines.config import load_settings
    from pipelines.rules import load_rules

    print(f"building a bank of {managers:,} managers from {events:,} events …", flush=True)
    files = generate(tmp, events, managers, 10)
    settings = load_settings()
    load.load_paths(settings, [files["roster"]])
    load.load_paths(settings, [files[k] for k in ("marketing", "contacts", "learning")])
    rules = load_rules(settings.rules_path)
    with db.warehouse(settings.db_path) as con:
        score.score(con, rules)
        badges.award(con, rules)
    return publish.publish(settings)


def refresh_times(snapshot: Path, rounds: int) -> tuple[list[float], list[float]]:
    import logging

    import streamlit as st
    logging.getLogger("streamlit").setLevel(logging.ERROR)   # "no runtime" warnings

    from dashboard import data, i18n, wall
    t = i18n.translator("zh-TW")

    def one() -> float:
        t0 = time.perf_counter()
        board = data.wall_board(str(snapshot), "month", "zh-TW", "bank", None, 10)
        wall.page_html(board, wall.PANELS[0], t, title="x", clock="09:00", ticker_offset=0)
        return (time.perf_counter() - t0) * 1000
    cold, warm = [], []
    for _ in range(rounds):
        st.cache_data.clear()
        cold.append(one())
        warm.extend(one() for _ in range(5))
    return cold, warm


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve(data_dir: Path, snapshot: Path, minutes: float, screens: int) -> None:
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/serve.py", "--server.address",
         "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=dict(os.environ, AWARENESS_DATA=str(data_dir)),
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            break
        except OSError:
            time.sleep(0.3)
    walls = ["?wall=bank", "?wall=branch&id=分行0", "?wall=team&id=T0"][:screens]
    walls += ["?wall=bank&lang=en"] * (screens - len(walls))
    samples: list[tuple[float, float]] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pages = []
            for w in walls:
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                page.goto(url + "/" + w)
                page.wait_for_selector(".wall", timeout=120_000)
                pages.append(page)
            start, cpu0 = time.monotonic(), _cpu_seconds(proc.pid)
            next_publish = start + 600
            print(f"{'minute':>7}{'RSS MB':>9}", flush=True)
            while (elapsed := time.monotonic() - start) < minutes * 60:
                samples.append((elapsed / 60, _rss_mb(proc.pid)))
                if len(samples) % 4 == 1:
                    print(f"{elapsed / 60:7.1f}{samples[-1][1]:9.1f}", flush=True)
                if time.monotonic() >= next_publish:   # the pipeline publishes again
                    fresh = snapshot.with_name(f"snapshot-{time.time_ns()}.duckdb")
                    shutil.copy(snapshot, fresh)
                    pointer = snapshot.parent / ".CURRENT.tmp"
                    pointer.write_text(fresh.name)
                    os.replace(pointer, snapshot.parent / "CURRENT")
                    next_publish += 600
                pages[0].wait_for_timeout(30_000)
            cpu = _cpu_seconds(proc.pid) - cpu0
            refreshes = len(pages) * (time.monotonic() - start) / 15
            for w, pg in zip(walls, pages, strict=True):
                shown = pg.locator(".wall").count()
                text = "" if shown == 1 else f" ({shown}): {pg.locator('body').inner_text()[:200]}"
                print(f"screen {w}: {'showing the board' if shown == 1 else 'NOT showing it'}"
                      + text)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    settled = [rss for minute, rss in samples if minute >= min(5.0, minutes / 3)]
    base, last, peak = settled[0], settled[-1], max(settled)
    print(f"\nserver RSS after warm-up {base:.1f} MB, at the end {last:.1f} MB, peak "
          f"{peak:.1f} MB: {100 * (last - base) / base:+.1f}% (goal within 10%)")
    print(f"server CPU per refresh (all Streamlit work, {refreshes:.0f} refreshes): "
          f"{1000 * cpu / refreshes:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--managers", type=int, default=2_000)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--screens", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-wall-") as tmp_name:
        tmp = Path(tmp_name)
        snapshot = build(tmp, args.events, args.managers)
        cold, warm = refresh_times(snapshot, rounds=10)
        print(f"refresh, cold (new snapshot): median {statistics.median(cold):.0f} ms, "
              f"max {max(cold):.0f} ms   (goal <= 300 ms)")
        print(f"refresh, warm (cached):       median {statistics.median(warm):.1f} ms, "
              f"max {max(warm):.1f} ms")
        if args.minutes > 0:
            serve(tmp / "data", snapshot, args.minutes, args.screens)


if __name__ == "__main__":
    main()
