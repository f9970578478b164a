"""The real posthog-python SDK (and posthog-js's wire shapes) against a live OpsLoop: what was
sent is what the REST API gives back, persons included."""

from __future__ import annotations

import asyncio
import base64
import gzip
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from posthog import AsyncPosthog, Posthog
from posthog.utils import system_context
from posthog.version import VERSION

from opsloop.ingest.common import ID_NAMESPACE
from tests.conftest import LiveServer
from tests.ingest.sdk_helpers import (
    assert_skew_corrected,
    lossy_proxy,
    parse_ts,
    person,
    person_id,
    stored_events,
    wait_for_count,
)

# What posthog-python adds to every event's properties, and to captured events besides.
SDK = {
    "$lib": "posthog-python",
    "$lib_version": VERSION,
    "$geoip_disable": True,
    "$is_server": True,
}
CAPTURED = {**system_context(), **SDK}


@contextmanager
def posthog_client(
    server: LiveServer, host: str | None = None, **options: Any
) -> Iterator[Posthog]:
    ph = Posthog(server.workspace.ingest_key, host=host or server.url, **options)
    try:
        yield ph
    finally:
        ph.shutdown()


def shapes(events: list[dict[str, Any]]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {e["uuid"]: (e["event"], e["distinct_id"], e["properties"]) for e in events}


def assert_received_between(events: list[dict[str, Any]], start: datetime, end: datetime) -> None:
    """Events stamped by the SDK while it ran: the SDK's clock reading lies in [start, end] and
    the skew correction adds at most the exchange's duration."""
    for e in events:
        assert start <= parse_ts(e["timestamp"]) <= end + (end - start), e


def test_capture_set_and_alias_in_sync_mode(live_server: LiveServer) -> None:
    start = datetime.now(UTC)
    past = (start - timedelta(days=2)).replace(microsecond=123000)
    with posthog_client(live_server, sync_mode=True) as ph:
        viewed = ph.capture(
            "view_item",
            distinct_id="anon-1",
            properties={"商品": "三体", "price": 59.5, "tags": ["书", "科幻"], "meta": {"页": 1}},
            timestamp=past,
        )
        set_id = ph.set(distinct_id="user-42", properties={"name": "张三", "city": "杭州"})
        once_id = ph.set_once(
            distinct_id="user-42", properties={"first_seen": "2026-11-01", "city": "北京"}
        )
        paid = ph.capture("支付成功", distinct_id="user-42", properties={"amount": 99.5})
        alias = ph.alias(previous_id="anon-1", distinct_id="user-42")
    end = datetime.now(UTC)

    events = stored_events(live_server)
    assert shapes(events) == {
        viewed: (
            "view_item",
            "anon-1",
            {**CAPTURED, "商品": "三体", "price": 59.5, "tags": ["书", "科幻"], "meta": {"页": 1}},
        ),
        set_id: ("$set", "user-42", {**SDK, "$set": {"name": "张三", "city": "杭州"}}),
        once_id: (
            "$set_once",
            "user-42",
            {**SDK, "$set_once": {"first_seen": "2026-11-01", "city": "北京"}},
        ),
        paid: ("支付成功", "user-42", {**CAPTURED, "amount": 99.5}),
        alias: ("$create_alias", "anon-1", {**SDK, "distinct_id": "anon-1", "alias": "user-42"}),
    }
    assert {e["source"] for e in events} == {"posthog"}
    first = events[0]
    assert first["uuid"] == viewed
    assert_skew_corrected(first["timestamp"], past, (start, end))
    assert_received_between(events[1:], start, end)

    user = person(live_server, "user-42")
    assert person(live_server, "anon-1") == user
    assert user == {
        "id": person_id(live_server, "user-42"),  # the identified user keeps its person
        "properties": {"name": "张三", "city": "杭州", "first_seen": "2026-11-01"},
        "is_identified": True,
        "created_at": first["timestamp"],
        "distinct_ids": ["anon-1", "user-42"],
    }
    history = stored_events(live_server, person_id=user["id"])
    assert [e["uuid"] for e in history] == [e["uuid"] for e in events]


def test_batches_gzip_in_the_background(live_server: LiveServer) -> None:
    start = datetime.now(UTC)
    sent: dict[str, tuple[str, str, dict[str, Any]]] = {}
    with (
        lossy_proxy(live_server.url, lose=0) as proxy,
        posthog_client(
            live_server, host=proxy.url, gzip=True, flush_at=50, flush_interval=0.2
        ) as ph,
    ):
        for i in range(230):
            name = "点击" if i % 2 else "page_view"
            did = f"u{i % 7}"
            props = {"i": i, "城市": ["杭州", "上海", "深圳"][i % 3]}
            uid = ph.capture(name, distinct_id=did, properties=props)
            assert uid is not None
            sent[uid] = (name, did, {**CAPTURED, **props})
        uid = ph.set(distinct_id="u0", properties={"vip": True, "等级": 3})
        assert uid is not None
        sent[uid] = ("$set", "u0", {**SDK, "$set": {"vip": True, "等级": 3}})
        ph.flush()
        events = wait_for_count(live_server, len(sent))
    end = datetime.now(UTC)
    assert shapes(events) == sent
    assert_received_between(events, start, end)
    assert person(live_server, "u0")["properties"] == {"vip": True, "等级": 3}
    assert person(live_server, "u3")["properties"] == {}
    # The SDK batched (at most flush_at events a request) and gzipped every request.
    assert len(proxy.requests) >= len(sent) / 50
    assert {(path, h.get("Content-Encoding")) for path, h in proxy.requests} == {
        ("/batch/", "gzip")
    }


def test_capture_v1_protocol(live_server: LiveServer) -> None:
    start = datetime.now(UTC)
    with posthog_client(live_server, capture_mode="v1", capture_compression="gzip") as ph:
        paid = ph.capture(
            "order_paid",
            distinct_id="user-7",
            properties={"amount": 99.5, "$session_id": "s-1", "备注": "加急"},
        )
        vip = ph.set(distinct_id="user-7", properties={"vip": True})
        ph.flush()
        events = wait_for_count(live_server, 2)
    end = datetime.now(UTC)
    # v1 lifts $session_id out of the properties and drops $lib: both come back as properties.
    assert shapes(events) == {
        paid: (
            "order_paid",
            "user-7",
            {**CAPTURED, "amount": 99.5, "$session_id": "s-1", "备注": "加急"},
        ),
        vip: ("$set", "user-7", {**SDK, "$set": {"vip": True}}),
    }
    assert_received_between(events, start, end)
    assert person(live_server, "user-7")["properties"] == {"vip": True}


def test_async_client(live_server: LiveServer) -> None:
    async def drive() -> list[str | None]:
        ph = AsyncPosthog(live_server.workspace.ingest_key, host=live_server.url, gzip=True)
        try:
            ids = [ph.capture("异步事件", distinct_id="a-1", properties={"n": n}) for n in range(5)]
            ids.append(ph.set(distinct_id="a-1", properties={"name": "李四"}))
            await ph.flush()
            ids.append(await ph.capture_immediate("立即", distinct_id="a-1"))
        finally:
            await ph.shutdown()
        return ids

    ids = asyncio.run(drive())
    events = wait_for_count(live_server, 7)
    assert shapes(events) == {
        **{ids[n]: ("异步事件", "a-1", {**CAPTURED, "n": n}) for n in range(5)},
        ids[5]: ("$set", "a-1", {**SDK, "$set": {"name": "李四"}}),
        ids[6]: ("立即", "a-1", CAPTURED),
    }
    assert person(live_server, "a-1")["properties"] == {"name": "李四"}


def test_resent_events_are_stored_once(live_server: LiveServer) -> None:
    fixed = str(uuid.uuid4())
    when = datetime.now(UTC) - timedelta(hours=1)
    with posthog_client(live_server, sync_mode=True) as ph:
        for _ in range(2):
            ph.capture(
                "pay", distinct_id="u1", properties={"amount": 1}, uuid=fixed, timestamp=when
            )
    # A lost answer makes the SDK send the same batch again; it is stored once.
    with (
        lossy_proxy(live_server.url, lose=1) as proxy,
        # one batch of exactly the three events, whatever the machine's speed
        posthog_client(live_server, host=proxy.url, flush_at=3, flush_interval=3) as ph,
    ):
        retried = [ph.capture("view", distinct_id="u2", properties={"n": n}) for n in range(3)]
        ph.flush(timeout_seconds=20)
        events = wait_for_count(live_server, 4)
    assert len(proxy.requests) == 2
    assert shapes(events) == {
        fixed: ("pay", "u1", {**CAPTURED, "amount": 1}),
        **{retried[n]: ("view", "u2", {**CAPTURED, "n": n}) for n in range(3)},  # type: ignore[index]
    }


def _js_event(key: str, name: str, did: str, props: dict[str, Any], **top: Any) -> dict[str, Any]:
    """An event as posthog-js builds it: distinct_id and token inside the properties."""
    return {
        "uuid": str(uuid.uuid4()),
        "event": name,
        "properties": {"distinct_id": did, "token": key, "$lib": "web", **props},
        "timestamp": datetime.now(UTC).isoformat(),
        **top,
    }


def test_posthog_js_wire_shapes_and_identify(live_server: LiveServer) -> None:
    key = live_server.workspace.ingest_key
    view = _js_event(key, "$pageview", "anon-js", {"$current_url": "https://shop.example/商品"})
    click = _js_event(key, "点击购买", "anon-js", {"sku": "b-1"})
    beacon = _js_event(key, "$pageleave", "anon-js", {})
    identify = _js_event(
        key,
        "$identify",
        "user-js",
        {"$anon_distinct_id": "anon-js", "$set": {"email": "zs@example.com"}},
        **{"$set_once": {"first_url": "/"}},
    )
    ms = str(int(datetime.now(UTC).timestamp() * 1000))
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        r1 = c.post(
            f"/e/?compression=gzip-js&ver=1.200.0&_={ms}",
            content=gzip.compress(orjson.dumps([view])),
            headers={"Content-Type": "text/plain"},
        )
        r2 = c.post(
            "/i/v0/e/?compression=base64",
            data={"data": base64.b64encode(orjson.dumps(click)).decode()},
        )
        r3 = c.get("/e/", params={"data": base64.b64encode(orjson.dumps(beacon)).decode()})
        r4 = c.post("/capture/", json=identify)
    for r in (r1, r2, r3, r4):
        assert (r.status_code, r.json()) == (200, {"status": "Ok"}), r.text
    events = stored_events(live_server)
    identify_props = {**identify["properties"], "$set_once": {"first_url": "/"}}
    assert shapes(events) == {
        view["uuid"]: ("$pageview", "anon-js", view["properties"]),
        click["uuid"]: ("点击购买", "anon-js", click["properties"]),
        beacon["uuid"]: ("$pageleave", "anon-js", beacon["properties"]),
        identify["uuid"]: ("$identify", "user-js", identify_props),
    }
    user = person(live_server, "anon-js")
    assert user == person(live_server, "user-js")
    assert user["id"] == person_id(live_server, "user-js")
    assert user["distinct_ids"] == ["anon-js", "user-js"]
    assert user["is_identified"] is True
    assert user["properties"] == {"email": "zs@example.com", "first_url": "/"}
    assert len(stored_events(live_server, person_id=user["id"])) == 4


def test_merge_dangerously_and_personless_events(live_server: LiveServer) -> None:
    key = live_server.workspace.ingest_key
    batch = [
        {"event": "$identify", "distinct_id": "alice", "properties": {}},
        {"event": "$identify", "distinct_id": "bob", "properties": {"$set": {"x": 1}}},
        # identify never folds one identified user into another ...
        {"event": "$identify", "distinct_id": "bob", "properties": {"$anon_distinct_id": "alice"}},
        # ... merge_dangerously does; a personless event changes no person.
        {"event": "$merge_dangerously", "distinct_id": "bob", "properties": {"alias": "alice"}},
        {
            "event": "e",
            "distinct_id": "carol",
            "properties": {"$process_person_profile": False, "$set": {"y": 2}},
        },
    ]
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        r = c.post("/batch", json={"api_key": key, "batch": batch[:3]})
        assert r.status_code == 200, r.text
        assert person(live_server, "alice")["id"] != person(live_server, "bob")["id"]
        r = c.post("/batch/", json=batch[3:], headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
    bob = person(live_server, "bob")
    assert bob == person(live_server, "alice")
    assert (bob["id"], bob["distinct_ids"], bob["properties"]) == (
        person_id(live_server, "bob"),
        ["alice", "bob"],
        {"x": 1},
    )
    assert person(live_server, "carol")["properties"] == {}
    stored = sorted((e["event"], e["distinct_id"]) for e in stored_events(live_server))
    assert stored == sorted((b["event"], b["distinct_id"]) for b in batch)


def test_unusual_but_valid_shapes_are_normalised(live_server: LiveServer) -> None:
    upper = str(uuid.uuid4()).upper()
    batch = [
        {"event": "a", "distinct_id": 42, "uuid": upper, "timestamp": 1795000000123},
        {"event": "b", "distinct_id": "u", "uuid": "evt-7", "timestamp": "2026-11-20T08:00:00"},
        {"event": "c", "distinct_id": "u", "timestamp": " 2026-11-20T08:00:00+08:00 "},
        {"event": "d", "properties": {"distinct_id": "u"}, "offset": 1000},
    ]
    body = {"api_key": live_server.workspace.ingest_key, "batch": batch}
    start = datetime.now(UTC)
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        for _ in range(2):  # the resend is stored once: every id is stable
            r = c.post("/batch/", json=body)
            assert r.status_code == 200, r.text
    end = datetime.now(UTC)
    events = {e["event"]: e for e in stored_events(live_server)}
    assert sorted(events) == ["a", "b", "c", "d"]
    assert [(events[n]["distinct_id"], events[n]["timestamp"]) for n in "abc"] == [
        ("42", datetime.fromtimestamp(1795000000.123, UTC).isoformat().replace("+00:00", "Z")),
        ("u", "2026-11-20T08:00:00Z"),
        ("u", "2026-11-20T00:00:00Z"),
    ]
    assert events["a"]["uuid"] == upper.lower()
    assert events["b"]["uuid"] == str(uuid.uuid5(ID_NAMESPACE, "posthog:evt-7"))
    assert str(uuid.UUID(events["c"]["uuid"])) == events["c"]["uuid"]
    sent = parse_ts(events["d"]["timestamp"]) + timedelta(seconds=1)
    assert (events["d"]["distinct_id"], start <= sent <= end) == ("u", True)
