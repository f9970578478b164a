"""Settings in a real browser (Debian's Chromium driven by Playwright): a viewer cannot reach
them and gets the 403 page; an admin changes a member's role and finds the change in the audit
log, makes an API token, and removes a member after confirming. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.web.access_world import PASSWORD, Member, World, access_world
from tests.web.test_console_browser import ARGS, CHROMIUM, WAIT_MS

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def browser_world(tmp_path: Path) -> Iterator[World]:
    with access_world(tmp_path, f"sqlite:///{tmp_path / 'ops.sqlite3'}") as w:
        yield w


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"settings-{name}.png"), full_page=True)


def _sign_in(page: Page, base: str, member: Member) -> None:
    page.goto(base + "/login")
    page.fill("#email", member.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/login"))


@pytest.mark.slow
def test_settings_in_the_browser(browser_world: World) -> None:
    world = browser_world
    base = str(world.client.base_url).rstrip("/")
    victim = world.victim
    assert victim is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            page.set_default_timeout(WAIT_MS)
            outside: list[str] = []
            page.on(
                "request",
                lambda r: None if r.url.startswith((base, "data:")) else outside.append(r.url),
            )
            page.on("dialog", lambda dialog: dialog.accept())

            # A viewer: no settings in the navigation, and a 403 page at their address.
            _sign_in(page, base, world.members["viewer"])
            expect(page.locator("[data-testid^=nav-settings]")).to_have_count(0)
            expect(page.locator("[data-testid=nav-account]")).to_be_visible()
            for path in ("/settings/members", "/settings/audit", "/settings/workspace"):
                response = page.goto(base + path)
                assert response is not None and response.status == 403
                expect(page.locator("[data-testid=error-page] h1")).to_have_text("无权访问")
            expect(page.locator("[data-testid=error-detail]")).to_have_text(
                "此页面需要管理员或更高角色"
            )
            _shot(page, "viewer-403")
            page.click("[data-testid=error-back]")
            page.click("[data-testid=nav-account]")
            expect(page.locator("h1")).to_have_text("我的账号")
            _shot(page, "account")
            page.click("[data-testid=logout]")
            expect(page).to_have_url(base + "/login")

            # An admin changes the victim's role and reads it in the audit log.
            _sign_in(page, base, world.members["admin"])
            page.click("[data-testid=nav-settings-members]")
            expect(page.locator("h1")).to_have_text("成员")
            row = page.locator(f'tr[data-member="{victim.email}"]')
            row.locator("[data-testid=role-select]").select_option("analyst")
            row.locator("[data-testid=role-save]").click()
            expect(page.locator("[data-testid=notice]")).to_have_text("角色已修改。")
            expect(row.locator("[data-testid=role-select]")).to_have_value("analyst")
            _shot(page, "members")
            page.click("[data-testid=nav-settings-audit]")
            expect(page.locator("h1")).to_have_text("审计日志")
            first = page.locator("[data-testid=audit-table] tbody tr").first
            expect(first.locator("[data-testid=audit-action]")).to_have_text("修改角色")
            expect(first.locator("[data-testid=audit-subject]")).to_have_text(victim.email)
            expect(first.locator("[data-testid=audit-changes]")).to_have_text(
                re.compile(r"role\s*:\s*viewer\s*→\s*analyst")
            )
            expect(first).to_contain_text("admin@shop.example")
            _shot(page, "audit-log")
            # Filtered to role changes, the entry is still there, alone.
            page.select_option("#audit-action", "member.role_changed")
            page.click("[data-testid=audit-submit]")
            expect(page).to_have_url(re.compile(r"action=member.role_changed"))
            expect(page.locator("[data-testid=audit-table] tbody tr")).to_have_count(1)

            # A token, shown once, copied.
            page.click("[data-testid=nav-settings-tokens]")
            page.fill("#token-name", "报表脚本")
            page.click("[data-testid=token-create]")
            token = page.locator("[data-testid=new-token]").inner_text()
            assert token.startswith("olt_")
            copy = page.locator("button[data-copy=new-token]")
            copy.click()
            expect(copy).to_have_text("已复制")
            _shot(page, "tokens")
            assert world.api(token, "GET", "/api/v1/me").json()["email"] == "admin@shop.example"

            # Removing a member asks first (the dialog is accepted), then they are gone.
            page.click("[data-testid=nav-settings-members]")
            page.locator(f'tr[data-member="{victim.email}"] [data-testid=member-remove]').click()
            expect(page.locator("[data-testid=notice]")).to_contain_text("成员已移除")
            expect(page.locator(f'tr[data-member="{victim.email}"]')).to_have_count(0)
            for name in ("workspace", "ingest"):
                page.click(f"[data-testid=nav-settings-{name}]")
                _shot(page, name)
            # In English too.
            page.click("[data-testid=switch-language]")
            expect(page.locator("html")).to_have_attribute("lang", "en")
            expect(page.locator("h1")).to_have_text("Ingest key")
            page.click("[data-testid=nav-settings-audit]")
            expect(
                page.locator("[data-testid=audit-table] tbody tr").first.locator(
                    "[data-testid=audit-action]"
                )
            ).to_have_text("Language changed")
            _shot(page, "audit-log-en")
            assert outside == []
        finally:
            browser.close()
