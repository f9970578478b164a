"""The console in a real browser (Debian's Chromium driven by Playwright): sign in, watch live
events arrive, open one, filter, download Excel, switch language and back, choose a volume range,
follow an error page back, open setup. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
import uuid as uuidlib
from datetime import datetime
from pathlib import Path

import httpx
import openpyxl
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import LiveServer
from tests.web.conftest import Login, send_events

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 20_000


def _uuid(n: int) -> str:
    return str(uuidlib.UUID(int=0xB0000 + n))


EVENTS = [
    {
        "event": "pay",
        "distinct_id": "user-1",
        "uuid": _uuid(1),
        "timestamp": "2026-11-01T02:00:00Z",
        "properties": {"amount": 128, "category": "图书"},
    },
    {
        "event": "view_item",
        "distinct_id": "user-2",
        "uuid": _uuid(2),
        "timestamp": "2026-11-01T02:01:00Z",
        "properties": {"$current_url": "https://shop.example/item/7"},
    },
    {
        "event": "pay",
        "distinct_id": "user-2",
        "uuid": _uuid(3),
        "timestamp": "2026-11-01T02:02:00Z",
        "properties": {"amount": 36.5, "category": "食品"},
    },
]


def _rows(page: Page) -> list[str]:
    return page.locator("#live-table tbody.event").evaluate_all(
        "bodies => bodies.map(b => b.dataset.uuid)"
    )


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


@pytest.mark.slow
def test_a_day_in_the_console(live_server: LiveServer, login: Login, tmp_path: Path) -> None:
    send_events(live_server, EVENTS)
    base = live_server.url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
            outside: list[str] = []
            page.on(
                "request",
                lambda r: (
                    None
                    if r.url.startswith(base) or r.url.startswith("data:")
                    else outside.append(r.url)
                ),
            )

            page.goto(base + "/")
            expect(page).to_have_url(base + "/login")
            expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
            _shot(page, "login")
            page.fill("#email", login.email)
            page.fill("#password", login.password)
            page.click("button[type=submit]")
            expect(page).to_have_url(base + "/overview")
            page.get_by_role("link", name="实时数据").click()
            expect(page).to_have_url(base + "/events")
            expect(page.locator("h1")).to_have_text("实时数据")
            assert _rows(page) == [_uuid(3), _uuid(2), _uuid(1)]

            # A new event shows up without reloading the page.
            send_events(
                live_server,
                [
                    {
                        "event": "sign_up",
                        "distinct_id": "user-3",
                        "uuid": _uuid(4),
                        "timestamp": "2026-11-01T02:03:00Z",
                    }
                ],
            )
            fresh = page.locator(f'tbody.event[data-uuid="{_uuid(4)}"]')
            expect(fresh).to_have_count(1, timeout=WAIT_MS)
            assert _rows(page) == [_uuid(4), _uuid(3), _uuid(2), _uuid(1)]

            # A row opens to show all of its properties.
            row = page.locator(f'tbody.event[data-uuid="{_uuid(1)}"]')
            detail = row.locator("tr.event-detail")
            expect(detail).to_be_hidden()
            row.locator("tr.event-row").click()
            expect(detail).to_be_visible()
            expect(detail).to_contain_text("图书")
            _shot(page, "live-events")

            # Filtering by event reloads with only those events.
            page.select_option("#filter-event", "pay")
            expect(page).to_have_url(re.compile(r"/events\?event=pay"))
            expect(page.locator("#live-table tbody.event")).to_have_count(2)
            assert _rows(page) == [_uuid(3), _uuid(1)]

            # The filtered list downloads as an Excel workbook with typed cells.
            with page.expect_download() as download_info:
                page.click("[data-testid=export-xlsx]")
            download = download_info.value
            assert download.suggested_filename == "events-test.xlsx"
            saved = tmp_path / download.suggested_filename
            download.save_as(saved)
            sheet = openpyxl.load_workbook(saved).active
            assert sheet is not None
            assert list(sheet.iter_rows(values_only=True)) == [
                ("timestamp", "event", "distinct_id", "source", "uuid", "properties"),
                (
                    datetime(2026, 11, 1, 10, 2),
                    "pay",
                    "user-2",
                    "native",
                    _uuid(3),
                    '{"amount":36.5,"category":"食品"}',
                ),
                (
                    datetime(2026, 11, 1, 10, 0),
                    "pay",
                    "user-1",
                    "native",
                    _uuid(1),
                    '{"amount":128,"category":"图书"}',
                ),
            ]

            # The live view can be paused, and remembers it.
            page.click("[data-testid=live-toggle]")
            expect(page.locator("[data-testid=live-toggle]")).to_have_text("继续")
            expect(page.locator("#live-status")).to_have_class(re.compile("paused"))
            page.reload()
            expect(page.locator("[data-testid=live-toggle]")).to_have_text("继续")
            page.click("[data-testid=live-toggle]")
            expect(page.locator("[data-testid=live-toggle]")).to_have_text("暂停")

            # English and back.
            page.click("[data-testid=switch-language]")
            expect(page.locator("html")).to_have_attribute("lang", "en")
            expect(page.locator("h1")).to_have_text("Live events")
            expect(page).to_have_url(re.compile(r"/events$"))
            _shot(page, "live-events-en")
            page.click("[data-testid=switch-language]")
            expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

            # Event volume, then setup through the navigation.
            page.get_by_role("link", name="事件量").click()
            expect(page.locator("h1")).to_contain_text("事件量")
            expect(page.locator("[data-testid=volume-chart]")).to_be_visible()
            _shot(page, "event-volume")
            # A chosen range: the heading says which days are shown; a reversed one is explained.
            page.fill("#range-from", "2026-10-25")
            page.fill("#range-to", "2026-11-07")
            page.click("[data-testid=range-submit]")
            expect(page).to_have_url(re.compile(r"/events/volume\?from=2026-10-25&to=2026-11-07$"))
            expect(page.locator("[data-testid=range-shown]")).to_have_text(
                "2026年10月25日 – 11月7日"
            )
            expect(page.locator("[data-testid=kpi-total]")).to_have_text("4")
            expect(page.locator("[data-testid=kpi-last-day-label]")).to_have_text("11月7日事件数")
            page.fill("#range-from", "2026-11-08")
            page.click("[data-testid=range-submit]")
            expect(page.locator("[data-testid=range-error]")).to_contain_text(
                "开始日期不能晚于结束日期。"
            )
            expect(page.locator("#range-from")).to_have_value("2026-11-08")
            _shot(page, "event-volume-range")
            # A wrong address inside the console is a page with a way back.
            page.goto(base + "/events/no-such-page")
            expect(page.locator("[data-testid=error-page] h1")).to_have_text("页面不存在")
            _shot(page, "error-404")
            page.click("[data-testid=error-back]")
            expect(page).to_have_url(base + "/overview")
            page.get_by_role("link", name="接入").click()
            expect(page).to_have_url(base + "/setup")
            expect(page.locator("[data-testid=ingest-key]")).to_have_text(
                live_server.workspace.ingest_key
            )
            expect(page.locator("[data-testid=base-url]")).to_have_text(base)
            copy = page.locator("button[data-copy=code-posthog-js]")
            copy.click()
            expect(copy).to_have_text("已复制")
            _shot(page, "setup")

            # Narrow screens get the same pages.
            page.set_viewport_size({"width": 390, "height": 844})
            page.goto(base + "/events")
            expect(page.locator("#live-table tbody.event")).to_have_count(4)
            _shot(page, "live-events-mobile")

            page.click("[data-testid=logout]")
            expect(page).to_have_url(base + "/login")
            page.goto(base + "/setup")
            expect(page).to_have_url(re.compile(r"/login\?next=%2Fsetup$"))
            assert outside == []
        finally:
            browser.close()
    assert httpx.get(base + "/healthz").status_code == 200
