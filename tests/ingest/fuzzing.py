"""Hypothesis strategies for bodies of every odd shape, in each wire format, and the checks
every answer must pass (tests/ingest/test_fuzz.py uses them)."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import strategies as st

from tests.conftest import LiveServer

NOW = datetime.now(UTC)
# Stands for "a fresh uuid4 here", drawn when the request is sent: ids that hypothesis repeats
# across examples could meet an earlier copy further than the dedupe window away.
FRESH = "<fresh uuid>"


# -- values ----------------------------------------------------------------------------------

odd_text = st.one_of(
    st.text(max_size=12),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
    st.text(st.characters(codec="utf-8"), min_size=195, max_size=205),  # the 200 limit
    st.sampled_from(["", " ", "\u3000", "\x00", "a\x00b", "\u202eevil", "😀" * 3, "x" * 5000]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    odd_text,
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=10,
)


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


deep_values = st.integers(1, 200).map(nested)
properties = st.one_of(
    st.dictionaries(st.text(max_size=10), json_values, max_size=6),
    st.dictionaries(st.sampled_from(["$lib", "$os", "$session_id", "$current_url"]), scalars),
    st.builds(lambda v: {"deep": v}, deep_values),
    json_values,
)

offsets = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
)
recent = st.datetimes(
    min_value=(NOW - timedelta(days=30)).replace(tzinfo=None),
    max_value=(NOW - timedelta(minutes=1)).replace(tzinfo=None),
    timezones=st.just(UTC),
)
any_time = st.datetimes(
    min_value=datetime(2, 1, 1),
    max_value=datetime(9998, 12, 31),
    timezones=st.none() | st.just(UTC) | offsets,
)


def spellings(dt: datetime) -> st.SearchStrategy[Any]:
    return st.sampled_from(
        [
            dt.isoformat(),
            dt.isoformat().replace("+00:00", "Z"),
            dt.isoformat(sep=" "),
            dt.isoformat(timespec="milliseconds"),
            f" {dt.isoformat()} ",
            dt.date().isoformat(),
            dt.strftime("%Y%m%dT%H%M%S"),
            dt.strftime("%d/%m/%Y %H:%M"),
        ]
    )


# The edges of what datetime holds: an offset can carry them past year 9999 or before year 1.
edge_times = st.sampled_from(
    [
        "9999-12-31T23:59:59-05:00",
        "9999-12-31T23:59:59.999999+00:00",
        "0001-01-01T00:00:00+05:00",
        "0001-01-01",
        "1970-01-01T00:00:00Z",
        "1971-01-01T00:00:00Z",
        -62135596800,
        253402300800000,
        1e300,
        -1e300,
    ]
)
timestamps_within_calendar = st.one_of(
    recent.flatmap(spellings),
    any_time.flatmap(spellings),
    recent.map(lambda d: int(d.timestamp() * 1000)),
    recent.map(lambda d: d.timestamp()),
    recent.map(lambda d: str(int(d.timestamp()))),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.from_regex(r"\A\d{1,16}(\.\d{0,8})?\Z"),
    json_values,
)
timestamps = edge_times | timestamps_within_calendar
ids = st.one_of(
    st.just(FRESH),
    st.uuids().map(lambda u: str(u).upper()),
    st.uuids().map(lambda u: "{" + str(u) + "}"),
    st.uuids().map(lambda u: u.hex),
    json_values,
)


def maybe(strategy: st.SearchStrategy[Any], *, usually: Any = None) -> st.SearchStrategy[Any]:
    """A field's value: often a plausible one, sometimes anything, sometimes left out."""
    plausible = st.just(usually) if usually is not None else strategy
    return st.one_of(plausible, plausible, strategy, st.just(MISSING))


MISSING = object()


def build(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not MISSING}


# -- sending and checking ----------------------------------------------------------------------


@dataclass
class Sent:
    """What a request carried, as far as the check needs it."""

    events: int  # how many events the body holds
    fresh: list[str] = field(default_factory=list)  # event ids the store must hold once each
    # Every event carries something new (a fresh id or marker): a 2xx stores all of them.
    all_new: bool = False


def fill_fresh(value: Any, sent: Sent, id_key: str, *, is_event_id: bool = True) -> Any:
    """Replace FRESH markers under `id_key` by new uuids, remembering them as event ids."""
    if isinstance(value, list):
        return [fill_fresh(v, sent, id_key, is_event_id=is_event_id) for v in value]
    if isinstance(value, dict):
        out = {k: fill_fresh(v, sent, id_key, is_event_id=is_event_id) for k, v in value.items()}
        if out.get(id_key) == FRESH:
            out[id_key] = str(uuid.uuid4())
            if is_event_id:
                sent.fresh.append(out[id_key])
        return out
    return value


def dumps(value: Any) -> bytes:
    # The stdlib keeps integers wider than 64 bits (orjson refuses them).
    return json.dumps(value, ensure_ascii=False).encode()


def assert_well_formed(r: httpx.Response) -> None:
    assert r.status_code < 500, f"{r.status_code}: {r.text[:2000]}"
    if r.status_code >= 400:
        body = r.json()
        assert list(body) == ["error"], body
        error = body["error"]
        assert sorted(error) == ["code", "field", "message"], body
        assert isinstance(error["code"], str) and error["code"], body
        assert isinstance(error["message"], str) and error["message"].strip(), body
        assert error["field"] is None or (isinstance(error["field"], str) and error["field"])


def stored_copies(server: LiveServer, uuids: list[str]) -> dict[str, int]:
    if not uuids:
        return {}
    cur = server.app_state.store.cursor()
    try:
        rows = cur.execute(
            "SELECT CAST(uuid AS VARCHAR), count(*) FROM events"
            " WHERE uuid IN (SELECT unnest(?::UUID[])) GROUP BY 1",
            [uuids],
        ).fetchall()
    finally:
        cur.close()
    return {u: int(n) for u, n in rows}


def stored_rows(server: LiveServer, uuids: list[str]) -> dict[str, tuple[str, str, Any]]:
    cur = server.app_state.store.cursor()
    try:
        rows = cur.execute(
            "SELECT CAST(uuid AS VARCHAR), event, distinct_id, properties FROM events"
            " WHERE uuid IN (SELECT unnest(?::UUID[]))",
            [uuids],
        ).fetchall()
    finally:
        cur.close()
    return {u: (e, d, json.loads(p)) for u, e, d, p in rows}


def count_events(server: LiveServer) -> int:
    return server.app_state.store.count_events(server.workspace.id)


def send_and_check(
    server: LiveServer, client: httpx.Client, sent: Sent, request: Callable[[], httpx.Response]
) -> httpx.Response:
    """Send, then check the answer's shape and, for a 2xx, that its events are stored."""
    before = count_events(server)
    r = request()
    assert_well_formed(r)
    added = count_events(server) - before
    if r.status_code >= 300:
        assert added == 0, r.text
        return r
    if r.headers.get("content-type", "").startswith("application/json"):
        answer = r.json()
        if isinstance(answer, dict) and "accepted" in answer:
            assert added == answer["accepted"], answer
            assert answer["accepted"] + answer["duplicates"] == sent.events, answer
    if sent.fresh:
        # Fresh ids cannot have been stored before: every one is new, each stored once.
        assert stored_copies(server, sent.fresh) == dict.fromkeys(sent.fresh, 1)
        assert added >= len(sent.fresh)
    if sent.all_new:
        assert added == sent.events
    return r


def client_for(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=60)


# -- PostHog, Segment, Sensors in their own shapes ------------------------------------------

posthog_events = st.builds(
    lambda event, did, ts, props, set_: build(
        {
            "event": event,
            "distinct_id": did,
            "timestamp": ts,
            "uuid": FRESH,
            "properties": props,
            "$set": set_,
        }
    ),
    maybe(
        odd_text | json_values | st.sampled_from(["$identify", "$create_alias", "$pageview"]),
        usually="view",
    ),
    maybe(odd_text | st.integers() | json_values, usually="ph-user"),
    maybe(timestamps_within_calendar),
    maybe(
        properties
        | st.fixed_dictionaries(
            {
                "$anon_distinct_id": json_values,
                "alias": json_values,
                "$process_person_profile": json_values,
            }
        )
    ),
    st.just(MISSING) | json_values,
)
segment_messages = st.builds(
    lambda mtype, user, anon, event, ts, props, traits, extra: build(
        {
            "type": mtype,
            "userId": user,
            "anonymousId": anon,
            "event": event,
            "timestamp": ts,
            "messageId": FRESH,
            "properties": props,
            "traits": traits,
            "context": extra,
            "previousId": extra,
            "groupId": extra,
            "name": extra,
        }
    ),
    maybe(json_values, usually="track"),
    maybe(odd_text | st.integers() | json_values, usually="seg-user"),
    maybe(odd_text | json_values, usually=MISSING),
    maybe(odd_text | json_values, usually="click"),
    maybe(timestamps_within_calendar),
    maybe(properties),
    maybe(properties),
    maybe(json_values, usually=MISSING),
)
sensors_records = st.builds(
    lambda rtype, did, event, ts, props, extra: build(
        {
            "type": rtype,
            "distinct_id": did,
            "event": event,
            "time": ts,
            "properties": props,
            "_track_id": FRESH,
            "lib": extra,
            "original_id": extra,
            "identities": extra,
            "item_id": extra,
            "item_type": extra,
        }
    ),
    maybe(
        json_values
        | st.sampled_from(
            [
                "track",
                "track_signup",
                "profile_set",
                "profile_increment",
                "profile_unset",
                "item_set",
            ]
        ),
        usually="track",
    ),
    maybe(odd_text | st.integers() | json_values, usually="sa-user"),
    maybe(odd_text | json_values, usually="buy"),
    maybe(timestamps_within_calendar),
    maybe(properties),
    maybe(json_values, usually=MISSING),
)


def _posthog(server: LiveServer, events: list[Any], path: str, how: str) -> tuple[Sent, Callable]:
    sent = Sent(len(events), all_new=True)
    events = fill_fresh(events, sent, "uuid")
    key = server.workspace.ingest_key
    if path == "/i/v1/analytics/events":
        body, headers = dumps({"batch": events}), {"Authorization": f"Bearer {key}"}
    elif how == "single" and len(events) == 1 and isinstance(events[0], dict):
        body, headers = dumps({**events[0], "api_key": key}), {}
    else:
        body, headers = dumps({"api_key": key, "batch": events}), {}
    params = {}
    if how == "gzip-js":
        body, params = gzip.compress(body), {"compression": "gzip-js"}
    elif how == "form":
        body = b"data=" + quote(base64.b64encode(body).decode()).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return sent, lambda c: c.post(path, content=body, headers=headers, params=params)


def _segment(server: LiveServer, messages: list[Any], path: str, how: str) -> tuple[Sent, Callable]:
    auth = base64.b64encode(f"{server.workspace.ingest_key}:".encode()).decode()
    headers = {"Authorization": f"Basic {auth}", "Content-Type": "application/json"}
    if path == "/v1/batch":
        sent = Sent(len(messages), all_new=True)
        body: Any = {"batch": fill_fresh(messages, sent, "messageId")}
    else:
        sent = Sent(1, all_new=True)
        body = fill_fresh(messages[0], sent, "messageId")
    raw = dumps(body)
    if how == "gzip-js":
        raw, headers["Content-Encoding"] = gzip.compress(raw), "gzip"
    return sent, lambda c: c.post(path, content=raw, headers=headers)


def _sensors(server: LiveServer, records: list[Any], path: str, how: str) -> tuple[Sent, Callable]:
    # Sensors sends no event id: the stored id comes from the record, made unique by _track_id.
    sent = Sent(len(records), all_new=True)
    records = fill_fresh(records, sent, "_track_id", is_event_id=False)
    raw = dumps(records)
    params = {"project": "default", "token": server.workspace.ingest_key}
    if how == "single" and len(records) == 1:
        raw = dumps(records[0])
        form = f"data={quote(base64.b64encode(raw).decode())}"
    elif how == "gzip-js":
        form = f"data_list={quote(base64.b64encode(gzip.compress(raw)).decode())}&gzip=1"
    else:
        form = f"data_list={quote(base64.b64encode(raw).decode())}"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return sent, lambda c: c.post(path, content=form.encode(), headers=headers, params=params)


FORMATS: dict[str, tuple[st.SearchStrategy[Any], list[str], Callable]] = {
    "posthog": (
        posthog_events,
        ["/batch/", "/capture/", "/e/", "/i/v0/e/", "/i/v1/analytics/events"],
        _posthog,
    ),
    "segment": (
        segment_messages,
        [
            "/v1/batch",
            "/v1/track",
            "/v1/identify",
            "/v1/alias",
            "/v1/page",
            "/v1/screen",
            "/v1/group",
        ],
        _segment,
    ),
    "sensors": (sensors_records, ["/sa", "/sa.gif"], _sensors),
}
