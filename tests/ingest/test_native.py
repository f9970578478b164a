"""Native ingestion over HTTP, read back through the REST API."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from tests.conftest import LiveServer


def _client(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30)


def test_events_arrive_and_read_back(live_server: LiveServer) -> None:
    key, token = live_server.workspace.ingest_key, live_server.workspace.api_token
    with _client(live_server) as c:
        r = c.post(
            "/api/v1/events",
            headers={"Authorization": f"Bearer {key}"},
            json=[
                {
                    "event": "pay",
                    "distinct_id": "u1",
                    "uuid": "0f8e7b2a-1111-4c8e-9b7e-3f5a9c1d2e4f",
                    "timestamp": "2026-11-01T08:00:00+08:00",
                    "properties": {"amount": 99.5, "城市": "杭州"},
                },
                {
                    "event": "view",
                    "distinct_id": "u1",
                    "timestamp": 1793500000000,
                    "$set": {"plan": "pro"},
                },
            ],
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "ok", "accepted": 2, "duplicates": 0}
        again = c.post(
            "/api/v1/events",
            json={
                "api_key": key,
                "batch": [
                    {
                        "event": "pay",
                        "distinct_id": "u1",
                        "uuid": "0f8e7b2a-1111-4c8e-9b7e-3f5a9c1d2e4f",
                        "timestamp": "2026-11-01T00:00:00Z",
                    }
                ],
            },
        )
        assert again.json() == {"status": "ok", "accepted": 0, "duplicates": 1}
        auth = {"Authorization": f"Bearer {token}"}
        events = c.get("/api/v1/events", headers=auth).json()
        assert events["next"] is None
        assert [(e["event"], e["timestamp"]) for e in events["results"]] == [
            ("view", datetime.fromtimestamp(1793500000, UTC).isoformat().replace("+00:00", "Z")),
            ("pay", "2026-11-01T00:00:00Z"),
        ]
        assert events["results"][1]["properties"] == {"amount": 99.5, "城市": "杭州"}
        person = c.get("/api/v1/persons/u1", headers=auth).json()
        assert person["properties"] == {"plan": "pro"}
        assert person["distinct_ids"] == ["u1"]
        assert c.get("/api/v1/persons/ghost", headers=auth).status_code == 404


def test_paging_through_next(live_server: LiveServer) -> None:
    key, token = live_server.workspace.ingest_key, live_server.workspace.api_token
    base = datetime(2026, 10, 1, tzinfo=UTC)
    batch = [
        {
            "event": "e",
            "distinct_id": f"u{i}",
            "timestamp": (base + timedelta(minutes=i)).isoformat(),
        }
        for i in range(23)
    ]
    with _client(live_server) as c:
        assert c.post("/api/v1/events", json={"api_key": key, "batch": batch}).status_code == 200
        url: str | None = "/api/v1/events?limit=10&event=e"
        seen = []
        while url:
            page = c.get(url, headers={"Authorization": f"Bearer {token}"}).json()
            seen += [e["distinct_id"] for e in page["results"]]
            url = page["next"]
    assert seen == [f"u{i}" for i in reversed(range(23))]


def test_gzip_body(live_server: LiveServer) -> None:
    body = gzip.compress(
        orjson.dumps(
            {
                "api_key": live_server.workspace.ingest_key,
                "batch": [{"event": "a", "distinct_id": "z"}],
            }
        )
    )
    with _client(live_server) as c:
        r = c.post(
            "/api/v1/events",
            content=body,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
    assert r.json()["accepted"] == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b'{"event": "a", "distinct_id": "u", "api_key": "KEY"', 400, "body"),
        (b'{"event": 5, "distinct_id": "u", "api_key": "KEY"}', 400, "body.event"),
        (b'{"distinct_id": "u", "api_key": "KEY"}', 400, "body.event"),
        (b'{"event": "a", "api_key": "KEY"}', 400, "body.distinct_id"),
        (
            b'{"event": "a", "distinct_id": "u", "timestamp": "yesterday", "api_key": "KEY"}',
            400,
            "body.timestamp",
        ),
        (
            b'{"event": "a", "distinct_id": "u", "timestamp": "2999-01-01", "api_key": "KEY"}',
            400,
            "body.timestamp",
        ),
        (
            b'{"event": "a", "distinct_id": "u", "properties": [1], "api_key": "KEY"}',
            400,
            "body.properties",
        ),
        (b'{"api_key": "KEY", "batch": [{"event": "a", "distinct_id": "u"}, 7]}', 400, "batch[1]"),
        (b'{"api_key": "KEY", "batch": {"x": 1}}', 400, "batch"),
        (b'\xff\xfe{"event"}', 400, "body"),
        (b'{"event": "a", "distinct_id": "u", "api_key": "wrong"}', 401, "api_key"),
        (b'{"event": "a", "distinct_id": "u"}', 401, "api_key"),
    ],
)
def test_bad_input_gets_a_4xx_naming_the_field(
    live_server: LiveServer, body: bytes, status: int, field: str
) -> None:
    body = body.replace(b"KEY", live_server.workspace.ingest_key.encode())
    with _client(live_server) as c:
        r = c.post("/api/v1/events", content=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["field"] == field
    assert r.json()["error"]["message"]


def test_oversized_body_is_413(live_server: LiveServer) -> None:
    limit = live_server.settings.max_body_bytes
    with _client(live_server) as c:
        r = c.post("/api/v1/events", content=b"[" + b" " * (limit + 1) + b"]")
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


def test_gzip_bomb_is_413(live_server: LiveServer) -> None:
    bomb = gzip.compress(b"[" + b" " * (live_server.settings.max_body_bytes * 11) + b"]")
    with _client(live_server) as c:
        r = c.post("/api/v1/events", content=bomb, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413


def test_reading_needs_an_api_token(live_server: LiveServer) -> None:
    with _client(live_server) as c:
        assert c.get("/api/v1/events").status_code == 401
        r = c.get(
            "/api/v1/events",
            headers={"Authorization": f"Bearer {live_server.workspace.ingest_key}"},
        )
        assert r.status_code == 401
        assert (
            c.get(
                "/api/v1/events?limit=0",
                headers={"Authorization": f"Bearer {live_server.workspace.api_token}"},
            ).status_code
            == 422
        )
        bad = c.get(
            "/api/v1/events?cursor=zzz",
            headers={"Authorization": f"Bearer {live_server.workspace.api_token}"},
        )
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "cursor"


def test_healthz(live_server: LiveServer) -> None:
    with _client(live_server) as c:
        assert c.get("/healthz").json()["status"] == "ok"


def test_gzip_bomb_inside_base64_is_refused_without_inflating() -> None:
    import base64

    from opsloop.errors import InvalidInput, PayloadTooLarge
    from opsloop.ingest.common import gunzip_base64

    bomb = base64.b64encode(gzip.compress(b"[" + b" " * 50_000_000 + b"]")).decode()
    with pytest.raises(PayloadTooLarge):
        gunzip_base64(bomb, "data", 1_000_000)
    small = base64.b64encode(gzip.compress(b'{"a": 1}')).decode()
    assert gunzip_base64(small, "data", 1_000_000) == b'{"a": 1}'
    with pytest.raises(InvalidInput):
        gunzip_base64(small[:-8], "data", 1_000_000)
