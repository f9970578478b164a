"""Checks and decoding every wire format shares (PostHog, Segment, Sensors).

The fast checks accept the usual shape cheaply and hand anything else to the common helper,
which accepts it the same way or refuses it naming the field (relative to the event:
".timestamp").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import orjson

from opsloop.errors import InvalidInput
from opsloop.ingest.common import (
    ID_NAMESPACE,
    corrected_timestamp,
    event_uuid,
    gunzip_base64,
    parse_json,
    parse_timestamp,
    require_str,
)

CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_NAMESPACE_BYTES = ID_NAMESPACE.bytes


def checked_str(obj: dict[str, Any], key: str, max_len: int) -> str:
    value = obj.get(key)
    if type(value) is str and 0 < len(value) <= max_len and not value.isspace():
        return value
    return require_str(obj, key, "", max_len=max_len)


def checked_timestamp(
    value: Any, field: str, now: datetime, max_future: timedelta, skew: timedelta | None
) -> datetime:
    """An event time, moved by the sender's clock skew, refused when too far in the future."""
    ts = None
    if type(value) is str and len(value) >= 10 and value[4] == "-":
        try:
            ts = datetime.fromisoformat(value)
            ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
        except (ValueError, OverflowError):
            ts = None  # parse_timestamp reads it again and names the problem
    if ts is None:
        ts = parse_timestamp(value, field)
    if skew is not None:
        try:
            ts += skew
        except OverflowError:
            raise InvalidInput(
                "the timestamp corrected by sent_at falls outside the calendar", field
            ) from None
    if ts > now + max_future or ts.year < 1971:
        corrected_timestamp(ts, None, now, max_future, field)  # raises, naming the field
    return ts


def checked_uuid(value: Any, field: str, hint: str, content: Callable[[], Any]) -> str:
    """A sent canonical UUID as is; any other id (or none: `content()`) as `event_uuid` maps it."""
    if type(value) is str and CANONICAL_UUID.fullmatch(value) is not None:
        return value
    return event_uuid(value, field, namespace_hint=hint, content=None if value else content())


def content_uuid(hint: str, content: Any) -> str:
    """`event_uuid(None, ...)` without the UUID class: uuid5 of the content, formatted by hand."""
    basis = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha1(_NAMESPACE_BYTES + f"{hint}:content:".encode() + basis).hexdigest()
    variant = "89ab"[int(digest[16], 16) & 3]
    return f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:32]}"


def form_fields(raw: bytes, max_fields: int = 100) -> dict[str, str]:
    """An application/x-www-form-urlencoded body as {name: first value}."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the form body is not UTF-8", "body") from exc
    try:
        parsed = parse_qs(text, keep_blank_values=True, max_num_fields=max_fields)
    except ValueError as exc:
        raise InvalidInput(f"the form body is not valid: {exc}", "body") from exc
    return {name: values[0] for name, values in parsed.items()}


def decode_data_field(text: str, field_name: str, max_bytes: int) -> Any:
    """A form field holding JSON: as is, base64 of it, or base64 of its gzip."""
    text = text.strip()
    if text[:1] in ("{", "["):
        return parse_json(text.encode("utf-8"), field_name)
    # A '+' sent unescaped in a query string arrives as a space; padding is often dropped.
    text = text.replace(" ", "+")
    text += "=" * (-len(text) % 4)
    return parse_json(gunzip_base64(text, field_name, max_bytes), field_name)
