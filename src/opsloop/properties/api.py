"""`/api/v1/properties/...`: list, materialize and drop materialized event properties, and see
which properties the workspace's queries read. Changes manage the workspace (admin and up) and
go to the audit log; reading needs data access."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from opsloop.accounts.permissions import Permission
from opsloop.properties import service
from opsloop.properties.schemas import (
    AutoMaterializeRequest,
    MaterializedPropertyPublic,
    MaterializeRequest,
    PropertyType,
    PropertyUsePublic,
)
from opsloop.web.access import Actor, require, work_as
from opsloop.web.deps import StateDep

router = APIRouter(prefix="/api/v1/properties", tags=["properties"])

ReaderDep = Annotated[Actor, Depends(require(Permission.READ_DATA))]
ManagerDep = Annotated[Actor, Depends(require(Permission.MANAGE_WORKSPACE))]


@router.get(
    "/materialized",
    response_model=list[MaterializedPropertyPublic],
    summary="Materialized event properties",
)
def list_materialized(state: StateDep, token: ReaderDep) -> list[MaterializedPropertyPublic]:
    """The workspace's event properties that have a column of their own."""
    return service.materialized(state.store, token.workspace.id)


@router.post(
    "/materialized",
    response_model=MaterializedPropertyPublic,
    summary="Materialize an event property",
)
def post_materialized(
    request: MaterializeRequest, state: StateDep, token: ManagerDep
) -> MaterializedPropertyPublic:
    """Adds the column and backfills the stored events (about 1.5 s per million events of the
    workspace) before answering; filters and breakdowns read the column from then on. Asking
    again for a materialized property answers it unchanged."""
    with work_as(state, token.who) as s:
        return service.materialize(state.store, s, token.workspace.id, request)


@router.post(
    "/materialized/auto",
    response_model=list[MaterializedPropertyPublic],
    summary="Materialize the properties queries read most",
)
def post_auto(
    request: AutoMaterializeRequest, state: StateDep, token: ManagerDep
) -> list[MaterializedPropertyPublic]:
    """The automatic choice: properties read at least `min_uses` times in the last `days`
    days and not materialized yet, most read first; answers those it materialized."""
    with work_as(state, token.who) as s:
        return service.auto_materialize(state.store, s, token.workspace.id, request)


@router.delete(
    "/materialized/{key:path}",
    response_model=list[MaterializedPropertyPublic],
    summary="Stop materializing an event property",
)
def delete_materialized(
    key: str,
    state: StateDep,
    token: ManagerDep,
    type: Annotated[PropertyType | None, Query(description="only this type (default both)")] = None,
) -> list[MaterializedPropertyPublic]:
    """Answers what was dropped; queries read the JSON again."""
    with work_as(state, token.who) as s:
        return service.drop(state.store, s, token.workspace.id, key, type)


@router.get("/usage", response_model=list[PropertyUsePublic], summary="Event properties read")
def get_usage(
    state: StateDep, token: ReaderDep, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> list[PropertyUsePublic]:
    """How often the workspace's queries read each event property (as text or as a number)
    in the last `days` days, most read first: what the automatic choice ranks by."""
    return service.usage(state.store, token.workspace.id, days)
