"""REST for saved insights and dashboards under /api/v1 (API token): create, read, change,
delete; run an insight; pin, unpin and order a dashboard's insights."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session

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
P = ParamSpec("P")
T = TypeVar("T")
# A service function of insights or dashboards: (session, workspace id, viewer, ...).
ServiceCall = Callable[Concatenate[Session, int, Viewer, P], T]


def _viewer(actor: Actor) -> Viewer:
    return Viewer(actor.user_id, actor.role)


def _read(
    state: StateDep, token: Actor, call: ServiceCall[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """`call` for the caller's workspace and as the caller sees it, reading only."""
    with state.db.session() as s:
        return call(s, token.workspace.id, _viewer(token), *args, **kwargs)


def _change(
    state: StateDep, token: Actor, call: ServiceCall[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """The same in one transaction that the audit log attributes to the caller."""
    with work_as(state, token.who) as s:
        return call(s, token.workspace.id, _viewer(token), *args, **kwargs)


def _insight(i: service.InsightInfo) -> InsightPublic:
    return InsightPublic.model_validate(i.to_dict())


def _board(d: boards.DashboardInfo) -> DashboardPublic:
    return DashboardPublic.model_validate(d.to_dict())


@router.get("/insights", summary="Saved insights", response_model=list[InsightPublic])
def list_insights(state: StateDep, token: ReaderDep) -> list[InsightPublic]:
    """The insights the caller owns and those shared in the workspace, latest changed first."""
    return [_insight(i) for i in _read(state, token, service.list_insights)]


@router.post("/insights", status_code=201, summary="Save an insight", response_model=InsightPublic)
def create_insight(body: InsightCreate, state: StateDep, token: SaverDep) -> InsightPublic:
    """The query is checked as POST /api/v1/query checks it; errors name `query.<field>`."""
    return _insight(
        _change(
            state,
            token,
            service.create_insight,
            body.name,
            body.query,
            description=body.description,
            shared=body.shared,
            rolling=body.rolling,
        )
    )


@router.get("/insights/{insight_id}", summary="One insight", response_model=InsightPublic)
def get_insight(insight_id: int, state: StateDep, token: ReaderDep) -> InsightPublic:
    return _insight(_read(state, token, service.get_insight, insight_id))


@router.patch("/insights/{insight_id}", summary="Change an insight", response_model=InsightPublic)
def update_insight(
    insight_id: int, body: InsightUpdate, state: StateDep, token: SaverDep
) -> InsightPublic:
    changes = body.model_dump(exclude_unset=True)
    return _insight(_change(state, token, service.update_insight, insight_id, **changes))


@router.delete("/insights/{insight_id}", status_code=204, summary="Delete an insight")
def delete_insight(insight_id: int, state: StateDep, token: SaverDep) -> Response:
    _change(state, token, service.delete_insight, insight_id)
    return Response(status_code=204)


@router.get("/insights/{insight_id}/results", summary="Run a saved insight")
def insight_results(insight_id: int, state: StateDep, token: ReaderDep) -> dict[str, Any]:
    """The answer of the insight's query (a rolling insight's dates end on the latest day), with
    the query that ran under `query`."""
    insight = _read(state, token, service.get_insight, insight_id)
    query, answer = run_insight(state, token.workspace, insight)
    return {**answer, "query": query}


@router.get("/dashboards", summary="Dashboards", response_model=list[DashboardPublic])
def list_dashboards(state: StateDep, token: ReaderDep) -> list[DashboardPublic]:
    return [_board(d) for d in _read(state, token, boards.list_dashboards)]


@router.post(
    "/dashboards", status_code=201, summary="Create a dashboard", response_model=DashboardPublic
)
def create_dashboard(body: DashboardCreate, state: StateDep, token: SaverDep) -> DashboardPublic:
    return _board(
        _change(
            state,
            token,
            boards.create_dashboard,
            body.name,
            description=body.description,
            shared=body.shared,
        )
    )


@router.get("/dashboards/{dashboard_id}", summary="One dashboard", response_model=DashboardPublic)
def get_dashboard(dashboard_id: int, state: StateDep, token: ReaderDep) -> DashboardPublic:
    return _board(_read(state, token, boards.get_dashboard, dashboard_id))


@router.patch(
    "/dashboards/{dashboard_id}", summary="Change a dashboard", response_model=DashboardPublic
)
def update_dashboard(
    dashboard_id: int, body: DashboardUpdate, state: StateDep, token: SaverDep
) -> DashboardPublic:
    changes = body.model_dump(exclude_unset=True)
    return _board(_change(state, token, boards.update_dashboard, dashboard_id, **changes))


@router.delete("/dashboards/{dashboard_id}", status_code=204, summary="Delete a dashboard")
def delete_dashboard(dashboard_id: int, state: StateDep, token: SaverDep) -> Response:
    _change(state, token, boards.delete_dashboard, dashboard_id)
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
    return _board(
        _change(state, token, boards.pin, dashboard_id, body.insight_id, width=body.width)
    )


@router.patch(
    "/dashboards/{dashboard_id}/tiles/{insight_id}",
    summary="Move a pinned insight",
    response_model=DashboardPublic,
)
def move_insight(
    dashboard_id: int, insight_id: int, body: MoveRequest, state: StateDep, token: SaverDep
) -> DashboardPublic:
    return _board(_change(state, token, boards.move, dashboard_id, insight_id, body.position))


@router.delete(
    "/dashboards/{dashboard_id}/tiles/{insight_id}",
    summary="Unpin an insight",
    response_model=DashboardPublic,
)
def unpin_insight(
    dashboard_id: int, insight_id: int, state: StateDep, token: SaverDep
) -> DashboardPublic:
    return _board(_change(state, token, boards.unpin, dashboard_id, insight_id))
