"""Bad input never gets a 5xx. Hypothesis sends bodies of every odd shape to every ingestion
endpoint (native, PostHog, Segment, Sensors) and schemathesis walks the OpenAPI schema: every 4xx
carries the JSON error shape with a message, every 2xx answer's events are really stored."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from opsloop.db import open_database
from opsloop.settings import Settings
from opsloop.web.app import create_app
from opsloop.web.state import AppState
from opsloop.workspaces.service import create_workspace
from tests.conftest import LiveServer, _start
from tests.ingest.fuzzing import (
    FORMATS,
    FRESH,
    MISSING,
    Sent,
    assert_well_formed,
    build,
    client_for,
    count_events,
    dumps,
    fill_fresh,
    ids,
    json_values,
    maybe,
    odd_text,
    properties,
    send_and_check,
    stored_rows,
    timestamps,
)

QUICK = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LONG = settings(QUICK, max_examples=400)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the whole module: every check counts what its own request added."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("fuzz") / "data")
    settings.data_dir.mkdir(parents=True)
    db = open_database(settings.resolved_database_url)
    with db.session() as s:
        ws = create_workspace(s, "fuzz")
    db.close()
    uv, thread, port = _start(settings)
    app_state: AppState = uv.config.app.state.opsloop  # type: ignore[attr-defined]
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", port, settings, app_state, ws)
    finally:
        uv.should_exit = True
        thread.join(timeout=30)


# -- native --------------------------------------------------------------------------------

native_events = st.builds(
    lambda event, did, ts, uid, props, set_: build(
        {
            "event": event,
            "distinct_id": did,
            "timestamp": ts,
            "uuid": uid,
            "properties": props,
            "$set": set_,
        }
    ),
    maybe(odd_text | json_values, usually="pay"),
    maybe(odd_text | st.integers() | json_values, usually="user-1"),
    maybe(timestamps),
    maybe(ids, usually=FRESH),
    maybe(properties),
    st.just(MISSING) | st.just(MISSING) | json_values,
)
native_bodies = st.one_of(
    native_events.map(lambda e: ("single", e)),
    st.lists(native_events, max_size=6).map(lambda b: ("list", b)),
    st.builds(
        lambda b, sent_at: ("batch", build({"batch": b, "sent_at": sent_at})),
        st.lists(native_events, max_size=6) | json_values,
        maybe(timestamps, usually=MISSING),
    ),
    json_values.map(lambda v: ("other", v)),
)


def expected_native_rows(events: list[Any]) -> dict[str, tuple[str, str, Any]]:
    """What the store must hold for the fresh-id events whose fields are plain strings."""
    out = {}
    for e in events:
        if not isinstance(e, dict) or not isinstance(e.get("uuid"), str):
            continue
        props = e.get("properties")
        plain = isinstance(e.get("event"), str) and isinstance(e.get("distinct_id"), str)
        if plain and isinstance(props, dict) and "$set" not in props and "$unset" not in props:
            out[e["uuid"]] = (e["event"], e["distinct_id"], props)
    return out


def check_native(server: LiveServer, shaped: tuple[str, Any], encoding: str | None) -> None:
    _, body = shaped
    sent = Sent(0)
    body = fill_fresh(body, sent, "uuid")
    if isinstance(body, dict) and isinstance(body.get("batch"), list):
        events = body["batch"]
    else:
        events = body if isinstance(body, list) else [body]
    sent.events = len(events)
    fresh_events = [e for e in events if isinstance(e, dict) and e.get("uuid") in sent.fresh]
    raw = dumps(body)
    headers = {"Authorization": f"Bearer {server.workspace.ingest_key}"}
    if encoding == "gzip":
        raw = gzip.compress(raw)
        headers["Content-Encoding"] = "gzip"
    elif encoding == "deflate":
        raw = zlib.compress(raw)
        headers["Content-Encoding"] = "deflate"
    with client_for(server) as c:
        r = send_and_check(
            server, c, sent, lambda: c.post("/api/v1/events", content=raw, headers=headers)
        )
        if r.status_code == 200:
            assert stored_rows(server, list(expected_native_rows(fresh_events))) == (
                expected_native_rows(fresh_events)
            )


@QUICK
@given(shaped=native_bodies, encoding=st.sampled_from([None, None, "gzip", "deflate"]))
def test_native_bodies_of_every_shape(
    server: LiveServer, shaped: tuple[str, Any], encoding: str | None
) -> None:
    check_native(server, shaped, encoding)


@pytest.mark.slow
@LONG
@given(shaped=native_bodies, encoding=st.sampled_from([None, None, "gzip", "deflate"]))
def test_native_bodies_of_every_shape_long(
    server: LiveServer, shaped: tuple[str, Any], encoding: str | None
) -> None:
    check_native(server, shaped, encoding)


def test_plain_and_odd_spellings_are_stored_alike(server: LiveServer) -> None:
    """The fast path (plain spellings) and the careful path (numbers for ids, upper-case ids,
    padded or epoch timestamps, person changes) store the same things."""
    base = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    ids = [str(uuid.uuid4()) for _ in range(4)]
    name = f"pay-{ids[0]}"  # the module's server holds the other tests' events too
    plain = [
        {"event": name, "distinct_id": "u1", "uuid": ids[0], "timestamp": base.isoformat()},
        {
            "event": name,
            "distinct_id": "u2",
            "uuid": ids[1],
            "timestamp": "2026-11-01T16:30:00+08:00",
            "properties": {"amount": 9.5, "$os": "iOS", "n": 2**62, "城市": "杭州"},
        },
    ]
    odd = [
        {
            "event": name,
            "distinct_id": 3,
            "uuid": ids[2].upper(),
            "timestamp": " 2026-11-01T08:30:00Z ",
        },
        {
            "event": name,
            "distinct_id": "u4",
            "uuid": "{" + ids[3] + "}",
            "timestamp": int(base.timestamp() * 1000),
            "properties": {"amount": 9.5, "$set": {"plan": "pro"}},
        },
    ]
    with client_for(server) as c:
        auth = {"Authorization": f"Bearer {server.workspace.ingest_key}"}
        for batch in (plain, odd):
            r = c.post("/api/v1/events", json=batch, headers=auth)
            assert r.json() == {"status": "ok", "accepted": 2, "duplicates": 0}
        token = {"Authorization": f"Bearer {server.workspace.api_token}"}
        page = c.get("/api/v1/events", params={"event": name}, headers=token).json()
        person = c.get("/api/v1/persons/u4", headers=token).json()
    got = sorted(
        (e["uuid"], e["distinct_id"], e["timestamp"], e["properties"]) for e in page["results"]
    )
    at = "2026-11-01T08:30:00Z"
    assert got == sorted(
        [
            (ids[0], "u1", at, {}),
            (ids[1], "u2", at, plain[1]["properties"]),
            (ids[2], "3", at, {}),
            (ids[3], "u4", at, {"amount": 9.5, "$set": {"plan": "pro"}}),
        ]
    )
    assert person["properties"] == {"plan": "pro"}


# -- raw bytes and encodings ---------------------------------------------------------------

encodings = st.sampled_from(
    [None, "gzip", "x-gzip", "deflate", "identity", "br", "GZIP", "gzip, deflate", "zstd", ""]
)


def text_encodings(value: Any) -> st.SearchStrategy[bytes]:
    text = json.dumps(value, ensure_ascii=False)
    out = []
    for codec in ("utf-16", "utf-16-be", "utf-32", "latin-1", "gbk", "utf-8-sig", "cp1252"):
        try:
            out.append(text.encode(codec))
        except UnicodeEncodeError:
            continue
    return st.sampled_from(out or [text.encode()])


raw_bodies = st.one_of(
    st.binary(max_size=200),
    # Nesting past orjson's limit (1024), as bytes: the stdlib cannot even write it.
    st.integers(1000, 3000).map(
        lambda n: b'{"event": "a", "distinct_id": "u", "properties": ' + b"[" * n + b"]" * n + b"}"
    ),
    st.binary(max_size=200).map(gzip.compress),
    native_events.flatmap(text_encodings),
    st.binary(min_size=1, max_size=60).map(lambda b: b"\x1f\x8b" + b),
)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    auth: str  # "bearer" | "basic" | "token"

    def request(self, server: LiveServer, client: httpx.Client, **kw: Any) -> httpx.Response:
        key = server.workspace.ingest_key
        headers = dict(kw.pop("headers", {}) or {})
        params = dict(kw.pop("params", {}) or {})
        if self.auth == "bearer":
            headers["Authorization"] = f"Bearer {key}"
        elif self.auth == "basic":
            headers["Authorization"] = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        else:
            params["token"] = key
        return client.request(self.method, self.path, headers=headers, params=params, **kw)


ENDPOINTS = [
    Endpoint("POST", "/api/v1/events", "bearer"),
    *(Endpoint("POST", p, "bearer") for p in ("/batch/", "/capture/", "/e/", "/i/v0/e/")),
    Endpoint("POST", "/i/v1/analytics/events", "bearer"),
    *(
        Endpoint("POST", f"/v1/{t}", "basic")
        for t in ("batch", "track", "identify", "alias", "page", "screen", "group")
    ),
    Endpoint("POST", "/sa", "token"),
    Endpoint("POST", "/sa.gif", "token"),
]
GET_ENDPOINTS = [
    *(Endpoint("GET", p, "bearer") for p in ("/batch/", "/capture/", "/e/", "/i/v0/e/")),
    Endpoint("GET", "/sa", "token"),
    Endpoint("GET", "/sa.gif", "token"),
]


@QUICK
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    body=raw_bodies,
    encoding=encodings,
    ctype=st.sampled_from(
        [None, "application/json", "text/plain", "application/x-www-form-urlencoded"]
    ),
)
def test_raw_bytes_never_get_a_5xx(
    server: LiveServer,
    endpoint: Endpoint,
    body: bytes,
    encoding: str | None,
    ctype: str | None,
) -> None:
    headers = {}
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    if ctype is not None:
        headers["Content-Type"] = ctype
    with client_for(server) as c:
        before = count_events(server)
        r = endpoint.request(server, c, content=body, headers=headers)
        assert_well_formed(r)
        if r.status_code >= 300:
            assert count_events(server) == before


@QUICK
@given(
    endpoint=st.sampled_from(ENDPOINTS + GET_ENDPOINTS),
    payload=json_values | st.lists(native_events, max_size=3),
    wrap=st.sampled_from(["json", "form", "form-gzip", "query", "base64-query"]),
)
def test_any_json_anywhere_never_gets_a_5xx(
    server: LiveServer, endpoint: Endpoint, payload: Any, wrap: str
) -> None:
    payload = fill_fresh(payload, Sent(0), "uuid")
    raw = dumps(payload)
    encoded = base64.b64encode(raw).decode()
    kw: dict[str, Any] = {}
    if endpoint.method == "GET" or wrap in ("query", "base64-query"):
        kw["params"] = {"data": raw.decode() if wrap == "query" else encoded}
    elif wrap == "json":
        kw["content"] = raw
    else:
        data = base64.b64encode(gzip.compress(raw)).decode() if wrap == "form-gzip" else encoded
        kw["content"] = f"data={quote(data)}&data_list={quote(data)}&gzip=1".encode()
        kw["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
    with client_for(server) as c:
        before = count_events(server)
        r = endpoint.request(server, c, **kw)
        assert_well_formed(r)
        if r.status_code >= 300:
            assert count_events(server) == before


@pytest.mark.parametrize("wire", sorted(FORMATS))
@QUICK
@given(data=st.data())
def test_wire_formats_in_their_own_shape(
    server: LiveServer, wire: str, data: st.DataObject
) -> None:
    events_strategy, paths, prepare = FORMATS[wire]
    items = data.draw(st.lists(events_strategy, min_size=1, max_size=5), label="events")
    path = data.draw(st.sampled_from(paths), label="path")
    how = data.draw(st.sampled_from(["single", "batch", "gzip-js", "form"]), label="how")
    sent, request = prepare(server, items, path, how)
    with client_for(server) as c:
        send_and_check(server, c, sent, lambda: request(c))


@pytest.mark.parametrize("wire", sorted(FORMATS))
def test_wire_formats_refuse_times_past_the_calendar(server: LiveServer, wire: str) -> None:
    item = {
        "posthog": {"event": "view", "distinct_id": "u", "timestamp": "9999-12-31T23:59:59-05:00"},
        "segment": {
            "type": "track",
            "userId": "u",
            "event": "view",
            "timestamp": "9999-12-31T23:59:59-05:00",
        },
        "sensors": {
            "type": "track",
            "distinct_id": "u",
            "event": "view",
            "time": "9999-12-31T23:59:59-05:00",
        },
    }[wire]
    _, paths, prepare = FORMATS[wire]
    _, request = prepare(server, [item], paths[0], "batch")
    with client_for(server) as c:
        r = request(c)
    assert_well_formed(r)
    assert r.status_code == 400


# -- the OpenAPI schema --------------------------------------------------------------------


def _openapi() -> dict[str, Any]:
    # Built here (warnings are errors): a duplicate operation id fails the collection.
    return create_app(Settings(data_dir=Path("unused"))).openapi()


# Import batches are Arrow IPC streams: sent as the bytes schemathesis draws for them.
schemathesis.serializer.alias("application/vnd.apache.arrow.stream", "application/octet-stream")
SCHEMA = schemathesis.openapi.from_dict(_openapi())
# Members, tokens, workspace settings and the audit log change who may call what (a rotated
# ingest key, a revoked token): tests/web/test_api_fuzz.py walks them with a server of their own.
ACCESS_TAGS = {"accounts", "workspace", "audit"}
OPERATIONS = [
    op
    for op in (result.ok() for result in SCHEMA.get_all_operations())
    if not ACCESS_TAGS & set(op.definition.raw.get("tags") or [])
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def _auth_for(case: Any, server: LiveServer) -> dict[str, str]:
    key, token = server.workspace.ingest_key, server.workspace.api_token
    path = case.operation.path
    if path.startswith("/v1/"):
        return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    if path == "/sa":
        case.query = {**(case.query or {}), "token": key}
        return {}
    if path == "/api/v1/events" and case.operation.method.upper() == "POST":
        return {"Authorization": f"Bearer {key}"}
    if "ingestion" in (case.operation.definition.raw.get("tags") or []):
        return {"Authorization": f"Bearer {key}"}
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("label", [op.label for op in OPERATIONS])
@settings(QUICK, max_examples=10)
@given(data=st.data())
def test_openapi_operations_answer_as_documented(
    server: LiveServer, label: str, data: st.DataObject
) -> None:
    operation = SCHEMA.find_operation_by_label(label)
    assert operation is not None
    mode = data.draw(st.sampled_from(GenerationMode), label="mode")
    case = data.draw(operation.as_strategy(generation_mode=mode), label="case")
    headers = _auth_for(case, server)
    response = case.call_and_validate(base_url=server.url, headers=headers, checks=CHECKS)
    if response.status_code >= 400:
        assert_well_formed(httpx.Response(response.status_code, content=response.content))
