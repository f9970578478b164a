"""Charts in a real browser: the volume chart is drawn by the served bundle under the console's
Content-Security-Policy (no eval, no inline style), shows a tooltip on hover, and loads nothing
from outside the server."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import LiveServer
from tests.web.browser import ARGS, CHROMIUM, WAIT_MS, sign_in_page, watched_page
from tests.web.conftest import Login, send_events

EVENTS = [
    {"event": e, "distinct_id": f"u{i}", "timestamp": f"2026-11-0{1 + i % 3}T02:00:00Z"}
    for i, e in enumerate(["pay", "pay", "view_item", "分享", "pay", "view_item"])
]


@pytest.mark.slow
def test_volume_chart_draws_with_tooltips(live_server: LiveServer, login: Login) -> None:
    send_events(live_server, EVENTS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            watched = watched_page(browser, live_server.url)
            page = watched.page
            sign_in_page(watched, login.email, login.password)
            page.goto(live_server.url + "/events/volume?from=2026-11-01&to=2026-11-03")
            figure = page.locator("[data-testid=volume-chart]")
            expect(figure).to_have_attribute("data-chart-state", "ready", timeout=WAIT_MS)
            svg = figure.locator(".chart-canvas svg")
            expect(svg).to_have_count(1)
            texts = svg.locator("text").all_text_contents()
            assert {"11月1日", "11月2日", "11月3日", "pay", "view_item", "分享"} <= set(texts)
            # Hovering a bar shows its day, event and count.
            bars = svg.locator("path[aria-roledescription=bar], g.mark-rect path")
            assert bars.count() == 4  # the (day, event) pairs with events
            bars.first.hover()
            tooltip = page.locator("#vg-tooltip-element")
            expect(tooltip).to_be_visible(timeout=WAIT_MS)
            expect(tooltip).to_contain_text("事件数")
            watched.shot("chart-volume")
            assert watched.csp_violations() == []
            assert watched.errors == []
            assert watched.outside == []
        finally:
            browser.close()
