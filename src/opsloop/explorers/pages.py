"""Console pages of the explorers (分析): /analysis/<kind> with its form, chart, table and "view
as API"; ?partial=1 answers only the explorer's body (the page's script swaps it in place);
/analysis/<kind>/export.csv|xlsx and /analysis/<kind>/chart.svg|png give the same query's table
and chart as files."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsloop.accounts.permissions import Permission, allows
from opsloop.analytics.queries.rfm import SEGMENTS
from opsloop.errors import InvalidInput, NotFound
from opsloop.explorers.apiview import api_view
from opsloop.explorers.explorer import Outcome, Vocabulary, explore, run_body
from opsloop.explorers.forms import KINDS, RFM_PAGE, Params
from opsloop.explorers.params import form_params
from opsloop.explorers.tables import rfm_members_table
from opsloop.insights.access import Viewer
from opsloop.insights.dashboards import list_dashboards
from opsloop.web.access import require_page
from opsloop.web.charts import render
from opsloop.web.console_user import ConsoleUser
from opsloop.web.deps import StateDep
from opsloop.web.export import export_response
from opsloop.web.i18n import N_, translate
from opsloop.web.templating import SECURITY_HEADERS, Formatter, page_router, render_page
from opsloop.web.templating import environment as template_environment

router = page_router()
ReaderDep = Annotated[ConsoleUser, Depends(require_page(Permission.READ_DATA))]

KIND_TITLES = {
    "trends": N_("Trends"),
    "funnel": N_("Funnels"),
    "retention": N_("Retention"),
    "paths": N_("Paths"),
    "lifecycle": N_("Lifecycle"),
    "rfm": N_("RFM"),
}
KIND_DESCRIPTIONS = {
    "trends": N_("Events, users and amounts over time, by any property."),
    "funnel": N_("How many persons go through the steps in order, within the conversion window."),
    "retention": N_("Of the persons who started in a period, how many came back later."),
    "paths": N_("What persons do next, step by step."),
    "lifecycle": N_(
        "Each period's active persons: new, returning, resurrecting, and who went dormant."
    ),
    "rfm": N_("Customers layered by recency, frequency and monetary value (RFM 模型)."),
}
INTERVALS = {"hour": N_("Hour"), "day": N_("Day"), "week": N_("Week"), "month": N_("Month")}
PERIODS = {"day": N_("Day"), "week": N_("Week"), "month": N_("Month")}
WINDOW_UNITS = {"minute": N_("Minutes"), "hour": N_("Hours"), "day": N_("Days")}
OPERATORS = {
    "eq": N_("equals"),
    "neq": N_("does not equal"),
    "in": N_("is one of"),
    "not_in": N_("is not one of"),
    "gt": N_("greater than"),
    "gte": N_("at least"),
    "lt": N_("less than"),
    "lte": N_("at most"),
    "contains": N_("contains"),
    "not_contains": N_("does not contain"),
    "is_set": N_("is set"),
    "is_not_set": N_("is not set"),
}
MATH_LABELS = {
    "total": N_("Total events"),
    "unique_users": N_("Unique users"),
    "sum": N_("Sum"),
    "avg": N_("Average"),
    "min": N_("Minimum"),
    "max": N_("Maximum"),
}
EXPORT_LIMIT = 10_000  # RFM persons in one download
ROW_PARAMS = ("add", "remove", "partial", "table")


def _params(request: Request) -> Params:
    return [(k, v) for k, v in request.query_params.multi_items() if k not in ROW_PARAMS]


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound(f"no explorer {kind!r}", "kind")
    return kind


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _links(kind: str, outcome: Outcome) -> dict[str, str | None]:
    query = urlencode(form_params(outcome.form))
    base = f"/analysis/{kind}"
    links: dict[str, str | None] = {
        "self_url": f"{base}?{query}",
        "export_csv_url": f"{base}/export.csv?{query}",
        "export_xlsx_url": f"{base}/export.xlsx?{query}",
        "chart_svg_url": f"{base}/chart.svg?{query}",
        "chart_png_url": f"{base}/chart.png?{query}",
        "members_csv_url": f"{base}/export.csv?{query}&table=members",
        "members_xlsx_url": f"{base}/export.xlsx?{query}&table=members",
        "previous_page_url": None,
        "next_page_url": None,
    }
    if kind == "rfm" and outcome.answer is not None:
        page = outcome.form.page
        if page:
            links["previous_page_url"] = f"{base}?{query}&page={page - 1}"
        if (page + 1) * RFM_PAGE < _members_total(outcome):
            links["next_page_url"] = f"{base}?{query}&page={page + 1}"
    return links


def _members_total(outcome: Outcome) -> int:
    answer = outcome.answer or {}
    if not outcome.form.segment:
        return int(answer.get("count", 0))
    return next(
        (
            int(s["users"])
            for s in answer.get("summary", [])
            if outcome.form.segment in (s["segment"], s.get("segment_en"))
        ),
        0,
    )


def explorer_context(
    request: Request, user: ConsoleUser, kind: str, outcome: Outcome, vocab: Vocabulary
) -> dict[str, Any]:
    body = outcome.body
    saved = request.query_params.get("saved")
    return {
        "saved_id": int(saved) if saved and saved.isascii() and saved.isdigit() else None,
        "kind": kind,
        "kind_title": KIND_TITLES[kind],
        "kind_description": KIND_DESCRIPTIONS[kind],
        "kind_titles": KIND_TITLES,
        "outcome": outcome,
        "form": outcome.form,
        "vocab": vocab,
        "maths": MATH_LABELS,
        "intervals": INTERVALS,
        "periods": PERIODS,
        "window_units": WINDOW_UNITS,
        "operators": OPERATORS,
        "rfm_segments": [(zh, en) for zh, en, _ in SEGMENTS],
        "range_first": _day(outcome.form.date_from),
        "range_last": _day(outcome.form.date_to),
        "members_total": _members_total(outcome),
        "api": (
            api_view(body, str(request.base_url), user.workspace.name) if body is not None else None
        ),
        "save_form": body is not None,
        "csrf_token": user.session.csrf,
        **_links(kind, outcome),
    }


@router.get("/analysis")
def analysis_home(user: ReaderDep) -> RedirectResponse:
    return RedirectResponse("/analysis/trends", status_code=303)


@router.get("/analysis/{kind}", response_class=HTMLResponse)
def explorer_page(request: Request, state: StateDep, user: ReaderDep, kind: str) -> HTMLResponse:
    kind = _kind(kind)
    outcome, vocab = explore(
        state, user.workspace, kind, list(request.query_params.multi_items()), user.language
    )
    context = explorer_context(request, user, kind, outcome, vocab)
    with state.db.session() as s:
        context["dashboards"] = list_dashboards(
            s, user.workspace.id, Viewer(user.user_id, user.role)
        )
    context["may_save"] = allows(user.role, Permission.SAVE_ANALYSES)
    status = 400 if outcome.problem else 200
    if request.query_params.get("partial"):
        html = (
            template_environment(user.language)
            .get_template("explorers/_body.html")
            .render(
                {
                    "lang": user.language,
                    "fmt": Formatter(user.language, user.workspace.timezone),
                    **context,
                }
            )
        )
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    return render_page(
        request, user, "explorers/page.html", context, nav=f"analysis-{kind}", status_code=status
    )


def _answered(request: Request, state: StateDep, user: ConsoleUser, kind: str) -> Outcome:
    """The explorer's outcome for a download: a query that cannot run is a 4xx."""
    outcome, _ = explore(state, user.workspace, _kind(kind), _params(request), user.language)
    if outcome.problem is not None:
        raise outcome.problem
    if outcome.answer is None:
        raise InvalidInput(translate("en", outcome.missing or N_("Nothing to show")), "step")
    return outcome


@router.get("/analysis/{kind}/export.{fmt}")
def explorer_export(
    request: Request, state: StateDep, user: ReaderDep, kind: str, fmt: str
) -> Response:
    """The results table as CSV or Excel; `table=members` gives RFM's persons (up to 10,000)."""
    outcome = _answered(request, state, user, kind)
    ws = user.workspace
    form = outcome.form
    table = outcome.table
    name = f"{kind}-{ws.name}-{form.date_from}-{form.date_to}"
    if kind == "rfm" and request.query_params.get("table") == "members":
        body = {**(outcome.body or {}), "limit": EXPORT_LIMIT, "offset": 0}
        table = rfm_members_table(run_body(state, ws, body), user.language)
        name = f"rfm-persons-{ws.name}-{form.date_to}"
    assert table is not None
    sheet = translate(user.language, KIND_TITLES[kind])
    return export_response(table.export(name, sheet, ws.timezone), fmt)


@router.get("/analysis/{kind}/chart.{fmt}")
def explorer_chart(
    request: Request, state: StateDep, user: ReaderDep, kind: str, fmt: str
) -> Response:
    """The chart drawn on the server from the same spec: SVG or PNG."""
    if fmt not in ("svg", "png"):
        raise NotFound(f"no chart as {fmt!r}; use svg or png", "format")
    outcome = _answered(request, state, user, kind)
    if outcome.chart is None:
        raise NotFound("this analysis has no chart", "kind")
    body, media_type = render(outcome.chart, "png" if fmt == "png" else "svg")
    filename = f"{kind}-{user.workspace.name}-{outcome.form.date_to}.{fmt}"
    return Response(
        body,
        media_type=media_type,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}",
        },
    )
