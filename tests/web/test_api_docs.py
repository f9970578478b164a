"""The REST API's documentation at /docs: Swagger UI served by OpsLoop itself (no CDN), showing
the OpenAPI schema's operations in Chromium with no request leaving the server."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import LiveServer
from tests.web.browser import ARGS, CHROMIUM, WAIT_MS, watched_page


def test_the_docs_page_loads_only_local_files(live_server: LiveServer) -> None:
    r = httpx.get(live_server.url + "/docs", timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    urls = re.findall(r'(?:src|href)="([^"]+)"', r.text) + re.findall(r"url: '([^']+)'", r.text)
    assert sorted(urls) == [
        "/openapi.json",
        "/static/favicon.svg",
        "/static/vendor/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui.css",
    ]
    assert "http" not in r.text.replace("window.location", "")
    assert '"validatorUrl": null' in r.text  # Swagger UI's default asks validator.swagger.io
    assert httpx.get(live_server.url + "/redoc", timeout=30).status_code == 404
    redirect = httpx.get(live_server.url + "/docs/oauth2-redirect", timeout=30)
    assert redirect.status_code == 200 and "oauth2" in redirect.text


@pytest.mark.slow
def test_swagger_ui_shows_the_operations_offline(live_server: LiveServer) -> None:
    schema = httpx.get(live_server.url + "/openapi.json", timeout=30).json()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            watched = watched_page(browser, live_server.url, locale="en")
            page = watched.page
            page.goto(live_server.url + "/docs")
            title = page.locator(".swagger-ui .info .title")
            expect(title).to_contain_text(schema["info"]["title"], timeout=WAIT_MS)
            expect(page.locator(".opblock-summary-path[data-path='/api/v1/query']")).to_have_count(
                1, timeout=WAIT_MS
            )
            shown = page.locator(".opblock").count()
            operations = sum(len(item) for item in schema["paths"].values())
            assert shown == operations
            assert watched.outside == []
            assert watched.errors == []
        finally:
            browser.close()
