"""Domain exceptions: each carries a stable code, a message and, where it applies, the field."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any


class OpsLoopError(Exception):
    """Base of every error a user can cause; the web layer maps it to a 4xx JSON body."""

    code = "error"
    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class InvalidInput(OpsLoopError):
    code = "invalid_input"
    status = 400


class Unauthorized(OpsLoopError):
    code = "unauthorized"
    status = 401


class Forbidden(OpsLoopError):
    code = "forbidden"
    status = 403


class NotFound(OpsLoopError):
    code = "not_found"
    status = 404


class Conflict(OpsLoopError):
    code = "conflict"
    status = 409


class RateLimited(OpsLoopError):
    """Too many attempts (wrong passwords); the message says when to try again."""

    code = "rate_limited"
    status = 429


class PayloadTooLarge(OpsLoopError):
    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(OpsLoopError):
    code = "unsupported_media_type"
    status = 415


class StoreBusy(OpsLoopError):
    """The event store is owned by another process (a running server)."""

    code = "store_busy"
    status = 503


class StoreWriteFailed(OpsLoopError):
    """A commit to the event store failed; nothing of the request was stored, retry it."""

    code = "store_write_failed"
    status = 503


def most_specific(errors: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The error to report of pydantic's list: the deepest one (a value that fits no member of
    a union is reported once per member; the member that got furthest says what is wrong)."""
    if not errors:
        return {}
    return max(errors, key=lambda e: len(e.get("loc", ())))  # the first of equals wins


def field_of(loc: Sequence[int | str], body: Any, skip: Collection[str] = ()) -> str | None:
    """The dotted field an error is about (`metrics.0.metric`), as the client wrote it: the
    parts naming where the value came from (`skip`: "body", "query"), a tagged union's tag
    (when the body's `kind` says it) and the union members pydantic tried ("constrained-str",
    "MetricRef") are left out by walking the body along the path."""
    parts = [p for p in loc if p not in skip]
    if isinstance(body, dict) and len(parts) > 1 and parts[0] == body.get("kind"):
        parts = parts[1:]
    if body is None:
        return ".".join(str(p) for p in parts) or None
    kept: list[str] = []
    here: Any = body
    for i, part in enumerate(parts):
        in_dict = isinstance(here, dict) and part in here
        in_list = isinstance(here, list) and isinstance(part, int) and 0 <= part < len(here)
        if in_dict or in_list:
            here = here[part]
        elif isinstance(here, dict) and i == len(parts) - 1:
            pass  # a missing key: the field itself
        else:
            continue  # a union member's label
        kept.append(str(part))
    return ".".join(kept) or None
