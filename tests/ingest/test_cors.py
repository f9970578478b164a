"""Browser SDKs post from another origin: preflights are answered and answers name the page's
origin on the ingestion paths, and only there."""

from __future__ import annotations

import http.server
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import orjson
import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import LiveServer
from tests.ingest.sdk_helpers import stored_events, wait_for_count
from tests.web.browser import ARGS, CHROMIUM

SITE = "https://shop.example.cn"
# A loaded machine (a parallel suite) can take seconds to draw the first console page.
TIMEOUT = 60.0
INGEST = ["/e/", "/capture/", "/batch/", "/i/v0/e/", "/v1/batch", "/v1/track", "/sa", "/sa.gif"]


@pytest.mark.parametrize("path", [*INGEST, "/api/v1/events"])
def test_preflight_names_the_origin_and_echoes_the_headers(
    live_server: LiveServer, path: str
) -> None:
    asked = "content-type, baggage, x-posthog-token"
    r = httpx.options(
        live_server.url + path,
        headers={
            "Origin": SITE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": asked,
        },
        timeout=TIMEOUT,
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == SITE
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-allow-headers"] == asked
    assert set(r.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST", "OPTIONS"}
    assert r.content == b""


def test_an_event_posted_from_a_page_is_stored_and_the_answer_readable(
    live_server: LiveServer,
) -> None:
    key = live_server.workspace.ingest_key
    body = {"api_key": key, "event": "$pageview", "distinct_id": "web-1", "properties": {}}
    r = httpx.post(live_server.url + "/e/", json=body, headers={"Origin": SITE}, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == SITE
    assert r.headers["vary"] == "Origin"
    assert [e["event"] for e in stored_events(live_server, distinct_id="web-1")] == ["$pageview"]
    # A refusal is readable by the page too (the SDK logs why).
    bad = httpx.post(
        live_server.url + "/e/", content=b"{", headers={"Origin": SITE}, timeout=TIMEOUT
    )
    assert bad.status_code == 400
    assert bad.headers["access-control-allow-origin"] == SITE


@pytest.mark.parametrize("path", ["/api/v1/query", "/api/v1/persons/u1", "/login", "/"])
def test_the_rest_api_and_console_stay_same_origin(live_server: LiveServer, path: str) -> None:
    r = httpx.options(
        live_server.url + path,
        headers={"Origin": SITE, "Access-Control-Request-Method": "POST"},
        timeout=TIMEOUT,
    )
    assert "access-control-allow-origin" not in r.headers
    got = httpx.get(live_server.url + path, headers={"Origin": SITE}, timeout=TIMEOUT)
    assert "access-control-allow-origin" not in got.headers


@contextmanager
def other_origin_site(opsloop_url: str, key: str, distinct_id: str) -> Iterator[str]:
    """A page on another loopback port that sends events the way posthog-js and analytics.js
    do: fetch with credentials "include" and a JSON body (which takes a preflight)."""
    page = f"""<!doctype html><meta charset="utf-8"><title>shop</title>
<script>
async function send() {{
  const posthog = await fetch({orjson.dumps(opsloop_url + "/e/").decode()}, {{
    method: "POST", credentials: "include", headers: {{"Content-Type": "application/json"}},
    body: JSON.stringify({{api_key: {orjson.dumps(key).decode()}, event: "view_item",
      distinct_id: {orjson.dumps(distinct_id).decode()}, uuid: "{uuid.uuid4()}",
      properties: {{"$current_url": location.href}}}})
  }});
  const segment = await fetch({orjson.dumps(opsloop_url + "/v1/track").decode()}, {{
    method: "POST", credentials: "include",
    headers: {{"Content-Type": "application/json",
      "Authorization": "Basic " + btoa({orjson.dumps(key).decode()} + ":")}},
    body: JSON.stringify({{type: "track", event: "add_to_cart",
      userId: {orjson.dumps(distinct_id).decode()}, messageId: "{uuid.uuid4()}"}})
  }});
  document.title = [posthog.status, (await posthog.json()).status, segment.status].join(" ");
}}
send().catch(e => document.title = "failed: " + e);
</script>"""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_on_another_origin_sends_events_in_chromium(live_server: LiveServer) -> None:
    key = live_server.workspace.ingest_key
    with (
        other_origin_site(live_server.url, key, "browser-7") as site,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(site)
            page.wait_for_function(
                "document.title.includes(' ') || document.title.startsWith('failed')"
            )
            assert page.title() == "200 Ok 200"  # PostHog answers {"status": "Ok"}
        finally:
            browser.close()
    events = wait_for_count(live_server, 2, distinct_id="browser-7")
    assert sorted(e["event"] for e in events) == ["add_to_cart", "view_item"]
