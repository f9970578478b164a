"""The overview page (概览), the console's home: key metrics with their changes and sparklines,
and the workspace's recent activity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from opsloop.accounts.permissions import Permission
from opsloop.insights.access import Viewer
from opsloop.insights.dashboards import list_dashboards
from opsloop.overview.activity import recent_activity
from opsloop.overview.kpis import Kpi, key_metrics
from opsloop.web import formatting
from opsloop.web.access import require_page
from opsloop.web.charts.sparkline import sparkline
from opsloop.web.console_user import ConsoleUser
from opsloop.web.deps import StateDep
from opsloop.web.i18n import translate
from opsloop.web.templating import page_router, render_page

router = page_router()
ReaderDep = Annotated[ConsoleUser, Depends(require_page(Permission.READ_DATA))]


def value_text(kpi: Kpi, language: str) -> Callable[[float | None], str]:
    """How a KPI's values are written: compact counts, shares, yuan."""
    if kpi.definition.format == "percent":
        return lambda v: formatting.percent(v, language, 2)
    if kpi.definition.format == "money":
        return lambda v: formatting.money(v, language)
    return lambda v: formatting.compact(v, language)


@router.get("/overview", response_class=HTMLResponse)
def overview(request: Request, state: StateDep, user: ReaderDep) -> HTMLResponse:
    ws, lang = user.workspace, user.language
    kpis = key_metrics(state, ws)
    cards = [
        {
            "kpi": kpi,
            "text": value_text(kpi, lang)(kpi.value),
            "exact": formatting.number(
                kpi.value, lang, 2 if kpi.definition.format != "count" else None
            ),
            "spark": sparkline(
                kpi.days,
                kpi.values,
                lang,
                translate(lang, kpi.definition.name),
                value_text(kpi, lang),
            ),
        }
        for kpi in kpis
    ]
    with state.db.session() as s:
        boards = list_dashboards(s, ws.id, Viewer(user.user_id, user.role))
    return render_page(
        request,
        user,
        "overview/page.html",
        {
            "cards": cards,
            "report_day": kpis[0].days[-1],
            "activity": recent_activity(state, ws, user.user_id),
            "dashboards": boards[:6],
        },
        nav="overview",
    )
