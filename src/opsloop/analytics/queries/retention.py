"""Retention: of the persons who started in a period (a cohort), how many came back later.

A cohort is a period (day, ISO week from Monday, or month, in the workspace's time zone) and the
persons who did `start_event` in it. With `cohort="first_event"` (the default) a person belongs
to the period of their first `start_event` ever, searched over all history, so a person whose
first start is before the range is in no cohort; with `cohort="any_start"` (PostHog's recurring
retention) every period in which a person did `start_event` starts a cohort of its own.
`values[N]` counts cohort members who did `return_event` (metrics.md "N-day retention"):
- `mode="on"` (default): in period N after the cohort's, exactly (次日留存 is N = 1);
- `mode="within"`: in any of periods 1..N;
- `mode="unbounded"`: in period N or any later one up to `periods` (PostHog's unbounded).
`values[0]` is the cohort's size in every mode. `date_from`/`date_to` choose the cohort periods
and snap to whole periods; every cohort period is listed (size 0 when nobody started), for each
breakdown value found. `filters` narrow both the start and the return events (a start event
that fails them does not count as a first start either). `breakdown` is a property of the
person's first start event in the cohort period (ties at the same instant: the smallest value,
a missing value last), or `person.<name>`.

A period that has not ended by the last day with data in the workspace (`last_day`, taken as
complete) is not known yet: its value is `None`, not 0. `rates` are values ÷ size, and
`summary` pools the cohorts of each breakdown value: for each N, retained ÷ size over the
cohorts whose period N has ended (the way a "next-day retention by channel" figure is quoted).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from opsloop.analytics.context import MAX_RANGE_DAYS, QueryContext, check_range
from opsloop.analytics.dialect import PeriodGrain
from opsloop.analytics.filters import PropertyFilter, needs_person, property_text
from opsloop.analytics.queries.periods import (
    period_first_day,
    period_label,
    period_last_day,
    period_of,
)
from opsloop.analytics.queries.retention_first import first_start_members
from opsloop.analytics.source import (
    ANY_EVENT,
    event_condition,
    events_source,
    resolve_groups,
    split_filters,
)
from opsloop.errors import InvalidInput

OTHER = "$other"
Cells = dict[tuple[str | None, int, int | None], int]  # (breakdown, cohort, k) -> persons


class RetentionQuery(BaseModel):
    kind: Literal["retention"] = "retention"
    start_event: str = Field(default=ANY_EVENT, min_length=1, max_length=200, examples=["sign_up"])
    return_event: str = Field(default=ANY_EVENT, min_length=1, max_length=200)
    period: PeriodGrain = "day"
    periods: int = Field(default=7, ge=1, le=400, description="periods after the cohort's")
    date_from: date = Field(description="first cohort period (snapped to its start)")
    date_to: date = Field(description="last cohort period (snapped to its end)")
    breakdown: str | None = Field(
        default=None, description="property of the first start event, or person.<name>"
    )
    breakdown_limit: int = Field(default=25, ge=1, le=500)
    filters: list[PropertyFilter] = Field(default_factory=list)
    mode: Literal["on", "within", "unbounded"] = "on"
    cohort: Literal["first_event", "any_start"] = "first_event"


def last_data_day(ctx: QueryContext) -> date | None:
    """The local day of the workspace's latest event (None when it has none), converted here with
    zoneinfo: one instant, and the same day from every engine (ClickHouse's own conversion put a
    late evening of America/Havana, whose DST changes at midnight, on the next day)."""
    d = ctx.dialect
    latest = d.to_int(d.epoch_micros("max(timestamp)"))
    rows = ctx.engine.rows(
        f"SELECT {d.to_int('count(*)')}, {latest} FROM events"
        f" WHERE workspace_id = {ctx.workspace_id}"
    )
    if not rows or not rows[0][0]:
        return None
    instant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(rows[0][1]))
    return instant.astimezone(ZoneInfo(ctx.timezone)).date()


# -- SQL ---------------------------------------------------------------------------------------


def _event_test(ctx: QueryContext, event: str, other: str) -> str | None:
    """SQL telling one side's events among the source's rows, which are start or return events
    only: None when that is implied ("$any", or both sides name the same event)."""
    return None if event in (ANY_EVENT, other) else event_condition(ctx, [event])


def _rows_sql(
    ctx: QueryContext, q: RetentionQuery, lo: int, hi: int, filters: list[PropertyFilter]
) -> tuple[str, bool, bool]:
    """The events either side can use, with their distinct_id, their period's start `ps` (and
    `bv` for a breakdown by an event property), after the event `filters`: the SQL, and whether
    it has `is_start` / `is_return` columns (absent when every row is one)."""
    d, grain = ctx.dialect, q.period
    start_test = _event_test(ctx, q.start_event, q.return_event)
    back_test = _event_test(ctx, q.return_event, q.start_event)
    lower = None if q.cohort == "first_event" else period_first_day(grain, lo)
    # Starts before the range only need to fall before it (see QueryContext.span).
    span = ctx.span(period_first_day(grain, lo), period_last_day(grain, hi + q.periods))
    ps = d.period_start(grain, "e.timestamp", ctx.timezone, span)
    event_bv = q.breakdown is not None and not needs_person([], q.breakdown)
    common = {"distinct_id": "e.distinct_id", "ps": ps}
    if event_bv and start_test:
        assert q.breakdown is not None
        # The breakdown is read from start events only: a scan of their own leaves the JSON of
        # every other event unread (reading it costs more than a second scan).
        starts = events_source(
            ctx,
            lower,
            period_last_day(grain, hi),
            events=[q.start_event],
            filters=filters,
            resolve_persons=False,
            columns={
                **common,
                "is_start": "1",
                "is_return": "0",
                "bv": property_text(d, q.breakdown),
            },
        )
        backs = events_source(
            ctx,
            period_first_day(grain, lo + 1),
            period_last_day(grain, hi + q.periods),
            events=[q.return_event],
            filters=filters,
            resolve_persons=False,
            columns={**common, "is_start": "0", "is_return": "1", "bv": "NULL"},
        )
        return f"{starts} UNION ALL {backs}", True, True
    columns = dict(common)
    if start_test:
        columns["is_start"] = f"CASE WHEN {start_test} THEN 1 ELSE 0 END"
    if back_test:
        columns["is_return"] = f"CASE WHEN {back_test} THEN 1 ELSE 0 END"
    if event_bv:
        assert q.breakdown is not None
        columns["bv"] = property_text(d, q.breakdown)
    extra_where = []
    if start_test or back_test:  # keep only the events either side can use
        start_row = (
            f"e.timestamp < {d.timestamp(ctx.utc_start_of(period_first_day(grain, hi + 1)))}"
        )
        back_row = (
            f"e.timestamp >= {d.timestamp(ctx.utc_start_of(period_first_day(grain, lo + 1)))}"
        )
        start_row = f"({start_test} AND {start_row})" if start_test else start_row
        back_row = f"({back_test} AND {back_row})" if back_test else back_row
        extra_where.append(f"({start_row} OR {back_row})")
    source = events_source(
        ctx,
        lower,
        period_last_day(grain, hi + q.periods),
        events=[q.start_event, q.return_event],
        filters=filters,
        resolve_persons=False,
        columns=columns,
        extra_where=extra_where,
    )
    return source, start_test is not None, back_test is not None


def _pairs_sql(ctx: QueryContext, q: RetentionQuery, lo: int, hi: int) -> str:
    """The events aggregated to (person, period): did a start, did a return, and the breakdown
    value of the period's first start.

    The events are grouped per (distinct_id, period) first and those groups resolved to persons
    (`resolve_groups`); a group keeps its first start's instant `fts` and breakdown value `fbv`,
    so the person's first start is the group's whose (instant, value) is smallest. First starts
    count up to the last cohort period, returns from the period after the first cohort period.
    Those bounds fall on period starts, so they are tested once per pair; per event only the
    event tests that the source's WHERE does not already imply remain. Person properties (in a
    filter or the breakdown) are read once per pair, after the grouping."""
    d, grain = ctx.dialect, q.period
    event_filters, person_filters = split_filters(q.filters)
    rows, has_start, has_return = _rows_sql(ctx, q, lo, hi, event_filters)
    only_starts = " FILTER (WHERE is_start = 1)" if has_start else ""
    grouped = {
        **({"started": "max(is_start)"} if has_start else {}),
        **({"returned": "max(is_return)"} if has_return else {}),
    }
    bvl = "NULL"
    if q.breakdown and needs_person([], q.breakdown):
        bvl = f"argMin([{property_text(d, q.breakdown)}], g.ps)"
    elif q.breakdown:
        grouped["fts"] = f"min(ts){only_starts}"
        grouped["fbv"] = f"argMin([bv], (ts, bv IS NULL, coalesce(bv, ''))){only_starts}"
        key = "(g.fts, g.fbv[1] IS NULL, coalesce(g.fbv[1], ''))"
        bvl = f"argMin(g.fbv, {key}){' FILTER (WHERE g.started = 1)' if has_start else ''}"
    per_id = ", ".join(f"{sql} AS {alias}" for alias, sql in grouped.items())
    by_id = (
        f"SELECT distinct_id, ps{', ' + per_id if per_id else ''} FROM ({rows}) AS ev"
        " GROUP BY distinct_id, ps"
    )
    s = f"g.ps < {d.date_literal(period_first_day(grain, hi + 1))}"
    r = f"g.ps >= {d.date_literal(period_first_day(grain, lo + 1))}"
    s = f"max(g.started) = 1 AND {s}" if has_start else s
    r = f"max(g.returned) = 1 AND {r}" if has_return else r
    columns = {
        "p": d.period_number(grain, "g.ps"),
        "s": f"CASE WHEN {s} THEN 1 ELSE 0 END",
        "r": f"CASE WHEN {r} THEN 1 ELSE 0 END",
        "bvl": bvl,
    }
    with_person = needs_person([], q.breakdown)
    return resolve_groups(
        ctx, by_id, ["ps"], columns, filters=person_filters, with_person=with_person
    )


def _first_event_members(q: RetentionQuery, pairs: str, lo: int, hi: int) -> str:
    """(person, c, bv, k) rows: k = 0 for each member, then each return period k in 1..periods.
    The cohort is the person's first start period, found with a window (no second scan)."""
    cohort_bv = "argMin(bvl, p) FILTER (WHERE s = 1) OVER (PARTITION BY person_id)"
    return (
        f"SELECT person_id, c, {'cbvl[1]' if q.breakdown else 'NULL'} AS bv, p - c AS k"
        " FROM (SELECT person_id, p, r,"
        " min(CASE WHEN s = 1 THEN p END) OVER (PARTITION BY person_id) AS c,"
        f" {cohort_bv if q.breakdown else 'NULL'} AS cbvl FROM ({pairs}) AS pairs) AS w"
        f" WHERE c BETWEEN {lo} AND {hi}"
        f" AND (p = c OR (r = 1 AND p > c AND p <= c + {q.periods}))"
    )


def _any_start_members(q: RetentionQuery, pairs: str, lo: int, hi: int) -> str:
    """The same rows when every start period is a cohort: the start pairs, and each start pair
    joined to the same person's return pairs up to `periods` later."""
    bv, a_bv = ("bvl[1]", "a.bvl[1]") if q.breakdown else ("NULL", "NULL")
    return (
        f"WITH pairs AS ({pairs})"
        f" SELECT person_id, p AS c, {bv} AS bv, 0 AS k FROM pairs"
        f" WHERE s = 1 AND p BETWEEN {lo} AND {hi}"
        f" UNION ALL SELECT a.person_id AS person_id, a.p AS c, {a_bv} AS bv, b.p - a.p AS k"
        " FROM pairs AS a JOIN pairs AS b ON b.person_id = a.person_id"
        f" WHERE a.s = 1 AND a.p BETWEEN {lo} AND {hi} AND b.r = 1"
        f" AND b.p > a.p AND b.p <= a.p + {q.periods}"
    )


def _cells_sql(ctx: QueryContext, q: RetentionQuery, lo: int, hi: int) -> str:
    """(bv, c, k, persons): for "on" k is the return period (0 = the cohort); for "within" and
    "unbounded" k is each member's first / last return period (NULL: never returned)."""
    d = ctx.dialect
    if q.cohort == "first_event" and q.start_event != ANY_EVENT:
        members = first_start_members(ctx, q, lo, hi)
    else:
        members_of = _first_event_members if q.cohort == "first_event" else _any_start_members
        members = members_of(q, _pairs_sql(ctx, q, lo, hi), lo, hi)
    count = d.to_int("count(*)")
    if q.mode == "on":
        return f"SELECT bv, c, k, {count} FROM ({members}) AS m GROUP BY bv, c, k"
    agg = "min" if q.mode == "within" else "max"
    return (
        f"SELECT bv, c, kk, {count} FROM (SELECT person_id, c, bv,"
        f" {agg}(CASE WHEN k > 0 THEN k END) AS kk FROM ({members}) AS m"
        " GROUP BY person_id, c, bv) AS per GROUP BY bv, c, kk"
    )


# -- shaping -----------------------------------------------------------------------------------


def _fold(cells: Cells, limit: int, mode: str) -> tuple[Cells, list[str | None]]:
    """Keep the `limit` largest breakdown values (by cohort members), fold the rest together:
    the counts add up, since each member has one breakdown value."""
    sizes: dict[str | None, int] = defaultdict(int)
    for (bv, _, k), n in cells.items():
        if mode != "on" or k == 0:  # "on" has a k = 0 row per member; the others one row
            sizes[bv] += n
    ranked = sorted(sizes, key=lambda bv: (-sizes[bv], str(bv)))
    if len(ranked) <= limit:
        return cells, ranked
    keep = set(ranked[:limit])
    folded: Cells = defaultdict(int)
    for (bv, c, k), n in cells.items():
        folded[(bv if bv in keep else OTHER, c, k)] += n
    return dict(folded), [*ranked[:limit], OTHER]


def _values(q: RetentionQuery, cells: Cells, bv: str | None, c: int) -> list[int]:
    n = q.periods
    if q.mode == "on":
        return [cells.get((bv, c, k), 0) for k in range(n + 1)]
    by_k = {k: cells.get((bv, c, k), 0) for k in [None, *range(1, n + 1)]}
    size = sum(by_k.values())
    if q.mode == "within":
        return [size, *(sum(by_k[j] for j in range(1, k + 1)) for k in range(1, n + 1))]
    return [size, *(sum(by_k[j] for j in range(k, n + 1)) for k in range(1, n + 1))]


def _rate(num: int | None, den: int) -> float | None:
    return None if num is None or den == 0 else num / den


def _summary(q: RetentionQuery, rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    size = 0
    pooled = [[0, 0] for _ in range(q.periods + 1)]  # [retained, size] over ended periods
    for row in rows:
        size += row["size"]
        for k, v in enumerate(row["values"]):
            if v is not None:
                pooled[k][0] += v
                pooled[k][1] += row["size"]
    return {
        "size": size,
        "values": [r for r, _ in pooled],
        "sizes": [s for _, s in pooled],
        "rates": [_rate(r, s) for r, s in pooled],
    }


def run_retention(ctx: QueryContext, q: RetentionQuery) -> dict[str, Any]:
    check_range(q.date_from, q.date_to)
    grain = q.period
    lo, hi = period_of(grain, q.date_from), period_of(grain, q.date_to)
    if (period_last_day(grain, hi + q.periods) - period_first_day(grain, lo)).days > MAX_RANGE_DAYS:
        raise InvalidInput(
            f"the cohort periods and the periods after them span at most {MAX_RANGE_DAYS} days",
            "periods",
        )
    last = last_data_day(ctx)
    cells: Cells = {
        (bv, int(c), None if k is None else int(k)): int(n)
        for bv, c, k, n in ctx.engine.rows(_cells_sql(ctx, q, lo, hi))
    }
    cells, breakdowns = _fold(cells, q.breakdown_limit, q.mode)
    results: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    for bv in breakdowns if q.breakdown else [None]:
        rows = []
        for c in range(lo, hi + 1):
            values: list[int | None] = list(_values(q, cells, bv, c))
            for k in range(1, q.periods + 1):
                if last is None or period_last_day(grain, c + k) > last:
                    values[k] = None
            size = values[0] or 0
            rows.append(
                {
                    "breakdown_value": bv,
                    "cohort": period_label(grain, c),
                    "cohort_start": period_first_day(grain, c).isoformat(),
                    "size": size,
                    "values": values,
                    "rates": [_rate(v, size) for v in values],
                }
            )
        results += rows
        summary.append({"breakdown_value": bv, **_summary(q, rows)})
    return {
        "kind": "retention",
        "period": grain,
        "periods": q.periods,
        "mode": q.mode,
        "cohort": q.cohort,
        "last_day": last.isoformat() if last else None,
        "results": results,
        "summary": summary,
    }
