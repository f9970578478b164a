"""Requests captured from the real SDKs, replayed byte for byte (with the test workspace's key),
and what each wire format answers to bad input."""

from __future__ import annotations

import base64
import gzip
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import LiveServer
from tests.ingest.sdk_helpers import (
    find_key,
    load_wire_sample,
    parse_ts,
    person,
    person_id,
    replace_key,
    stored_events,
)

PH_LIB = {
    "$lib": "posthog-python",
    "$lib_version": "7.91.1",
    "$geoip_disable": True,
    "$is_server": True,
}
PY_ENV = {
    "$python_runtime": "CPython",
    "$python_version": "3.11.7",
    "$os": "Linux",
    "$os_version": "12",
    "$os_distro": "Debian GNU/Linux",
}
SEG_LIB = {"$lib": "analytics-python", "$lib_version": "2.4.0"}


def sa_lib(line: int) -> dict[str, Any]:
    return {
        "$lib": "python",
        "$lib_version": "1.11.0",
        "$lib_method": "code",
        "$lib_detail": f"exec####app/drive_sensors.py##{line}",
        "$project": "default",
    }


@dataclass
class Expected:
    """What a replayed sample must leave behind. Events are (event, distinct_id, sent
    timestamp, properties) by uuid (PostHog, Segment) or in time order (Sensors: no ids)."""

    events: (
        dict[str, tuple[str, str, str, dict[str, Any]]] | list[tuple[str, str, str, dict[str, Any]]]
    )
    # The clock the timestamps are corrected against (sent_at), or None: stored as sent.
    sent_at: str | None = None
    persons: dict[str, dict[str, Any]] = field(default_factory=dict)


SAMPLES: dict[str, Expected] = {
    "posthog-batch-gzip.txt": Expected(
        {
            "eb350fc5-de10-4b45-9af1-5661c8d5e2ff": (
                "signup_clicked",
                "user-42",
                "2026-11-01T08:00:00+00:00",
                {"plan": "pro", "渠道": "微信", **PY_ENV, **PH_LIB},
            ),
            "c44f8c9f-8cf9-426d-9847-b37cfc1fb018": (
                "$set",
                "user-42",
                "2026-11-24T20:53:37.635360+00:00",
                {**PH_LIB, "$set": {"name": "张三", "city": "杭州"}},
            ),
            "06174a64-9342-4de5-95c6-a6b5307e304f": (
                "$set_once",
                "user-42",
                "2026-11-24T20:53:37.635398+00:00",
                {**PH_LIB, "$set_once": {"first_seen": "2026-11-01"}},
            ),
            "0189e97f-c681-4cc7-947a-ded5c30714e5": (
                "$create_alias",
                "anon-abc",
                "2026-11-24T20:53:37.635428+00:00",
                {"distinct_id": "anon-abc", "alias": "user-42", **PH_LIB},
            ),
            "b19731a4-463c-44b7-8824-199b812fd316": (
                "$groupidentify",
                "511d73f2-243f-44a7-b73f-62f9eed8ccad",
                "2026-11-24T20:53:37.635465+00:00",
                {
                    "$group_type": "company",
                    "$group_key": "acme",
                    "$group_set": {"name": "Acme Ltd"},
                    **PH_LIB,
                },
            ),
        },
        sent_at="2026-11-24T20:53:37.635684+00:00",
        persons={
            "user-42": {
                "id": "user-42",
                "properties": {"name": "张三", "city": "杭州", "first_seen": "2026-11-01"},
                "is_identified": True,
                "distinct_ids": ["anon-abc", "user-42"],
            }
        },
    ),
    "posthog-v1-analytics-events.txt": Expected(
        {
            "7e393afd-89fb-4440-90d3-28789ef7cdd6": (
                "order_paid",
                "user-42",
                "2026-11-24T20:53:37.681975+00:00",
                {"amount": 99.5, **PY_ENV, **PH_LIB, "$session_id": "s-1"},
            ),
            "5269663d-d9af-4c91-a925-0696e36dee12": (
                "$set",
                "user-42",
                "2026-11-24T20:53:37.682062+00:00",
                {**PH_LIB, "$set": {"vip": True}},
            ),
        },
        sent_at="2026-11-24T20:53:37.682471+00:00",  # the PostHog-Request-Timestamp header
        persons={
            "user-42": {
                "id": "user-42",
                "properties": {"vip": True},
                "is_identified": False,
                "distinct_ids": ["user-42"],
            }
        },
    ),
    "segment-v1-batch-gzip.txt": Expected(
        {
            "785e8ba2-b9c9-4c38-842a-c99ced3dd728": (
                "$identify",
                "user-42",
                "2026-11-24T20:53:52.983+00:00",
                {
                    "$anon_distinct_id": "anon-abc",
                    "$set": {"name": "张三", "plan": "pro"},
                    **SEG_LIB,
                },
            ),
            "0918e94f-1ab4-43f4-9a56-a42c9bfc993f": (
                "Order Completed",
                "user-42",
                "2026-11-01T16:00:00.000+08:00",
                {"revenue": 99.5, "currency": "CNY", **SEG_LIB},
            ),
            "3545c014-f9e8-475c-9540-0cdcf44ac586": (
                "Viewed Page",
                "anon-abc",
                "2026-11-24T20:53:52.983+00:00",
                {"url": "/pricing", **SEG_LIB},
            ),
            "206511fa-f195-46dd-8c28-a66d1ea55200": (
                "$create_alias",
                "user-42",
                "2026-11-24T20:53:52.983+00:00",
                {"alias": "anon-abc", **SEG_LIB},
            ),
            "721d251f-fd6d-4248-88db-4050ea716b86": (
                "$pageview",
                "user-42",
                "2026-11-24T20:53:52.983+00:00",
                {"path": "/", "$pathname": "/", "$name": "首页", "name": "首页", **SEG_LIB},
            ),
            "4766ae18-92e3-4c3b-b780-f5bbeffcd86a": (
                "$groupidentify",
                "user-42",
                "2026-11-24T20:53:52.983+00:00",
                {
                    "$group_type": "segment_group",
                    "$group_key": "acme",
                    "$group_set": {"name": "Acme"},
                    **SEG_LIB,
                },
            ),
        },
        sent_at="2026-11-24T20:53:53.283554+00:00",
        persons={
            "anon-abc": {
                "id": "user-42",
                "properties": {"name": "张三", "plan": "pro"},
                "is_identified": True,
                "distinct_ids": ["anon-abc", "user-42"],
            }
        },
    ),
    "segment-v1-batch-sync-plain.txt": Expected(
        {
            "52db1ec4-1688-45be-829b-3bc87c4b65ac": (
                "Signed Up",
                "u1",
                "2026-11-24T20:53:53.587+00:00",
                SEG_LIB,
            )
        },
        sent_at="2026-11-24T20:53:53.587714+00:00",
    ),
    "sensors-batch-consumer-data_list.txt": Expected(
        [
            ("ViewProduct", "anon-abc", "1795553660794", {"product_id": "p-2", **sa_lib(17)}),
            (
                "$SignUp",
                "user-42",
                "1795553660794",
                {"channel": "微信", "$original_id": "anon-abc", **sa_lib(18)},
            ),
            (
                "$profile_set",
                "user-42",
                "1795553660794",
                {"name": "张三", "city": "杭州", "$is_login_id": True, **sa_lib(19)},
            ),
            (
                "$profile_increment",
                "user-42",
                "1795553660794",
                {"points": 10, "$is_login_id": True, **sa_lib(20)},
            ),
            (
                "$BindID",
                "user-42",
                "1795553660795",
                {
                    "$is_login_id": True,
                    "$identities": {
                        "$identity_login_id": "user-42",
                        "$identity_mobile": "13800000000",
                    },
                    **sa_lib(21),
                },
            ),
            (
                "$item_set",
                "$item",
                "1795553660795",
                {"title": "三体", "$item_type": "book", "$item_id": "b-1", **sa_lib(22)},
            ),
        ],
        persons={
            "anon-abc": {
                "id": "user-42",
                "properties": {
                    "name": "张三",
                    "city": "杭州",
                    "points": 10,
                    "$identity_login_id": "user-42",
                    "$identity_mobile": "13800000000",
                },
                "is_identified": True,
                # The $BindID made the mobile number the same user.
                "distinct_ids": ["13800000000", "anon-abc", "user-42"],
            }
        },
    ),
    "sensors-default-consumer-data.txt": Expected(
        [
            (
                "ViewProduct",
                "user-42",
                "1793548800000",
                {
                    "product_id": "p-1",
                    "price": 99.5,
                    "product_name": "三体",
                    "$is_login_id": True,
                    **sa_lib(13),
                },
            )
        ]
    ),
}


def _sent_ts(text: str) -> datetime:
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_replayed_sample_is_stored_as_sent(live_server: LiveServer, name: str) -> None:
    sample = load_wire_sample(name)
    expected = SAMPLES[name]
    key = live_server.workspace.ingest_key
    old_key = find_key(sample)
    headers, body = replace_key(sample, old_key, key)
    # Sensors: the key is the server URL's token (the captured URL had none).
    path = sample.path if old_key is not None else f"{sample.path}&token={key}"
    before = datetime.now(UTC)
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        r = c.request(sample.method, path, content=body, headers=headers)
    after = datetime.now(UTC)
    # Answered as the real server answered.
    assert r.status_code == sample.status
    if sample.answer:
        assert r.json() == orjson.loads(sample.answer)
    else:
        assert r.content == b""

    events = stored_events(live_server)
    if isinstance(expected.events, dict):
        got: Any = {e["uuid"]: (e["event"], e["distinct_id"], e["properties"]) for e in events}
        assert got == {u: (ev, d, p) for u, (ev, d, _, p) in expected.events.items()}
        sent_times = {u: _sent_ts(ts) for u, (_, _, ts, _) in expected.events.items()}
        stored_times = {e["uuid"]: parse_ts(e["timestamp"]) for e in events}
    else:  # no ids, and records of the same millisecond: compare as sorted lists
        got = [
            (e["event"], e["distinct_id"], parse_ts(e["timestamp"]), e["properties"])
            for e in events
        ]
        want = [(ev, d, _sent_ts(ts), p) for ev, d, ts, p in expected.events]
        assert sorted(got, key=str) == sorted(want, key=str)
        assert expected.sent_at is None  # Sensors sends no sent_at
        sent_times = stored_times = {}
    if expected.sent_at is not None:
        # Clock skew: the device's clock is off by (our clock - sent_at) when it arrives.
        sent_at = _sent_ts(expected.sent_at)
        for k, ts in stored_times.items():
            assert before - sent_at <= ts - sent_times[k] <= after - sent_at, k

    for distinct_id, want_person in expected.persons.items():
        got_person = person(live_server, distinct_id)
        got_person.pop("created_at")
        assert got_person == {**want_person, "id": person_id(live_server, want_person["id"])}


# -- bad input ----------------------------------------------------------------------------------


@dataclass
class Case:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] | None = None


def _answers(server: LiveServer, cases: list[Case]) -> list[tuple[int, str, str | None]]:
    """Each bad request's (status, error code, field); and nothing of them may be stored."""
    out = []
    with httpx.Client(base_url=server.url, timeout=60) as c:
        for case in cases:
            r = c.request(
                case.method, case.path, content=case.body, headers=case.headers, params=case.params
            )
            error = r.json()["error"]
            assert error["message"], r.text
            out.append((r.status_code, error["code"], error["field"]))
    assert stored_events(server) == []
    return out


def _json(value: Any) -> bytes:
    return orjson.dumps(value)


def _future() -> str:
    return (datetime.now(UTC) + timedelta(days=3)).isoformat()


def test_posthog_bad_input(live_server: LiveServer) -> None:
    key = live_server.workspace.ingest_key
    ok = {"event": "e", "distinct_id": "u"}

    def batch(*events: Any, **top: Any) -> bytes:
        return _json({"api_key": key, "batch": list(events), **top})

    big = live_server.settings.max_batch_events + 1
    cases = [
        Case("POST", "/batch/", _json({"api_key": "phc_wrong", "batch": [ok]})),
        Case("POST", "/batch/", _json({"batch": [ok]})),
        Case("POST", "/i/v1/analytics/events", _json({"batch": [ok]})),
        Case("POST", "/batch/", b'{"api_key": "x", "batch": ['),
        Case("POST", "/batch/", _json({"api_key": key, "batch": {"event": "e"}})),
        Case("POST", "/batch/", batch(ok, {"distinct_id": "u"})),
        Case("POST", "/batch/", batch({"event": "e", "properties": {}})),
        Case("POST", "/batch/", batch({**ok, "properties": ["x"]})),
        Case("POST", "/batch/", batch(ok, ok, ok, {**ok, "timestamp": _future()})),
        Case("POST", "/batch/", batch({**ok, "timestamp": "soon"})),
        Case("POST", "/batch/", batch({**ok, "uuid": 7})),
        Case("POST", "/batch/", batch({**ok, "$set": ["a"]})),
        Case("POST", "/batch/", batch({**ok, "properties": {"$unset": 3}})),
        Case("POST", "/batch/", batch({"event": "$create_alias", "distinct_id": "a"})),
        Case("POST", "/batch/", batch(ok, sent_at="yesterday")),
        Case("POST", "/batch/", batch({**ok, "offset": 1e30})),
        Case("POST", "/batch/", batch({**ok, "timestamp": _future()[:10]}, sent_at="9999-12-31")),
        Case("POST", "/e/", b"\x1f\x8b not gzip", {"Content-Encoding": "gzip"}),
        Case("POST", "/e/?compression=lz64", b"data=abc"),
        Case("POST", "/e/?compression=base64", b"data=%%%%"),
        Case("POST", "/e/?compression=base64", b"other=1"),
        Case("GET", "/e/", params={"data": base64.b64encode(b"{not json").decode()}),
        Case("POST", "/i/v1/analytics/events", _json({"created_at": "x"})),
        Case("POST", "/batch/", batch(*[ok] * big)),
        Case("POST", "/batch/", b"[" + b" " * live_server.settings.max_body_bytes + b"]"),
    ]
    assert _answers(live_server, cases) == [
        (401, "unauthorized", "api_key"),
        (401, "unauthorized", "api_key"),
        (401, "unauthorized", "api_key"),
        (400, "invalid_input", "body"),
        (400, "invalid_input", "batch"),
        (400, "invalid_input", "batch[1].event"),
        (400, "invalid_input", "batch[0].distinct_id"),
        (400, "invalid_input", "batch[0].properties"),
        (400, "invalid_input", "batch[3].timestamp"),
        (400, "invalid_input", "batch[0].timestamp"),
        (400, "invalid_input", "batch[0].uuid"),
        (400, "invalid_input", "batch[0].$set"),
        (400, "invalid_input", "batch[0].properties.$unset"),
        (400, "invalid_input", "batch[0].properties.alias"),
        (400, "invalid_input", "sent_at"),
        (400, "invalid_input", "batch[0].offset"),
        (400, "invalid_input", "batch[0].timestamp"),
        (400, "invalid_input", "body"),
        (400, "invalid_input", "compression"),
        (400, "invalid_input", "data"),
        (400, "invalid_input", "data"),
        (400, "invalid_input", "data"),
        (400, "invalid_input", "batch"),
        (413, "payload_too_large", "batch"),
        (413, "payload_too_large", "body"),
    ]


def test_segment_bad_input(live_server: LiveServer) -> None:
    key = live_server.workspace.ingest_key
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    wrong = {"Authorization": "Basic " + base64.b64encode(b"wk_wrong:").decode()}
    ok = {"type": "track", "userId": "u", "event": "e"}

    def batch(*messages: Any, **top: Any) -> bytes:
        return _json({"batch": list(messages), **top})

    big = live_server.settings.max_batch_events + 1
    cases = [
        Case("POST", "/v1/batch", batch(ok), wrong),
        Case("POST", "/v1/batch", batch(ok)),
        Case("POST", "/v1/batch", batch(ok, writeKey="wk_wrong")),
        Case("POST", "/v1/batch", b"{", auth),
        Case("POST", "/v1/batch", _json([ok]), auth),
        Case("POST", "/v1/batch", _json({"batch": ok}), auth),
        Case("POST", "/v1/batch", batch({"type": "track", "event": "e"}), auth),
        Case("POST", "/v1/batch", batch(ok, {"type": "track", "userId": "u"}), auth),
        Case("POST", "/v1/batch", batch({**ok, "type": "teleport"}), auth),
        Case("POST", "/v1/batch", batch({**ok, "type": []}), auth),
        Case("POST", "/v1/batch", batch({**ok, "properties": [1]}), auth),
        Case("POST", "/v1/batch", batch(ok, ok, {**ok, "timestamp": _future()}), auth),
        Case("POST", "/v1/batch", batch({"type": "alias", "userId": "u"}), auth),
        Case("POST", "/v1/batch", batch({"type": "group", "userId": "u"}), auth),
        Case("POST", "/v1/batch", batch({"type": "identify", "userId": "u", "traits": 1}), auth),
        Case("POST", "/v1/batch", batch({**ok, "context": "web"}), auth),
        Case("POST", "/v1/batch", batch({**ok, "messageId": ["m"]}), auth),
        Case("POST", "/v1/batch", batch(ok, sentAt="later"), auth),
        Case("POST", "/v1/track", _json({"userId": "u"}), auth),
        Case("POST", "/v1/identify", _json({"traits": {}}), auth),
        Case("POST", "/v1/batch", batch(*[ok] * big), auth),
        Case("POST", "/v1/batch", b" " * (live_server.settings.max_body_bytes + 1), auth),
    ]
    assert _answers(live_server, cases) == [
        (401, "unauthorized", "api_key"),
        (401, "unauthorized", "api_key"),
        (401, "unauthorized", "api_key"),
        (400, "invalid_input", "body"),
        (400, "invalid_input", "body"),
        (400, "invalid_input", "batch"),
        (400, "invalid_input", "batch[0].userId"),
        (400, "invalid_input", "batch[1].event"),
        (400, "invalid_input", "batch[0].type"),
        (400, "invalid_input", "batch[0].type"),
        (400, "invalid_input", "batch[0].properties"),
        (400, "invalid_input", "batch[2].timestamp"),
        (400, "invalid_input", "batch[0].previousId"),
        (400, "invalid_input", "batch[0].groupId"),
        (400, "invalid_input", "batch[0].traits"),
        (400, "invalid_input", "batch[0].context"),
        (400, "invalid_input", "batch[0].messageId"),
        (400, "invalid_input", "sentAt"),
        (400, "invalid_input", "body.event"),
        (400, "invalid_input", "body.userId"),
        (413, "payload_too_large", "batch"),
        (413, "payload_too_large", "body"),
    ]


def test_sensors_bad_input(live_server: LiveServer) -> None:
    key = live_server.workspace.ingest_key
    sa = f"/sa?project=default&token={key}"
    ok = {"type": "track", "event": "e", "distinct_id": "u", "time": 1793548800000}
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    def data(value: Any, name: str = "data", zipped: bool = True) -> bytes:
        raw = _json(value)
        encoded = base64.b64encode(gzip.compress(raw) if zipped else raw).decode()
        return str(httpx.QueryParams({name: encoded, "gzip": "1"})).encode()

    future = int((datetime.now(UTC) + timedelta(days=3)).timestamp() * 1000)
    big = live_server.settings.max_batch_events + 1
    cases = [
        Case("POST", "/sa?project=default", data(ok), form),
        Case("POST", "/sa?project=default&token=nope", data(ok), form),
        Case("POST", sa, b"data=%%%%", form),
        Case("POST", sa, b"data=" + base64.b64encode(b"\x1f\x8b\x08broken"), form),
        Case("POST", sa, b"nothing=1", form),
        Case("POST", sa, data(ok, "data_list"), form),
        Case("POST", sa, data([ok, {**ok, "distinct_id": None}], "data_list"), form),
        Case("POST", sa, data([{**ok, "type": "track_everything"}], "data_list"), form),
        Case("POST", sa, data([{**ok, "type": ["track"]}], "data_list"), form),
        Case(
            "POST",
            sa,
            data({"type": "item_set", "item_type": "b", "item_id": "1", "distinct_id": {}}),
        ),
        Case("POST", sa, data({**ok, "event": None}, zipped=False), form),
        Case("POST", sa, data({**ok, "type": "profile_increment", "properties": {"points": "x"}})),
        Case("POST", sa, data([ok, ok, {**ok, "time": future}], "data_list"), form),
        Case("POST", sa, data({**ok, "type": "track_signup"}), form),
        Case("POST", sa, data({**ok, "properties": "x"}), form),
        Case("GET", "/sa.gif", params={"token": key, "data": "not base64 json"}),
        Case("POST", sa, _json([ok, "x"])),
        Case("POST", sa, data([ok] * big, "data_list"), form),
        Case("POST", sa, b"data=" + b"A" * live_server.settings.max_body_bytes, form),
    ]
    assert _answers(live_server, cases) == [
        (401, "unauthorized", "token"),
        (401, "unauthorized", "api_key"),
        (400, "invalid_input", "data"),
        (400, "invalid_input", "data"),
        (400, "invalid_input", "data"),
        (400, "invalid_input", "data_list"),
        (400, "invalid_input", "data_list[1].distinct_id"),
        (400, "invalid_input", "data_list[0].type"),
        (400, "invalid_input", "data_list[0].type"),
        (400, "invalid_input", "data.distinct_id"),
        (400, "invalid_input", "data.event"),
        (400, "invalid_input", "data.properties.points"),
        (400, "invalid_input", "data_list[2].time"),
        (400, "invalid_input", "data.original_id"),
        (400, "invalid_input", "data.properties"),
        (400, "invalid_input", "data"),
        (400, "invalid_input", "data_list[1]"),
        (413, "payload_too_large", "data_list"),
        (413, "payload_too_large", "body"),
    ]
