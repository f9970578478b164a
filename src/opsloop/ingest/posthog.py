"""PostHog-compatible ingestion: `/batch/`, `/capture/`, `/e/`, `/i/v0/e/` and the opt-in v1
`/i/v1/analytics/events`, as posthog-python and posthog-js send them.

The v0 endpoints take one event, a list, or `{"api_key", "sent_at", "batch": [...]}`, as JSON,
gzip (`Content-Encoding` or `?compression=gzip-js`) or a form field `data` holding base64 JSON.
This module also holds the fast field checks and the form decoding that the Segment and Sensors
parsers share with it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request

from opsloop.errors import InvalidInput
from opsloop.events.schema import PersonOp
from opsloop.ingest.common import (
    MAX_DISTINCT_ID,
    MAX_EVENT_NAME,
    ParsedEvent,
    as_list,
    corrected_timestamp,
    ensure_object,
    parse_json,
    parse_timestamp,
    person_ops_from_properties,
)
from opsloop.ingest.wire import (
    checked_str,
    checked_timestamp,
    checked_uuid,
    decode_data_field,
    form_fields,
)
from opsloop.web.body import read_decoded_body
from opsloop.web.deps import StateDep, bearer

router = APIRouter()  # tagged "ingestion" where ingest/api.py includes it

V0_PATHS = ("/batch/", "/capture/", "/e/", "/i/v0/e/")
V1_PATH = "/i/v1/analytics/events"
PERSON_KEYS = ("$set", "$set_once", "$unset")
IDENTITY_EVENTS = frozenset({"$identify", "$create_alias", "$merge_dangerously"})
# v1 carries these as typed fields; they are stored as the properties v0 uses for them.
V1_FIELDS = (("session_id", "$session_id"), ("window_id", "$window_id"))
V1_OPTIONS = (
    ("disable_skew_correction", "$ignore_sent_at"),
    ("process_person_profile", "$process_person_profile"),
    ("cookieless_mode", "$cookieless_mode"),
    ("product_tour_id", "$product_tour_id"),
)


def _id_value(value: Any, field: str) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("a distinct id is required and must be a non-empty string", field)
    if len(value) > MAX_DISTINCT_ID:
        raise InvalidInput(f"a distinct id is longer than {MAX_DISTINCT_ID} characters", field)
    return value


def _identity_ops(name: str, distinct_id: str, props: dict[str, Any], path: str) -> list[PersonOp]:
    """Merges carried by PostHog's identity events; they run before property changes."""
    if name == "$identify":
        anon = props.get("$anon_distinct_id")
        if isinstance(anon, int | float) and not isinstance(anon, bool):
            anon = str(anon)
        other = anon if isinstance(anon, str) and anon and anon != distinct_id else None
        return [PersonOp("identify", other_id=other)]
    alias = _id_value(props.get("alias"), f"{path}.properties.alias")
    if alias == distinct_id:
        return []
    if name == "$create_alias":
        # posthog-python sends the previous (anonymous) id as distinct_id and the new id as
        # alias: the alias's person survives, so the identified user keeps its person id.
        return [
            PersonOp("identify", distinct_id=alias),
            PersonOp("merge", other_id=distinct_id, distinct_id=alias),
        ]
    return [PersonOp("merge", other_id=alias)]  # $merge_dangerously


def parse_posthog_event(
    obj: dict[str, Any],
    now: datetime,
    max_future: timedelta,
    skew: timedelta | None,
    v1_lib: tuple[str, str] | None = None,
) -> ParsedEvent:
    """One PostHog event (v0 shape, or v1 when `v1_lib` is given). Error fields are relative
    to the event (".timestamp"); the caller prefixes them. `skew` is our clock minus sent_at.

    The hot path of every batch: plain dict access, no copies (the parsed body is ours), field
    names and id contents built only when needed.
    """
    name = checked_str(obj, "event", MAX_EVENT_NAME)
    props = obj.get("properties")
    if props is None:
        props = {}
    elif not isinstance(props, dict):
        raise InvalidInput("properties must be an object", ".properties")
    did = obj.get("distinct_id")
    if did is None or did == "":
        did = props.get("distinct_id", props.get("$distinct_id"))
    if type(did) is str and 0 < len(did) <= MAX_DISTINCT_ID and not did.isspace():
        distinct_id = did
    else:
        distinct_id = _id_value(did, ".distinct_id")
    if v1_lib is not None:
        _v1_properties(obj, props, v1_lib)

    ops = (
        person_ops_from_properties(props, ".properties")
        if "$set" in props or "$set_once" in props or "$unset" in props
        else []
    )
    if "$set" in obj or "$set_once" in obj or "$unset" in obj:
        ops = person_ops_from_properties(obj, "") + ops
        for key in PERSON_KEYS:
            if key in obj and key not in props:
                props[key] = obj[key]
    if name in IDENTITY_EVENTS:
        ops = _identity_ops(name, distinct_id, props, "") + ops
    if ops and props.get("$process_person_profile") is False:
        ops = []

    raw_ts = obj.get("timestamp")
    if raw_ts is not None:
        if skew is not None and props.get("$ignore_sent_at") is True:
            skew = None
        ts = checked_timestamp(raw_ts, ".timestamp", now, max_future, skew)
    elif obj.get("offset") is not None:
        offset = obj["offset"]
        if isinstance(offset, bool) or not isinstance(offset, int | float):
            raise InvalidInput("offset must be a number of milliseconds", ".offset")
        try:
            ts = corrected_timestamp(
                now - timedelta(milliseconds=offset), None, now, max_future, ".offset"
            )
        except (OverflowError, ValueError):
            raise InvalidInput("offset is out of range", ".offset") from None
    else:
        ts = now
    uid = checked_uuid(
        obj.get("uuid"),
        ".uuid",
        "posthog",
        lambda: [name, distinct_id, raw_ts if raw_ts is not None else ts.isoformat(), props],
    )
    return ParsedEvent(name, distinct_id, ts, props, uid, ops)


def _v1_properties(obj: dict[str, Any], props: dict[str, Any], lib: tuple[str, str]) -> None:
    for wire, prop in V1_FIELDS:
        if obj.get(wire) is not None:
            props.setdefault(prop, obj[wire])
    options = obj.get("options")
    if isinstance(options, dict):
        for wire, prop in V1_OPTIONS:
            if options.get(wire) is not None:
                props.setdefault(prop, options[wire])
    if lib[0]:
        props.setdefault("$lib", lib[0])
        props.setdefault("$lib_version", lib[1])


def _key_in(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return None
    for key in ("api_key", "token"):
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    return _key_in(obj.get("properties")) if "properties" in obj else None


def parse_posthog(
    payload: Any,
    now: datetime,
    max_future: timedelta,
    max_events: int,
    *,
    sent_at: datetime | None = None,
    v1_lib: tuple[str, str] | None = None,
) -> tuple[str | None, list[ParsedEvent]]:
    """The write key found in the body (if any) and the events."""
    items: Any = payload
    single = False
    if isinstance(payload, dict) and "batch" in payload:
        items = payload["batch"]
        if not isinstance(items, list):
            raise InvalidInput("batch must be a list of events", "batch")
        if payload.get("sent_at") is not None:
            sent_at = parse_timestamp(payload["sent_at"], "sent_at")
    elif isinstance(payload, dict):
        single = True
    elif not isinstance(payload, list):
        raise InvalidInput("send an event, a list of events or {batch: [...]}", "body")
    skew = None if sent_at is None else now - sent_at
    events = []
    for i, raw in enumerate(as_list(items, "batch", max_events)):
        try:
            events.append(
                parse_posthog_event(ensure_object(raw, ""), now, max_future, skew, v1_lib)
            )
        except InvalidInput as exc:
            exc.field = ("body" if single else f"batch[{i}]") + (exc.field or "")
            raise
    key = _key_in(payload) if isinstance(payload, dict) else None
    if key is None and isinstance(items, list) and items:
        key = _key_in(items[0])
    return key, events


def _lib_from_header(value: str | None) -> tuple[str, str]:
    name, _, version = (value or "").partition("/")
    return name.strip(), version.strip()


async def _v0_payload(request: Request, max_bytes: int) -> Any:
    query = request.query_params
    if query.get("compression") == "lz64":
        raise InvalidInput("lz64 compression is not supported; use gzip-js", "compression")
    if request.method == "GET":
        if "data" not in query:
            raise InvalidInput("send the events in the data parameter", "data")
        return decode_data_field(query["data"], "data", max_bytes)
    body = await read_decoded_body(request, max_bytes)
    ctype = request.headers.get("content-type", "")
    if (
        query.get("compression") == "base64"
        or ctype.startswith("application/x-www-form-urlencoded")
        or body.startswith(b"data=")
    ):
        fields = form_fields(body)
        if "data" not in fields:
            raise InvalidInput("send the events in the form field data", "data")
        return decode_data_field(fields["data"], "data", max_bytes)
    return parse_json(body)


async def capture_v0(request: Request, state: StateDep) -> dict[str, Any]:
    """One event, a list, or `{"api_key", "sent_at", "batch": [...]}` as PostHog's SDKs send
    them; the key is `api_key` (or `token`) in the body, or `Authorization: Bearer`."""
    s = state.settings
    now = datetime.now(UTC)
    payload = await _v0_payload(request, s.max_body_bytes)
    query = request.query_params
    sent_at = None
    if query.get("_"):  # posthog-js puts its send time (epoch ms) in the query string
        sent_at = parse_timestamp(query["_"], "_")
    key, events = parse_posthog(
        payload, now, state.ingest.max_future, s.max_batch_events, sent_at=sent_at
    )
    key = key or query.get("api_key") or query.get("token") or bearer(request)
    ws = state.ingest.workspace_for_key(key)
    await state.ingest.ingest(ws, events, "posthog")
    return {"status": "Ok"}


for _path in V0_PATHS:
    _slug = _path.strip("/").replace("/", "_")
    router.add_api_route(
        _path,
        capture_v0,
        methods=["POST"],
        summary=f"Send events as PostHog's SDKs do ({_path})",
        operation_id=f"posthog_{_slug}",
    )
    # posthog-js also sends GET ?data=... (image beacons), and some clients drop the slash.
    router.add_api_route(_path, capture_v0, methods=["GET"], include_in_schema=False)
    router.add_api_route(
        _path.rstrip("/"), capture_v0, methods=["POST", "GET"], include_in_schema=False
    )


@router.post(V1_PATH, summary="Send events as PostHog's capture v1 protocol does")
async def capture_v1(request: Request, state: StateDep) -> dict[str, Any]:
    """`{"created_at", "batch": [...]}` with `Authorization: Bearer <key>`; answers one result
    per event uuid."""
    s = state.settings
    now = datetime.now(UTC)
    payload = parse_json(await read_decoded_body(request, s.max_body_bytes))
    if not isinstance(payload, dict) or not isinstance(payload.get("batch"), list):
        raise InvalidInput("send {batch: [...]}", "batch")
    header_ts = request.headers.get("posthog-request-timestamp")
    sent_at = None if header_ts is None else parse_timestamp(header_ts, "PostHog-Request-Timestamp")
    lib = _lib_from_header(
        request.headers.get("posthog-sdk-info") or request.headers.get("user-agent")
    )
    body_key, events = parse_posthog(
        {"batch": payload["batch"]},
        now,
        state.ingest.max_future,
        s.max_batch_events,
        sent_at=sent_at,
        v1_lib=lib,
    )
    ws = state.ingest.workspace_for_key(bearer(request) or body_key)
    await state.ingest.ingest(ws, events, "posthog")
    results = {}
    for raw, event in zip(payload["batch"], events, strict=True):
        sent_uuid = raw.get("uuid")
        results[sent_uuid if isinstance(sent_uuid, str) else event.uuid] = {"result": "ok"}
    return {"results": results}
