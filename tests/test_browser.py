"""The real server in Debian's Chromium: the chart draws and the Chinese page is in the DOM."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: .ci/run must apt-get install chromium")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium fonts-noto-cjk)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(demo_build, tmp_path):
    _require_browser()
    port = _free_port()
    log = (tmp_path / "streamlit.log").open("wb")
    env = dict(os.environ, AWARENESS_DATA=str(demo_build["settings"].data_dir))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: "
                    + (tmp_path / "streamlit.log").read_text(errors="replace"))
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_leaderboard_in_chromium(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server)
            page.wait_for_selector(".js-plotly-plot svg.main-svg", timeout=60_000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(tmp_path / "leaderboard.png"))
            html = page.content()
            assert "意識排行榜" in html
            assert "誠信意識" in html or "綜合意識指數" in html
            assert page.title() == "客戶經理意識排行榜"
            page.goto(f"{server}/data-health")
            page.wait_for_selector("text=資料健康", timeout=30_000)
            page.wait_for_selector("[data-testid='stDataFrame']", timeout=30_000)
            page.screenshot(path=str(tmp_path / "data_health.png"))
            assert "載入紀錄" in page.content()
            assert errors == []
        finally:
            browser.close()
    assert (tmp_path / "leaderboard.png").stat().st_size > 10_000
