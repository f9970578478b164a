"""The profile page in Chromium, in both languages and at a phone's width: found through the user
search, it shows the RFM standing, the lifecycle stage per period, the saved segments holding the
person, first-touch channel and totals, each equal to the plain-Python reference of
test_profile.py; its links open the RFM explorer and the segment builder holding the person."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest
from playwright.sync_api import expect, sync_playwright

from opsloop.analytics.segments.service import create_segment
from tests.conftest import LiveServer
from tests.users.test_profile import STAGE_NAMES, expected, shop
from tests.web.browser import ARGS, CHROMIUM, WAIT_MS, sign_in_page, watched_page
from tests.web.conftest import Login

__all__ = ["shop"]
STAGE_CELL = "[data-testid=profile-lifecycle] tr[data-interval={}] [data-stage]"


@pytest.mark.slow
def test_a_profile_in_both_languages_and_on_a_phone(
    live_server: LiveServer, login: Login, shop: pd.DataFrame, client: httpx.Client
) -> None:
    payers = [p for p in sorted(shop["person"].unique()) if expected(shop, p)["rfm"]]
    person = next(p for p in payers if expected(shop, p)["channel"])
    want = expected(shop, person)
    with live_server.app_state.db.session() as s:
        create_segment(s, live_server.workspace.id, "复购用户", rule={"did": "pay", "at_least": 1})
        create_segment(s, live_server.workspace.id, "从未打开", rule={"did_not": "app_open"})
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            watched = watched_page(browser, live_server.url, locale="zh-CN")
            page = watched.page
            sign_in_page(watched, login.email, login.password)
            page.goto(live_server.url + "/users")
            page.fill("input[name=q]", person)
            page.keyboard.press("Enter")  # an exact ID opens the profile
            page.wait_for_url(f"**/users/{person}", timeout=WAIT_MS)
            expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
            expect(page.locator("[data-testid=profile-channel]")).to_have_text(want["channel"])
            expect(page.locator("[data-testid=profile-orders]")).to_have_text(str(want["orders"]))
            expect(page.locator("[data-testid=profile-rfm-segment]")).to_have_text(want["rfm"][0])
            for grain, stage in want["stages"].items():
                cell = page.locator(STAGE_CELL.format(grain))
                expect(cell).to_have_attribute("data-stage", stage or "")
                if stage:
                    expect(cell).to_have_text(STAGE_NAMES["zh-CN"][stage])
            segments = page.locator("[data-testid=profile-segments] li")
            expect(segments).to_have_text(["复购用户"])
            watched.shot("profile-zh")

            page.set_viewport_size({"width": 390, "height": 844})
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, width
            watched.shot("profile-phone")
            page.set_viewport_size({"width": 1280, "height": 860})

            page.goto(f"{live_server.url}/users/{person}?lang=en")
            expect(page.locator("html")).to_have_attribute("lang", "en")
            grain, stage = next((g, s) for g, s in want["stages"].items() if s)
            expect(page.locator(STAGE_CELL.format(grain))).to_have_text(STAGE_NAMES["en"][stage])
            # The segment link opens the RFM explorer on the person's segment.
            page.click("[data-testid=profile-rfm-segment]")
            page.wait_for_url("**/analysis/rfm?**", timeout=WAIT_MS)
            assert "segment=" in page.url
            expect(page.locator("[data-testid=explorer-chart]")).to_have_attribute(
                "data-chart-state", "ready", timeout=WAIT_MS
            )
            expect(page.locator("[data-testid=members-table]")).to_contain_text(person)
            assert watched.csp_violations() == []
            assert watched.errors == []
            assert watched.outside == []
        finally:
            browser.close()
