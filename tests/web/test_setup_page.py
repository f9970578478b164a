"""The setup page: the workspace's ingest key, this server's address, and snippets that work."""

from __future__ import annotations

import re
import shlex
from html import unescape
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.ingest.sdk_helpers import wait_for_count
from tests.web.conftest import Login, sign_in


def _snippets(html: str) -> dict[str, str]:
    return {
        sid: unescape(code)
        for sid, code in re.findall(r'<code id="code-([^"]+)"[^>]*>(.*?)</code>', html, re.S)
    }


def test_the_page_has_the_key_the_address_and_a_snippet_per_sdk(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    sign_in(client, login)
    page = client.get("/setup")
    assert page.status_code == 200
    key, base = live_server.workspace.ingest_key, live_server.url
    assert f'<code id="ingest-key" data-testid="ingest-key">{key}</code>' in page.text
    assert f'<code id="base-url" data-testid="base-url">{base}</code>' in page.text
    snippets = _snippets(page.text)
    assert sorted(snippets) == [
        "native-curl",
        "posthog-js",
        "posthog-python",
        "segment-node",
        "segment-python",
        "sensors-js",
        "sensors-python",
    ]
    sensors_url = f"{base}/sa?project=default&token={key}"
    expected_lines = {
        "posthog-js": f"posthog.init('{key}', {{ api_host: '{base}' }})",
        "posthog-python": f'posthog = Posthog("{key}", host="{base}")',
        "segment-python": f'analytics.host = "{base}"',
        "segment-node": f"  writeKey: '{key}',",
        "sensors-python": f'consumer = sensorsanalytics.DefaultConsumer("{sensors_url}")',
        "sensors-js": f"  server_url: '{sensors_url}',",
        "native-curl": f"  -H 'Authorization: Bearer {key}' \\",
    }
    for sid, line in expected_lines.items():
        assert line in snippets[sid].splitlines(), sid
    assert 'analytics.write_key = "' + key + '"' in snippets["segment-python"]
    # Every snippet has a copy button, and the page has the two Chinese section titles.
    assert page.text.count('data-copy="code-') == len(snippets)
    assert "<h2>神策</h2>" in page.text and "<h2>原生 API</h2>" in page.text


def test_the_curl_snippet_sends_an_event(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    sign_in(client, login)
    curl = _snippets(client.get("/setup").text)["native-curl"]
    argv = shlex.split(curl.replace("\\\n", " "))  # the shell joins continued lines
    assert argv[:3] == ["curl", "-X", "POST"]
    url, rest = argv[3], argv[4:]
    pairs = list(zip(rest[::2], rest[1::2], strict=True))
    headers = dict(value.split(": ", 1) for flag, value in pairs if flag == "-H")
    body = next(value for flag, value in pairs if flag == "-d")
    r = httpx.post(url, headers=headers, content=body.encode())
    assert r.json() == {"status": "ok", "accepted": 1, "duplicates": 0}
    token = live_server.workspace.api_token
    events = client.get("/api/v1/events", headers={"Authorization": f"Bearer {token}"}).json()[
        "results"
    ]
    assert [(e["event"], e["distinct_id"], e["properties"]) for e in events] == [
        ("pay", "user-42", {"amount": 99})
    ]


def _cleanup_sdk(namespace: dict[str, Any]) -> None:
    """Stop the clients a snippet started, and reset Segment's module-level client."""
    if "posthog" in namespace and hasattr(namespace["posthog"], "shutdown"):
        namespace["posthog"].shutdown()
    if "sa" in namespace:
        namespace["sa"].close()
    if "analytics" in namespace:
        analytics = namespace["analytics"]
        analytics.shutdown()
        analytics.default_client = None
        analytics.write_key = analytics.host = None


@pytest.mark.parametrize(
    ("snippet", "source"),
    [("posthog-python", "posthog"), ("segment-python", "segment"), ("sensors-python", "sensors")],
)
def test_the_python_snippets_send_an_event(
    client: httpx.Client, live_server: LiveServer, login: Login, snippet: str, source: str
) -> None:
    sign_in(client, login)
    code = _snippets(client.get("/setup").text)[snippet]
    namespace: dict[str, Any] = {}
    try:
        exec(compile(code, snippet, "exec"), namespace)
    finally:
        _cleanup_sdk(namespace)
    events = wait_for_count(live_server, 1, event="pay")
    shown = [(e["event"], e["distinct_id"], e["source"], e["properties"]["amount"]) for e in events]
    assert shown == [("pay", "user-42", source, 99)]
