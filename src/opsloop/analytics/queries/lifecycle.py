"""Lifecycle: each period's active persons split into new, returning and resurrecting, and the
previous period's persons who went dormant (metrics.md "lifecycle").

A person is active in a period (day, ISO week from Monday, or month in the workspace's time zone)
when they did `event` in it (`"$any"`: any activity event), after `filters`. For each period P of
the range (`date_from`/`date_to` snap to whole periods):
- new: active in P, and P is their first active period ever (all history is searched);
- returning: active in P and in P - 1;
- resurrecting: active in P, not in P - 1, but in some period before;
- dormant: active in P - 1, not in P. Dormant counts are reported as negative numbers, the way
  lifecycle charts draw them below the axis; the first period looks back at the one before it.
new + returning + resurrecting = the persons active in P. Periods are computed from the data as
it is: a period after the last day with data shows everyone who was active before as dormant.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from opsloop.analytics.context import QueryContext, check_range
from opsloop.analytics.dialect import PeriodGrain
from opsloop.analytics.filters import PropertyFilter
from opsloop.analytics.queries.periods import (
    period_first_day,
    period_key,
    period_label,
    period_last_day,
    period_of,
)
from opsloop.analytics.source import ANY_EVENT, events_source, resolve_groups, split_filters

STATUSES = ("new", "returning", "resurrecting", "dormant")
NO_PERIOD = -(10**9)  # lag's default: "no earlier active period"


class LifecycleQuery(BaseModel):
    kind: Literal["lifecycle"] = "lifecycle"
    event: str = Field(default=ANY_EVENT, min_length=1, max_length=200, examples=["app_open"])
    interval: PeriodGrain = "day"
    date_from: date = Field(description="first period (snapped to its start)")
    date_to: date = Field(description="last period (snapped to its end)")
    filters: list[PropertyFilter] = Field(default_factory=list)


def _counts_sql(ctx: QueryContext, q: LifecycleQuery, lo: int, hi: int) -> str:
    """(period, active, new, returning) for periods lo - 1 .. hi in one pass over the events.

    Activity before lo - 1 only matters as "active some time before", so every earlier period is
    folded into lo - 2 while scanning; the events are grouped per (distinct_id, period) and those
    groups resolved to (person, period) pairs (`resolve_groups`), and a window's lag then gives
    each pair the person's previous active period."""
    d, grain = ctx.dialect, q.interval
    event_filters, person_filters = split_filters(q.filters)
    # Events before lo - 2 only need to fall before it (see QueryContext.span).
    span = ctx.span(period_first_day(grain, lo - 2), period_last_day(grain, hi))
    source = events_source(
        ctx,
        None,
        period_last_day(grain, hi),
        events=[q.event],
        filters=event_filters,
        resolve_persons=False,
        columns={
            "distinct_id": "e.distinct_id",
            "p": f"greatest({period_key(d, grain, 'e.timestamp', ctx.timezone, span)}, {lo - 2})",
        },
    )
    by_id = f"SELECT distinct_id, p FROM ({source}) AS ev GROUP BY distinct_id, p"
    pairs = resolve_groups(ctx, by_id, ["p"], {}, filters=person_filters)
    active = d.to_int("count(*)")
    new = d.to_int(f"sum(CASE WHEN prev = {NO_PERIOD} THEN 1 ELSE 0 END)")
    returning = d.to_int("sum(CASE WHEN prev = p - 1 THEN 1 ELSE 0 END)")
    return (
        f"SELECT p, {active}, {new}, {returning}"
        f" FROM (SELECT p, lag(p, 1, {NO_PERIOD}) OVER (PARTITION BY person_id ORDER BY p) AS prev"
        f" FROM ({pairs}) AS pairs) AS w WHERE p >= {lo - 1} GROUP BY p"
    )


def run_lifecycle(ctx: QueryContext, q: LifecycleQuery) -> dict[str, Any]:
    check_range(q.date_from, q.date_to)
    grain = q.interval
    lo, hi = period_of(grain, q.date_from), period_of(grain, q.date_to)
    counts = {
        int(p): (int(active), int(new), int(returning))
        for p, active, new, returning in ctx.engine.rows(_counts_sql(ctx, q, lo, hi))
    }
    periods = range(lo, hi + 1)
    dates = [period_label(grain, p) for p in periods]
    lines: dict[str, list[int]] = {status: [] for status in STATUSES}
    for p in periods:
        active, new, returning = counts.get(p, (0, 0, 0))
        lines["new"].append(new)
        lines["returning"].append(returning)
        lines["resurrecting"].append(active - new - returning)
        lines["dormant"].append(-(counts.get(p - 1, (0, 0, 0))[0] - returning))
    return {
        "kind": "lifecycle",
        "interval": grain,
        "results": [
            {"status": status, "dates": dates, "values": lines[status]} for status in STATUSES
        ],
    }
