"""A dashboard's tiles, each loaded on its own: the dashboard page shows at once with a loading
state per tile, and each tile's chart arrives from /dashboards/<id>/tiles/<insight id> (its
query run then); without JavaScript the same chart comes as an SVG image drawn on the server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response

from opsloop.accounts.permissions import Permission
from opsloop.errors import NotFound, OpsLoopError
from opsloop.explorers.explorer import Outcome, build_outcome, catalog_names
from opsloop.explorers.params import form_from_query
from opsloop.insights import dashboards as boards
from opsloop.insights.access import Viewer
from opsloop.insights.runner import run_insight
from opsloop.web.access import require_page
from opsloop.web.charts import Chart, render
from opsloop.web.console_user import ConsoleUser
from opsloop.web.deps import StateDep
from opsloop.web.templating import SECURITY_HEADERS, Formatter, page_router
from opsloop.web.templating import environment as template_environment

router = page_router()
ReaderDep = Annotated[ConsoleUser, Depends(require_page(Permission.READ_DATA))]
CHARTED_KINDS = ("trends", "funnel", "retention", "paths", "lifecycle", "rfm")


@dataclass(frozen=True, slots=True)
class TileView:
    """A tile's content: its chart, or why its query could not run."""

    tile: boards.Tile
    chart: Chart | None
    problem: str | None


def tile_of(state: StateDep, user: ConsoleUser, dashboard_id: int, insight_id: int) -> boards.Tile:
    with state.db.session() as s:
        board = boards.get_dashboard(
            s, user.workspace.id, Viewer(user.user_id, user.role), dashboard_id
        )
    tile = next((t for t in board.tiles if t.insight.id == insight_id), None)
    if tile is None:
        raise NotFound(f"insight {insight_id} is not on this dashboard", "insight_id")
    return tile


def tile_view(state: StateDep, user: ConsoleUser, tile: boards.Tile) -> TileView:
    insight = tile.insight
    try:
        query, answer = run_insight(state, user.workspace, insight)
    except OpsLoopError as exc:
        return TileView(tile, None, exc.message)
    if insight.kind not in CHARTED_KINDS:
        return TileView(tile, None, None)
    form = form_from_query(query)
    names = None
    if any(s.metric for s in form.series):
        catalog = catalog_names(state, user.workspace.id)
        names = {k: zh if user.language == "zh-CN" else en for k, zh, en in catalog}
    outcome = build_outcome(Outcome(form, body=query), answer, user.language, names)
    return TileView(tile, outcome.chart, None)


@router.get("/dashboards/{dashboard_id}/tiles/{insight_id}", response_class=HTMLResponse)
def tile_fragment(
    request: Request, state: StateDep, user: ReaderDep, dashboard_id: int, insight_id: int
) -> HTMLResponse:
    """The tile's body (a fragment the dashboard page swaps in)."""
    view = tile_view(state, user, tile_of(state, user, dashboard_id, insight_id))
    html = (
        template_environment(user.language)
        .get_template("insights/_tile_body.html")
        .render(
            {
                "lang": user.language,
                "fmt": Formatter(user.language, user.workspace.timezone),
                "view": view,
            }
        )
    )
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@router.get("/dashboards/{dashboard_id}/tiles/{insight_id}/chart.{fmt}")
def tile_chart(
    state: StateDep, user: ReaderDep, dashboard_id: int, insight_id: int, fmt: str
) -> Response:
    """The tile's chart drawn on the server (SVG or PNG)."""
    if fmt not in ("svg", "png"):
        raise NotFound(f"no chart as {fmt!r}; use svg or png", "format")
    view = tile_view(state, user, tile_of(state, user, dashboard_id, insight_id))
    if view.chart is None:
        raise NotFound("this insight has no chart", "insight_id")
    body, media_type = render(view.chart, "png" if fmt == "png" else "svg")
    return Response(body, media_type=media_type, headers={"Cache-Control": "no-store"})
