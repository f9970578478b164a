"""`GET /api/v1/audit`: the workspace's audit log, newest first, filtered, page by page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from opsloop.accounts.permissions import Permission
from opsloop.audit.schemas import AuditEntryPublic, AuditPage
from opsloop.audit.service import MAX_LIMIT, AuditFilter, list_entries
from opsloop.errors import InvalidInput
from opsloop.ingest.common import parse_timestamp
from opsloop.web.access import Actor, require
from opsloop.web.deps import StateDep

router = APIRouter(prefix="/api/v1", tags=["audit"])


def audit_filter(
    action: str | None,
    entity_type: str | None,
    entity_id: str | None,
    actor: str | None,
    after: str | None,
    before: str | None,
) -> AuditFilter:
    """The filter of the query parameters; times are ISO 8601 or epoch (as for events)."""
    return AuditFilter(
        action=(action or "").strip() or None,
        entity_type=(entity_type or "").strip() or None,
        entity_id=(entity_id or "").strip() or None,
        actor=(actor or "").strip() or None,
        after=parse_timestamp(after, "after") if after else None,
        before=parse_timestamp(before, "before") if before else None,
    )


def parse_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 18:
        raise InvalidInput("the cursor is not one this server issued", "cursor")
    return int(cursor)


@router.get("/audit", response_model=AuditPage, summary="The audit log: who changed what, when")
def get_audit(
    request: Request,
    state: StateDep,
    caller: Annotated[Actor, Depends(require(Permission.READ_AUDIT))],
    action: Annotated[
        str | None, Query(max_length=64, description='Exact, or a prefix ending in "."')
    ] = None,
    entity_type: Annotated[str | None, Query(max_length=64)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=400, description="Part of the name")] = None,
    after: Annotated[str | None, Query(description="ISO 8601 or epoch; inclusive")] = None,
    before: Annotated[str | None, Query(description="ISO 8601 or epoch; exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    cursor: str | None = None,
) -> AuditPage:
    flt = audit_filter(action, entity_type, entity_id, actor, after, before)
    with state.db.session() as s:
        page, nxt = list_entries(
            s, caller.workspace.id, flt, limit=limit, before_id=parse_cursor(cursor)
        )
    next_url = None
    if nxt is not None:
        next_url = str(request.url.include_query_params(cursor=str(nxt)))
    return AuditPage(results=[AuditEntryPublic.of(e) for e in page], next=next_url)
