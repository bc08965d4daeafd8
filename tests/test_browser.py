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


def _start(data_dir: Path, port: int, log_path: Path, **env_extra: str) -> subprocess.Popen:
    env = dict(os.environ, AWARENESS_DATA=str(data_dir), **env_extra)
    log = log_path.open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/serve.py",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail("streamlit did not start: " + log_path.read_text(errors="replace"))


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def server(demo_build, tmp_path):
    _require_browser()
    port = _free_port()
    proc = _start(demo_build["settings"].data_dir, port, tmp_path / "streamlit.log")
    yield f"http://127.0.0.1:{port}"
    _stop(proc)


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
            page.goto(f"{server}/game")
            page.wait_for_selector("text=最新動態", timeout=30_000)
            page.get_by_text("經驗值與等級").first.click()
            page.wait_for_selector(".js-plotly-plot svg.main-svg", timeout=30_000)
            page.screenshot(path=str(tmp_path / "game.png"))
            # every page's own address opens it (no "page not found" detour to the start page)
            assert page.get_by_text("Page not found").count() == 0
            assert page.url.split("?")[0].endswith("/game")
            assert errors == []
        finally:
            browser.close()
    assert (tmp_path / "leaderboard.png").stat().st_size > 10_000


# --- the wall screen ---------------------------------------------------------------------------

WALL_PANELS = ("teams", "top", "champions", "heatmap", "feed")


def _wall_people(snapshot: Path) -> dict[str, list[str]]:
    import duckdb
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        rows = con.execute("""
            SELECT r.name, r.public_display, a.rank_overall FROM awareness_index a
            JOIN roster r USING (manager_id)
            WHERE a.grain = 'month' AND a.period = (SELECT max(period) FROM awareness_index
                                                    WHERE grain = 'month')
            ORDER BY a.rank_overall NULLS LAST""").fetchall()
    finally:
        con.close()
    ranked = [n for n, _, rank in rows if rank is not None]
    return {"hidden": [n for n, public, _ in rows if not public],
            "bottom": ranked[len(ranked) // 2:]}


def _scroll_state(page) -> dict:
    return page.evaluate("""() => {
        const main = document.querySelector('[data-testid="stMain"]');
        const panel = document.querySelector('.wall .panel');
        return {doc: document.documentElement.scrollHeight - window.innerHeight,
                main: main ? main.scrollHeight - main.clientHeight : 0,
                panel: panel.scrollHeight - panel.clientHeight,
                panelText: panel.innerText, allText: document.body.innerText};
    }""")


@pytest.mark.parametrize("width,height", [(1920, 1080), (3840, 2160)])
def test_wall_fills_a_tv_without_scrolling_and_stays_wall_safe(server, demo_build, tmp_path,
                                                               width, height):
    from playwright.sync_api import sync_playwright

    people = _wall_people(demo_build["snapshot"])
    assert people["hidden"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            for panel in WALL_PANELS:
                page.goto(f"{server}/?wall=bank&panel={panel}")
                page.wait_for_selector(f".wall[data-panel='{panel}']", timeout=60_000)
                page.wait_for_timeout(300)
                page.screenshot(path=str(tmp_path / f"wall_{panel}_{width}x{height}.png"))
                state = _scroll_state(page)
                assert state["doc"] <= 0 and state["main"] <= 0, (panel, state)
                assert state["panel"] <= 1, f"{panel} does not fit the screen"
                assert "客戶經理意識排行榜" in page.content()
                for name in people["hidden"]:
                    assert name not in state["allText"], (panel, name)
                # rankings show the top only; news (badges, level-ups) is for anyone shown
                for name in people["bottom"] if panel != "feed" else ():
                    assert name not in state["panelText"], (panel, name)
                # no Streamlit chrome on a TV
                assert page.locator("[data-testid='stHeader']").is_hidden()
                assert page.locator("[data-testid='stSidebar']").count() == 0
            assert problems == []
        finally:
            browser.close()
    assert (tmp_path / f"wall_top_{width}x{height}.png").stat().st_size > 10_000


def _publish_renamed(snapshot_dir: Path, old: str, new: str) -> None:
    """A new snapshot in which one person's name changed, published the way `publish` does."""
    import shutil

    import duckdb
    current = snapshot_dir / (snapshot_dir / "CURRENT").read_text().strip()
    fresh = snapshot_dir / f"snapshot-{time.time_ns()}.duckdb"
    shutil.copy(current, fresh)
    con = duckdb.connect(str(fresh))
    con.execute("UPDATE roster SET name = ? WHERE name = ?", [new, old])
    con.close()
    (snapshot_dir / "CURRENT.tmp").write_text(fresh.name)
    os.replace(snapshot_dir / "CURRENT.tmp", snapshot_dir / "CURRENT")


def test_wall_picks_up_new_snapshots_and_survives_a_server_restart(demo_build, tmp_path):
    import shutil

    from playwright.sync_api import sync_playwright

    _require_browser()
    data_dir = tmp_path / "data"
    shutil.copytree(demo_build["settings"].snapshot_dir, data_dir / "snapshots")
    port = _free_port()
    log = tmp_path / "streamlit.log"
    proc = _start(data_dir, port, log, AWARENESS_WALL_REFRESH="2")
    url = f"http://127.0.0.1:{port}/?wall=bank&panel=top"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(url)
            page.wait_for_selector(".wall .row .name", timeout=60_000)
            leader = page.locator(".wall .row .name").first.inner_text()
            page.evaluate("window.__sameDocument = true")
            # through a few refreshes (every 2 s here): never a frame without the board, never
            # the board dimmed while the fragment reruns, never scrolled
            frames = page.evaluate("""async () => {
                const seen = [];
                for (let i = 0; i < 60; i++) {
                    const wall = document.querySelector('.wall');
                    let dim = 1;
                    for (let el = wall; el; el = el.parentElement) {
                        dim = Math.min(dim, parseFloat(getComputedStyle(el).opacity));
                    }
                    seen.push({present: !!wall, dim: wall ? dim : 0, y: window.scrollY});
                    await new Promise(r => setTimeout(r, 100));
                }
                return seen;
            }""")
            assert all(f["present"] and f["dim"] == 1 and f["y"] == 0 for f in frames), frames
            _publish_renamed(data_dir / "snapshots", leader, "新科冠軍")
            page.wait_for_selector("text=新科冠軍", timeout=30_000)
            assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"

            _stop(proc)
            _publish_renamed(data_dir / "snapshots", "新科冠軍", "重啟後冠軍")
            proc = _start(data_dir, port, log, AWARENESS_WALL_REFRESH="2")
            page.wait_for_selector("text=重啟後冠軍", timeout=60_000)
            assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
            assert page.locator(".wall .row").count() >= 5
        finally:
            browser.close()
            _stop(proc)


def test_a_publish_shows_on_the_wall_long_before_the_next_refresh(demo_build, tmp_path):
    """The board refreshes every 15 s, but it looks at the pointer every second: a new
    snapshot is on the screen within a few seconds of its publish."""
    import shutil

    from playwright.sync_api import sync_playwright

    _require_browser()
    data_dir = tmp_path / "data"
    shutil.copytree(demo_build["settings"].snapshot_dir, data_dir / "snapshots")
    port = _free_port()
    proc = _start(data_dir, port, tmp_path / "streamlit.log")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(f"http://127.0.0.1:{port}/?wall=bank&panel=top")
            page.wait_for_selector(".wall .row .name", timeout=60_000)
            leader = page.locator(".wall .row .name").first.inner_text()
            page.wait_for_timeout(1500)
            started = time.monotonic()
            _publish_renamed(data_dir / "snapshots", leader, "即時冠軍")
            page.wait_for_selector("text=即時冠軍", timeout=6_000)
            assert time.monotonic() - started < 6
        finally:
            browser.close()
            _stop(proc)


def _rows_box(page) -> dict:
    return page.evaluate("""() => {
        const panel = document.querySelector('.wall .panel').getBoundingClientRect();
        const rows = [...document.querySelectorAll('.wall .panel .row')].map(
            r => r.getBoundingClientRect());
        return {panelTop: panel.top, panelBottom: panel.bottom, panelHeight: panel.height,
                n: rows.length, lastBottom: rows.length ? rows[rows.length - 1].bottom : 0,
                firstTop: rows.length ? rows[0].top : 0};
    }""")


@pytest.mark.parametrize("width,height", [(1920, 1080), (1366, 768)])
def test_twenty_rows_fit_the_screen_and_a_few_rows_fill_it(server, width, height):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{server}/?wall=bank&panel=top&top=20")
            page.wait_for_selector(".wall[data-panel='top'] .row", timeout=60_000)
            page.wait_for_timeout(300)
            box = _rows_box(page)
            assert "20" in page.locator(".wall h2").inner_text() and box["n"] == 20
            assert box["lastBottom"] <= box["panelBottom"] + 1, box   # the 20th row is seen
            # a team's wall has a few rows: they take most of the panel, not a third of it
            page.goto(f"{server}/?wall=team&id=T01&panel=top")
            page.wait_for_selector(".wall[data-panel='top'] .row", timeout=60_000)
            page.wait_for_timeout(300)
            box = _rows_box(page)
            assert 1 <= box["n"] <= 5
            used = (box["lastBottom"] - box["firstTop"]) / box["panelHeight"]
            assert used >= 0.4 * box["n"] / 4 and box["lastBottom"] <= box["panelBottom"] + 1
        finally:
            browser.close()
