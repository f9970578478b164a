"""Small read queries behind the console: event names and property keys seen, event volume by
type and day in the workspace's time zone, the latest day with data, persons by distinct_id."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from opsloop.events.store import EventStore

MAX_EVENT_NAMES = 1000


@dataclass(frozen=True, slots=True)
class VolumeSeries:
    event: str
    counts: tuple[int, ...]  # one per day of EventVolume.days
    total: int


@dataclass(frozen=True, slots=True)
class EventVolume:
    """Events per type and day: the days are whole local days, `first` to `last` inclusive."""

    timezone: str
    days: tuple[date, ...]
    series: tuple[VolumeSeries, ...]  # the largest total first, then by name
    totals: tuple[int, ...]  # all events per day
    total: int


@dataclass(frozen=True, slots=True)
class DayRange:
    """Whole local days, `first` to `last` inclusive."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @classmethod
    def ending(cls, last: date, days: int) -> DayRange:
        return cls(last - timedelta(days=days - 1), last)


def local_today(timezone: str, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()


def day_bounds(timezone: str, first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC instants where local day `first` starts and local day `last` ends."""
    tz = ZoneInfo(timezone)
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def default_volume_range(
    store: EventStore,
    workspace_id: int,
    timezone: str,
    *,
    days: int = 30,
    now: datetime | None = None,
) -> DayRange:
    """The `days` days ending today when any event falls in them; else the `days` days ending on
    the local day of the newest event (imported history and the demo world often end earlier);
    today's when the workspace has no events at all."""
    recent = DayRange.ending(local_today(timezone, now), days)
    start, end = day_bounds(timezone, recent.first, recent.last)
    cur = store.cursor()
    try:
        row = cur.execute(
            "SELECT count(*) FILTER (WHERE timestamp >= ? AND timestamp < ?) > 0,"
            " max(timestamp) FROM events WHERE workspace_id = ?",
            [start, end, workspace_id],
        ).fetchone()
    finally:
        cur.close()
    any_recent, newest = row if row is not None else (False, None)
    if any_recent or newest is None:
        return recent
    return DayRange.ending(newest.astimezone(ZoneInfo(timezone)).date(), days)


def event_names(store: EventStore, workspace_id: int) -> list[str]:
    """The names of the events a workspace has received, alphabetically."""
    cur = store.cursor()
    try:
        rows = cur.execute(
            "SELECT DISTINCT event FROM events WHERE workspace_id = ? ORDER BY event LIMIT ?",
            [workspace_id, MAX_EVENT_NAMES],
        ).fetchall()
    finally:
        cur.close()
    return [name for (name,) in rows]


def event_volume(
    store: EventStore, workspace_id: int, timezone: str, days: DayRange
) -> EventVolume:
    """Events per type and local day over `days` (both ends included)."""
    n = days.days
    start, end = day_bounds(timezone, days.first, days.last)
    cur = store.cursor()
    try:
        rows = cur.execute(
            "SELECT event, CAST(timezone(?, timestamp) AS DATE) AS day, count(*) AS n"
            " FROM events WHERE workspace_id = ? AND timestamp >= ? AND timestamp < ?"
            " GROUP BY ALL",
            [timezone, workspace_id, start, end],
        ).fetchall()
    finally:
        cur.close()
    day_list = tuple(days.first + timedelta(days=i) for i in range(n))
    index = {d: i for i, d in enumerate(day_list)}
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * n)
    for event, day, count in rows:
        counts[event][index[day]] += int(count)
    series = sorted(
        (VolumeSeries(event, tuple(c), sum(c)) for event, c in counts.items()),
        key=lambda s: (-s.total, s.event),
    )
    totals = tuple(sum(s.counts[i] for s in series) for i in range(n))
    return EventVolume(timezone, day_list, tuple(series), totals, sum(totals))


PROPERTY_SAMPLE = 20_000  # newest events (and persons) whose property keys are listed
MAX_PROPERTY_NAMES = 300


def property_names(store: EventStore, workspace_id: int) -> tuple[list[str], list[str]]:
    """The property keys seen on the workspace's newest events and on its persons, the most
    common first: (event property keys, person property keys). For pickers, not for counting."""
    cur = store.cursor()
    try:
        names = []
        for table, order in (("events", "ORDER BY timestamp DESC"), ("persons", "")):
            rows = cur.execute(
                "SELECT k FROM (SELECT unnest(json_keys(properties)) AS k FROM"
                f" (SELECT properties FROM {table} WHERE workspace_id = ? {order} LIMIT ?))"
                " GROUP BY k ORDER BY count(*) DESC, k LIMIT ?",
                [workspace_id, PROPERTY_SAMPLE, MAX_PROPERTY_NAMES],
            ).fetchall()
            names.append([str(k) for (k,) in rows])
    finally:
        cur.close()
    return names[0], names[1]


def newest_day(store: EventStore, workspace_id: int, timezone: str) -> date | None:
    """The local day of the workspace's newest event (None without events)."""
    cur = store.cursor()
    try:
        row = cur.execute(
            "SELECT max(timestamp) FROM events WHERE workspace_id = ?", [workspace_id]
        ).fetchone()
    finally:
        cur.close()
    newest = row[0] if row else None
    return None if newest is None else newest.astimezone(ZoneInfo(timezone)).date()


def latest_day(store: EventStore, workspace_id: int, timezone: str) -> date:
    """The day analyses end on by default: today, or the newest event's day when the data ends
    earlier (imported history, the demo world)."""
    today = local_today(timezone)
    return min(today, newest_day(store, workspace_id, timezone) or today)


def find_distinct_ids(
    store: EventStore, workspace_id: int, text: str, limit: int = 50
) -> list[tuple[str, str, dict[str, Any]]]:
    """Persons whose distinct_id contains `text` (ignoring case): (distinct_id, person id,
    person properties), an exact match first, then shorter ids first."""
    cur = store.cursor()
    try:
        rows = cur.execute(
            "SELECT m.distinct_id, CAST(p.id AS VARCHAR), p.properties"
            " FROM person_distinct_ids m JOIN persons p"
            "  ON p.workspace_id = m.workspace_id AND p.id = m.person_id"
            " WHERE m.workspace_id = ? AND contains(lower(m.distinct_id), lower(?))"
            " ORDER BY m.distinct_id = ? DESC, length(m.distinct_id), m.distinct_id LIMIT ?",
            [workspace_id, text, text, limit],
        ).fetchall()
    finally:
        cur.close()
    return [(str(d), str(pid), orjson.loads(props) if props else {}) for d, pid, props in rows]
