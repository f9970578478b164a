"""What every wire format shares: body decoding, limits, ids, timestamps, field-level errors."""

from __future__ import annotations

import base64
import binascii
import re
import uuid as uuidlib
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from opsloop.errors import InvalidInput, PayloadTooLarge
from opsloop.events.schema import PersonOp

MAX_EVENT_NAME = 200
MAX_DISTINCT_ID = 200
# Ids that are not UUIDs (Segment's messageId may be any string) map to a stable UUID.
ID_NAMESPACE = uuidlib.UUID("3d0c1f58-9a8e-4f43-8a55-2b7a1e6c9d10")


@dataclass(slots=True)
class ParsedEvent:
    """One event as a wire format understood it, before it is bound to a workspace."""

    event: str
    distinct_id: str
    timestamp: datetime
    properties: dict[str, Any]
    uuid: str
    person_ops: list[PersonOp] = field(default_factory=list)


def decompress(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """Undo Content-Encoding gzip / deflate; the decoded size is bounded too (zip bombs)."""
    enc = (encoding or "").strip().lower()
    if enc in ("", "identity"):
        return body
    if enc in ("gzip", "x-gzip", "gzip-js"):
        try:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out = d.decompress(body, max_bytes + 1)
        except zlib.error as exc:
            raise InvalidInput("the body is not valid gzip", field="body") from exc
    elif enc == "deflate":
        try:
            d = zlib.decompressobj()
            out = d.decompress(body, max_bytes + 1)
        except zlib.error as exc:
            raise InvalidInput("the body is not valid deflate data", field="body") from exc
    else:
        raise InvalidInput(f"unsupported Content-Encoding {encoding!r}", field="Content-Encoding")
    if len(out) > max_bytes:
        raise PayloadTooLarge(f"the decoded body is larger than {max_bytes} bytes", field="body")
    return out


def gunzip_base64(text: str, field_name: str, max_bytes: int) -> bytes:
    """Sensors' and PostHog's base64(gzip(json)) payloads."""
    try:
        raw = base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("not valid base64", field=field_name) from exc
    if raw[:2] == b"\x1f\x8b":
        # Bounded: a small payload must not inflate into gigabytes (gzip bombs).
        try:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out = d.decompress(raw, max_bytes + 1)
        except zlib.error as exc:
            raise InvalidInput("not valid gzip inside base64", field=field_name) from exc
        if len(out) > max_bytes:
            raise PayloadTooLarge(f"the decoded data is larger than {max_bytes} bytes", field_name)
        if not d.eof:
            raise InvalidInput("the gzip data inside base64 is truncated", field=field_name)
        return out
    return raw


def parse_json(raw: bytes, field_name: str = "body") -> Any:
    # orjson reads (and checks) UTF-8 bytes itself: decoding to str first costs twice as much.
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise InvalidInput(
                f"the {field_name} is not UTF-8 (invalid byte at offset {bad.start})",
                field=field_name,
            ) from bad
        raise InvalidInput(f"the {field_name} is not valid JSON: {exc}", field=field_name) from exc


# Epoch seconds or milliseconds written as text: ASCII digits only (str.isdigit also accepts "²",
# which float() refuses).
EPOCH_TEXT = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def parse_timestamp(value: Any, field_name: str) -> datetime:
    """ISO 8601 (naive means UTC) or epoch seconds / milliseconds."""
    if isinstance(value, bool):
        raise InvalidInput("a timestamp must be ISO 8601 text or epoch seconds/ms", field_name)
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= 1e11 else float(value)
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise InvalidInput(f"timestamp {value!r} is out of range", field_name) from exc
    if isinstance(value, str):
        text = value.strip()
        if EPOCH_TEXT.fullmatch(text):
            return parse_timestamp(float(text), field_name)
        try:
            ts = datetime.fromisoformat(text)
        except ValueError as exc:
            raise InvalidInput(f"timestamp {value!r} is not ISO 8601", field_name) from exc
        try:
            return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
        except OverflowError as exc:  # 9999-12-31T23:00-05:00 is past year 9999 in UTC
            raise InvalidInput(f"timestamp {value!r} is out of range", field_name) from exc
    raise InvalidInput("a timestamp must be ISO 8601 text or epoch seconds/ms", field_name)


def corrected_timestamp(
    ts: datetime, sent_at: datetime | None, now: datetime, max_future: timedelta, field_name: str
) -> datetime:
    """Correct a device clock by the difference between its sent_at and our clock, then refuse
    what still lies too far in the future."""
    if sent_at is not None:
        try:
            ts = ts + (now - sent_at)
        except OverflowError as exc:
            raise InvalidInput("sent_at is too far from the event's timestamp", field_name) from exc
    if ts > now + max_future:
        raise InvalidInput(
            f"timestamp {ts.isoformat()} is more than {max_future} in the future", field_name
        )
    if ts.year < 1971:
        raise InvalidInput(f"timestamp {ts.isoformat()} is before 1971", field_name)
    return ts


def require_str(obj: dict[str, Any], key: str, path: str, *, max_len: int = 200) -> str:
    value = obj.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and key != "event":
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{key} is required and must be a non-empty string", f"{path}.{key}")
    if len(value) > max_len:
        raise InvalidInput(f"{key} is longer than {max_len} characters", f"{path}.{key}")
    return value


def optional_object(obj: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{key} must be an object", f"{path}.{key}")
    return value


def event_uuid(value: Any, path: str, *, namespace_hint: str, content: Any = None) -> str:
    """The event's id: a given UUID as is, any other given id mapped to a stable UUID, and no id
    at all derived from the event's content (so a resent identical event stays one event)."""
    if value is None or value == "":
        basis = orjson.dumps(content, option=orjson.OPT_SORT_KEYS).decode()
        return str(uuidlib.uuid5(ID_NAMESPACE, f"{namespace_hint}:content:{basis}"))
    if not isinstance(value, str):
        raise InvalidInput("an event id must be a string", path)
    try:
        return str(uuidlib.UUID(value))
    except ValueError:
        if len(value) > 200:
            raise InvalidInput("an event id is longer than 200 characters", path) from None
        return str(uuidlib.uuid5(ID_NAMESPACE, f"{namespace_hint}:{value}"))


def as_list(payload: Any, path: str, limit: int) -> list[Any]:
    items = payload if isinstance(payload, list) else [payload]
    if len(items) > limit:
        raise PayloadTooLarge(f"a batch holds at most {limit} events", field=path)
    return items


def ensure_object(item: Any, path: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidInput("each event must be a JSON object", path)
    return item


def person_ops_from_properties(props: dict[str, Any], path: str) -> list[PersonOp]:
    """PostHog-style `$set` / `$set_once` / `$unset` carried in an event or its properties."""
    ops: list[PersonOp] = []
    for key, kind in (("$set", "set"), ("$set_once", "set_once")):
        value = props.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise InvalidInput(f"{key} must be an object", f"{path}.{key}")
        ops.append(PersonOp(kind, value))  # type: ignore[arg-type]
    unset = props.get("$unset")
    if unset is not None:
        if isinstance(unset, dict):
            unset = list(unset)
        if not isinstance(unset, list) or not all(isinstance(k, str) for k in unset):
            raise InvalidInput("$unset must be a list of property names", f"{path}.$unset")
        ops.append(PersonOp("unset", unset))
    return ops
