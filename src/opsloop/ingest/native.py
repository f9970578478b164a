"""OpsLoop's own event format: POST /api/v1/events with one event, a list, or {"batch": [...]}."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from opsloop.errors import InvalidInput
from opsloop.ingest.common import (
    MAX_DISTINCT_ID,
    MAX_EVENT_NAME,
    ParsedEvent,
    as_list,
    corrected_timestamp,
    ensure_object,
    event_uuid,
    optional_object,
    parse_timestamp,
    person_ops_from_properties,
    require_str,
)

# str(uuid.UUID(x)) spells a UUID this way; an id already spelled so is used as sent.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class NativeEvent(BaseModel):
    """One event in OpsLoop's native format (documents the wire shape in OpenAPI)."""

    event: str = Field(max_length=MAX_EVENT_NAME, examples=["pay"])
    distinct_id: str = Field(max_length=MAX_DISTINCT_ID, examples=["user-42"])
    timestamp: datetime | float | None = Field(
        default=None, description="ISO 8601 or epoch seconds/ms; default: when received"
    )
    uuid: str | None = Field(
        default=None, description="idempotency key; resent ids are stored once"
    )
    properties: dict[str, Any] = Field(default_factory=dict)
    set: dict[str, Any] | None = Field(default=None, alias="$set")
    set_once: dict[str, Any] | None = Field(default=None, alias="$set_once")
    unset: list[str] | None = Field(default=None, alias="$unset")


class NativeBatch(BaseModel):
    api_key: str | None = None
    sent_at: datetime | None = None
    batch: list[NativeEvent]


class IngestAnswer(BaseModel):
    status: str = "ok"
    accepted: int
    duplicates: int


def parse_native(
    payload: Any, now: datetime, max_future: timedelta, max_events: int
) -> tuple[str | None, list[ParsedEvent]]:
    """Returns the api_key found in the body (if any) and the events."""
    api_key = None
    sent_at = None
    items: Any = payload
    if isinstance(payload, dict) and "batch" in payload:
        api_key = payload.get("api_key")
        if payload.get("sent_at") is not None:
            sent_at = parse_timestamp(payload["sent_at"], "sent_at")
        items = payload["batch"]
        if not isinstance(items, list):
            raise InvalidInput("batch must be a list of events", "batch")
    elif isinstance(payload, dict):
        api_key = payload.get("api_key")
    in_list = isinstance(items, list)
    latest = now + max_future
    events = []
    for i, raw in enumerate(as_list(items, "batch", max_events)):
        event = _parse_plain(raw, now, latest, sent_at)
        if event is None:
            path = f"batch[{i}]" if in_list else "body"
            event = _parse_event(raw, path, now, max_future, sent_at)
        events.append(event)
    return api_key if isinstance(api_key, str) else None, events


def _parse_event(
    raw: Any, path: str, now: datetime, max_future: timedelta, sent_at: datetime | None
) -> ParsedEvent:
    """One event, every field checked and every error named by its path."""
    obj = ensure_object(raw, path)
    name = require_str(obj, "event", path, max_len=MAX_EVENT_NAME)
    distinct_id = require_str(obj, "distinct_id", path, max_len=MAX_DISTINCT_ID)
    props = dict(optional_object(obj, "properties", path))
    ops = person_ops_from_properties(obj, path) + person_ops_from_properties(
        props, f"{path}.properties"
    )
    if obj.get("timestamp") is None:
        ts = now
    else:
        ts = corrected_timestamp(
            parse_timestamp(obj["timestamp"], f"{path}.timestamp"),
            sent_at,
            now,
            max_future,
            f"{path}.timestamp",
        )
    uid = event_uuid(
        obj.get("uuid"),
        f"{path}.uuid",
        namespace_hint="native",
        content=[name, distinct_id, ts.isoformat(), props],
    )
    return ParsedEvent(name, distinct_id, ts, props, uid, ops)


def _parse_plain(
    raw: Any, now: datetime, latest: datetime, sent_at: datetime | None
) -> ParsedEvent | None:
    """The fast path for the usual shape (string names and ids, ISO 8601 timestamps, canonical
    UUIDs, no person changes). It returns what `_parse_event` would, or None for anything else,
    which `_parse_event` then parses (or refuses, naming the field)."""
    if type(raw) is not dict:
        return None
    name = raw.get("event")
    if type(name) is not str or not 0 < len(name) <= MAX_EVENT_NAME or name.isspace():
        return None
    distinct_id = raw.get("distinct_id")
    if (
        type(distinct_id) is not str
        or not 0 < len(distinct_id) <= MAX_DISTINCT_ID
        or distinct_id.isspace()
    ):
        return None
    props = raw.get("properties")
    if props is None:
        props = {}
    elif type(props) is dict:
        if "$set" in props or "$set_once" in props or "$unset" in props:
            return None
        props = dict(props)
    else:
        return None
    if "$set" in raw or "$set_once" in raw or "$unset" in raw:
        return None
    value = raw.get("timestamp")
    if value is None:
        ts = now
    else:
        # Extended ISO 8601 only ("YYYY-..."): digit strings are epochs, which the slow path
        # reads; fromisoformat refuses surrounding blanks, which the slow path strips.
        if type(value) is not str or len(value) < 10 or value[4] != "-":
            return None
        try:
            ts = datetime.fromisoformat(value)
            ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
            if sent_at is not None:
                ts = ts + (now - sent_at)
        except (ValueError, OverflowError):
            return None
        if ts > latest or ts.year < 1971:
            return None
    uid = raw.get("uuid")
    if uid is None or uid == "":
        content = [name, distinct_id, ts.isoformat(), props]
        uid = event_uuid(None, "uuid", namespace_hint="native", content=content)
    elif type(uid) is not str or _CANONICAL_UUID.fullmatch(uid) is None:
        return None
    return ParsedEvent(name, distinct_id, ts, props, uid, [])
