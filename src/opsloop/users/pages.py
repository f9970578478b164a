"""Console pages of persons: /users (search by distinct_id or person properties, with exports)
and /users/<distinct_id> (properties, distinct ids, saved segments, paged event timeline)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import orjson
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsloop.accounts.permissions import Permission
from opsloop.errors import NotFound
from opsloop.explorers.explorer import run_body
from opsloop.explorers.forms import FilterRow
from opsloop.explorers.pages import OPERATORS, PERIODS
from opsloop.users.profile import person_profile
from opsloop.users.search import ACTIVE_CHOICES, EXPORT_LIMIT, PAGE, find, read_search
from opsloop.web.access import require_page
from opsloop.web.charts.lifecycle import status_name
from opsloop.web.charts.rfm import segment_name
from opsloop.web.charts.spec import translator
from opsloop.web.console_user import ConsoleUser
from opsloop.web.deps import StateDep
from opsloop.web.error_pages import ErrorText, error_page, wants_html
from opsloop.web.export import Column, ExportTable, export_response
from opsloop.web.i18n import N_, translate
from opsloop.web.templating import page_router, render_page

router = page_router()
ReaderDep = Annotated[ConsoleUser, Depends(require_page(Permission.READ_DATA))]
TIMELINE_PAGE = 50
TIMELINE_EXPORT = 1000
PERSON_NOT_FOUND = ErrorText(
    N_("User not found"),
    N_("No person in this workspace has this distinct ID. Search the users to find the right one."),
)


def _params(request: Request) -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.query_params.multi_items() if k not in ("add", "remove")]


@router.get("/users", response_class=HTMLResponse, response_model=None)
def users_page(
    request: Request, state: StateDep, user: ReaderDep
) -> HTMLResponse | RedirectResponse:
    params = _params(request)
    search = read_search(params)
    if request.query_params.get("add") == "filter":
        search.filters.append(FilterRow())
    what, _, index = request.query_params.get("remove", "").partition(":")
    numbered = index.isascii() and index.isdigit()
    if what == "filter" and numbered and int(index) < len(search.filters):
        del search.filters[int(index)]
    found = find(state, user.workspace, search)
    if found.exact is not None and not search.filters:
        return RedirectResponse(f"/users/{quote(found.exact, safe='')}", status_code=303)
    query = urlencode([(k, v) for k, v in params if k != "page"])
    pages = {
        "previous": f"/users?{query}&page={search.page - 1}" if search.page else None,
        "next": (
            f"/users?{query}&page={search.page + 1}"
            if not search.text and (search.page + 1) * PAGE < found.total
            else None
        ),
    }
    return render_page(
        request,
        user,
        "users/search.html",
        {
            "search": search,
            "found": found,
            "operators": OPERATORS,
            "active_choices": ACTIVE_CHOICES,
            "pages": pages,
            "export_csv_url": f"/users/export.csv?{query}",
            "export_xlsx_url": f"/users/export.xlsx?{query}",
        },
        nav="users",
    )


@router.get("/users/export.{fmt}")
def export_users(request: Request, state: StateDep, user: ReaderDep, fmt: str) -> Response:
    """The persons found (up to 10,000) with every person property as JSON."""
    search = read_search(_params(request))
    search.page = 0
    found = find(state, user.workspace, search, limit=EXPORT_LIMIT)
    t = translator(user.language)
    table = ExportTable(
        f"users-{user.workspace.name}",
        (
            Column("distinct_id"),
            Column("person_id"),
            *(Column(k) for k in found.columns),
            Column(t(N_("Properties"))),
        ),
        [
            (
                did,
                pid,
                *(_cell(props.get(k)) for k in found.columns),
                orjson.dumps(props).decode(),
            )
            for did, pid, props in found.persons
        ],
        timezone=user.workspace.timezone,
        sheet=t(N_("Users")),
    )
    return export_response(table, fmt)


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _person(state: StateDep, user: ConsoleUser, distinct_id: str) -> dict[str, Any]:
    person = state.store.get_person(user.workspace.id, distinct_id)
    if person is None:
        raise NotFound(f"no person has the distinct_id {distinct_id!r}", "distinct_id")
    return person


@router.get("/users/{distinct_id}/events.{fmt}")
def export_timeline(state: StateDep, user: ReaderDep, distinct_id: str, fmt: str) -> Response:
    """The person's newest events (up to 1,000), times in the workspace's time zone."""
    _person(state, user, distinct_id)
    ws = user.workspace
    answer = run_body(
        state, ws, {"kind": "timeline", "distinct_id": distinct_id, "limit": TIMELINE_EXPORT}
    )
    table = ExportTable(
        f"user-{distinct_id}-events",
        (
            Column("timestamp", "datetime"),
            Column("event"),
            Column("distinct_id"),
            Column("uuid"),
            Column("properties"),
        ),
        [
            (
                datetime.fromisoformat(e["timestamp"]),
                e["event"],
                e["distinct_id"],
                e["uuid"],
                orjson.dumps(e["properties"]).decode(),
            )
            for e in answer["results"]
        ],
        timezone=ws.timezone,
        sheet=translate(user.language, N_("Event timeline")),
    )
    return export_response(table, fmt)


@router.get("/users/{distinct_id}", response_class=HTMLResponse)
def profile_page(
    request: Request,
    state: StateDep,
    user: ReaderDep,
    distinct_id: str,
    cursor: str | None = None,
) -> HTMLResponse:
    ws = user.workspace
    if state.store.get_person(ws.id, distinct_id) is None and wants_html(request):
        return error_page(
            request, 404, detail=distinct_id, text=PERSON_NOT_FOUND, language=user.language
        )
    person = _person(state, user, distinct_id)
    body: dict[str, Any] = {"kind": "timeline", "distinct_id": distinct_id, "limit": TIMELINE_PAGE}
    if cursor:
        body["cursor"] = cursor
    timeline = run_body(state, ws, body)
    profile = person_profile(state, ws, str(person["id"]), list(person["distinct_ids"]))
    rfm = profile.rfm.row
    base = f"/users/{quote(distinct_id, safe='')}"
    return render_page(
        request,
        user,
        "users/profile.html",
        {
            "person": person,
            "distinct_id": distinct_id,
            "properties": sorted(person["properties"].items()),
            "profile": profile,
            "segments": profile.segments,
            "rfm_segment": segment_name(rfm, user.language) if rfm else None,
            "periods": PERIODS,
            "stage_names": {
                st.interval: status_name(st.stage, user.language)
                for st in profile.stages
                if st.stage
            },
            "events": [_timeline_row(e) for e in timeline["results"]],
            "older_url": f"{base}?cursor={timeline['next']}" if timeline["next"] else None,
            "newest_url": base if cursor else None,
            "export_csv_url": f"{base}/events.csv",
            "export_xlsx_url": f"{base}/events.xlsx",
        },
        nav="users",
    )


def _timeline_row(event: dict[str, Any]) -> dict[str, Any]:
    props = event["properties"]
    shown = [(k, _cell(v) or "") for k, v in sorted(props.items()) if not k.startswith("$")][:4]
    return {
        "time": datetime.fromisoformat(event["timestamp"]),
        "event": event["event"],
        "distinct_id": event["distinct_id"],
        "properties": shown,
        "all": sorted((k, _cell(v) or "") for k, v in props.items()),
    }
