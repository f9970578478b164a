"""Segment-compatible ingestion: `/v1/batch` and the single-call `/v1/track`, `/v1/identify`,
`/v1/alias`, `/v1/page`, `/v1/screen`, `/v1/group`, as analytics-python and analytics.js send
them. The write key is the Basic-auth user name (or `writeKey` in the body).
"""

from __future__ import annotations

import base64
import binascii
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
    ensure_object,
    optional_object,
    parse_json,
    parse_timestamp,
    require_str,
)
from opsloop.ingest.wire import checked_str, checked_timestamp, checked_uuid
from opsloop.web.body import read_decoded_body
from opsloop.web.deps import StateDep

router = APIRouter()  # tagged "ingestion" where ingest/api.py includes it

TYPES = frozenset({"track", "identify", "alias", "page", "screen", "group"})
EVENT_FOR_TYPE = {
    "identify": "$identify",
    "alias": "$create_alias",
    "page": "$pageview",
    "screen": "$screen",
    "group": "$groupidentify",
}
# Context fields under PostHog's property names; any other context field is kept as
# `$context_<field>` (or `$context_<field>_<subfield>`), so nothing sent is lost.
CONTEXT_SCALARS = {
    "ip": "$ip",
    "locale": "$locale",
    "timezone": "$timezone",
    "userAgent": "$user_agent",
}
CONTEXT_FIELDS = {
    ("library", "name"): "$lib",
    ("library", "version"): "$lib_version",
    ("os", "name"): "$os",
    ("os", "version"): "$os_version",
    ("app", "name"): "$app_name",
    ("app", "version"): "$app_version",
    ("app", "build"): "$app_build",
    ("app", "namespace"): "$app_namespace",
    ("device", "id"): "$device_id",
    ("device", "type"): "$device_type",
    ("device", "model"): "$device_model",
    ("device", "manufacturer"): "$device_manufacturer",
    ("screen", "width"): "$screen_width",
    ("screen", "height"): "$screen_height",
    ("screen", "density"): "$screen_density",
    ("page", "url"): "$current_url",
    ("page", "path"): "$pathname",
    ("page", "referrer"): "$referrer",
    ("page", "title"): "$title",
    ("page", "search"): "$search",
    ("campaign", "name"): "utm_campaign",
    ("campaign", "source"): "utm_source",
    ("campaign", "medium"): "utm_medium",
    ("campaign", "term"): "utm_term",
    ("campaign", "content"): "utm_content",
}
PAGE_PROPERTIES = {
    "url": "$current_url",
    "path": "$pathname",
    "referrer": "$referrer",
    "title": "$title",
}


def _context_properties(context: dict[str, Any], props: dict[str, Any]) -> None:
    """Add the message's context to its properties; the event's own properties win."""
    for key, value in context.items():
        if isinstance(value, dict):
            for sub, subvalue in value.items():
                name = CONTEXT_FIELDS.get((key, sub)) or f"$context_{key}_{sub}"
                props.setdefault(name, subvalue)
        else:
            props.setdefault(CONTEXT_SCALARS.get(key) or f"$context_{key}", value)


def _optional_id(obj: dict[str, Any], key: str, path: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if type(value) is str and len(value) <= MAX_DISTINCT_ID and not value.isspace():
        return value
    return require_str(obj, key, path, max_len=MAX_DISTINCT_ID)


def parse_segment_message(
    obj: dict[str, Any],
    forced_type: str | None,
    batch_context: dict[str, Any] | None,
    now: datetime,
    max_future: timedelta,
    skew: timedelta | None,
) -> ParsedEvent:
    """One Segment message of any type, as an event and its person changes. Error fields are
    relative to the message (".userId"); the caller prefixes them. `skew` is our clock minus
    the batch's sentAt. Mutates the message (the parsed body is ours): no copies per event."""
    mtype = forced_type or obj.get("type")
    if type(mtype) is not str or mtype not in TYPES:
        raise InvalidInput(
            f"type must be one of {', '.join(sorted(TYPES))}, got {mtype!r}", ".type"
        )
    user_id = _optional_id(obj, "userId", "")
    anon_id = _optional_id(obj, "anonymousId", "")
    distinct_id = user_id or anon_id
    if distinct_id is None:
        raise InvalidInput("userId or anonymousId is required", ".userId")
    if mtype in ("track", "page", "screen"):
        props = optional_object(obj, "properties", "") or {}
    else:
        props = {}
    ops: list[PersonOp] = []
    name = checked_str(obj, "event", MAX_EVENT_NAME) if mtype == "track" else EVENT_FOR_TYPE[mtype]
    if mtype in ("page", "screen"):
        _page_properties(obj, mtype, props)
    elif mtype == "identify":
        traits = optional_object(obj, "traits", "")
        if user_id is not None:
            other = anon_id if anon_id is not None and anon_id != user_id else None
            ops.append(PersonOp("identify", other_id=other))
            if other is not None:
                props["$anon_distinct_id"] = other
        if traits:
            props["$set"] = traits
            ops.append(PersonOp("set", dict(traits)))
    elif mtype == "alias":
        previous = require_str(obj, "previousId", "", max_len=MAX_DISTINCT_ID)
        props["alias"] = previous
        if user_id is not None:
            ops.append(PersonOp("identify"))
        if previous != distinct_id:
            ops.append(PersonOp("merge", other_id=previous))
    elif mtype == "group":
        group_id = require_str(obj, "groupId", "", max_len=MAX_DISTINCT_ID)
        traits = optional_object(obj, "traits", "")
        props["$group_type"] = traits.get("group_type") or "segment_group"
        props["$group_key"] = group_id
        props["$group_set"] = traits

    context = optional_object(obj, "context", "")
    if batch_context:
        context = {**batch_context, **context}
    if context:
        _context_properties(context, props)

    raw_ts = obj.get("timestamp") or obj.get("originalTimestamp")
    if raw_ts is None:
        ts = now
    else:
        if obj.get("sentAt") is not None:  # analytics.js stamps each message
            skew = now - parse_timestamp(obj["sentAt"], ".sentAt")
        field = ".timestamp" if obj.get("timestamp") else ".originalTimestamp"
        ts = checked_timestamp(raw_ts, field, now, max_future, skew)
    uid = checked_uuid(
        obj.get("messageId"),
        ".messageId",
        "segment",
        lambda: [mtype, name, distinct_id, raw_ts if raw_ts is not None else ts.isoformat(), props],
    )
    return ParsedEvent(name, distinct_id, ts, props, uid, ops)


def _page_properties(obj: dict[str, Any], mtype: str, props: dict[str, Any]) -> None:
    name, category = obj.get("name"), obj.get("category")
    if name is not None:
        props["$name"] = name
        props.setdefault("name", name)
        if mtype == "screen":
            props["$screen_name"] = name
    if category is not None:
        props["$category"] = category
        props.setdefault("category", category)
    if mtype == "page":
        for key, prop in PAGE_PROPERTIES.items():
            if key in props:
                props.setdefault(prop, props[key])


def parse_segment(
    payload: Any,
    forced_type: str | None,
    now: datetime,
    max_future: timedelta,
    max_events: int,
) -> tuple[str | None, list[ParsedEvent]]:
    """`{"batch": [...], "sentAt", "writeKey", "context"}` or (forced_type given) one message;
    returns the write key found in the body (if any) and the events."""
    if not isinstance(payload, dict):
        raise InvalidInput("the body must be a JSON object", "body")
    sent_at = None
    batch_context = None
    if forced_type is None:
        items = payload.get("batch")
        if not isinstance(items, list):
            raise InvalidInput("batch must be a list of messages", "batch")
        if payload.get("sentAt") is not None:
            sent_at = parse_timestamp(payload["sentAt"], "sentAt")
        context = payload.get("context")
        batch_context = context if isinstance(context, dict) else None
        skew = None if sent_at is None else now - sent_at
        events = []
        for i, raw in enumerate(as_list(items, "batch", max_events)):
            try:
                obj = ensure_object(raw, "")
                events.append(
                    parse_segment_message(obj, None, batch_context, now, max_future, skew)
                )
            except InvalidInput as exc:
                exc.field = f"batch[{i}]{exc.field or ''}"
                raise
    else:
        try:
            events = [parse_segment_message(payload, forced_type, None, now, max_future, None)]
        except InvalidInput as exc:
            exc.field = f"body{exc.field or ''}"
            raise
    key = payload.get("writeKey")
    return key if isinstance(key, str) and key else None, events


def basic_auth_user(request: Request) -> str | None:
    """The user name of `Authorization: Basic base64(user:password)`."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user = decoded.partition(":")[0]
    return user or None


async def _receive(request: Request, state: StateDep, forced_type: str | None) -> dict[str, bool]:
    s = state.settings
    now = datetime.now(UTC)
    payload = parse_json(await read_decoded_body(request, s.max_body_bytes))
    body_key, events = parse_segment(
        payload, forced_type, now, state.ingest.max_future, s.max_batch_events
    )
    ws = state.ingest.workspace_for_key(basic_auth_user(request) or body_key)
    await state.ingest.ingest(ws, events, "segment")
    return {"success": True}


@router.post("/v1/batch", summary="Send messages as Segment's SDKs do (batch)")
async def segment_batch(request: Request, state: StateDep) -> dict[str, bool]:
    """`{"batch": [...], "sentAt"}`; the write key is the Basic-auth user name."""
    return await _receive(request, state, None)


def _single(mtype: str) -> Any:
    async def receive(request: Request, state: StateDep) -> dict[str, bool]:
        return await _receive(request, state, mtype)

    receive.__name__ = f"segment_{mtype}"
    receive.__doc__ = f"One {mtype} message; the write key is the Basic-auth user name."
    return receive


# analytics.js (analytics-next) posts to the one-letter forms of the same paths.
router.add_api_route("/v1/b", segment_batch, methods=["POST"], include_in_schema=False)
for _type in ("track", "identify", "alias", "page", "screen", "group"):
    _endpoint = _single(_type)
    router.add_api_route(
        f"/v1/{_type}",
        _endpoint,
        methods=["POST"],
        summary=f"Send one {_type} message as Segment's SDKs do",
    )
    router.add_api_route(f"/v1/{_type[0]}", _endpoint, methods=["POST"], include_in_schema=False)
