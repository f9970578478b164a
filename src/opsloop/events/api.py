"""Reading events and persons back over REST."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request

from opsloop.accounts.permissions import Permission
from opsloop.errors import InvalidInput, NotFound
from opsloop.ingest.common import parse_timestamp
from opsloop.web.access import Actor, require
from opsloop.web.deps import StateDep

router = APIRouter(prefix="/api/v1", tags=["events"])
ReaderDep = Annotated[Actor, Depends(require(Permission.READ_DATA))]


def encode_cursor(cursor: tuple[datetime, str]) -> str:
    """An opaque page cursor (the last row's timestamp and uuid) for a `next` link."""
    raw = orjson.dumps([cursor[0].isoformat(), cursor[1]])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, str]:
    """The cursor `encode_cursor` made; anything else is an InvalidInput on field `cursor`."""
    try:
        ts, uid = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        return parse_timestamp(ts, "cursor"), str(uid)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise InvalidInput("the cursor is not one this server issued", "cursor") from exc


def _time_param(value: str | None, name: str) -> datetime | None:
    return None if value is None else parse_timestamp(value, name)


@router.get("/events", summary="Events, newest first")
def list_events(
    request: Request,
    state: StateDep,
    token: ReaderDep,
    distinct_id: str | None = None,
    person_id: str | None = None,
    event: str | None = None,
    after: Annotated[str | None, Query(description="ISO 8601 or epoch; inclusive")] = None,
    before: Annotated[str | None, Query(description="ISO 8601 or epoch; exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    page, nxt = state.store.list_events(
        token.workspace.id,
        distinct_id=distinct_id,
        person_id=person_id,
        event=event,
        after=_time_param(after, "after"),
        before=_time_param(before, "before"),
        limit=limit,
        cursor=decode_cursor(cursor) if cursor else None,
    )
    next_url = None
    if nxt is not None:
        next_url = str(request.url.include_query_params(cursor=encode_cursor(nxt)))
    return {"results": page, "next": next_url}


@router.get("/persons/{distinct_id}", summary="The person behind a distinct_id")
def get_person(distinct_id: str, state: StateDep, token: ReaderDep) -> dict[str, Any]:
    person = state.store.get_person(token.workspace.id, distinct_id)
    if person is None:
        raise NotFound(f"no person has the distinct_id {distinct_id!r}", "distinct_id")
    return person
