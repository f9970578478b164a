"""Settings → Audit log: every change in the workspace, newest first, filtered by action, actor,
kind of thing and days, page by page, and as CSV or Excel."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from opsloop.accounts.permissions import Permission
from opsloop.audit.api import parse_cursor
from opsloop.audit.service import (
    MAX_LIMIT,
    AuditFilter,
    AuditRecord,
    actions_in,
    list_entries,
)
from opsloop.errors import InvalidInput
from opsloop.web.access import require_page
from opsloop.web.console_user import ConsoleUser
from opsloop.web.deps import StateDep
from opsloop.web.export import Column, ExportTable, export_response
from opsloop.web.i18n import N_, translate
from opsloop.web.templating import page_router, render_page

router = page_router()
AuditDep = Annotated[ConsoleUser, Depends(require_page(Permission.READ_AUDIT))]
PAGE_SIZE = 50
EXPORT_LIMIT = 10_000
MSG_BAD_DAY = N_("Enter dates as YYYY-MM-DD.")

# How the console names each action (message ids). A module that records a new action adds its
# name here; an action without one is shown as recorded.
ACTION_LABELS = {
    "workspace.created": N_("Workspace created"),
    "workspace.updated": N_("Workspace settings changed"),
    "ingest_key.rotated": N_("Ingest key replaced"),
    "member.added": N_("Member added"),
    "member.role_changed": N_("Role changed"),
    "member.removed": N_("Member removed"),
    "token.created": N_("API token created"),
    "token.revoked": N_("API token revoked"),
    "user.password_changed": N_("Password changed"),
    "user.password_set": N_("Password set (CLI)"),
    "user.language_changed": N_("Language changed"),
    "segment.created": N_("Segment saved"),
    "segment.updated": N_("Segment changed"),
    "segment.deleted": N_("Segment deleted"),
    "insight.created": N_("Insight saved"),
    "insight.changed": N_("Insight changed"),
    "insight.deleted": N_("Insight deleted"),
    "dashboard.created": N_("Dashboard created"),
    "dashboard.changed": N_("Dashboard changed"),
    "dashboard.deleted": N_("Dashboard deleted"),
    "import.finished": N_("Events imported"),
    "property.materialized": N_("Property materialized"),
    "property.unmaterialized": N_("Property no longer materialized"),
    "metric.created": N_("Metric defined"),
    "metric.changed": N_("Metric changed"),
    "metric.deleted": N_("Metric deleted"),
    "spend.imported": N_("Acquisition spend uploaded"),
    "spend.deleted": N_("Acquisition spend deleted"),
}
VIA_LABELS = {
    "console": N_("Console"),
    "api": N_("REST API"),
    "cli": N_("Command line"),
    "system": N_("System"),
}


def action_label(language: str, action: str) -> str:
    label = ACTION_LABELS.get(action)
    return translate(language, label) if label else action


def value_text(value: Any) -> str:
    """A before/after value as one line of text."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _day(text: str | None, field: str) -> date | None:
    if not text or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("enter dates as YYYY-MM-DD", field) from None


def page_filter(
    tz: str,
    action: str | None,
    actor: str | None,
    entity_type: str | None,
    day_from: str | None,
    day_to: str | None,
) -> AuditFilter:
    """The filter of the page's form: days are whole days in the workspace's time zone."""
    first, last = _day(day_from, "from"), _day(day_to, "to")
    zone = ZoneInfo(tz)

    def start(day: date) -> datetime:
        return datetime.combine(day, time(0), zone)

    return AuditFilter(
        action=(action or "").strip() or None,
        actor=(actor or "").strip() or None,
        entity_type=(entity_type or "").strip() or None,
        after=start(first) if first else None,
        before=start(last + timedelta(days=1)) if last and last < date.max else None,
    )


FromQuery = Annotated[str | None, Query(alias="from")]
ToQuery = Annotated[str | None, Query(alias="to")]
TextQuery = Annotated[str | None, Query(max_length=400)]


@router.get("/settings/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    state: StateDep,
    user: AuditDep,
    action: TextQuery = None,
    actor: TextQuery = None,
    entity_type: TextQuery = None,
    day_from: FromQuery = None,
    day_to: ToQuery = None,
    cursor: str | None = None,
) -> HTMLResponse:
    ws = user.workspace
    filters = {
        k: v.strip()
        for k, v in (
            ("action", action),
            ("actor", actor),
            ("entity_type", entity_type),
            ("from", day_from),
            ("to", day_to),
        )
        if v and v.strip()
    }
    problem = None
    entries: list[AuditRecord] = []
    nxt = None
    try:
        flt = page_filter(ws.timezone, action, actor, entity_type, day_from, day_to)
        with state.db.session() as s:
            entries, nxt = list_entries(
                s, ws.id, flt, limit=PAGE_SIZE, before_id=parse_cursor(cursor)
            )
    except InvalidInput as exc:
        problem = exc.field
    with state.db.session() as s:
        actions = actions_in(s, ws.id)
    query = urlencode(filters)
    context: dict[str, Any] = {
        "entries": entries,
        "filters": filters,
        "actions": [(a, action_label(user.language, a)) for a in actions],
        "entity_types": sorted({a.split(".")[0] for a in actions}),
        "label": lambda a: action_label(user.language, a),
        "vias": VIA_LABELS,
        "value_text": value_text,
        "problem": problem,
        "is_first_page": cursor is None,
        "older_url": (
            "/settings/audit?" + urlencode({**filters, "cursor": str(nxt)}) if nxt else None
        ),
        "newest_url": "/settings/audit" + (f"?{query}" if query else ""),
        "export_csv_url": "/settings/audit/export.csv" + (f"?{query}" if query else ""),
        "export_xlsx_url": "/settings/audit/export.xlsx" + (f"?{query}" if query else ""),
    }
    return render_page(
        request,
        user,
        "settings/audit.html",
        context,
        nav="settings-audit",
        status_code=400 if problem else 200,
    )


@router.get("/settings/audit/export.{fmt}")
def export_audit(
    state: StateDep,
    user: AuditDep,
    fmt: str,
    action: TextQuery = None,
    actor: TextQuery = None,
    entity_type: TextQuery = None,
    day_from: FromQuery = None,
    day_to: ToQuery = None,
) -> Response:
    """The entries matching the filters (the newest EXPORT_LIMIT), times in the workspace's zone,
    before and after as JSON."""
    ws = user.workspace
    flt = page_filter(ws.timezone, action, actor, entity_type, day_from, day_to)
    entries: list[AuditRecord] = []
    cursor: int | None = None
    with state.db.session() as s:
        while len(entries) < EXPORT_LIMIT:
            page, cursor = list_entries(s, ws.id, flt, limit=MAX_LIMIT, before_id=cursor)
            entries += page
            if cursor is None:
                break
    entries = entries[:EXPORT_LIMIT]
    lang = user.language

    def json_text(value: dict[str, Any] | None) -> str | None:
        return None if value is None else orjson.dumps(value).decode()

    table = ExportTable(
        f"audit-log-{ws.name}",
        (
            Column("at", "datetime"),
            Column("actor"),
            Column("via"),
            Column("ip"),
            Column("action"),
            Column("description"),
            Column("entity_type"),
            Column("entity_id"),
            Column("before"),
            Column("after"),
        ),
        [
            (
                e.at,
                e.actor,
                e.via,
                e.ip,
                e.action,
                action_label(lang, e.action),
                e.entity_type,
                e.entity_id,
                json_text(e.before),
                json_text(e.after),
            )
            for e in entries
        ],
        timezone=ws.timezone,
        sheet=translate(lang, N_("Audit log")),
    )
    return export_response(table, fmt)
