"""Domain exceptions: each carries a stable code, a message and, where it applies, the field."""

from __future__ import annotations


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
