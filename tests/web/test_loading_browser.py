"""A slow query never freezes the page, in Chromium: while an explorer's in-place refresh or a
dashboard tile's query is held back (the browser's request is paused until the test lets it go;
no clock involved), the page says it is loading and stays usable; once it answers, the results
replace the loading state."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, Route, expect, sync_playwright

from tests.conftest import LiveServer
from tests.explorers.test_pages import FUNNEL, _events
from tests.web.browser import ARGS, CHROMIUM, WAIT_MS, sign_in_page, watched_page
from tests.web.conftest import csrf_of, make_login, send_events


def _wait_for_held(page: Page, held: list[Route]) -> None:
    """Until the browser's request reached the route (Playwright hands it over while the page
    is being talked to), within the deadline."""
    end = time.monotonic() + WAIT_MS / 1000
    while not held:
        assert time.monotonic() < end, "the request never came"
        page.evaluate("0")
    assert len(held) == 1


@pytest.mark.slow
def test_explorers_and_tiles_show_a_loading_state(live_server: LiveServer) -> None:
    send_events(live_server, _events())
    login = make_login(live_server, "analyst@example.com", role="analyst")
    held: list[Route] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            watched = watched_page(browser, live_server.url, locale="en")
            page = watched.page
            sign_in_page(watched, login.email, login.password)
            no_breakdown = [kv for kv in FUNNEL if kv[0] != "breakdown"]
            page.goto(live_server.url + "/analysis/funnel?lang=en&" + urlencode(no_breakdown))
            chart = page.locator("[data-testid=explorer-chart]")
            expect(chart).to_have_attribute("data-chart-state", "ready", timeout=WAIT_MS)

            page.route("**/analysis/funnel?*partial=1*", lambda route: held.append(route))
            page.fill("[data-testid=breakdown]", "platform")
            page.click("[data-testid=run]")
            loading = page.locator("[data-testid=explorer-loading]")
            expect(loading).to_be_visible(timeout=WAIT_MS)
            expect(loading).to_have_attribute("role", "status")
            expect(loading).not_to_have_text("")
            expect(page.locator("[aria-busy=true]")).to_have_count(1)
            page.fill("[data-testid=breakdown]", "platform")  # the form stays usable
            _wait_for_held(page, held)
            held.pop().continue_()
            expect(loading).to_be_hidden(timeout=WAIT_MS)
            expect(page.locator("[data-testid=results-table] tbody tr")).to_have_count(6)
            page.unroute("**/analysis/funnel?*partial=1*")

            # A dashboard: the page shows at once, each tile loading until its query answers.
            csrf = csrf_of(page.content())
            query = {"kind": "funnel", "steps": [{"event": "view_item"}, {"event": "pay"}],
                     "window_seconds": 86400, "date_from": "2026-11-01",
                     "date_to": "2026-11-01"}  # fmt: skip
            headers = {"X-CSRF-Token": csrf}
            insight = page.request.post(live_server.url + "/api/v1/insights", headers=headers,
                                        data={"name": "Funnel", "query": query}).json()  # fmt: skip
            board = page.request.post(live_server.url + "/api/v1/dashboards", headers=headers,
                                      data={"name": "Board"}).json()  # fmt: skip
            page.request.post(f"{live_server.url}/api/v1/dashboards/{board['id']}/tiles",
                              headers=headers, data={"insight_id": insight["id"]})  # fmt: skip
            page.route("**/dashboards/*/tiles/*", lambda route: held.append(route))
            page.goto(f"{live_server.url}/dashboards/{board['id']}")
            tile = page.locator("[data-testid=tile-body]")
            expect(tile).to_have_attribute("aria-busy", "true")
            expect(page.locator("[data-testid=dashboard-name]")).to_have_text("Board")
            _wait_for_held(page, held)
            held.pop().continue_()
            expect(tile).to_have_attribute("data-tile-state", "ready", timeout=WAIT_MS)
            expect(tile.locator("[data-chart-state=ready]")).to_have_count(1, timeout=WAIT_MS)
            assert watched.errors == []
        finally:
            browser.close()
