"""What a person's profile shows beside properties and timeline, each computed by the analytics
engine the way the explorers compute it: the RFM scores and segment (the RFM explorer's default
request), the lifecycle stage per day / week / month (the segment rule language's lifecycle
condition), the saved segments, first / last seen, first-touch channel and totals (a trends query
with the catalog's `orders` and `gmv`, and a metrics query broken down by first-touch channel)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from opsloop.analytics.catalog.scope import person_first_touch
from opsloop.analytics.context import MAX_RANGE_DAYS, QueryContext
from opsloop.analytics.engine import DuckDbEngine
from opsloop.analytics.queries.rfm import RfmQuery, person_rfm
from opsloop.analytics.segments.rules import Interval
from opsloop.analytics.segments.service import SegmentInfo, cohort_resolver, segments_of
from opsloop.analytics.segments.stages import lifecycle_stage
from opsloop.events.activity import latest_day
from opsloop.explorers.explorer import Vocabulary, default_form, run_body
from opsloop.explorers.forms import to_query
from opsloop.explorers.params import form_params
from opsloop.explorers.segment_form import form_of_rule, segment_params
from opsloop.web.state import AppState
from opsloop.workspaces.service import WorkspaceRef

INTERVALS: tuple[Interval, ...] = ("day", "week", "month")


@dataclass(frozen=True, slots=True)
class RfmStanding:
    """The person's row of the RFM explorer's default request (None: not scored, no order in
    the window), the window, and the explorer showing the person's segment."""

    date_from: date
    as_of: date
    row: dict[str, Any] | None
    explorer_url: str


@dataclass(frozen=True, slots=True)
class Stage:
    interval: Interval
    stage: str | None  # None: active in neither this period nor the one before
    builder_url: str | None  # the segment builder showing the stage's persons


@dataclass(frozen=True, slots=True)
class Activity:
    """Activity events (not profile-only messages), orders and paid amount from `since` (the
    longest range a query takes) to the as-of date; first / last active local date in it."""

    since: date
    first_seen: date | None
    last_seen: date | None
    events: int
    orders: int
    paid: float
    channel: str | None


@dataclass(frozen=True, slots=True)
class Profile:
    as_of: date
    rfm: RfmStanding
    stages: list[Stage]
    segments: list[SegmentInfo]
    activity: Activity


def person_profile(
    state: AppState, ws: WorkspaceRef, person_id: str, distinct_ids: list[str]
) -> Profile:
    """The profile's analytics for a person, as of the day analyses end on by default."""
    as_of = latest_day(state.store, ws.id, ws.timezone)
    with state.db.session() as s:
        ctx = QueryContext(ws.id, ws.timezone, DuckDbEngine(state.store), cohort_resolver(s, ws.id))
        segments = segments_of(s, ctx, person_id, as_of)
        rfm = _rfm(state, ws, ctx, person_id)
        stages = [_stage(ctx, person_id, as_of, interval) for interval in INTERVALS]
        channel = person_first_touch(ctx, person_id, as_of)
    activity = _activity(state, ws, distinct_ids, as_of, channel)
    return Profile(as_of, rfm, stages, segments, activity)


def _rfm(state: AppState, ws: WorkspaceRef, ctx: QueryContext, person_id: str) -> RfmStanding:
    form = default_form("rfm", state, ws, Vocabulary([], [], []))
    query = RfmQuery.model_validate(to_query(form))
    assert query.date_from is not None and query.as_of is not None
    row = person_rfm(ctx, query, person_id)
    if row is not None:
        form = replace(form, segment=row["segment"])
    url = f"/analysis/rfm?{urlencode(form_params(form))}"
    return RfmStanding(query.date_from, query.as_of, row, url)


def _stage(ctx: QueryContext, person_id: str, as_of: date, interval: Interval) -> Stage:
    stage = lifecycle_stage(ctx, person_id, as_of, interval)
    if stage is None:
        return Stage(interval, None, None)
    form = form_of_rule({"lifecycle": stage, "interval": interval})
    form.as_of = as_of.isoformat()
    return Stage(interval, stage, f"/analysis/segments?{urlencode(segment_params(form))}")


def _activity(
    state: AppState, ws: WorkspaceRef, distinct_ids: list[str], as_of: date, channel: str | None
) -> Activity:
    since = as_of - timedelta(days=MAX_RANGE_DAYS - 1)
    scope: dict[str, Any] = {
        "date_from": since.isoformat(),
        "date_to": as_of.isoformat(),
        "filters": [{"property": "distinct_id", "op": "in", "value": distinct_ids}],
    }
    trends = run_body(
        state,
        ws,
        {
            "kind": "trends",
            "series": [{"event": "$any", "math": "total"}, {"metric": "orders"}, {"metric": "gmv"}],
            "interval": "day",
            **scope,
        },
    )
    lines = {line["series"]: line for line in trends["results"]}
    events = lines[0]
    active = [day for day, n in zip(events["dates"], events["values"], strict=True) if n]
    return Activity(
        since,
        date.fromisoformat(active[0]) if active else None,
        date.fromisoformat(active[-1]) if active else None,
        int(events["total"] or 0),
        int(lines[1]["total"] or 0) if 1 in lines else 0,
        float(lines[2]["total"] or 0) if 2 in lines else 0.0,
        channel,
    )
