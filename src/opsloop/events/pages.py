"""Console pages of the event stream: live events (newest first, filtered, refreshed in place)
and event volume by type and day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opsloop.events.activity import event_names, event_volume
from opsloop.events.api import _decode_cursor, _encode_cursor
from opsloop.ingest.common import parse_timestamp
from opsloop.web.bar_chart import stacked_bars
from opsloop.web.console_user import ConsoleUser, ConsoleUserDep, ConsoleUserJsonDep
from opsloop.web.deps import StateDep
from opsloop.web.export import csv_response
from opsloop.web.i18n import N_
from opsloop.web.templating import Formatter, render_fragment, render_page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
FEED_LIMIT = 100
EXPORT_LIMIT = 10_000
VOLUME_DAYS = 30
# Shown beside the event when present, after the event's own (non-$) properties.
KEY_PROPERTIES = (
    "$current_url",
    "$screen_name",
    "$pathname",
    "$os",
    "$browser",
    "$device_type",
    "$app_version",
)
MAX_KEY_PROPERTIES = 3
MAX_VALUE_CHARS = 60
SOURCES = {
    "native": N_("Native API"),
    "posthog": "PostHog",
    "segment": "Segment",
    "sensors": N_("Sensors Data"),
    "opsloop": "OpsLoop",
    "import": N_("Import"),
}


@dataclass(frozen=True, slots=True)
class EventRow:
    uuid: str
    timestamp: datetime
    received_at: datetime
    event: str
    distinct_id: str
    key_properties: tuple[tuple[str, str], ...]
    properties: tuple[tuple[str, str], ...]
    source: str
    lib: str | None


def _display(value: Any, limit: int | None = None) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def event_row(raw: dict[str, Any]) -> EventRow:
    props: dict[str, Any] = raw["properties"]
    own = sorted(k for k in props if not k.startswith("$"))
    keys = [*own, *(k for k in KEY_PROPERTIES if k in props)][:MAX_KEY_PROPERTIES]
    lib = props.get("$lib")
    return EventRow(
        uuid=raw["uuid"],
        timestamp=raw["timestamp"],
        received_at=raw["received_at"],
        event=raw["event"],
        distinct_id=raw["distinct_id"],
        key_properties=tuple((k, _display(props[k], MAX_VALUE_CHARS)) for k in keys),
        properties=tuple((k, _display(props[k])) for k in sorted(props)),
        source=raw["source"] or "",
        lib=str(lib) if lib is not None else None,
    )


def _filters(event: str | None, distinct_id: str | None) -> dict[str, str]:
    return {
        k: v.strip() for k, v in (("event", event), ("distinct_id", distinct_id)) if v and v.strip()
    }


def _rows_context(user: ConsoleUser, rows: list[EventRow]) -> dict[str, Any]:
    return {
        "rows": rows,
        "sources": SOURCES,
        "fmt": Formatter(user.language, user.workspace.timezone),
    }


@router.get("/events", response_class=HTMLResponse)
def live_events(
    request: Request,
    state: StateDep,
    user: ConsoleUserDep,
    event: str | None = None,
    distinct_id: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    ws = user.workspace
    filters = _filters(event, distinct_id)
    page, nxt = state.store.list_events(
        ws.id,
        event=filters.get("event"),
        distinct_id=filters.get("distinct_id"),
        limit=PAGE_SIZE,
        cursor=_decode_cursor(cursor) if cursor else None,
    )
    rows = [event_row(r) for r in page]
    query = urlencode(filters)
    return render_page(
        request,
        user,
        "events/live.html",
        {
            **_rows_context(user, rows),
            "filters": filters,
            "event_names": event_names(state.store, ws.id),
            "is_first_page": cursor is None,
            "newest": rows[0].timestamp.isoformat() if rows else "",
            "older_url": (
                "/events?" + urlencode({**filters, "cursor": _encode_cursor(nxt)})
                if nxt is not None
                else None
            ),
            "newest_url": "/events" + (f"?{query}" if query else ""),
            "feed_url": "/events/feed?" + urlencode({**filters, "after": ""}),
            "export_url": "/events/export.csv" + (f"?{query}" if query else ""),
        },
        nav="live",
    )


@router.get("/events/feed")
def live_feed(
    state: StateDep,
    user: ConsoleUserJsonDep,
    after: str,
    event: str | None = None,
    distinct_id: str | None = None,
) -> dict[str, Any]:
    """Events at or after `after` (the newest shown so far), as rows of the live table."""
    filters = _filters(event, distinct_id)
    page, nxt = state.store.list_events(
        user.workspace.id,
        event=filters.get("event"),
        distinct_id=filters.get("distinct_id"),
        # A "+" in an offset arrives as a space when the caller did not encode it.
        after=parse_timestamp(after.replace(" ", "+"), "after"),
        limit=FEED_LIMIT,
    )
    rows = [event_row(r) for r in page]
    html = render_fragment("events/_rows.html", user.language, _rows_context(user, rows))
    return {
        "html": html,
        "count": len(rows),
        "newest": rows[0].timestamp.isoformat() if rows else after,
        "more": nxt is not None,
    }


@router.get("/events/volume", response_class=HTMLResponse)
def volume(request: Request, state: StateDep, user: ConsoleUserDep) -> HTMLResponse:
    ws = user.workspace
    vol = event_volume(state.store, ws.id, ws.timezone, days=VOLUME_DAYS)
    return render_page(
        request,
        user,
        "events/volume.html",
        {"volume": vol, "chart": stacked_bars(vol), "today": vol.totals[-1]},
        nav="volume",
    )


@router.get("/events/export.csv")
def export_events(
    state: StateDep,
    user: ConsoleUserDep,
    event: str | None = None,
    distinct_id: str | None = None,
) -> Response:
    """The newest events matching the filters (at most EXPORT_LIMIT), times in the workspace's
    time zone."""
    ws = user.workspace
    filters = _filters(event, distinct_id)
    page, _ = state.store.list_events(
        ws.id,
        event=filters.get("event"),
        distinct_id=filters.get("distinct_id"),
        limit=EXPORT_LIMIT,
    )
    tz = ZoneInfo(ws.timezone)
    return csv_response(
        f"events-{ws.name}.csv",
        ["timestamp", "event", "distinct_id", "source", "uuid", "properties"],
        (
            [
                r["timestamp"].astimezone(tz).isoformat(),
                r["event"],
                r["distinct_id"],
                r["source"] or "",
                r["uuid"],
                orjson.dumps(r["properties"]).decode(),
            ]
            for r in page
        ),
    )


@router.get("/events/volume.csv")
def export_volume(state: StateDep, user: ConsoleUserDep) -> Response:
    ws = user.workspace
    vol = event_volume(state.store, ws.id, ws.timezone, days=VOLUME_DAYS)
    return csv_response(
        f"event-volume-{ws.name}.csv",
        ["event", "total", *(d.isoformat() for d in vol.days)],
        [[s.event, s.total, *s.counts] for s in vol.series],
    )
