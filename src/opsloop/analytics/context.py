"""What every query runs against: a workspace (its time zone), an engine, and date bounds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from opsloop.analytics.dialect import Dialect, Grain
from opsloop.analytics.engine import Engine
from opsloop.analytics.timezones import Span
from opsloop.errors import InvalidInput

if TYPE_CHECKING:
    from opsloop.analytics.catalog.definitions import Definitions
    from opsloop.analytics.segments.compiler import SavedSegments

MAX_RANGE_DAYS = 3 * 366


@dataclass(frozen=True, slots=True)
class QueryContext:
    workspace_id: int
    timezone: str
    engine: Engine
    # The workspace's saved segments, for rules that name them (`{"cohort": id}`); the doors
    # bind them to an operational-store session (segments.service.cohort_resolver).
    cohorts: SavedSegments | None = None
    # The workspace's own metrics and acquisition spend (catalog/definitions.py), when the door
    # loaded them.
    definitions: Definitions | None = None

    @property
    def dialect(self) -> Dialect:
        return self.engine.dialect_for(self.workspace_id)

    def today(self) -> date:
        """Today's date in the workspace's time zone (what `as_of` defaults to)."""
        return datetime.now(ZoneInfo(self.timezone)).date()

    def utc_start_of(self, day: date) -> datetime:
        """The UTC instant at which `day` begins in the workspace's time zone."""
        return datetime.combine(day, time(0), ZoneInfo(self.timezone)).astimezone(UTC)

    def span(self, date_from: date, date_to: date) -> Span:
        """The instants whose local time a query reading events up to the end of `date_to` needs
        exactly (timezones.Span), from two days before `date_from` begins: an instant before the
        span then still falls before `date_from`, so a query reading earlier events only to tell
        "before the range" (first-ever activity) can use it."""
        return (
            self.utc_start_of(date_from) - timedelta(days=2),
            self.utc_start_of(date_to + timedelta(days=1)),
        )

    def utc_bounds(self, date_from: date, date_to: date) -> tuple[datetime, datetime]:
        """[start, end) in UTC of the inclusive local date range."""
        check_range(date_from, date_to)
        return self.utc_start_of(date_from), self.utc_start_of(date_to + timedelta(days=1))


def check_range(date_from: date, date_to: date, field: str = "date_to") -> None:
    if date_to < date_from:
        raise InvalidInput("date_to is before date_from", field)
    if (date_to - date_from).days > MAX_RANGE_DAYS:
        raise InvalidInput(f"a date range spans at most {MAX_RANGE_DAYS} days", field)


def bucket_labels(grain: Grain, date_from: date, date_to: date) -> list[str]:
    """Every bucket label between two local dates, in the engines' label format."""
    labels: list[str] = []
    if grain == "hour":
        d = date_from
        while d <= date_to:
            labels += [f"{d.isoformat()} {h:02d}:00" for h in range(24)]
            d += timedelta(days=1)
    elif grain == "day":
        labels = [
            (date_from + timedelta(days=i)).isoformat()
            for i in range((date_to - date_from).days + 1)
        ]
    elif grain == "week":
        d = date_from - timedelta(days=date_from.weekday())
        while d <= date_to:
            labels.append(d.isoformat())
            d += timedelta(days=7)
    else:
        y, m = date_from.year, date_from.month
        while (y, m) <= (date_to.year, date_to.month):
            labels.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return labels
