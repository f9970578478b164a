"""The segment builder (/analysis/segments): compose a rule, see how many persons it picks and
who (paged, exported), save it as a saved segment, open a saved one; ?partial=1 answers only the
builder's body for in-place refreshes, as the explorers do."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsloop.accounts.permissions import Permission, allows
from opsloop.analytics.queries.rfm import SEGMENTS
from opsloop.analytics.segments.service import (
    SegmentInfo,
    create_segment,
    get_segment,
    list_segments,
)
from opsloop.errors import InvalidInput
from opsloop.events.activity import latest_day
from opsloop.explorers.apiview import api_view
from opsloop.explorers.explorer import run_body, vocabulary
from opsloop.explorers.pages import KIND_TITLES, OPERATORS, PERIODS
from opsloop.explorers.segment_form import (
    STAGES,
    SegmentForm,
    form_of_rule,
    form_rule,
    read_segment_form,
    segment_params,
)
from opsloop.users.search import common_keys
from opsloop.web.access import require_page, work_as
from opsloop.web.charts.lifecycle import STATUS_NAMES
from opsloop.web.charts.spec import translator
from opsloop.web.console_user import ConsoleUser
from opsloop.web.deps import StateDep
from opsloop.web.error_pages import SERVER_ERROR, ErrorText, error_page
from opsloop.web.export import Column, ExportTable, export_response
from opsloop.web.i18n import N_
from opsloop.web.templating import SECURITY_HEADERS, Formatter, page_router, render_page
from opsloop.web.templating import environment as template_environment

router = page_router()
ReaderDep = Annotated[ConsoleUser, Depends(require_page(Permission.READ_DATA))]
SaverDep = Annotated[ConsoleUser, Depends(require_page(Permission.SAVE_ANALYSES))]
FormStr = Annotated[str, Form()]
PAGE = 50
EXPORT_LIMIT = 10_000
ROW_TYPE_NAMES = {
    "person": N_("Person property"),
    "did": N_("Did"),
    "did_not": N_("Did not do"),
    "rfm_segment": N_("RFM segment"),
    "lifecycle": N_("Lifecycle stage"),
    "cohort": N_("Saved segment"),
}
MSG_CSRF = N_("This form has expired. Please try again.")


def _form(state: StateDep, user: ConsoleUser, params: list[tuple[str, str]]) -> SegmentForm:
    given = {k for k, _ in params}
    saved = dict(params).get("segment", "")
    if saved.isdigit() and not given & {"ct", "rule", "add", "remove"}:
        with state.db.session() as s:
            info = get_segment(s, user.workspace.id, int(saved))
        form = form_of_rule(info.rule or {"cohort": info.id})
    else:
        form = read_segment_form(params)
    form.as_of = (
        form.as_of
        or latest_day(state.store, user.workspace.id, user.workspace.timezone).isoformat()
    )
    return form


def _body(form: SegmentForm, limit: int, offset: int) -> dict[str, Any]:
    return {
        "kind": "segment",
        "rule": form_rule(form),
        "as_of": form.as_of,
        "limit": limit,
        "offset": offset,
    }


def builder_context(
    request: Request, state: StateDep, user: ConsoleUser
) -> tuple[dict[str, Any], int]:
    params = list(request.query_params.multi_items())
    problem, answer, body = None, None, None
    form = SegmentForm()
    try:
        form = _form(state, user, params)
        body = _body(form, PAGE, form.page * PAGE)
        answer = run_body(state, user.workspace, body)
    except InvalidInput as exc:
        problem = exc
    with state.db.session() as s:
        saved: list[SegmentInfo] = list_segments(s, user.workspace.id)
    query = urlencode(segment_params(form))
    members = answer["results"] if answer else []
    count = int(answer["count"]) if answer else 0
    context = {
        "kind": "segments",
        "kind_titles": KIND_TITLES,
        "form": form,
        "vocab": vocabulary(state, user.workspace.id),
        "row_types": ROW_TYPE_NAMES,
        "operators": OPERATORS,
        "periods": PERIODS,
        "stages": [(s, STATUS_NAMES[s]) for s in STAGES],
        "rfm_segments": [(zh, en) for zh, en, _ in SEGMENTS],
        "saved": saved,
        "problem": problem,
        "count": count,
        "members": members,
        "columns": common_keys([m["properties"] for m in members]),
        "rule_text": orjson.dumps(body["rule"], option=orjson.OPT_INDENT_2).decode()
        if body
        else "",
        "api": api_view(body, str(request.base_url), user.workspace.name) if body else None,
        "self_url": f"/analysis/segments?{query}",
        "export_csv_url": f"/analysis/segments/export.csv?{query}",
        "export_xlsx_url": f"/analysis/segments/export.xlsx?{query}",
        "previous_url": f"/analysis/segments?{query}&page={form.page - 1}" if form.page else None,
        "next_url": (
            f"/analysis/segments?{query}&page={form.page + 1}"
            if (form.page + 1) * PAGE < count
            else None
        ),
        "may_save": allows(user.role, Permission.SAVE_ANALYSES) and body is not None,
        "saved_id": request.query_params.get("saved"),
        "csrf_token": user.session.csrf,
    }
    return context, 400 if problem else 200


@router.get("/analysis/segments", response_class=HTMLResponse)
def segment_builder(request: Request, state: StateDep, user: ReaderDep) -> HTMLResponse:
    context, status = builder_context(request, state, user)
    if request.query_params.get("partial"):
        html = (
            template_environment(user.language)
            .get_template("explorers/_segments_body.html")
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
        request,
        user,
        "explorers/segments.html",
        context,
        nav="analysis-segments",
        status_code=status,
    )


@router.post("/analysis/segments")
def save_segment(
    request: Request,
    state: StateDep,
    user: SaverDep,
    name: FormStr = "",
    rule: FormStr = "",
    description: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    if not user.session.csrf_matches(csrf_token):
        return error_page(
            request, 403, text=ErrorText(SERVER_ERROR.title, MSG_CSRF), language=user.language
        )
    try:
        parsed = orjson.loads(rule)
    except orjson.JSONDecodeError:
        raise InvalidInput("the rule is not JSON", "rule") from None
    with work_as(state, user.who) as s:
        info = create_segment(
            s,
            user.workspace.id,
            name,
            rule=parsed,
            description=description,
            created_by=user.user_id,
        )
    return RedirectResponse(
        f"/analysis/segments?segment={info.id}&saved={info.id}", status_code=303
    )


@router.get("/analysis/segments/export.{fmt}")
def export_segment(request: Request, state: StateDep, user: ReaderDep, fmt: str) -> Response:
    """Every person the rule picks (up to 10,000), with their properties."""
    form = _form(state, user, list(request.query_params.multi_items()))
    answer = run_body(state, user.workspace, _body(form, EXPORT_LIMIT, 0))
    members = answer["results"]
    keys = common_keys([m["properties"] for m in members])
    t = translator(user.language)
    table = ExportTable(
        f"segment-{user.workspace.name}-{form.as_of}",
        (
            Column("distinct_id"),
            Column("person_id"),
            *(Column(k) for k in keys),
            Column(t(N_("Properties"))),
        ),
        [
            (
                m["distinct_id"],
                m["person_id"],
                *(_text(m["properties"].get(k)) for k in keys),
                orjson.dumps(m["properties"]).decode(),
            )
            for m in members
        ],
        timezone=user.workspace.timezone,
        sheet=t(N_("Segments")),
    )
    return export_response(table, fmt)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else orjson.dumps(value).decode()
