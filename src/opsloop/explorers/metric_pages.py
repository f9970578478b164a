"""The metric catalog in the console (指标): /metrics lists the built-in and workspace metrics
(searchable by text and kind), /metrics/{key} shows one metric's definition and its trend over
the last 30 days, and analysts define, edit and delete the workspace's own metrics through the
same catalog service (validation, audit log) as /api/v1/metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsloop.accounts.permissions import Permission
from opsloop.analytics.catalog import service
from opsloop.analytics.catalog.service import MetricInfo
from opsloop.errors import InvalidInput, OpsLoopError
from opsloop.events.activity import DayRange, latest_day
from opsloop.explorers.explorer import run_body, vocabulary
from opsloop.explorers.metric_form import (
    FIELD_LABELS,
    FORM_KINDS,
    FORMATS,
    KIND_NAMES,
    PROPERTY_KINDS,
    TEXT_INPUTS,
    MetricForm,
    definition_form,
    form_definition,
    metric_problem,
    read_metric_form,
)
from opsloop.explorers.metric_rows import edit_rows, without_blank_rows
from opsloop.explorers.pages import OPERATORS
from opsloop.web.access import require_page, work_as
from opsloop.web.charts import Chart, trends_chart
from opsloop.web.console_user import ConsoleUser
from opsloop.web.deps import StateDep
from opsloop.web.export import Column, ExportTable, export_response
from opsloop.web.forms import Problem, csrf_failed, notice
from opsloop.web.i18n import N_, translate
from opsloop.web.templating import page_router, render_page

router = page_router()
ReaderDep = Annotated[ConsoleUser, Depends(require_page(Permission.READ_DATA))]
# Defining metrics is an analyst's work, as for POST /api/v1/metrics.
DefinerDep = Annotated[ConsoleUser, Depends(require_page(Permission.SAVE_ANALYSES))]
FormStr = Annotated[str, Form()]
TREND_DAYS = 30
NOTICES = {
    "created": N_("The metric is defined."),
    "changed": N_("The metric's definition is saved."),
    "deleted": N_("The metric is deleted."),
}
FORM_FIELDS = TEXT_INPUTS


def _name(info: MetricInfo, language: str) -> str:
    return info.metric.name.zh_CN if language == "zh-CN" else info.metric.name.en


def _matches(info: MetricInfo, text: str) -> bool:
    m = info.metric
    haystack = [m.key, m.name.zh_CN, m.name.en, m.description.zh_CN, m.description.en]
    haystack.append(getattr(m, "formula", ""))
    return text.casefold() in " ".join(haystack).casefold()


@router.get("/metrics", response_class=HTMLResponse)
def metrics_page(
    request: Request,
    state: StateDep,
    user: ReaderDep,
    q: str = "",
    kind: str = "",
    source: str = "",
    done: str | None = None,
) -> HTMLResponse:
    with state.db.session() as s:
        infos = service.list_metrics(s, user.workspace.id)
    shown = _shown(infos, q, kind, source)
    search = urlencode({k: v for k, v in (("q", q), ("kind", kind), ("source", source)) if v})
    context = {
        "export_query": search,
        "metrics": shown,
        "total": len(infos),
        "q": q,
        "kind": kind,
        "source": source,
        "kind_names": KIND_NAMES,
        "format_names": FORMATS,
        "notice": notice(done, NOTICES, user.language),
        "may_define": user.can(Permission.SAVE_ANALYSES),
    }
    return render_page(request, user, "explorers/metrics.html", context, nav="metrics")


def _trend(
    state: StateDep, user: ConsoleUser, info: MetricInfo
) -> tuple[Chart | None, dict[str, Any] | None, Problem | None, DayRange]:
    ws = user.workspace
    days = DayRange.ending(latest_day(state.store, ws.id, ws.timezone), TREND_DAYS)
    body = {
        "kind": "trends",
        "series": [{"metric": info.metric.key}],
        "date_from": days.first.isoformat(),
        "date_to": days.last.isoformat(),
        "interval": "day",
    }
    try:
        answer = run_body(state, ws, body)
    except InvalidInput as exc:
        return None, None, metric_problem(exc, user.language), days
    chart = trends_chart(answer, user.language, names=[_name(info, user.language)])
    return chart, answer, None, days


def _shown(infos: list[MetricInfo], q: str, kind: str, source: str) -> list[MetricInfo]:
    return [
        i
        for i in infos
        if (not q.strip() or _matches(i, q.strip()))
        and (not kind or i.metric.kind == kind)
        and (not source or i.source == source)
    ]


@router.get("/metrics/export.{fmt}")
def export_metrics(
    state: StateDep, user: ReaderDep, fmt: str, q: str = "", kind: str = "", source: str = ""
) -> Response:
    """The catalog as the list shows it (same search), names and texts in the reader's
    language."""
    with state.db.session() as s:
        infos = _shown(service.list_metrics(s, user.workspace.id), q, kind, source)
    lang = user.language

    def t(text: str) -> str:
        return translate(lang, text)

    def text(value: Any) -> str:
        return str(value.zh_CN if lang == "zh-CN" else value.en)

    headers = ("Key", "Name", "Kind", "Unit", "Format", "Formula", "Parameters", "Description")
    table = ExportTable(
        "metrics",
        tuple(Column(t(h)) for h in (*headers, "Source")),
        [
            (
                i.metric.key,
                text(i.metric.name),
                t(KIND_NAMES[i.metric.kind]),
                text(i.metric.unit),
                t(FORMATS[i.metric.format]),
                getattr(i.metric, "formula", ""),
                ", ".join(i.parameters),
                text(i.metric.description),
                t(N_("Workspace") if i.source == "workspace" else N_("Built-in")),
            )
            for i in infos
        ],
        sheet=t(N_("Metrics")),
    )
    return export_response(table, fmt)


def trends_url(key: str, days: DayRange) -> str:
    """The trends explorer charting this metric over these days."""
    params = [("from", days.first.isoformat()), ("to", days.last.isoformat())]
    params += [("se", "$any"), ("sm", "total"), ("sp", ""), ("sk", key), ("interval", "day")]
    return f"/analysis/trends?{urlencode(params)}"


@router.get("/metrics/new", response_class=HTMLResponse)
def new_metric_page(request: Request, state: StateDep, user: DefinerDep) -> HTMLResponse:
    return _form_page(request, state, user, MetricForm(), None)


def _form_page(
    request: Request,
    state: StateDep,
    user: ConsoleUser,
    form: MetricForm,
    editing: MetricInfo | None,
    problem: Problem | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    kinds = list(FORM_KINDS)
    if editing is not None and editing.metric.kind not in kinds:
        kinds.append(editing.metric.kind)
    context = {
        "form": form,
        "editing": editing,
        "problem": problem,
        "kinds": kinds,
        "kind_names": KIND_NAMES,
        "format_names": FORMATS,
        "labels": FIELD_LABELS,
        "property_kinds": PROPERTY_KINDS,
        "operators": OPERATORS,
        "vocab": vocabulary(state, user.workspace.id),
    }
    return render_page(
        request, user, "explorers/metric_form.html", context, nav="metrics", status_code=status_code
    )


ROW_INPUTS = ("fp", "fo", "fv", "pn", "pz", "pe")


@dataclass(frozen=True, slots=True)
class Submitted:
    fields: dict[str, str]
    rows: list[tuple[str, str]]  # the repeated fields (filters, parameters) in order
    add: str
    remove: str

    def form(self, **override: str) -> tuple[MetricForm, bool]:
        """The form, its rows changed by the add / remove button if one sent it (True: show
        the form again, save nothing)."""
        form = read_metric_form({**self.fields, **override}, self.rows)
        if edit_rows(form.filters, form.parameters, self.add, self.remove):
            return form, True
        form.filters, form.parameters = without_blank_rows(form.filters, form.parameters)
        return form, False


async def _submitted(request: Request) -> Submitted:
    data = await request.form()
    fields = {k: str(v) for k, v in data.items() if k in FORM_FIELDS or k == "csrf_token"}
    rows = [(k, str(v)) for k, v in data.multi_items() if k in ROW_INPUTS]
    return Submitted(fields, rows, str(data.get("add") or ""), str(data.get("remove") or ""))


@router.post("/metrics/new", response_class=HTMLResponse)
async def create_metric(request: Request, state: StateDep, user: DefinerDep) -> Response:
    sent = await _submitted(request)
    if (expired := csrf_failed(request, user, sent.fields.get("csrf_token", ""))) is not None:
        return expired
    form, editing_rows = sent.form()
    if editing_rows:
        return _form_page(request, state, user, form, None)
    try:
        with work_as(state, user.who) as s:
            info = service.define_metric(
                s, user.workspace.id, form_definition(form), created_by=user.user_id
            )
    except OpsLoopError as exc:
        problem = metric_problem(exc, user.language, form)
        return _form_page(request, state, user, form, None, problem, exc.status)
    return RedirectResponse(f"/metrics/{info.metric.key}?done=created", status_code=303)


def _info(state: StateDep, user: ConsoleUser, key: str) -> MetricInfo:
    with state.db.session() as s:
        return service.get_metric(s, user.workspace.id, key)


@router.get("/metrics/{key}", response_class=HTMLResponse)
def metric_page(
    request: Request, state: StateDep, user: ReaderDep, key: str, done: str | None = None
) -> HTMLResponse:
    info = _info(state, user, key)
    chart, answer, problem, days = _trend(state, user, info)
    data = info.to_dict()
    context = {
        "info": info,
        "name": _name(info, user.language),
        "data": data,
        "definition_json": orjson.dumps(data["definition"], option=orjson.OPT_INDENT_2).decode(),
        "chart": chart,
        "total": answer["results"][0]["total"] if answer and answer["results"] else None,
        "problem": problem,
        "days": days,
        "trends_url": trends_url(info.metric.key, days),
        "kind_names": KIND_NAMES,
        "format_names": FORMATS,
        "notice": notice(done, NOTICES, user.language),
        "may_edit": info.source == "workspace" and user.can(Permission.SAVE_ANALYSES),
    }
    return render_page(request, user, "explorers/metric.html", context, nav="metrics")


@router.get("/metrics/{key}/edit", response_class=HTMLResponse)
def edit_metric_page(request: Request, state: StateDep, user: DefinerDep, key: str) -> Response:
    info = _info(state, user, key)
    if info.source != "workspace":
        return RedirectResponse(f"/metrics/{key}", status_code=303)
    return _form_page(request, state, user, definition_form(info.to_dict()["definition"]), info)


@router.post("/metrics/{key}/edit", response_class=HTMLResponse)
async def edit_metric(request: Request, state: StateDep, user: DefinerDep, key: str) -> Response:
    sent = await _submitted(request)
    if (expired := csrf_failed(request, user, sent.fields.get("csrf_token", ""))) is not None:
        return expired
    info = _info(state, user, key)
    form, editing_rows = sent.form(key=key)
    if editing_rows:
        return _form_page(request, state, user, form, info)
    try:
        definition = form_definition(form, info.to_dict()["definition"])
        with work_as(state, user.who) as s:
            service.replace_metric(s, user.workspace.id, key, definition)
    except OpsLoopError as exc:
        problem = metric_problem(exc, user.language, form)
        return _form_page(request, state, user, form, info, problem, exc.status)
    return RedirectResponse(f"/metrics/{key}?done=changed", status_code=303)


@router.post("/metrics/{key}/delete", response_class=HTMLResponse)
def delete_metric(
    request: Request, state: StateDep, user: DefinerDep, key: str, csrf_token: FormStr = ""
) -> Response:
    if (expired := csrf_failed(request, user, csrf_token)) is not None:
        return expired
    try:
        with work_as(state, user.who) as s:
            service.delete_metric(s, user.workspace.id, key)
    except OpsLoopError as exc:
        info = _info(state, user, key)
        problem = metric_problem(exc, user.language, deleting=True)
        form = definition_form(info.to_dict()["definition"])
        return _form_page(request, state, user, form, info, problem, exc.status)
    return RedirectResponse("/metrics?done=deleted", status_code=303)
