"""Console pages of saved insights and dashboards: save from an explorer (optionally onto a
dashboard), the list of insights, dashboards as a grid of charts with pin / unpin / reorder."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsloop.accounts.permissions import Permission
from opsloop.errors import InvalidInput
from opsloop.events.activity import latest_day
from opsloop.explorers.params import form_from_query, form_params
from opsloop.insights import dashboards as boards
from opsloop.insights import service
from opsloop.insights.access import Viewer
from opsloop.insights.tiles import router as tiles_router
from opsloop.web.access import require_page, work_as
from opsloop.web.charts.spec import translator
from opsloop.web.console_user import ConsoleUser, safe_next
from opsloop.web.deps import StateDep
from opsloop.web.error_pages import SERVER_ERROR, ErrorText, error_page
from opsloop.web.export import Column, ExportTable, export_response
from opsloop.web.i18n import N_
from opsloop.web.templating import page_router, render_page

router = page_router()
router.include_router(tiles_router)
ReaderDep = Annotated[ConsoleUser, Depends(require_page(Permission.READ_DATA))]
SaverDep = Annotated[ConsoleUser, Depends(require_page(Permission.SAVE_ANALYSES))]

FormStr = Annotated[str, Form()]
MSG_CSRF = N_("This form has expired. Please try again.")
WIDE_KINDS = ("trends", "retention", "paths", "lifecycle")  # tiles two columns wide
EXPLORER_KINDS = ("trends", "funnel", "retention", "paths", "lifecycle", "rfm")


def viewer_of(user: ConsoleUser) -> Viewer:
    return Viewer(user.user_id, user.role)


def _csrf_ok(user: ConsoleUser, token: str) -> bool:
    return user.session.csrf_matches(token)


def _expired(request: Request, user: ConsoleUser) -> HTMLResponse:
    return error_page(
        request, 403, text=ErrorText(SERVER_ERROR.title, MSG_CSRF), language=user.language
    )


def explorer_url(insight: service.InsightInfo, query: dict[str, Any] | None = None) -> str:
    """The explorer showing an insight's query (as it runs now, when given)."""
    body = query or insight.query
    if insight.kind not in EXPLORER_KINDS:
        return f"/insights/{insight.id}"
    params = form_params(form_from_query(body))
    return f"/analysis/{insight.kind}?" + urlencode([*params, ("insight", str(insight.id))])


@router.post("/insights")
def save_insight(
    request: Request,
    state: StateDep,
    user: SaverDep,
    name: FormStr = "",
    query: FormStr = "",
    csrf_token: FormStr = "",
    shared: FormStr = "",
    rolling: FormStr = "",
    dashboard: FormStr = "",
    new_dashboard: FormStr = "",
    next_path: Annotated[str, Form(alias="next")] = "/insights",
) -> Response:
    """Save the explorer's query; with `dashboard` (an id, or "new" and `new_dashboard`), pin it
    there and go to that dashboard."""
    if not _csrf_ok(user, csrf_token):
        return _expired(request, user)
    try:
        body = orjson.loads(query)
    except orjson.JSONDecodeError:
        raise InvalidInput("the query is not JSON", "query") from None
    ws, viewer = user.workspace, viewer_of(user)
    with work_as(state, user.who) as s:
        insight = service.create_insight(
            s, ws.id, viewer, name, body, shared=bool(shared), rolling=bool(rolling)
        )
        target = None
        if dashboard == "new":
            board = boards.create_dashboard(s, ws.id, viewer, new_dashboard, shared=bool(shared))
            target = board.id
        elif dashboard.isdigit():
            target = int(dashboard)
        if target is not None:
            width = 2 if insight.kind in WIDE_KINDS else 1
            boards.pin(s, ws.id, viewer, target, insight.id, width=width)
    if target is not None:
        return RedirectResponse(f"/dashboards/{target}?pinned={insight.id}", status_code=303)
    back = safe_next(next_path, "/insights")
    joiner = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{joiner}saved={insight.id}", status_code=303)


@router.get("/insights", response_class=HTMLResponse)
def insights_page(request: Request, state: StateDep, user: ReaderDep) -> HTMLResponse:
    with state.db.session() as s:
        found = service.list_insights(s, user.workspace.id, viewer_of(user))
    return render_page(
        request,
        user,
        "insights/list.html",
        {"insights": found, "open_url": explorer_url, "viewer": viewer_of(user)},
        nav="insights",
    )


@router.get("/insights/export.{fmt}")
def export_insights(state: StateDep, user: ReaderDep, fmt: str) -> Response:
    with state.db.session() as s:
        found = service.list_insights(s, user.workspace.id, viewer_of(user))
    t = translator(user.language)
    table = ExportTable(
        f"insights-{user.workspace.name}",
        (
            Column(t(N_("Name"))),
            Column(t(N_("Analysis"))),
            Column(t(N_("Shared")), "text"),
            Column(t(N_("Updated")), "datetime"),
            Column(t(N_("Query"))),
        ),
        [
            (
                i.name,
                i.kind,
                t(N_("Yes")) if i.shared else t(N_("No")),
                i.updated_at,
                orjson.dumps(i.query).decode(),
            )
            for i in found
        ],
        timezone=user.workspace.timezone,
        sheet=t(N_("Saved insights")),
    )
    return export_response(table, fmt)


@router.get("/insights/{insight_id}")
def open_insight(state: StateDep, user: ReaderDep, insight_id: int) -> RedirectResponse:
    ws = user.workspace
    with state.db.session() as s:
        insight = service.get_insight(s, ws.id, viewer_of(user), insight_id)
    query = service.rolled(insight, latest_day(state.store, ws.id, ws.timezone))
    return RedirectResponse(explorer_url(insight, query), status_code=303)


@router.post("/insights/{insight_id}/delete")
def delete_insight(
    request: Request,
    state: StateDep,
    user: SaverDep,
    insight_id: int,
    csrf_token: FormStr = "",
) -> Response:
    if not _csrf_ok(user, csrf_token):
        return _expired(request, user)
    with work_as(state, user.who) as s:
        service.delete_insight(s, user.workspace.id, viewer_of(user), insight_id)
    return RedirectResponse("/insights", status_code=303)


@router.get("/dashboards", response_class=HTMLResponse)
def dashboards_page(request: Request, state: StateDep, user: ReaderDep) -> HTMLResponse:
    with state.db.session() as s:
        found = boards.list_dashboards(s, user.workspace.id, viewer_of(user))
    return render_page(
        request, user, "insights/dashboards.html", {"dashboards": found}, nav="dashboards"
    )


@router.post("/dashboards")
def create_dashboard(
    request: Request,
    state: StateDep,
    user: SaverDep,
    name: FormStr = "",
    shared: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    if not _csrf_ok(user, csrf_token):
        return _expired(request, user)
    with work_as(state, user.who) as s:
        board = boards.create_dashboard(
            s, user.workspace.id, viewer_of(user), name, shared=bool(shared)
        )
    return RedirectResponse(f"/dashboards/{board.id}", status_code=303)


@router.get("/dashboards/{dashboard_id}", response_class=HTMLResponse)
def dashboard_page(
    request: Request, state: StateDep, user: ReaderDep, dashboard_id: int
) -> HTMLResponse:
    viewer = viewer_of(user)
    with state.db.session() as s:
        board = boards.get_dashboard(s, user.workspace.id, viewer, dashboard_id)
        others = boards.list_dashboards(s, user.workspace.id, viewer)
    return render_page(
        request,
        user,
        "insights/dashboard.html",
        {
            "board": board,
            "tiles": board.tiles,
            "dashboards": others,
            "editable": viewer.may_edit(board.owner_id),
            "pinned": request.query_params.get("pinned"),
            "last_day": latest_day(state.store, user.workspace.id, user.workspace.timezone),
        },
        nav="dashboards",
    )


@router.post("/dashboards/{dashboard_id}/{action}")
def change_dashboard(
    request: Request,
    state: StateDep,
    user: SaverDep,
    dashboard_id: int,
    action: str,
    csrf_token: FormStr = "",
    insight_id: FormStr = "",
    position: FormStr = "",
    name: FormStr = "",
    shared: FormStr = "",
) -> Response:
    """The dashboard page's buttons: unpin, move (to `position`), rename, share, delete."""
    if not _csrf_ok(user, csrf_token):
        return _expired(request, user)
    ws, viewer = user.workspace, viewer_of(user)
    back = f"/dashboards/{dashboard_id}"
    with work_as(state, user.who) as s:
        if action == "unpin":
            boards.unpin(s, ws.id, viewer, dashboard_id, _number(insight_id, "insight_id"))
        elif action == "move":
            boards.move(
                s,
                ws.id,
                viewer,
                dashboard_id,
                _number(insight_id, "insight_id"),
                _number(position, "position"),
            )
        elif action == "rename":
            boards.update_dashboard(s, ws.id, viewer, dashboard_id, name=name)
        elif action == "share":
            boards.update_dashboard(s, ws.id, viewer, dashboard_id, shared=shared == "1")
        elif action == "delete":
            boards.delete_dashboard(s, ws.id, viewer, dashboard_id)
            back = "/dashboards"
        else:
            raise InvalidInput(f"unknown dashboard action {action!r}", "action")
    return RedirectResponse(back, status_code=303)


def _number(text: str, field: str) -> int:
    if not text.strip().isdigit():
        raise InvalidInput(f"{field} must be a whole number", field)
    return int(text)
