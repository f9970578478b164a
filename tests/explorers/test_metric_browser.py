"""The metric catalog in Chromium: an analyst finds the catalog in the navigation, defines a
formula metric through the form, lands on its page and sees its trend drawn under the page's CSP,
then charts it in the trends explorer."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import LiveServer
from tests.explorers.test_metric_pages import _events
from tests.web.browser import ARGS, CHROMIUM, WAIT_MS, sign_in_page, watched_page
from tests.web.conftest import make_login, send_events


@pytest.mark.slow
def test_define_a_formula_metric_and_see_its_chart(live_server: LiveServer) -> None:
    send_events(live_server, _events())
    login = make_login(live_server, "analyst@example.com", role="analyst")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            watched = watched_page(browser, live_server.url, locale="en")
            page = watched.page
            sign_in_page(watched, login.email, login.password)
            page.goto(live_server.url + "/metrics?lang=en")
            expect(page.locator("[data-testid=nav-metrics]")).to_have_attribute(
                "aria-current", "page"
            )
            page.click("[data-testid=new-metric]")
            page.fill("#m-key", "gmv_per_payer")
            page.select_option("#m-kind", "formula")
            page.fill("#m-name_zh", "人均支付金额")
            page.fill("#m-name_en", "GMV per payer")
            page.fill("#m-description_zh", "GMV ÷ 付费用户数")
            page.fill("#m-description_en", "GMV ÷ paying users")
            page.fill("#m-unit_zh", "元")
            page.fill("#m-unit_en", "CNY")
            page.fill("#m-formula", "gmv / paying_users")
            page.select_option("#m-format", "currency")
            page.click("[data-testid=metric-save]")

            expect(page.locator("[data-testid=notice]")).to_have_text("The metric is defined.")
            expect(page.locator("[data-testid=metric-name]")).to_have_text("GMV per payer")
            chart = page.locator("[data-testid=metric-chart]")
            expect(chart).to_have_attribute("data-chart-state", "ready", timeout=WAIT_MS)
            assert chart.locator("svg").count() == 1
            # Over the range: 52.5 paid by 2 payers.
            expect(page.locator("[data-testid=metric-total]")).to_contain_text("26.25")

            page.click("[data-testid=open-in-trends]")
            table = page.locator("[data-testid=results-table]")
            expect(table).to_contain_text("GMV per payer", timeout=WAIT_MS)
            expect(page.locator("[data-testid=explorer-chart]")).to_have_attribute(
                "data-chart-state", "ready", timeout=WAIT_MS
            )
            assert watched.csp_violations() == []
            assert watched.errors == []
            assert watched.outside == []
        finally:
            browser.close()
