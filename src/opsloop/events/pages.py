"""Console pages of the event stream: live events (newest first, filtered, refreshed in place)
and event volume by type and day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from opsloop.accounts.permissions import Permission
from opsloop.errors import InvalidInput, NotFound
from opsloop.events.activity import (
    DayRange,
    default_volume_range,
    event_names,
    event_volume,
    local_today,
)
from opsloop.events.api import decode_cursor, encode_cursor
from opsloop.ingest.common import parse_timestamp
from opsloop.web.access import require_console_json, require_page
from opsloop.web.charts import render
from opsloop.web.charts.volume import volume_chart
from opsloop.web.console_user import ConsoleUser
from opsloop.web.deps import StateDep
from opsloop.web.export import Column, ExportTable, export_response
from opsloop.web.i18n import N_, translate
from opsloop.web.templating import Formatter, page_router, render_fragment, render_page

router = page_router()
ReaderDep = Annotated[ConsoleUser, Depends(require_page(Permission.READ_DATA))]
FeedReaderDep = Annotated[ConsoleUser, Depends(require_console_json(Permission.READ_DATA))]

PAGE_SIZE = 50
FEED_LIMIT = 100
EXPORT_LIMIT = 10_000
VOLUME_DAYS = 30  # the volume page's default range
MAX_VOLUME_DAYS = 366
# Days the volume page accepts (far enough out for any history; keeps day arithmetic in range).
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2999, 12, 31)
MSG_BAD_DATE = N_("Enter dates as YYYY-MM-DD.")
MSG_DAY_BOUNDS = N_("Choose days between 1970 and 2999.")
MSG_REVERSED = N_("The start date must not be after the end date.")
MSG_TOO_LONG = N_("Choose at most %(days)s days.")
EVENT_COLUMNS = (
    Column("timestamp", "datetime"),
    Column("event"),
    Column("distinct_id"),
    Column("source"),
    Column("uuid"),
    Column("properties"),
)
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
    user: ReaderDep,
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
        cursor=decode_cursor(cursor) if cursor else None,
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
                "/events?" + urlencode({**filters, "cursor": encode_cursor(nxt)})
                if nxt is not None
                else None
            ),
            "newest_url": "/events" + (f"?{query}" if query else ""),
            "feed_url": "/events/feed?" + urlencode({**filters, "after": ""}),
            "export_csv_url": "/events/export.csv" + (f"?{query}" if query else ""),
            "export_xlsx_url": "/events/export.xlsx" + (f"?{query}" if query else ""),
        },
        nav="live",
    )


@router.get("/events/feed")
def live_feed(
    state: StateDep,
    user: FeedReaderDep,
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


class RangeProblem(Exception):
    """A from/to pair the volume page cannot show: `message` is a message id (in English),
    formatted with `days`."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message % {"days": MAX_VOLUME_DAYS})
        self.message = message
        self.field = field


def _parse_day(text: str | None, field: str) -> date | None:
    if text is None or not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise RangeProblem(MSG_BAD_DATE, field) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise RangeProblem(MSG_DAY_BOUNDS, field)
    return day


def requested_range(date_from: str | None, date_to: str | None) -> DayRange | None:
    """The days asked for, None when neither end is given; one end alone means the
    VOLUME_DAYS days starting or ending there. Raises RangeProblem."""
    first, last = _parse_day(date_from, "from"), _parse_day(date_to, "to")
    if first is None and last is None:
        return None
    if first is None:
        assert last is not None
        first = max(FIRST_DAY, last - timedelta(days=VOLUME_DAYS - 1))
    if last is None:
        last = min(LAST_DAY, first + timedelta(days=VOLUME_DAYS - 1))
    if first > last:
        raise RangeProblem(MSG_REVERSED, "from")
    chosen = DayRange(first, last)
    if chosen.days > MAX_VOLUME_DAYS:
        raise RangeProblem(MSG_TOO_LONG, "to")
    return chosen


def _range_query(days: DayRange) -> str:
    return urlencode({"from": days.first.isoformat(), "to": days.last.isoformat()})


def _shifted(days: DayRange, by: int) -> str | None:
    """The link to the range of the same length `by` lengths later (or earlier)."""
    step = timedelta(days=days.days * by)
    first, last = days.first + step, days.last + step
    if first < FIRST_DAY or last > LAST_DAY:
        return None
    return "/events/volume?" + _range_query(DayRange(first, last))


FromQuery = Annotated[str | None, Query(alias="from")]
ToQuery = Annotated[str | None, Query(alias="to")]


@router.get("/events/volume", response_class=HTMLResponse)
def volume(
    request: Request,
    state: StateDep,
    user: ReaderDep,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
) -> HTMLResponse:
    ws = user.workspace
    problem = None
    try:
        chosen = requested_range(date_from, date_to)
    except RangeProblem as exc:
        chosen, problem = None, exc
    days = chosen or default_volume_range(state.store, ws.id, ws.timezone, days=VOLUME_DAYS)
    vol = event_volume(state.store, ws.id, ws.timezone, days)
    today = local_today(ws.timezone)
    query = _range_query(days)
    return render_page(
        request,
        user,
        "events/volume.html",
        {
            "volume": vol,
            "chart": volume_chart(vol, user.language),
            "chart_image_url": f"/events/volume/chart.svg?{query}",
            "range": days,
            "last_day_total": vol.totals[-1],
            "last_day_is_today": days.last == today,
            # The default range moved away from today: there is nothing recent to show.
            "moved_to_newest": chosen is None and days != DayRange.ending(today, VOLUME_DAYS),
            "custom": chosen is not None,
            "problem": problem,
            "max_days": MAX_VOLUME_DAYS,
            "form_from": date_from if problem else days.first.isoformat(),
            "form_to": date_to if problem else days.last.isoformat(),
            "first_day": FIRST_DAY.isoformat(),
            "last_day": LAST_DAY.isoformat(),
            "earlier_url": _shifted(days, -1),
            "later_url": _shifted(days, 1),
            "export_csv_url": f"/events/volume.csv?{query}",
            "export_xlsx_url": f"/events/volume.xlsx?{query}",
        },
        nav="volume",
        status_code=400 if problem else 200,
    )


@router.get("/events/export.{fmt}")
def export_events(
    state: StateDep,
    user: ReaderDep,
    fmt: str,
    event: str | None = None,
    distinct_id: str | None = None,
) -> Response:
    """The newest events matching the filters (at most EXPORT_LIMIT), times in the workspace's
    time zone, as CSV or Excel."""
    ws = user.workspace
    filters = _filters(event, distinct_id)
    page, _ = state.store.list_events(
        ws.id,
        event=filters.get("event"),
        distinct_id=filters.get("distinct_id"),
        limit=EXPORT_LIMIT,
    )
    table = ExportTable(
        f"events-{ws.name}",
        EVENT_COLUMNS,
        [
            (
                r["timestamp"],
                r["event"],
                r["distinct_id"],
                r["source"] or "",
                r["uuid"],
                orjson.dumps(r["properties"]).decode(),
            )
            for r in page
        ],
        timezone=ws.timezone,
        sheet=translate(user.language, N_("Live events")),
    )
    return export_response(table, fmt)


@router.get("/events/volume.{fmt}")
def export_volume(
    state: StateDep,
    user: ReaderDep,
    fmt: str,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
) -> Response:
    """The volume table of the range asked for (the page's default range without one)."""
    ws = user.workspace
    try:
        chosen = requested_range(date_from, date_to)
    except RangeProblem as exc:
        raise InvalidInput(str(exc), exc.field) from None
    days = chosen or default_volume_range(state.store, ws.id, ws.timezone, days=VOLUME_DAYS)
    vol = event_volume(state.store, ws.id, ws.timezone, days)
    table = ExportTable(
        f"event-volume-{ws.name}-{days.first.isoformat()}-{days.last.isoformat()}",
        (
            Column("event"),
            Column("total", "integer"),
            *(Column(d.isoformat(), "integer") for d in vol.days),
        ),
        [(s.event, s.total, *s.counts) for s in vol.series],
        timezone=ws.timezone,
        frozen_columns=1,
        sheet=translate(user.language, N_("Event volume")),
    )
    return export_response(table, fmt)


@router.get("/events/volume/chart.{fmt}")
def volume_chart_image(
    state: StateDep,
    user: ReaderDep,
    fmt: str,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
) -> Response:
    """The volume chart drawn on the server (SVG or PNG): for pages seen without JavaScript."""
    if fmt not in ("svg", "png"):
        raise NotFound(f"no chart as {fmt!r}; use svg or png", "format")
    ws = user.workspace
    try:
        chosen = requested_range(date_from, date_to)
    except RangeProblem as exc:
        raise InvalidInput(str(exc), exc.field) from None
    days = chosen or default_volume_range(state.store, ws.id, ws.timezone, days=VOLUME_DAYS)
    vol = event_volume(state.store, ws.id, ws.timezone, days)
    body, media_type = render(volume_chart(vol, user.language), "png" if fmt == "png" else "svg")
    return Response(body, media_type=media_type, headers={"Cache-Control": "no-store"})
