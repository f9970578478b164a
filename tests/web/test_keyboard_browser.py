"""The console with the keyboard only, in Chromium: sign in, reach the funnel explorer from the
navigation with Tab and Enter, break the funnel down and run it with Enter; every element focused
on the way shows where the focus is."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import LiveServer
from tests.web.browser import ARGS, CHROMIUM, WAIT_MS, watched_page
from tests.web.conftest import make_login, send_events

MAX_TABS = 80
# Whether the focused element draws a focus ring (an outline or a box shadow).
FOCUS_SHOWN = """() => {
  if (document.activeElement === document.body) return true;  // the focus left the page
  const s = getComputedStyle(document.activeElement);
  return (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none";
}"""


def _tab_to(page: Page, selector: str) -> list[str]:
    """Press Tab until the element matching `selector` has the focus; the elements passed that
    show no focus ring."""
    unmarked = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => document.activeElement.matches({selector!r})"):
            return unmarked
        if not page.evaluate(FOCUS_SHOWN):
            unmarked.append(page.evaluate("() => document.activeElement.outerHTML.slice(0, 80)"))
    raise AssertionError(f"{selector} not reached in {MAX_TABS} presses of Tab")


def _events() -> list[dict[str, object]]:
    return [
        {"event": name, "distinct_id": f"k{n}", "timestamp": f"2026-11-02T0{n}:{m:02d}:00Z",
         "properties": {"platform": "iOS" if n % 2 else "Android"}}
        for n in range(1, 7)
        for m, name in enumerate(("app_open", "view_item", "pay")[: 1 + n % 3])
    ]  # fmt: skip


@pytest.mark.slow
def test_sign_in_and_run_a_funnel_with_the_keyboard(live_server: LiveServer) -> None:
    send_events(live_server, _events())
    login = make_login(live_server, "analyst@example.com", role="analyst")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            watched = watched_page(browser, live_server.url, locale="en")
            page = watched.page
            page.goto(live_server.url + "/login?lang=en")
            unmarked = _tab_to(page, "#email")
            page.keyboard.type(login.email)
            page.keyboard.press("Tab")
            page.keyboard.type(login.password)
            page.keyboard.press("Enter")
            page.wait_for_url("**/overview", timeout=WAIT_MS)

            unmarked += _tab_to(page, "a[href='/analysis/funnel']")
            page.keyboard.press("Enter")
            page.wait_for_url("**/analysis/funnel", timeout=WAIT_MS)
            unmarked += _tab_to(page, "[data-testid=breakdown]")
            page.keyboard.type("platform")
            page.keyboard.press("Enter")
            table = page.locator("[data-testid=results-table]")
            expect(table).to_contain_text("Android", timeout=WAIT_MS)
            expect(table).to_contain_text("iOS")
            assert "breakdown=platform" in page.url
            assert unmarked == []
            assert watched.errors == []
        finally:
            browser.close()
