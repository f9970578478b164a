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


@pytest.mark.slow
def test_define_a_metric_with_filter_and_parameter_rows(live_server: LiveServer) -> None:
    """Rows are added with the form's buttons (no script needed), a row's error marks its
    input, and the saved metric lists its parameter; the form fits a phone's width."""
    send_events(live_server, _events())
    login = make_login(live_server, "analyst@example.com", role="analyst")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            watched = watched_page(browser, live_server.url, locale="en")
            page = watched.page
            sign_in_page(watched, login.email, login.password)
            page.set_viewport_size({"width": 390, "height": 844})
            page.goto(live_server.url + "/metrics/new?lang=en")
            page.fill("#m-key", "big_payers")
            page.select_option("#m-kind", "unique_users")
            for name, value in [
                ("name_zh", "大额付款人数"),
                ("name_en", "Big payers"),
                ("description_zh", "金额不低于参数的付款人数"),
                ("description_en", "Payers of at least the amount given"),
                ("unit_zh", "人"),
                ("unit_en", "persons"),
                ("event", "pay"),
            ]:
                page.fill(f"#m-{name}", value)  # fmt: skip
            page.click("[data-testid=metric-add-filter]")
            expect(page.locator("[data-testid=metric-filter-row]")).to_have_count(1)
            expect(page.locator("#m-name_en")).to_have_value("Big payers")  # kept
            page.fill("#m-fp-0", "amount")
            page.select_option("#m-fo-0", "gte")
            page.fill("#m-fv-0", "{min_amount}")
            page.click("[data-testid=metric-save]")
            # The parameter is not declared yet: the error marks the filter's value.
            error = page.locator("[data-testid=metric-error]")
            expect(error).to_have_attribute("data-field", "fv-0")
            expect(page.locator("#m-fv-0")).to_have_attribute("aria-invalid", "true")
            page.click("[data-testid=metric-add-parameter]")
            page.fill("#m-pn-0", "min_amount")
            page.fill("#m-pz-0", "最低金额")
            page.fill("#m-pe-0", "minimum amount")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, width
            watched.shot("metric-form-rows-phone")
            page.press("#m-pe-0", "Enter")  # Enter saves (not a row's remove button)

            expect(page.locator("[data-testid=notice]")).to_have_text("The metric is defined.")
            definition = page.locator("[data-testid=metric-definition]")
            expect(definition).to_contain_text("min_amount")
            chart = page.locator("[data-testid=metric-chart]")
            expect(chart).to_have_attribute("data-chart-state", "ready", timeout=WAIT_MS)
            # Without the parameter its filter is left out: both payers count over the range.
            expect(page.locator("[data-testid=metric-total]")).to_contain_text("2")
            assert watched.csp_violations() == []
            # The only console error is the refused save's 400.
            assert [e for e in watched.errors if "status of 400" not in e] == []
            assert watched.outside == []
        finally:
            browser.close()
