"""The acquisition spend table in the console (指标 → 投放花费, /metrics/spend): the table behind
the `ad_spend` and `cac` metrics, per channel and day, shown page by page, filtered, exported,
uploaded as CSV (every refused line listed with its reason; nothing is stored while any line is
refused) and deleted by channel and dates — the same service, audit log and permissions as
`/api/v1/spend` (reading: viewers; uploading and deleting: operators)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from opsloop.accounts.permissions import Permission
from opsloop.analytics.catalog.api import MAX_SPEND_BYTES
from opsloop.analytics.catalog.definitions import SpendRow
from opsloop.analytics.catalog.spend import (
    MAX_ROWS,
    check_rows,
    check_spend_csv,
    delete_spend,
    import_spend,
    spend_rows,
    workspace_currency,
)
from opsloop.errors import InvalidInput, OpsLoopError
from opsloop.explorers.spend_report import (
    SpendFilter,
    UploadReport,
    channel_summary,
    check_upload,
    other_currency,
    reason,
    spend_problem,
)
from opsloop.web.access import require_page, work_as
from opsloop.web.console_user import ConsoleUser
from opsloop.web.deps import StateDep
from opsloop.web.export import Column, ExportTable, export_response
from opsloop.web.forms import Problem, csrf_failed
from opsloop.web.i18n import N_, translate
from opsloop.web.templating import page_router, render_page

router = page_router()
ReaderDep = Annotated[ConsoleUser, Depends(require_page(Permission.READ_DATA))]
# Spend is imported data, as for POST /api/v1/spend.
ImporterDep = Annotated[ConsoleUser, Depends(require_page(Permission.IMPORT_EVENTS))]
PAGE_SIZE = 100
MB = 1024 * 1024
MSG_DELETED = N_("%(n)s spend rows deleted.")
MSG_CONFIRM = N_("Tick the box to confirm the deletion.")
FromQuery = Annotated[str | None, Query(alias="from", max_length=40)]
ToQuery = Annotated[str | None, Query(alias="to", max_length=40)]
ChannelQuery = Annotated[str | None, Query(max_length=200)]


def _page(
    request: Request,
    state: StateDep,
    user: ConsoleUser,
    flt: SpendFilter,
    *,
    page: int = 0,
    report: UploadReport | None = None,
    problem: Problem | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    ws = user.workspace
    with state.db.session() as s:
        everything = spend_rows(s, ws.id)
        currency = workspace_currency(s, ws.id)
        shown = _rows(state, ws.id, flt) if flt.valid else []
    shown.reverse()  # newest first
    query = flt.params()
    context: dict[str, Any] = {
        "summary": channel_summary(everything),
        "channels": sorted({r.channel for r in everything}),
        "rows": shown[page * PAGE_SIZE : (page + 1) * PAGE_SIZE],
        "row_count": len(shown),
        "page": page,
        "pages": max(1, -(-len(shown) // PAGE_SIZE)),
        "page_url": lambda n: "/metrics/spend?" + urlencode({**query, "page": n}),
        "currency": currency,
        "flt": flt,
        "export_query": urlencode(query),
        "report": report,
        "problem": problem,
        "notice": notice,
        "max_rows": MAX_ROWS,
        "max_mb": MAX_SPEND_BYTES // MB,
        "reason": lambda row: reason(row, user.language),
        "may_import": user.can(Permission.IMPORT_EVENTS),
    }
    return render_page(
        request, user, "explorers/spend.html", context, nav="metrics", status_code=status_code
    )


def _rows(state: StateDep, workspace_id: int, flt: SpendFilter) -> list[SpendRow]:
    with state.db.session() as s:
        return spend_rows(s, workspace_id, flt.first, flt.last, flt.channel)


@router.get("/metrics/spend", response_class=HTMLResponse)
def spend_page(
    request: Request,
    state: StateDep,
    user: ReaderDep,
    channel: ChannelQuery = None,
    day_from: FromQuery = None,
    day_to: ToQuery = None,
    page: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    flt = SpendFilter.read(channel, day_from, day_to)
    problem = flt.problem(user.language)
    return _page(
        request, state, user, flt, page=page, problem=problem, status_code=400 if problem else 200
    )


@router.get("/metrics/spend/export.{fmt}")
def export_spend(
    state: StateDep,
    user: ReaderDep,
    fmt: str,
    channel: ChannelQuery = None,
    day_from: FromQuery = None,
    day_to: ToQuery = None,
) -> Response:
    """The spend rows the page's filter shows (all of them, not one page), oldest first."""
    flt = SpendFilter.read(channel, day_from, day_to)
    if not flt.valid:
        raise InvalidInput("enter dates as YYYY-MM-DD", flt.bad_field)
    with state.db.session() as s:
        currency = workspace_currency(s, user.workspace.id) or ""
    rows = _rows(state, user.workspace.id, flt)

    def t(text: str) -> str:
        return translate(user.language, text)

    spend_header = t(N_("Spend")) + (f" ({currency})" if currency else "")
    table = ExportTable(
        name="acquisition-spend",
        columns=(
            Column(t(N_("Date")), "date"),
            Column(t(N_("Channel"))),
            Column(spend_header, "number"),
        ),
        rows=[(r.day, r.channel, r.spend) for r in rows],
    )
    return export_response(table, fmt)


@router.get("/metrics/spend/channels.{fmt}")
def export_channel_totals(state: StateDep, user: ReaderDep, fmt: str) -> Response:
    """The page's per-channel totals: days, first and last day, total spend."""
    with state.db.session() as s:
        rows = spend_rows(s, user.workspace.id)
        currency = workspace_currency(s, user.workspace.id) or ""

    def t(text: str) -> str:
        return translate(user.language, text)

    total = t(N_("Total spend")) + (f" ({currency})" if currency else "")
    table = ExportTable(
        name="acquisition-spend-by-channel",
        columns=(
            Column(t(N_("Channel"))),
            Column(t(N_("Days")), "integer"),
            Column(t(N_("From")), "date"),
            Column(t(N_("To")), "date"),
            Column(total, "number"),
        ),
        rows=[(c.channel, c.days, c.first, c.last, c.total) for c in channel_summary(rows)],
    )
    return export_response(table, fmt)


async def _upload(request: Request) -> tuple[str, str, bytes]:
    """The form's CSRF token, the file's name and its bytes: the chosen file, else the pasted
    text (one byte past the limit at most, to tell that it is too large)."""
    form = await request.form(max_files=1, max_fields=10, max_part_size=MAX_SPEND_BYTES + 1)
    file, pasted = form.get("file"), form.get("text")
    if isinstance(file, UploadFile) and file.filename:
        return (
            str(form.get("csrf_token") or ""),
            file.filename,
            await file.read(MAX_SPEND_BYTES + 1),
        )
    data = pasted.encode() if isinstance(pasted, str) else b""
    return str(form.get("csrf_token") or ""), "", data


@router.post("/metrics/spend", response_class=HTMLResponse)
async def upload_spend(request: Request, state: StateDep, user: ImporterDep) -> Response:
    """Upload a CSV of channel, date, spend (and currency); the report says what was stored or
    lists every refused line (then nothing is stored)."""
    csrf, filename, data = await _upload(request)
    if (expired := csrf_failed(request, user, csrf)) is not None:
        return expired
    ws, flt = user.workspace, SpendFilter()
    report = UploadReport(filename)
    try:
        rows, refused = check_spend_csv(check_upload(data, MAX_SPEND_BYTES))
        report = UploadReport(filename, read=len(rows) + len(refused), refused=refused)
        if refused:
            return _page(request, state, user, flt, report=report, status_code=400)
        check_rows(rows)
        with state.db.session() as s:
            stored_currency = workspace_currency(s, ws.id)
        if stored_currency is not None and stored_currency != rows[0].currency:
            problem = other_currency(user.language, stored_currency, rows[0].currency)
            return _page(request, state, user, flt, report=report, problem=problem, status_code=400)
        with work_as(state, user.who) as s:
            stored = import_spend(s, ws.id, rows)
    except OpsLoopError as exc:
        problem = spend_problem(exc, user.language, MAX_ROWS, MAX_SPEND_BYTES // MB)
        return _page(request, state, user, flt, report=report, problem=problem, status_code=400)
    report = replace(report, stored=stored).with_days(rows)
    return _page(request, state, user, flt, report=report)


@router.post("/metrics/spend/delete", response_class=HTMLResponse)
async def delete_spend_rows(request: Request, state: StateDep, user: ImporterDep) -> Response:
    """Delete the rows of a channel and / or dates (both ends included); all rows when neither
    is given. The form's box must be ticked."""
    form = await request.form()
    text = {k: str(form.get(k) or "") for k in ("csrf_token", "channel", "from", "to", "confirm")}
    if (expired := csrf_failed(request, user, text["csrf_token"])) is not None:
        return expired
    flt = SpendFilter.read(text["channel"], text["from"], text["to"])
    problem = flt.problem(user.language)
    if problem is None and not text["confirm"]:
        problem = Problem(translate(user.language, MSG_CONFIRM), "confirm")
    if problem is not None:
        return _page(request, state, user, flt, problem=problem, status_code=400)
    with work_as(state, user.who) as s:
        n = delete_spend(s, user.workspace.id, flt.first, flt.last, flt.channel)
    notice = translate(user.language, MSG_DELETED) % {"n": n}
    return _page(request, state, user, SpendFilter(), notice=notice)
