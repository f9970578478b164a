"""An explorer in Chromium: the form refreshes the results in place (no page load, the address
keeps the query), rows are added by their button, the chart is drawn under the page's CSP."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import LiveServer
from tests.explorers.test_pages import FUNNEL, _events
from tests.web.browser import ARGS, CHROMIUM, WAIT_MS, sign_in_page, watched_page
from tests.web.conftest import Login, send_events


@pytest.mark.slow
def test_funnel_refreshes_in_place(live_server: LiveServer, login: Login) -> None:
    send_events(live_server, _events())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            watched = watched_page(browser, live_server.url)
            page = watched.page
            sign_in_page(watched, login.email, login.password)
            no_breakdown = [kv for kv in FUNNEL if kv[0] != "breakdown"]
            page.goto(live_server.url + "/analysis/funnel?" + urlencode(no_breakdown))
            chart = page.locator("[data-testid=explorer-chart]")
            expect(chart).to_have_attribute("data-chart-state", "ready", timeout=WAIT_MS)
            page.evaluate("window.__samePage = true")
            rows = page.locator("[data-testid=results-table] tbody tr")
            expect(rows).to_have_count(3)

            page.fill("[data-testid=breakdown]", "platform")
            page.click("[data-testid=run]")
            expect(rows).to_have_count(6, timeout=WAIT_MS)
            expect(page).to_have_url(re.compile(r"breakdown=platform"))
            expect(chart).to_have_attribute("data-chart-state", "ready", timeout=WAIT_MS)
            assert page.evaluate("window.__samePage") is True
            legend = chart.locator("svg text").all_text_contents()
            assert {"iOS", "Android"} <= set(legend)

            page.click("[data-testid=add-step]")
            expect(page.locator("[data-testid=step-row]")).to_have_count(4, timeout=WAIT_MS)
            assert page.evaluate("window.__samePage") is True
            page.fill("[data-testid=step-3]", "pay")
            page.keyboard.press("Enter")
            expect(rows).to_have_count(8, timeout=WAIT_MS)
            assert watched.csp_violations() == []
            assert watched.errors == []
            assert watched.outside == []
        finally:
            browser.close()
