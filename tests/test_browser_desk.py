"""The team lead's desk in Debian's Chromium: every page opens by its own address without a
console error, a click on the board opens that person, the language switch keeps them, and the
meeting workbook downloads and opens."""
from __future__ import annotations

import duckdb
import pytest

from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, server  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser


def _leader(snapshot) -> tuple[str, str]:
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        return con.execute("""
            SELECT a.manager_id, r.name FROM awareness_index a JOIN roster r USING (manager_id)
            WHERE a.grain = 'month' AND a.rank_overall = 1 AND a.period = (
                SELECT max(period) FROM awareness_index WHERE grain = 'month')""").fetchall()[0]
    finally:
        con.close()


class Watch:
    """Console errors, page errors and failed requests of one page."""

    def __init__(self, page):
        self.problems: list[str] = []
        page.on("console", lambda m: self.problems.append(f"console: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        page.on("response", lambda r: self.problems.append(f"{r.status} {r.url}")
                if r.status >= 400 else None)


def _browser(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@pytest.mark.parametrize("path,wait_for", [
    ("/", ".js-plotly-plot svg.main-svg"),
    ("/person?id=RM030", ".js-plotly-plot svg.main-svg"),
    ("/team?id=T01", ".js-plotly-plot svg.main-svg"),
    ("/game", "text=最新動態"),
    ("/data-health", "[data-testid='stDataFrame']"),
    ("/person", "text=選擇人員"),
])
def test_every_page_opens_by_its_address_without_console_errors(server, tmp_path, path,  # noqa: F811
                                                                wait_for):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            watch = Watch(page)
            page.goto(server + path)
            page.wait_for_selector(wait_for, timeout=60_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(tmp_path / "page.png"))
            assert page.get_by_text("Page not found").count() == 0
            assert watch.problems == []
        finally:
            browser.close()


def _grid_cell(page, key: str, row: int, col_x: int = 40):
    """Click a cell of a Streamlit table (a canvas grid): row 0 is the first data row."""
    grid = page.locator(f".st-key-{key} [data-testid='stDataFrame']")
    grid.wait_for(timeout=30_000)
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    header, height = 35, 35
    page.mouse.click(box["x"] + col_x, box["y"] + header + height * row + height / 2)


def test_a_click_on_the_board_opens_that_person_and_the_language_switch_keeps_them(
        server, demo_build, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    leader_id, leader_name = _leader(demo_build["snapshot"])
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            watch = Watch(page)
            page.goto(server)
            page.wait_for_selector(".js-plotly-plot svg.main-svg", timeout=60_000)
            _grid_cell(page, "lb_table", 0)
            page.wait_for_url(f"**/person?id={leader_id}*", timeout=30_000)
            page.wait_for_selector(f"h3:has-text('{leader_name}')", timeout=30_000)
            page.wait_for_selector(".js-plotly-plot svg.main-svg", timeout=30_000)
            page.screenshot(path=str(tmp_path / "person_zh.png"))
            assert "各項意識的位置" in page.content()

            # the sidebar's language selector: the page stays on this person
            page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").click()
            page.get_by_role("option", name="English").click()
            page.wait_for_selector("text=Where they stand", timeout=30_000)
            assert f"id={leader_id}" in page.url and "lang=en" in page.url
            assert page.locator(f"h3:has-text('{leader_name}')").count() == 1
            page.screenshot(path=str(tmp_path / "person_en.png"))

            # a shared link opens the same page, in the language it names
            page.goto(page.url)
            page.wait_for_selector("text=Where they stand", timeout=60_000)
            assert watch.problems == []
        finally:
            browser.close()


def test_a_click_on_a_bar_opens_that_person(server, demo_build):  # noqa: F811
    from playwright.sync_api import sync_playwright

    leader_id, _ = _leader(demo_build["snapshot"])
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(server)
            page.wait_for_selector(".js-plotly-plot .bars path", timeout=60_000)
            # the top bar is the leader (bars are drawn bottom-up, the best on top)
            bars = page.locator(".js-plotly-plot .bars path")
            boxes = [bars.nth(i).bounding_box() for i in range(bars.count())]
            top = min((b for b in boxes if b and b["width"] > 0), key=lambda b: b["y"])
            page.mouse.click(top["x"] + top["width"] / 2, top["y"] + top["height"] / 2)
            page.wait_for_url(f"**/person?id={leader_id}*", timeout=30_000)
        finally:
            browser.close()


def test_the_meeting_workbook_downloads_and_opens(server, tmp_path):  # noqa: F811
    import openpyxl
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900}, accept_downloads=True)
            page.goto(server + "/person?id=RM030")
            button = page.get_by_role("button", name="下載面談用 Excel")
            button.wait_for(timeout=60_000)
            with page.expect_download(timeout=60_000) as info:
                button.click()
            target = tmp_path / "meeting.xlsx"
            info.value.save_as(target)
        finally:
            browser.close()
    wb = openpyxl.load_workbook(target)
    assert {"個人概況", "各項意識", "月趨勢", "原始紀錄"} <= set(wb.sheetnames)
    profile = {r[0]: r[1] for r in wb["個人概況"].iter_rows(min_row=2, values_only=True)}
    assert profile["加強重點"] and profile["規則版本"]
