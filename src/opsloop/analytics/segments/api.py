"""`/api/v1/segments`: saved segments (rules, static lists, snapshots of a query's persons) and
their members. Members are the `segment` query's answer; a rule may name saved segments."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from opsloop.accounts.permissions import Permission
from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import DuckDbEngine
from opsloop.analytics.segments import service
from opsloop.analytics.segments.saving import save_query_persons
from opsloop.analytics.segments.schemas import (
    SegmentCreate,
    SegmentList,
    SegmentPublic,
    SegmentUpdate,
)
from opsloop.analytics.segments.service import SegmentInfo, cohort_resolver
from opsloop.errors import InvalidInput
from opsloop.web.access import Actor, require, work_as
from opsloop.web.deps import StateDep
from opsloop.web.state import AppState

router = APIRouter(prefix="/api/v1", tags=["segments"])

SegmentId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the saved segment's id")]

ReaderDep = Annotated[Actor, Depends(require(Permission.READ_DATA))]
WriterDep = Annotated[Actor, Depends(require(Permission.SAVE_ANALYSES))]


def _public(info: SegmentInfo) -> SegmentPublic:
    return SegmentPublic.model_validate(info.to_dict())


def _context(state: AppState, token: Actor) -> QueryContext:
    ws = token.workspace
    return QueryContext(ws.id, ws.timezone, DuckDbEngine(state.store))


@router.get("/segments", response_model=SegmentList, summary="The workspace's saved segments")
def list_segments(state: StateDep, token: ReaderDep) -> SegmentList:
    with state.db.session() as s:
        infos = service.list_segments(s, token.workspace.id)
    return SegmentList(results=[_public(i) for i in infos])


@router.post("/segments", response_model=SegmentPublic, status_code=201, summary="Save a segment")
def create_segment(body: SegmentCreate, state: StateDep, token: WriterDep) -> SegmentPublic:
    """Give `rule`, `person_ids`, or `from_query` (a `funnel_persons` or `segment` request: the
    persons its answer lists, all pages, are saved as a static segment)."""
    given = [f for f in ("rule", "person_ids", "from_query") if getattr(body, f) is not None]
    if len(given) != 1:
        raise InvalidInput("give exactly one of rule, person_ids and from_query", "rule")
    ws = token.workspace
    with work_as(state, token.who) as s:
        if body.from_query is not None:
            ctx = QueryContext(
                ws.id, ws.timezone, DuckDbEngine(state.store), cohort_resolver(s, ws.id)
            )
            info = save_query_persons(
                s,
                ctx,
                body.name,
                body.from_query,
                description=body.description,
                created_by=token.user_id,
            )
        else:
            info = service.create_segment(
                s,
                ws.id,
                body.name,
                rule=body.rule,
                person_ids=body.person_ids,
                description=body.description,
                created_by=token.user_id,
            )
    return _public(info)


@router.get("/segments/{segment_id}", response_model=SegmentPublic, summary="A saved segment")
def get_segment(segment_id: SegmentId, state: StateDep, token: ReaderDep) -> SegmentPublic:
    with state.db.session() as s:
        return _public(service.get_segment(s, token.workspace.id, segment_id))


@router.patch("/segments/{segment_id}", response_model=SegmentPublic, summary="Change a segment")
def update_segment(
    segment_id: SegmentId, body: SegmentUpdate, state: StateDep, token: WriterDep
) -> SegmentPublic:
    with work_as(state, token.who) as s:
        info = service.update_segment(
            s,
            token.workspace.id,
            segment_id,
            name=body.name,
            description=body.description,
            rule=body.rule,
            person_ids=body.person_ids,
        )
    return _public(info)


@router.delete("/segments/{segment_id}", status_code=204, summary="Delete a segment")
def delete_segment(segment_id: SegmentId, state: StateDep, token: WriterDep) -> Response:
    """Refused (409) while another saved segment's rule names it."""
    with work_as(state, token.who) as s:
        service.delete_segment(s, token.workspace.id, segment_id)
    return Response(status_code=204)


@router.get("/segments/{segment_id}/members", summary="A page of a segment's persons")
def segment_members(
    segment_id: SegmentId,
    state: StateDep,
    token: ReaderDep,
    as_of: date | None = None,
    limit: Annotated[int, Query(ge=0, le=100_000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """The `segment` query's answer for `{"cohort": segment_id}` (as_of defaults to today in
    the workspace's time zone), plus the segment."""
    with state.db.session() as s:
        ctx = _context(state, token)
        answer = service.members(s, ctx, segment_id, as_of=as_of, limit=limit, offset=offset)
    segment = SegmentPublic.model_validate(answer["segment"]).model_dump(mode="json")
    return {**answer, "segment": segment}  # times written as every other answer writes them
