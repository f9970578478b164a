"""Helpers for driving the real tracking SDKs against a live OpsLoop: reading results back
through the REST API, waiting on them with a deadline, a proxy that loses answers (to make an
SDK retry), and the captured wire samples."""

from __future__ import annotations

import base64
import gzip
import http.server
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson

from opsloop.events.schema import person_id_for
from tests.conftest import LiveServer

WIRE_SAMPLES = Path("/work/shared/reference/wire-samples")
T = TypeVar("T")


def api(server: LiveServer) -> httpx.Client:
    """A REST client authenticated with the workspace's API token."""
    return httpx.Client(
        base_url=server.url,
        timeout=30,
        headers={"Authorization": f"Bearer {server.workspace.api_token}"},
    )


def stored_events(server: LiveServer, **params: str) -> list[dict[str, Any]]:
    """Every stored event matching `params`, oldest first (the API answers newest first)."""
    results: list[dict[str, Any]] = []
    with api(server) as c:
        url: str | None = "/api/v1/events"
        query: dict[str, Any] = {"limit": 1000, **params}
        while url:
            r = c.get(url, params=query)
            assert r.status_code == 200, r.text
            page = r.json()
            results += page["results"]
            url, query = page["next"], {}
    return list(reversed(results))


def person(server: LiveServer, distinct_id: str) -> dict[str, Any]:
    with api(server) as c:
        r = c.get(f"/api/v1/persons/{distinct_id}")
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def person_id(server: LiveServer, distinct_id: str) -> str:
    """The person id OpsLoop derives for a distinct_id seen first (independent of the API)."""
    return person_id_for(server.workspace.id, distinct_id)


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    """Poll `check` until it returns something truthy, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        pause.wait(0.05)


def wait_for_count(server: LiveServer, count: int, **params: str) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]] | None:
        events = stored_events(server, **params)
        return events if len(events) >= count else None

    return wait_for(check, f"{count} stored events matching {params}")


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def assert_skew_corrected(
    stored: str, sent: datetime, window: tuple[datetime, datetime], sent_at_lag: float = 0.0
) -> None:
    """A stored timestamp is the sent one moved by (receive time - sent_at): on one machine that
    shift lies between 0 and the time the whole exchange took (`window`)."""
    shift = parse_ts(stored) - sent
    longest = (window[1] - window[0]).total_seconds() + sent_at_lag
    assert 0 <= shift.total_seconds() <= longest, (stored, sent, window)


# -- a proxy that forwards to OpsLoop and loses the first answers --------------------------------


@dataclass
class LossyProxy:
    """Forwards every request to the target; the first `lose` answers are replaced by 503, as
    when a response is lost on the way back, so the SDK retries a batch that was stored."""

    url: str
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)


@contextmanager
def lossy_proxy(target: str, lose: int = 1) -> Iterator[LossyProxy]:
    lock = threading.Lock()
    state = {"lost": 0}
    upstream = httpx.Client(base_url=target, timeout=30)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
            }
            proxy.requests.append((self.path, headers))
            answer = upstream.post(self.path, content=body, headers=headers)
            with lock:
                lose_this = state["lost"] < lose
                state["lost"] += lose_this
            status, content = (503, b"lost") if lose_this else (answer.status_code, answer.content)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # SDKs keep connections open; closing must not wait for their handler threads.
    server.daemon_threads = True
    server.block_on_close = False
    proxy = LossyProxy(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        upstream.close()


# -- the captured wire samples -------------------------------------------------------------------


@dataclass
class WireSample:
    """One request captured from a real SDK: what it sent and what the real server answered."""

    name: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    decoded: dict[str, Any]
    status: int
    answer: str


def load_wire_sample(name: str) -> WireSample:
    text = (WIRE_SAMPLES / name).read_text(encoding="utf-8")
    request, _, rest = text.partition("\n--- raw body")
    lines = [line for line in request.splitlines() if line and not line.startswith("#")]
    method, path, _ = lines[0].split(" ", 2)
    headers = dict(line.split(": ", 1) for line in lines[1:])
    kind, _, rest = rest.partition("---\n")
    raw_text, _, rest = rest.partition("\n--- decoded body")
    raw_text = raw_text.strip("\n")
    body = base64.b64decode(raw_text) if "base64" in kind else raw_text.encode("utf-8")
    decoded_text, _, answer_text = rest.partition("--- response the receiver gave ---")
    decoded = orjson.loads(decoded_text.partition("---\n")[2])
    status_line = answer_text.strip().split(" ", 2)
    return WireSample(
        name,
        method,
        path,
        headers,
        body,
        decoded,
        int(status_line[1]),
        status_line[2] if len(status_line) > 2 else "",
    )


def replace_key(sample: WireSample, old: str | None, new: str) -> tuple[dict[str, str], bytes]:
    """The sample's headers and body with the write key (if it has one) swapped for the test
    workspace's (inside gzip too), Host and Content-Length left for the client to set."""
    headers = {
        k: v for k, v in sample.headers.items() if k.lower() not in ("host", "content-length")
    }
    if old is None:
        return headers, sample.body
    auth = headers.get("Authorization", "")
    if auth.startswith("Basic "):
        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        user = new if user == old else user
        headers["Authorization"] = (
            "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        )
    elif auth:
        headers["Authorization"] = auth.replace(old, new)
    body = sample.body
    if headers.get("Content-Encoding") == "gzip":
        body = gzip.compress(gzip.decompress(body).replace(old.encode(), new.encode()))
    else:
        body = body.replace(old.encode(), new.encode())
    return headers, body


def find_key(sample: WireSample) -> str | None:
    """The write key a sample carries (body api_key / writeKey, or the Bearer header)."""
    body = sample.decoded.get("json", {})
    for name in ("api_key", "writeKey"):
        if name in body:
            return str(body[name])
    match = re.match(r"Bearer (\S+)", sample.headers.get("Authorization", ""))
    return match.group(1) if match else None
