"""OpsLoop's own event format: POST /api/v1/events with one event, a list, or {"batch": [...]}."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

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
            from opsloop.errors import InvalidInput

            raise InvalidInput("batch must be a list of events", "batch")
    elif isinstance(payload, dict):
        api_key = payload.get("api_key")
    events = []
    for i, raw in enumerate(as_list(items, "batch", max_events)):
        path = f"batch[{i}]" if isinstance(items, list) else "body"
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
        events.append(ParsedEvent(name, distinct_id, ts, props, uid, ops))
    return api_key if isinstance(api_key, str) else None, events
