"""The real Sensors Data (神策) Python SDK (and the JS SDK's wire shapes) against a live OpsLoop:
what was sent is what the REST API gives back, persons included."""

from __future__ import annotations

import base64
import gzip
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from sensorsanalytics.sdk import (
    SDK_VERSION,
    AsyncBatchConsumer,
    BatchConsumer,
    DefaultConsumer,
    SensorsAnalytics,
    SensorsAnalyticsIdentity,
    SensorsAnalyticsNetworkException,
)

from tests.conftest import LiveServer
from tests.ingest.sdk_helpers import lossy_proxy, parse_ts, person, person_id, stored_events

LIB = {"$lib": "python", "$lib_version": SDK_VERSION, "$lib_method": "code"}
# The SDK records the calling line as `class##function##file##line`.
LIB_DETAIL = re.compile(r"^[^#]*##\w*##.*test_sensors\.py##\d+$")

Row = tuple[str, str, int, dict[str, Any]]


def server_url(server: LiveServer, project: str = "default") -> str:
    return f"{server.url}/sa?project={project}&token={server.workspace.ingest_key}"


@contextmanager
def sensors(consumer: Any, **options: Any) -> Iterator[SensorsAnalytics]:
    sa = SensorsAnalytics(consumer, **options)
    try:
        yield sa
    finally:
        sa.close()


def rows(events: list[dict[str, Any]]) -> list[Row]:
    """(event, distinct_id, time in ms, properties) sorted, with the SDK's call-site detail
    checked and set aside (it names a line of this file)."""
    out = []
    for e in events:
        props = dict(e["properties"])
        detail = props.pop("$lib_detail", None)
        assert detail is None or LIB_DETAIL.match(detail), detail
        ms = round(parse_ts(e["timestamp"]).timestamp() * 1000)
        out.append((e["event"], e["distinct_id"], ms, props))
    return sorted(out, key=lambda r: (r[2], r[0], orjson.dumps(r[3], option=orjson.OPT_SORT_KEYS)))


def expected(rows_: list[Row]) -> list[Row]:
    return sorted(
        rows_, key=lambda r: (r[2], r[0], orjson.dumps(r[3], option=orjson.OPT_SORT_KEYS))
    )


def test_track_signup_and_profiles_with_the_default_consumer(live_server: LiveServer) -> None:
    t = int((datetime.now(UTC) - timedelta(days=1)).timestamp() * 1000)
    project = {"$project": "default"}
    with sensors(DefaultConsumer(server_url(live_server))) as sa:
        sa.track("anon-s", "ViewProduct", {"product_name": "三体", "tags": ["书"], "$time": t})
        sa.track_signup("user-s", "anon-s", {"channel": "微信", "$time": t + 1})
        sa.profile_set("user-s", {"name": "张三", "city": "杭州", "tmp": 1, "$time": t + 2}, True)
        sa.profile_set_once("user-s", {"city": "北京", "first": "2026-11-01", "$time": t + 3}, True)
        sa.profile_increment("user-s", {"points": 10, "$time": t + 4}, True)
        sa.profile_increment("user-s", {"points": 5, "$time": t + 5}, True)
        before = int(datetime.now(UTC).timestamp() * 1000)
        # profile_append and profile_unset take no $time: the SDK stamps them
        sa.profile_append("user-s", {"tags": ["vip"]}, True)
        sa.profile_append("user-s", {"tags": ["新客"]}, True)
        sa.profile_unset("user-s", ["tmp"], True)
        sa.track("user-s", "Pay", {"amount": 99.5}, is_login_id=True)
        after = int(datetime.now(UTC).timestamp() * 1000)
    events = stored_events(live_server)
    got = rows(events)
    login = {"$is_login_id": True}
    stamped = [r[2] for r in got if r[2] > t + 5]
    appends = [r[2] for r in got if r[0] == "$profile_append"]
    unset_at, pay_at = (
        next(r[2] for r in got if r[0] == name) for name in ("$profile_unset", "Pay")
    )
    assert len(stamped) == 4 and all(before <= ms <= after for ms in stamped)
    assert got == expected(
        [
            (
                "ViewProduct",
                "anon-s",
                t,
                {"product_name": "三体", "tags": ["书"], **LIB, **project},
            ),
            (
                "$SignUp",
                "user-s",
                t + 1,
                {"channel": "微信", "$original_id": "anon-s", **LIB, **project},
            ),
            (
                "$profile_set",
                "user-s",
                t + 2,
                {"name": "张三", "city": "杭州", "tmp": 1, **login, **LIB, **project},
            ),
            (
                "$profile_set_once",
                "user-s",
                t + 3,
                {"city": "北京", "first": "2026-11-01", **login, **LIB, **project},
            ),
            ("$profile_increment", "user-s", t + 4, {"points": 10, **login, **LIB, **project}),
            ("$profile_increment", "user-s", t + 5, {"points": 5, **login, **LIB, **project}),
            ("$profile_append", "user-s", appends[0], {"tags": ["vip"], **login, **LIB, **project}),
            (
                "$profile_append",
                "user-s",
                appends[1],
                {"tags": ["新客"], **login, **LIB, **project},
            ),
            ("$profile_unset", "user-s", unset_at, {"tmp": True, **login, **LIB, **project}),
            ("Pay", "user-s", pay_at, {"amount": 99.5, **login, **LIB, **project}),
        ]
    )
    assert {e["source"] for e in events} == {"sensors"}
    user = person(live_server, "user-s")
    assert person(live_server, "anon-s") == user
    assert user == {
        "id": person_id(live_server, "user-s"),
        "properties": {
            "name": "张三",
            "city": "杭州",
            "first": "2026-11-01",
            "points": 15,
            "tags": ["vip", "新客"],
        },
        "is_identified": True,
        "created_at": datetime.fromtimestamp(t / 1000, UTC).isoformat().replace("+00:00", "Z"),
        "distinct_ids": ["anon-s", "user-s"],
    }
    history = stored_events(live_server, person_id=user["id"])
    assert [e["uuid"] for e in history] == [e["uuid"] for e in events]


def test_batch_consumer_sends_gzip_data_lists(live_server: LiveServer) -> None:
    t = int(datetime.now(UTC).timestamp() * 1000) - 600_000
    sent: list[Row] = []
    with (
        lossy_proxy(live_server.url, lose=0) as proxy,
        sensors(
            BatchConsumer(f"{proxy.url}/sa?token={live_server.workspace.ingest_key}"),
            project_name="shop",
        ) as sa,
    ):
        for i in range(120):
            did = f"d{i % 6}"
            props = {"i": i, "city": ["杭州", "上海"][i % 2]}
            sa.track(did, "AppStart", {**props, "$time": t + i})
            sent.append(("AppStart", did, t + i, {**props, **LIB, "$project": "shop"}))
        sa.profile_set("d0", {"vip": True, "$time": t + 500})
        sent.append(("$profile_set", "d0", t + 500, {"vip": True, **LIB, "$project": "shop"}))
    assert rows(stored_events(live_server)) == expected(sent)
    assert person(live_server, "d0")["properties"] == {"vip": True}
    assert len(proxy.requests) == 3  # at most 50 records a request
    assert {h.get("Content-Type") for _, h in proxy.requests} == {
        "application/x-www-form-urlencoded"
    }


def test_async_batch_consumer(live_server: LiveServer) -> None:
    t = int(datetime.now(UTC).timestamp() * 1000) - 60_000
    consumer = AsyncBatchConsumer(server_url(live_server), flush_max_time=1, flush_size=10)
    sa = SensorsAnalytics(consumer)
    for i in range(25):
        sa.track("a-1", "AsyncTrack", {"i": i, "$time": t + i})
    sa.flush()
    # close() waits for the SDK's sender thread, which never ends if a send failed (the SDK
    # catches its errors with a non-exception class): fail instead of hanging.
    closing = threading.Thread(target=sa.close, daemon=True)
    closing.start()
    closing.join(timeout=60)
    assert not closing.is_alive(), "the Sensors SDK's sender thread did not finish"
    assert rows(stored_events(live_server)) == expected(
        [("AsyncTrack", "a-1", t + i, {"i": i, **LIB, "$project": "default"}) for i in range(25)]
    )


def test_bind_items_and_profile_delete_are_stored(live_server: LiveServer) -> None:
    t = int(datetime.now(UTC).timestamp() * 1000) - 60_000
    login = SensorsAnalyticsIdentity(SensorsAnalyticsIdentity.LOGIN_ID, "user-b")
    mobile = SensorsAnalyticsIdentity(SensorsAnalyticsIdentity.MOBILE, "13800000000")
    identities = {"$identity_login_id": "user-b", "$identity_mobile": "13800000000"}
    with sensors(DefaultConsumer(server_url(live_server))) as sa:
        sa.register_super_properties({"$time": t})  # every record of this test at time t
        sa.bind(login, mobile)
        sa.item_set("book", "b-1", {"title": "三体"})  # items take no $time: stamped now
        sa.item_delete("book", "b-1")
        sa.profile_delete("user-b", is_login_id=True)
    got = rows(stored_events(live_server))
    at = {r[0]: r[2] for r in got}
    assert t < at["$item_set"] <= at["$item_delete"] <= at["$profile_delete"]
    common = {"$lib_method": "code", "$project": "default"}
    assert got == expected(
        [
            (
                "$BindID",
                "user-b",
                t,
                {**LIB, "$is_login_id": True, "$identities": identities, "$project": "default"},
            ),
            (
                "$item_set",
                "$item",
                at["$item_set"],
                {"title": "三体", "$item_type": "book", "$item_id": "b-1", **LIB, **common},
            ),
            (
                "$item_delete",
                "$item",
                at["$item_delete"],
                {"$item_type": "book", "$item_id": "b-1", **LIB, **common},
            ),
            (
                "$profile_delete",
                "user-b",
                at["$profile_delete"],
                {"$is_login_id": True, **LIB, **common},
            ),
        ]
    )
    # The bind made the mobile number the same user; the profile was deleted afterwards.
    assert person(live_server, "13800000000")["id"] == person(live_server, "user-b")["id"]
    assert person(live_server, "user-b")["properties"] == {}


def test_bind_folds_the_anonymous_history_into_the_login_id(live_server: LiveServer) -> None:
    t = int(datetime.now(UTC).timestamp() * 1000) - 60_000
    with sensors(DefaultConsumer(server_url(live_server))) as sa:
        sa.track("device-9", "view_item", {"$time": t}, is_login_id=False)
        sa.profile_set("user-9", {"vip": True, "city": "杭州"}, is_login_id=True)
        sa.bind(
            SensorsAnalyticsIdentity(SensorsAnalyticsIdentity.LOGIN_ID, "user-9"),
            SensorsAnalyticsIdentity("$identity_anonymous_id", "device-9"),
        )
    merged = person(live_server, "user-9")
    assert person(live_server, "device-9")["id"] == merged["id"]
    assert sorted(merged["distinct_ids"]) == ["device-9", "user-9"]
    assert merged["properties"]["vip"] is True
    # The anonymous event now counts for the login id's person.
    (viewed,) = stored_events(live_server, person_id=merged["id"], event="view_item")
    assert viewed["distinct_id"] == "device-9"
    with sensors(DefaultConsumer(server_url(live_server))) as sa:
        sa.profile_delete("user-9", is_login_id=True)
    assert person(live_server, "device-9")["properties"] == {}


def test_js_sdk_shapes_and_resends(live_server: LiveServer) -> None:
    key = live_server.workspace.ingest_key
    t = int(datetime.now(UTC).timestamp() * 1000) - 5_000

    def record(event: str, n: int, flush_time: int) -> dict[str, Any]:
        return {
            "distinct_id": "anon-web",
            "lib": {"$lib": "js", "$lib_method": "code", "$lib_version": "1.26.0"},
            "properties": {"$url": "https://shop.example/", "$title": "首页", "n": n},
            "anonymous_id": "anon-web",
            "type": "track",
            "event": event,
            "time": t + n,
            "_track_id": 1000 + n,
            "_flush_time": flush_time,
        }

    def b64(value: Any, zipped: bool = False) -> str:
        raw = orjson.dumps(value)
        return base64.b64encode(gzip.compress(raw) if zipped else raw).decode()

    first, second, third = record("$pageview", 1, t), record("click", 2, t), record("x", 3, t)
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        answers = [
            # the image beacon: GET with data in the query string
            c.get(
                "/sa.gif",
                params={"project": "web", "token": key, "data": b64(first), "ext": "crc=1"},
            ),
            # the batch sender: data_list as plain base64 JSON
            c.post(f"/sa?project=web&token={key}", data={"data_list": b64([second]), "gzip": "9"}),
            # a raw JSON body
            c.post(f"/sa?token={key}&project=web", json=third),
            # resent with a new _flush_time: the same records, stored once
            c.post(
                f"/sa?project=web&token={key}",
                data={"data_list": b64([record("$pageview", 1, t + 9)], True), "gzip": "1"},
            ),
            c.get(
                "/sa.gif",
                params={"project": "web", "token": key, "data": b64(record("x", 3, t + 9))},
            ),
        ]
    for r in answers:
        assert (r.status_code, r.content) == (200, b""), r.text
    js = {"$lib": "js", "$lib_method": "code", "$lib_version": "1.26.0", "$project": "web"}
    page = {"$url": "https://shop.example/", "$title": "首页"}
    assert rows(stored_events(live_server)) == expected(
        [
            (name, "anon-web", t + n, {**page, "n": n, **js, "$anonymous_id": "anon-web"})
            for name, n in (("$pageview", 1), ("click", 2), ("x", 3))
        ]
    )


def test_the_token_may_travel_in_the_record(live_server: LiveServer) -> None:
    t = int(datetime.now(UTC).timestamp() * 1000) - 1_000
    with sensors(DefaultConsumer(f"{live_server.url}/sa?project=default")) as sa:
        sa.track("u", "e", {"$token": live_server.workspace.ingest_key, "$time": t})
    assert rows(stored_events(live_server)) == [("e", "u", t, {**LIB, "$project": "default"})]


def test_a_wrong_token_is_refused_to_the_sdk(live_server: LiveServer) -> None:
    url = f"{live_server.url}/sa?project=default&token=nope"
    with (
        pytest.raises(SensorsAnalyticsNetworkException, match="401"),
        sensors(DefaultConsumer(url)) as sa,
    ):
        sa.track("u", "e", {})
    assert stored_events(live_server) == []
