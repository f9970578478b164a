"""Analysis end to end in Debian's Chromium (Playwright): on a small demo world, sign in to the
overview, build a funnel with a breakdown, save it onto a new dashboard, switch to English and
back, export the funnel's table to Excel and check it against the REST answer; screenshots of
the overview, every explorer and the dashboard go to the test artifacts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from opsloop.demo import build_demo_world
from tests.conftest import LiveServer
from tests.web.browser import ARGS, CHROMIUM, WAIT_MS, Watched, sign_in_page, watched_page
from tests.web.conftest import make_login

EXPLORERS = ("trends", "retention", "paths", "lifecycle", "rfm")


def _ready(page: Page, testid: str = "explorer-chart") -> None:
    expect(page.locator(f"[data-testid={testid}]").first).to_have_attribute(
        "data-chart-state", "ready", timeout=WAIT_MS
    )


def _rest(server: LiveServer, body: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(
        server.url + "/api/v1/query",
        json=body,
        headers={"Authorization": f"Bearer {server.workspace.api_token}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def _build_funnel(watched: Watched) -> None:
    page = watched.page
    page.get_by_role("link", name="漏斗").first.click()
    expect(page).to_have_url(re.compile(r"/analysis/funnel$"))
    steps = page.locator("[data-testid=step-row] input")
    assert steps.evaluate_all("inputs => inputs.map(i => i.value)") == [
        "view_item", "add_to_cart", "checkout", "pay",
    ]  # fmt: skip
    page.locator("[data-testid=step-row]").nth(2).get_by_role("button").click()  # no checkout
    expect(page.locator("[data-testid=step-row]")).to_have_count(3, timeout=WAIT_MS)
    page.fill("[data-testid=breakdown]", "platform")
    page.click("[data-testid=run]")
    expect(page).to_have_url(re.compile(r"breakdown=platform"), timeout=WAIT_MS)
    _ready(page)
    rows = page.locator("[data-testid=results-table] tbody tr")
    expect(rows).to_have_count(9, timeout=WAIT_MS)  # three platforms × three steps
    chart_text = page.locator("[data-testid=explorer-chart] svg text").all_text_contents()
    assert {"Android", "iOS", "小程序", "1. view_item", "3. pay"} <= set(chart_text)
    page.locator("[data-testid=explorer-chart] svg path[aria-roledescription=bar]").first.hover()
    expect(page.locator("#vg-tooltip-element")).to_contain_text("总体转化率", timeout=WAIT_MS)


def _check_excel(watched: Watched, server: LiveServer, tmp_path: Path) -> None:
    page = watched.page
    body = json.loads(page.locator("[data-testid=api-body]").text_content() or "")
    assert body["breakdown"] == "platform"
    with page.expect_download() as info:
        page.click("[data-testid=results-table-xlsx]")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name.startswith("funnel-test-") and saved.suffix == ".xlsx"
    sheet = openpyxl.load_workbook(saved).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "维度拆分",
        "步骤",
        "人数",
        "总体转化率",
        "上一步转化率",
        "转化时长中位数（秒）",
    )
    answer = _rest(server, body)
    expected = [
        (
            r["breakdown_value"],
            f"{s['step']}. {s['event']}",
            s["count"],
            s["conversion_from_start"],
            s["conversion_from_previous"],
            s["median_seconds_to_convert"],
        )
        for r in answer["results"]
        for s in r["steps"]
    ]
    # Excel keeps 15 significant digits.
    approx = [tuple(pytest.approx(v, rel=1e-14) if isinstance(v, float) else v for v in row)
              for row in expected]  # fmt: skip
    assert rows[1:] == approx
    assert sheet.cell(2, 4).number_format == "0.0%"


@pytest.mark.slow
def test_analysis_end_to_end(live_server: LiveServer, tmp_path: Path) -> None:
    state = live_server.app_state
    build_demo_world(state.store, live_server.workspace.id, tmp_path, users=400, days=35, seed=7)
    owner = make_login(live_server, "yun.ying@example.com", role="owner")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            watched = watched_page(browser, live_server.url)
            page = watched.page
            sign_in_page(watched, owner.email, owner.password)
            expect(page).to_have_url(live_server.url + "/overview")
            expect(page.locator("h1")).to_have_text("概览")
            _ready(page, "sparkline")
            expect(page.locator("[data-testid=kpi-dau] [data-testid=kpi-value]")).not_to_have_text(
                "–"
            )
            watched.shot("analysis-overview")

            _build_funnel(watched)
            watched.shot("analysis-funnel")
            funnel_url = page.url

            page.click("[data-testid=save-insight]")
            page.fill("[data-testid=insight-name]", "下单漏斗（按平台）")
            page.select_option("[data-testid=insight-dashboard]", "new")
            page.fill("[data-testid=new-dashboard]", "运营看板")
            page.click("[data-testid=save-submit]")
            expect(page.locator("[data-testid=dashboard-name]")).to_have_text("运营看板")
            expect(page.locator("[data-testid=tile-title]")).to_have_text(["下单漏斗（按平台）"])
            _ready(page, "tile-chart")
            watched.shot("analysis-dashboard")

            page.click("[data-testid=switch-language]")
            expect(page.locator("html")).to_have_attribute("lang", "en")
            expect(page.get_by_role("link", name="Dashboards").first).to_be_visible()
            expect(page.locator("[data-testid=pinned-note]")).to_have_count(0)
            _ready(page, "tile-chart")
            watched.shot("analysis-dashboard-en")
            page.click("[data-testid=switch-language]")
            expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
            expect(page.get_by_role("link", name="看板").first).to_be_visible()

            page.click("[data-testid=tile-title]")
            expect(page).to_have_url(re.compile(r"/analysis/funnel\?.*breakdown=platform"))
            _ready(page)
            _check_excel(watched, live_server, tmp_path)
            page.goto(funnel_url)

            for kind in EXPLORERS:
                page.goto(f"{live_server.url}/analysis/{kind}")
                _ready(page)
                expect(page.locator("[data-testid=results-table] tbody tr").first).to_be_visible()
                watched.shot(f"analysis-{kind}")

            assert watched.csp_violations() == []
            assert watched.errors == []
            assert watched.outside == []
        finally:
            browser.close()
