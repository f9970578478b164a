"""Take the README's screenshots (docs/screenshots/*.png) from a running demo with Chromium.

    scripts/demo --port 8123 &        # the demo world, signed in as demo@opsloop.local
    .venv/bin/python scripts/readme_screenshots.py http://127.0.0.1:8123

It saves a few analyses onto a dashboard first (through the console's own REST calls, once: an
existing dashboard of the same name is reused), then shoots the overview, a funnel broken down by
platform with its tooltip, retention, the dashboard, the metric catalog, a user's profile and
Settings → Members at 1280×860 in Chinese.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect, sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
LOGIN = ("demo@opsloop.local", "opsloop-demo")
BOARD = "运营看板"
WAIT_MS = 60_000


def _ready(page: Page) -> None:
    """Every chart drawn, every dashboard tile loaded."""
    page.wait_for_function(
        "() => !document.querySelector('[data-chart-state=loading], .tile-body[aria-busy=true]')",
        timeout=WAIT_MS,
    )


def _api(page: Page, method: str, path: str, body: Any = None) -> Any:
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    r = page.request.fetch(
        page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2] + path,
        method=method,
        data=body,
        headers={"X-CSRF-Token": csrf},
    )
    assert r.ok, r.text()
    return r.json()


def _dashboard(page: Page, last: str, first: str) -> int:
    """The dashboard of saved analyses (made once)."""
    for board in _api(page, "GET", "/api/v1/dashboards"):
        if board["name"] == BOARD:
            return int(board["id"])
    span = {"date_from": first, "date_to": last}
    queries = [
        ("GMV & DAU", {"kind": "trends", "interval": "day", **span,
                       "series": [{"metric": "gmv"}, {"metric": "dau"}]}),
        ("下单漏斗", {"kind": "funnel", "window_seconds": 86400, "breakdown": "platform", **span,
                   "steps": [{"event": "view_item"}, {"event": "add_to_cart"}, {"event": "pay"}]}),
        ("周留存", {"kind": "retention", "start_event": "sign_up", "return_event": "$any",
                 "period": "week", "periods": 6, **span}),
        ("生命周期", {"kind": "lifecycle", "event": "$any", "interval": "week", **span}),
        ("RFM", {"kind": "rfm", "event": "pay", "amount_property": "amount", "as_of": last}),
    ]  # fmt: skip
    board = _api(page, "POST", "/api/v1/dashboards", {"name": BOARD, "shared": True})
    for name, query in queries:
        insight = _api(page, "POST", "/api/v1/insights", {"name": name, "query": query,
                                                          "shared": True})  # fmt: skip
        _api(page, "POST", f"/api/v1/dashboards/{board['id']}/tiles",
             {"insight_id": insight["id"]})  # fmt: skip
    return int(board["id"])


def shoot(base: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="zh-CN")
        page.goto(base + "/login")
        page.fill("#email", LOGIN[0])
        page.fill("#password", LOGIN[1])
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/overview"))
        page.goto(base + "/analysis/trends?lang=zh-CN")  # its default range: the last 30 days
        first = page.locator("input[name=from]").input_value()
        last = page.locator("input[name=to]").input_value()
        board = _dashboard(page, last, first)
        page.goto(base + "/overview")
        _ready(page)
        page.screenshot(path=OUT / "overview.png")

        page.goto(base + "/analysis/funnel?step=view_item&step=add_to_cart&step=pay"
                  "&breakdown=platform&window=1&window_unit=day")  # fmt: skip
        _ready(page)
        # Tall enough that the hovered bar is in view without scrolling the page's header away.
        page.set_viewport_size({"width": 1280, "height": 1180})
        page.locator("[data-testid=explorer-chart] svg path[aria-roledescription=bar]").nth(
            4
        ).hover()
        expect(page.locator("#vg-tooltip-element")).to_be_visible(timeout=WAIT_MS)
        page.screenshot(path=OUT / "funnel.png")
        page.set_viewport_size({"width": 1280, "height": 860})

        for name, path in [
            (
                "retention",
                "/analysis/retention?start=sign_up&return=%24any&interval=week&periods=6",
            ),
            ("dashboard", f"/dashboards/{board}"),
            ("metrics", "/metrics"),
            ("members", "/settings/members"),
        ]:
            page.goto(base + path)
            _ready(page)
            page.screenshot(path=OUT / f"{name}.png")
        page.goto(base + "/users?q=u001")
        page.locator("[data-testid=users-table] a[href^='/users/']").first.click()
        page.wait_for_url(re.compile(r"/users/u"))
        page.screenshot(path=OUT / "profile.png")
        browser.close()


if __name__ == "__main__":
    shoot(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
