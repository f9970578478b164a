"""Driving Debian's Chromium through Playwright: how it is launched, where screenshots go
(OPSLOOP_TEST_ARTIFACTS, default test-artifacts/ at the repository's root), and a page that
records console errors, Content-Security-Policy violations and requests leaving the server."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 20_000
ARTIFACTS = Path(
    os.environ.get("OPSLOOP_TEST_ARTIFACTS")
    or Path(__file__).resolve().parents[2] / "test-artifacts"
)
# Records CSP violations in the page itself (they are not always console messages).
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@dataclass
class Watched:
    page: Page
    base: str
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        found: list[str] = self.page.evaluate("window.__cspViolations || []")
        return found

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def watched_page(browser: Browser, base: str, *, locale: str = "zh-CN") -> Watched:
    page = browser.new_page(viewport={"width": 1280, "height": 860}, locale=locale)
    watched = Watched(page, base)
    page.add_init_script(CSP_WATCH)
    page.on(
        "console",
        lambda m: watched.errors.append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: watched.errors.append(str(e)))
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith(base) or r.url.startswith("data:") or r.url.startswith("blob:")
            else watched.outside.append(r.url)
        ),
    )
    return watched


def sign_in_page(watched: Watched, email: str, password: str) -> None:
    page = watched.page
    page.goto(watched.base + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url, timeout=WAIT_MS)
