"""The spend page in Chromium: an operator finds it from the metric catalog, uploads a CSV file
with a bad line (every refused line listed, nothing stored), fixes it and uploads again (the
report and the table), exports the table to Excel and opens the file; the page fits a phone."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import LiveServer
from tests.web.browser import ARGS, CHROMIUM, sign_in_page, watched_page
from tests.web.conftest import make_login

GOOD = "channel,date,spend\n抖音信息流,2026-11-01,12000\n小红书,2026-11-01,8000.5\n"
BAD = GOOD + "小红书,2026-11-31,10\n"


@pytest.mark.slow
def test_upload_fix_and_export_spend(live_server: LiveServer) -> None:
    login = make_login(live_server, "operator@example.com", role="operator")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            watched = watched_page(browser, live_server.url, locale="zh-CN")
            page = watched.page
            sign_in_page(watched, login.email, login.password)
            page.goto(live_server.url + "/metrics")
            page.click("[data-testid=spend-link]")
            expect(page.locator("h1")).to_have_text("获客花费")

            file = {"name": "spend.csv", "mimeType": "text/csv", "buffer": BAD.encode()}
            page.set_input_files("#spend-file", files=[file])  # type: ignore[list-item]
            page.click("[data-testid=spend-upload-submit]")
            report = page.locator("[data-testid=spend-report]")
            expect(report).to_have_attribute("data-outcome", "refused")
            expect(page.locator("[data-testid=refused-table] tr[data-line]")).to_have_count(1)
            expect(page.locator("tr[data-line='4']")).to_contain_text("YYYY-MM-DD 格式的日期")
            expect(page.locator("[data-testid=spend-count]")).to_have_text("0")

            file["buffer"] = GOOD.encode()
            page.set_input_files("#spend-file", files=[file])  # type: ignore[list-item]
            page.click("[data-testid=spend-upload-submit]")
            expect(report).to_have_attribute("data-outcome", "stored")
            expect(page.locator("[data-testid=report-kept]")).to_have_text("2")
            expect(page.locator("[data-testid=spend-count]")).to_have_text("2")
            expect(page.locator("[data-testid=spend-summary] tr[data-channel]")).to_have_count(2)

            with page.expect_download() as info:
                page.click("[data-testid=spend-export-xlsx]")
            path = info.value.path()
            sheet = openpyxl.load_workbook(io.BytesIO(path.read_bytes())).active
            assert sheet is not None
            rows = [tuple(c.value for c in r) for r in sheet.iter_rows()]
            assert rows[0] == ("日期", "渠道", "花费 (CNY)")
            got = sorted((r[0].date(), r[1], r[2]) for r in rows[1:])
            day = date(2026, 11, 1)
            assert got == [(day, "小红书", 8000.5), (day, "抖音信息流", 12000)]

            page.set_viewport_size({"width": 390, "height": 844})
            page.reload()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, width
            watched.shot("spend-phone")
            assert watched.csp_violations() == []
            # The only console error is the refused upload's 400.
            assert [e for e in watched.errors if "status of 400" not in e] == []
            assert watched.outside == []
        finally:
            browser.close()
