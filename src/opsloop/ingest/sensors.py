"""Sensors Data (神策)-compatible ingestion: `/sa` and `/sa.gif`, as the SDKs send them.

Records arrive as the form fields `data` (one) or `data_list` (many), each base64(gzip(json))
when `gzip=1` and plain base64 JSON otherwise, in a POST body or (the JS SDK's image beacon) the
query string; a raw JSON body works too. The write key is the server URL's `token` parameter.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from opsloop.errors import InvalidInput, PayloadTooLarge, Unauthorized
from opsloop.events.schema import PersonOp
from opsloop.ingest.common import (
    MAX_DISTINCT_ID,
    MAX_EVENT_NAME,
    ParsedEvent,
    ensure_object,
    optional_object,
    parse_json,
    require_str,
)
from opsloop.ingest.wire import (
    checked_timestamp,
    content_uuid,
    decode_data_field,
    form_fields,
)
from opsloop.web.body import read_decoded_body
from opsloop.web.deps import StateDep

router = APIRouter()  # tagged "ingestion" where ingest/api.py includes it

TRACK_TYPES = frozenset({"track", "track_signup", "track_id_bind", "track_id_unbind"})
PROFILE_OPS = {
    "profile_set": "set",
    "profile_set_once": "set_once",
    "profile_increment": "add",
    "profile_append": "append",
    "profile_unset": "unset",
    "profile_delete": "clear",
}
ITEM_TYPES = frozenset({"item_set", "item_delete"})
KNOWN_TYPES = TRACK_TYPES | PROFILE_OPS.keys() | ITEM_TYPES
DEFAULT_EVENT = {"track_id_bind": "$BindID", "track_id_unbind": "$UnbindID"}
# Items have no user; their records are stored under this distinct_id until items are modelled.
ITEM_DISTINCT_ID = "$item"
LIB_KEYS = ("$lib", "$lib_version", "$lib_method", "$lib_detail", "$app_version")
# Top-level record fields kept as event properties (the others are envelope or used for ids).
RECORDED_FIELDS = (
    ("original_id", "$original_id"),
    ("identities", "$identities"),
    ("item_type", "$item_type"),
    ("item_id", "$item_id"),
    ("anonymous_id", "$anonymous_id"),
    ("login_id", "$login_id"),
)
LOGIN_FLAG = "$is_login_id"


def _str_id(obj: dict[str, Any], key: str, path: str) -> str:
    return require_str(obj, key, path, max_len=MAX_DISTINCT_ID)


def _event_name(obj: dict[str, Any], rtype: str, path: str) -> str:
    if rtype in TRACK_TYPES:
        if obj.get("event") is None and rtype in DEFAULT_EVENT:
            return DEFAULT_EVENT[rtype]
        return require_str(obj, "event", path, max_len=MAX_EVENT_NAME)
    return "$" + rtype


def _profile_op(rtype: str, props: dict[str, Any], path: str) -> PersonOp | None:
    kind = PROFILE_OPS[rtype]
    if kind == "clear":
        return PersonOp("clear")
    payload = {k: v for k, v in props.items() if k != LOGIN_FLAG}
    if kind == "unset":
        return PersonOp("unset", list(payload))
    if kind == "add":
        for key, value in payload.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInput(
                    "profile_increment values must be numbers", f"{path}.properties.{key}"
                )
    return PersonOp(kind, payload)  # type: ignore[arg-type]


def parse_sensors_record(
    obj: dict[str, Any], project: str | None, now: datetime, max_future: timedelta
) -> ParsedEvent:
    """One Sensors record (track, track_signup, profile_*, item_*, track_id_bind/unbind).
    Error fields are relative to the record (".time"); the caller prefixes them."""
    rtype = obj.get("type")
    if type(rtype) is not str or rtype not in KNOWN_TYPES:
        raise InvalidInput(
            f"type must be one of {', '.join(sorted(KNOWN_TYPES))}, got {rtype!r}",
            ".type",
        )
    name = _event_name(obj, rtype, "")
    given = optional_object(obj, "properties", "")
    props = dict(given)
    if rtype in ITEM_TYPES:
        has_id = obj.get("distinct_id") not in (None, "")
        distinct_id = _str_id(obj, "distinct_id", "") if has_id else ITEM_DISTINCT_ID
        _str_id(obj, "item_id", "")
        require_str(obj, "item_type", "")
    else:
        distinct_id = _str_id(obj, "distinct_id", "")
    lib = obj.get("lib")
    if isinstance(lib, dict):
        for key in LIB_KEYS:
            if key in lib:
                props.setdefault(key, lib[key])
    for field_name, prop in RECORDED_FIELDS:
        value = obj.get(field_name)
        if value is not None:
            props[prop] = value
    record_project = obj.get("project") or project
    if record_project is not None:
        props["$project"] = record_project

    ops: list[PersonOp] = []
    if rtype in PROFILE_OPS:
        op = _profile_op(rtype, given, "")
        if op is not None:
            ops.append(op)
    elif rtype == "track_signup":
        original = _str_id(obj, "original_id", "")
        if original != distinct_id:
            ops.append(PersonOp("identify", other_id=original))
    elif rtype == "track_id_bind":
        # ID-Mapping 3: every identity named is the same user as distinct_id (an anonymous
        # device id bound at login folds into the login id's person, as track_signup does).
        identities = optional_object(obj, "identities", "")
        if identities:
            ops.append(PersonOp("set", dict(identities)))
        for key, value in identities.items():
            if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
                raise InvalidInput("an identity must be a string or a number", f".identities.{key}")
            if str(value) != distinct_id:
                ops.append(PersonOp("identify", other_id=str(value)))

    raw_time = obj.get("time")
    ts = now if raw_time is None else checked_timestamp(raw_time, ".time", now, max_future, None)
    # Sensors sends no event id: the record itself (with the JS SDK's random `_track_id`) is
    # the id, so a resent record is stored once. `_flush_time` changes on every resend.
    content = (
        obj if "_flush_time" not in obj else {k: v for k, v in obj.items() if k != "_flush_time"}
    )
    uid = content_uuid("sensors", content)
    return ParsedEvent(name, distinct_id, ts, props, uid, ops)


def _records(fields: dict[str, str], max_bytes: int) -> tuple[str, list[Any]]:
    """The records in `data` / `data_list`, and the name of the field they came from."""
    if "data_list" in fields:
        records = decode_data_field(fields["data_list"], "data_list", max_bytes)
        if not isinstance(records, list):
            raise InvalidInput("data_list must hold a JSON array of records", "data_list")
        return "data_list", records
    if "data" in fields:
        record = decode_data_field(fields["data"], "data", max_bytes)
        return "data", record if isinstance(record, list) else [record]
    raise InvalidInput("send the records in the form field data or data_list", "data")


async def _payload(request: Request, max_bytes: int) -> tuple[str, list[Any]]:
    if request.method == "GET":
        return _records(dict(request.query_params), max_bytes)
    body = await read_decoded_body(request, max_bytes)
    head = body.lstrip()[:1]
    if head in (b"{", b"["):
        payload = parse_json(body)
        if isinstance(payload, list):
            return "data_list", payload
        return "data", [payload]
    return _records(form_fields(body), max_bytes)


async def _receive(request: Request, state: StateDep) -> Response:
    s = state.settings
    now = datetime.now(UTC)
    query = request.query_params
    field_name, records = await _payload(request, s.max_body_bytes)
    if len(records) > s.max_batch_events:
        raise PayloadTooLarge(f"a batch holds at most {s.max_batch_events} events", field_name)
    project = query.get("project")
    max_future = state.ingest.max_future
    single = field_name == "data" and len(records) == 1
    events = []
    for i, raw in enumerate(records):
        try:
            events.append(parse_sensors_record(ensure_object(raw, ""), project, now, max_future))
        except InvalidInput as exc:
            exc.field = (field_name if single else f"{field_name}[{i}]") + (exc.field or "")
            raise
    key = query.get("token") or next(
        (r["token"] for r in records if isinstance(r, dict) and isinstance(r.get("token"), str)),
        None,
    )
    if not key:
        raise Unauthorized("put the ingest key in the server URL: /sa?token=<ingest key>", "token")
    ws = state.ingest.workspace_for_key(key)
    await state.ingest.ingest(ws, events, "sensors")
    return Response(status_code=200)


@router.post("/sa", summary="Send records as the Sensors Data (神策) SDKs do")
async def sensors_sa(request: Request, state: StateDep) -> Response:
    """Form fields `data` / `data_list` (base64, gzip when `gzip=1`) in the body or the query
    string; `?token=<ingest key>`; `project` is recorded as the `$project` property."""
    return await _receive(request, state)


# The JS SDK's image beacon: GET with the records in the query string.
@router.get("/sa", include_in_schema=False)
@router.api_route("/sa.gif", methods=["GET", "POST"], include_in_schema=False)
async def sensors_gif(request: Request, state: StateDep) -> Response:
    return await _receive(request, state)
