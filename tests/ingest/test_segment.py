"""The real segment-analytics-python SDK (and analytics.js's wire shapes) against a live OpsLoop:
what was sent is what the REST API gives back, persons included."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from segment.analytics.client import Client
from segment.analytics.version import VERSION

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

LIB = {"$lib": "analytics-python", "$lib_version": VERSION}


@contextmanager
def segment_client(server: LiveServer, host: str | None = None, **options: Any) -> Iterator[Client]:
    client = Client(server.workspace.ingest_key, host=host or server.url, **options)
    try:
        yield client
    finally:
        if options.get("sync_mode"):
            client.flush()  # sync mode has no consumer thread (shutdown() would fail on it)
        else:
            client.shutdown()


def sent_id(result: tuple[bool, dict[str, Any]]) -> str:
    ok, msg = result
    assert ok
    return str(msg["messageId"])


def shapes(events: list[dict[str, Any]]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {e["uuid"]: (e["event"], e["distinct_id"], e["properties"]) for e in events}


def test_every_call_in_sync_mode(live_server: LiveServer) -> None:
    start = datetime.now(UTC)
    past = (start - timedelta(days=3)).replace(microsecond=250000)
    context = {
        "ip": "10.0.0.8",
        "locale": "zh-CN",
        "os": {"name": "iOS", "version": "17.2"},
        "campaign": {"source": "wechat", "name": "双十一"},
        "custom": "x",
    }
    with segment_client(live_server, sync_mode=True) as c:
        viewed = sent_id(
            c.track(
                anonymous_id="anon-9",
                event="Viewed Item",
                properties={"商品": "三体", "tags": ["书", "科幻"]},
                timestamp=past,
            )
        )
        ident = sent_id(
            c.identify("user-42", {"name": "张三", "plan": "pro"}, anonymous_id="anon-9")
        )
        order = sent_id(
            c.track("user-42", "Order Completed", {"revenue": 99.5, "currency": "CNY"}, context)
        )
        page = sent_id(
            c.page(
                "user-42",
                category="商城",
                name="首页",
                properties={"url": "https://shop.example/", "path": "/"},
            )
        )
        screen = sent_id(c.screen("user-42", name="购物车", properties={"items": 2}))
        group = sent_id(c.group("user-42", "acme", {"name": "Acme", "employees": 11}))
        alias = sent_id(c.alias("anon-7", "user-42"))
        again = sent_id(c.identify("user-42", {"plan": "max"}))
    end = datetime.now(UTC)

    events = stored_events(live_server)
    assert shapes(events) == {
        viewed: ("Viewed Item", "anon-9", {"商品": "三体", "tags": ["书", "科幻"], **LIB}),
        ident: (
            "$identify",
            "user-42",
            {"$anon_distinct_id": "anon-9", "$set": {"name": "张三", "plan": "pro"}, **LIB},
        ),
        order: (
            "Order Completed",
            "user-42",
            {
                "revenue": 99.5,
                "currency": "CNY",
                **LIB,
                "$ip": "10.0.0.8",
                "$locale": "zh-CN",
                "$os": "iOS",
                "$os_version": "17.2",
                "utm_source": "wechat",
                "utm_campaign": "双十一",
                "$context_custom": "x",
            },
        ),
        page: (
            "$pageview",
            "user-42",
            {
                "url": "https://shop.example/",
                "path": "/",
                "$current_url": "https://shop.example/",
                "$pathname": "/",
                "$name": "首页",
                "name": "首页",
                "$category": "商城",
                "category": "商城",
                **LIB,
            },
        ),
        screen: (
            "$screen",
            "user-42",
            {"items": 2, "$name": "购物车", "name": "购物车", "$screen_name": "购物车", **LIB},
        ),
        group: (
            "$groupidentify",
            "user-42",
            {
                "$group_type": "segment_group",
                "$group_key": "acme",
                "$group_set": {"name": "Acme", "employees": 11},
                **LIB,
            },
        ),
        alias: ("$create_alias", "user-42", {"alias": "anon-7", **LIB}),
        again: ("$identify", "user-42", {"$set": {"plan": "max"}, **LIB}),
    }
    assert {e["source"] for e in events} == {"segment"}
    assert events[0]["uuid"] == viewed
    assert_skew_corrected(events[0]["timestamp"], past, (start, end))
    for e in events[1:]:
        assert start - timedelta(milliseconds=1) <= parse_ts(e["timestamp"]) <= end + (end - start)

    user = person(live_server, "user-42")
    assert person(live_server, "anon-9") == user == person(live_server, "anon-7")
    assert user == {
        "id": person_id(live_server, "user-42"),
        "properties": {"name": "张三", "plan": "max"},
        "is_identified": True,
        "created_at": events[0]["timestamp"],
        "distinct_ids": ["anon-7", "anon-9", "user-42"],
    }
    history = stored_events(live_server, person_id=user["id"])
    assert [e["uuid"] for e in history] == [e["uuid"] for e in events]


def test_batches_gzip_in_the_background(live_server: LiveServer) -> None:
    sent: dict[str, tuple[str, str, dict[str, Any]]] = {}
    with (
        lossy_proxy(live_server.url, lose=0) as proxy,
        segment_client(live_server, host=proxy.url, gzip=True, upload_size=100) as c,
    ):
        for i in range(250):
            did = f"u{i % 5}"
            props = {"i": i, "渠道": ["抖音", "小红书"][i % 2]}
            sent[sent_id(c.track(did, "签到", props))] = ("签到", did, {**props, **LIB})
        sent[sent_id(c.identify("u1", {"等级": "金"}))] = (
            "$identify",
            "u1",
            {"$set": {"等级": "金"}, **LIB},
        )
        c.flush()
        events = wait_for_count(live_server, len(sent))
    assert shapes(events) == sent
    assert person(live_server, "u1")["properties"] == {"等级": "金"}
    basic = "Basic " + base64.b64encode(f"{live_server.workspace.ingest_key}:".encode()).decode()
    assert len(proxy.requests) >= 3
    assert {
        (path, h.get("Content-Encoding"), h.get("Authorization")) for path, h in proxy.requests
    } == {("/v1/batch", "gzip", basic)}


def test_resent_messages_are_stored_once(live_server: LiveServer) -> None:
    fixed, custom = str(uuid.uuid4()), "ajs-next-7f3a9c"
    with segment_client(live_server, sync_mode=True) as c:
        for _ in range(2):
            c.track("u1", "pay", {"amount": 1}, message_id=fixed)
            c.track("u1", "pay", {"amount": 2}, message_id=custom)
    # A lost answer: the SDK retries the same batch (X-Retry-Count), stored once.
    with (
        lossy_proxy(live_server.url, lose=1) as proxy,
        # one batch of exactly the three messages, whatever the machine's speed
        segment_client(live_server, host=proxy.url, upload_size=3, upload_interval=3) as c,
    ):
        retried = [sent_id(c.track("u2", "view", {"n": n})) for n in range(3)]
        c.flush()
        events = wait_for_count(live_server, 5)
    assert [h.get("X-Retry-Count") for _, h in proxy.requests] == [None, "1"]
    by_id = shapes(events)
    assert by_id.pop(fixed) == ("pay", "u1", {"amount": 1, **LIB})
    assert sorted(v for v in by_id.values() if v[0] == "pay") == [
        ("pay", "u1", {"amount": 2, **LIB})
    ]
    assert {retried[n]: by_id[retried[n]] for n in range(3)} == {
        retried[n]: ("view", "u2", {"n": n, **LIB}) for n in range(3)
    }
    assert len(events) == 5


def test_single_message_endpoints_as_analytics_js_sends_them(live_server: LiveServer) -> None:
    key = live_server.workspace.ingest_key
    now = datetime.now(UTC)
    context = {
        "library": {"name": "analytics.js", "version": "next-1.70.0"},
        "page": {"url": "https://shop.example/cart", "path": "/cart", "title": "购物车"},
        "userAgent": "Mozilla/5.0",
    }

    def msg(**fields: Any) -> dict[str, Any]:
        return {
            "messageId": f"ajs-next-{uuid.uuid4().hex}",
            "anonymousId": "anon-js",
            "originalTimestamp": now.isoformat(),
            "sentAt": now.isoformat(),
            "context": context,
            "writeKey": key,
            **fields,
        }

    ctx_props = {
        "$lib": "analytics.js",
        "$lib_version": "next-1.70.0",
        "$current_url": "https://shop.example/cart",
        "$pathname": "/cart",
        "$title": "购物车",
        "$user_agent": "Mozilla/5.0",
    }
    calls = [
        ("/v1/page", msg(name="购物车", properties={"path": "/cart"})),
        ("/v1/t", msg(event="加入购物车", properties={"sku": "b-1"})),
        ("/v1/identify", msg(userId="user-js", traits={"email": "zs@example.com"})),
        ("/v1/group", msg(userId="user-js", groupId="g-1", traits={"group_type": "company"})),
        ("/v1/screen", msg(userId="user-js", name="首页")),
        ("/v1/alias", msg(userId="user-js", previousId="old-js")),
    ]
    basic = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        for n, (path, body) in enumerate(calls):
            headers = basic if n % 2 else {}  # the key as Basic auth, or writeKey in the body
            r = c.post(
                path, json=body if n % 2 == 0 else {**body, "writeKey": None}, headers=headers
            )
            assert (r.status_code, r.json()) == (200, {"success": True}), r.text
    events = stored_events(live_server)
    assert sorted(
        ((e["event"], e["distinct_id"], e["properties"]) for e in events), key=str
    ) == sorted(
        [
            (
                "$pageview",
                "anon-js",
                {"path": "/cart", "$name": "购物车", "name": "购物车", **ctx_props},
            ),
            ("加入购物车", "anon-js", {"sku": "b-1", **ctx_props}),
            (
                "$identify",
                "user-js",
                {"$anon_distinct_id": "anon-js", "$set": {"email": "zs@example.com"}, **ctx_props},
            ),
            (
                "$groupidentify",
                "user-js",
                {
                    "$group_type": "company",
                    "$group_key": "g-1",
                    "$group_set": {"group_type": "company"},
                    **ctx_props,
                },
            ),
            (
                "$screen",
                "user-js",
                {"$name": "首页", "name": "首页", "$screen_name": "首页", **ctx_props},
            ),
            ("$create_alias", "user-js", {"alias": "old-js", **ctx_props}),
        ],
        key=str,
    )
    user = person(live_server, "user-js")
    assert (user["id"], user["distinct_ids"], user["properties"]) == (
        person_id(live_server, "user-js"),
        ["anon-js", "old-js", "user-js"],
        {"email": "zs@example.com"},
    )
