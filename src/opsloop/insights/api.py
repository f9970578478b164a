"""REST for saved insights and dashboards under /api/v1 (API token): create, read, change,
delete; run an insight; pin, unpin and order a dashboard's insights."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from opsloop.accounts.permissions import Permission
from opsloop.insights import dashboards as boards
from opsloop.insights import service
from opsloop.insights.access import Viewer
from opsloop.insights.runner import run_insight
from opsloop.insights.schemas import (
    DashboardCreate,
    DashboardPublic,
    DashboardUpdate,
    InsightCreate,
    InsightPublic,
    InsightUpdate,
    MoveRequest,
    PinRequest,
)
from opsloop.web.access import Actor, require, work_as
from opsloop.web.deps import StateDep

router = APIRouter(prefix="/api/v1", tags=["insights"])


ReaderDep = Annotated[Actor, Depends(require(Permission.READ_DATA))]
SaverDep = Annotated[Actor, Depends(require(Permission.SAVE_ANALYSES))]


def _viewer(actor: Actor) -> Viewer:
    return Viewer(actor.user_id, actor.role)


def _insight(i: service.InsightInfo) -> InsightPublic:
    return InsightPublic.model_validate(i.to_dict())


def _board(d: boards.DashboardInfo) -> DashboardPublic:
    return DashboardPublic.model_validate(d.to_dict())


@router.get("/insights", summary="Saved insights", response_model=list[InsightPublic])
def list_insights(state: StateDep, token: ReaderDep) -> list[InsightPublic]:
    """The insights the caller owns and those shared in the workspace, latest changed first."""
    with state.db.session() as s:
        found = service.list_insights(s, token.workspace.id, _viewer(token))
    return [_insight(i) for i in found]


@router.post("/insights", status_code=201, summary="Save an insight", response_model=InsightPublic)
def create_insight(body: InsightCreate, state: StateDep, token: SaverDep) -> InsightPublic:
    """The query is checked as POST /api/v1/query checks it; errors name `query.<field>`."""
    with work_as(state, token.who) as s:
        return _insight(
            service.create_insight(
                s,
                token.workspace.id,
                _viewer(token),
                body.name,
                body.query,
                description=body.description,
                shared=body.shared,
                rolling=body.rolling,
            )
        )


@router.get("/insights/{insight_id}", summary="One insight", response_model=InsightPublic)
def get_insight(insight_id: int, state: StateDep, token: ReaderDep) -> InsightPublic:
    with state.db.session() as s:
        return _insight(service.get_insight(s, token.workspace.id, _viewer(token), insight_id))


@router.patch("/insights/{insight_id}", summary="Change an insight", response_model=InsightPublic)
def update_insight(
    insight_id: int, body: InsightUpdate, state: StateDep, token: SaverDep
) -> InsightPublic:
    with work_as(state, token.who) as s:
        return _insight(
            service.update_insight(
                s,
                token.workspace.id,
                _viewer(token),
                insight_id,
                **body.model_dump(exclude_unset=True),
            )
        )


@router.delete("/insights/{insight_id}", status_code=204, summary="Delete an insight")
def delete_insight(insight_id: int, state: StateDep, token: SaverDep) -> Response:
    with work_as(state, token.who) as s:
        service.delete_insight(s, token.workspace.id, _viewer(token), insight_id)
    return Response(status_code=204)


@router.get("/insights/{insight_id}/results", summary="Run a saved insight")
def insight_results(insight_id: int, state: StateDep, token: ReaderDep) -> dict[str, Any]:
    """The answer of the insight's query (a rolling insight's dates end on the latest day), with
    the query that ran under `query`."""
    with state.db.session() as s:
        insight = service.get_insight(s, token.workspace.id, _viewer(token), insight_id)
    query, answer = run_insight(state, token.workspace, insight)
    return {**answer, "query": query}


@router.get("/dashboards", summary="Dashboards", response_model=list[DashboardPublic])
def list_dashboards(state: StateDep, token: ReaderDep) -> list[DashboardPublic]:
    with state.db.session() as s:
        return [_board(d) for d in boards.list_dashboards(s, token.workspace.id, _viewer(token))]


@router.post(
    "/dashboards", status_code=201, summary="Create a dashboard", response_model=DashboardPublic
)
def create_dashboard(body: DashboardCreate, state: StateDep, token: SaverDep) -> DashboardPublic:
    with work_as(state, token.who) as s:
        return _board(
            boards.create_dashboard(
                s,
                token.workspace.id,
                _viewer(token),
                body.name,
                description=body.description,
                shared=body.shared,
            )
        )


@router.get("/dashboards/{dashboard_id}", summary="One dashboard", response_model=DashboardPublic)
def get_dashboard(dashboard_id: int, state: StateDep, token: ReaderDep) -> DashboardPublic:
    with state.db.session() as s:
        return _board(boards.get_dashboard(s, token.workspace.id, _viewer(token), dashboard_id))


@router.patch(
    "/dashboards/{dashboard_id}", summary="Change a dashboard", response_model=DashboardPublic
)
def update_dashboard(
    dashboard_id: int, body: DashboardUpdate, state: StateDep, token: SaverDep
) -> DashboardPublic:
    with work_as(state, token.who) as s:
        return _board(
            boards.update_dashboard(
                s,
                token.workspace.id,
                _viewer(token),
                dashboard_id,
                **body.model_dump(exclude_unset=True),
            )
        )


@router.delete("/dashboards/{dashboard_id}", status_code=204, summary="Delete a dashboard")
def delete_dashboard(dashboard_id: int, state: StateDep, token: SaverDep) -> Response:
    with work_as(state, token.who) as s:
        boards.delete_dashboard(s, token.workspace.id, _viewer(token), dashboard_id)
    return Response(status_code=204)


@router.post(
    "/dashboards/{dashboard_id}/tiles",
    summary="Pin an insight to a dashboard",
    response_model=DashboardPublic,
)
def pin_insight(
    dashboard_id: int, body: PinRequest, state: StateDep, token: SaverDep
) -> DashboardPublic:
    """Adds it last (pinning it again changes its width). On a shared dashboard the insight
    becomes shared too."""
    with work_as(state, token.who) as s:
        return _board(
            boards.pin(
                s,
                token.workspace.id,
                _viewer(token),
                dashboard_id,
                body.insight_id,
                width=body.width,
            )
        )


@router.patch(
    "/dashboards/{dashboard_id}/tiles/{insight_id}",
    summary="Move a pinned insight",
    response_model=DashboardPublic,
)
def move_insight(
    dashboard_id: int, insight_id: int, body: MoveRequest, state: StateDep, token: SaverDep
) -> DashboardPublic:
    with work_as(state, token.who) as s:
        return _board(
            boards.move(
                s, token.workspace.id, _viewer(token), dashboard_id, insight_id, body.position
            )
        )


@router.delete(
    "/dashboards/{dashboard_id}/tiles/{insight_id}",
    summary="Unpin an insight",
    response_model=DashboardPublic,
)
def unpin_insight(
    dashboard_id: int, insight_id: int, state: StateDep, token: SaverDep
) -> DashboardPublic:
    with work_as(state, token.who) as s:
        return _board(boards.unpin(s, token.workspace.id, _viewer(token), dashboard_id, insight_id))
