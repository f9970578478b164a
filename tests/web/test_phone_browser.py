"""Every console page at a phone's width (390 px) in Chromium, in both languages: nothing is
wider than the screen (tables scroll inside their card, long URLs and keys wrap), and the
navigation row keeps each label on one line."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import LiveServer
from tests.web.browser import ARGS, CHROMIUM, WAIT_MS, sign_in_page, watched_page
from tests.web.conftest import make_login, send_events

WIDTH = 390
TALL_NAV_LABELS = (
    "Array.from(document.querySelectorAll('.sidebar .nav-item'))"
    ".filter(a => a.getBoundingClientRect().height > 40).map(a => a.textContent)"
)
PAGES = (
    "/overview", "/dashboards", "/insights", "/metrics", "/metrics/gmv", "/metrics/new",
    "/metrics/spend", "/analysis/trends", "/analysis/funnel?step=app_open&step=pay",
    "/analysis/retention", "/analysis/paths", "/analysis/lifecycle", "/analysis/rfm",
    "/analysis/segments", "/users", "/users/walker-1", "/events", "/events/volume", "/setup",
    "/settings/workspace", "/settings/members", "/settings/tokens", "/settings/ingest",
    "/settings/audit", "/account",
)  # fmt: skip


def _events() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    long_value = {"channel": "小红书", "a_rather_long_property_name": "x" * 60}
    for n in range(1, 6):
        person = f"walker-{n}"
        for day in range(1, 4):
            at = f"2026-11-0{day}T0{n}:00:00Z"
            out.append(
                {"event": "app_open", "distinct_id": person, "timestamp": at,
                 "properties": long_value}
            )  # fmt: skip
            paid = at.replace(":00:00", ":05:00")
            out.append(
                {"event": "pay", "distinct_id": person, "timestamp": paid,
                 "properties": {"amount": 10.5 * n}}
            )  # fmt: skip
    return out


@pytest.mark.slow
def test_every_page_fits_a_phone(live_server: LiveServer) -> None:
    send_events(live_server, _events())
    login = make_login(live_server, "owner@example.com", role="owner")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            watched = watched_page(browser, live_server.url)
            page = watched.page
            sign_in_page(watched, login.email, login.password)
            page.set_viewport_size({"width": WIDTH, "height": 844})
            too_wide: dict[str, int] = {}
            tall_labels: dict[str, list[str]] = {}
            for lang in ("zh-CN", "en"):
                page.goto(f"{live_server.url}/overview?lang={lang}")
                for path in PAGES:
                    r = page.goto(live_server.url + path)
                    assert r is not None and r.status == 200, path
                    page.wait_for_function(
                        "!document.querySelector('[data-chart-state=loading]')", timeout=WAIT_MS
                    )
                    width = page.evaluate("document.documentElement.scrollWidth")
                    if width > WIDTH:
                        too_wide[f"{lang} {path}"] = width
                    tall = page.evaluate(TALL_NAV_LABELS)
                    if tall:
                        tall_labels[f"{lang} {path}"] = tall
            assert too_wide == {}
            assert tall_labels == {}
            assert watched.errors == []
            assert watched.outside == []
        finally:
            browser.close()
