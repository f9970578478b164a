"""Answer models of the audit log API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from opsloop.audit.service import AuditRecord


class AuditEntryPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_user_id: int | None
    via: str
    ip: str | None
    action: str
    entity_type: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @classmethod
    def of(cls, e: AuditRecord) -> AuditEntryPublic:
        return cls.model_validate(e.to_dict())


class AuditPage(BaseModel):
    """Entries newest first; `next` is the URL of the following page, null on the last."""

    results: list[AuditEntryPublic]
    next: str | None
