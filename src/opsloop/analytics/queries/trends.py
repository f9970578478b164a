"""Trends: metrics over time buckets, optionally broken down by a property, with totals.

A series counts an event (`total`), its distinct persons (`unique_users`), or aggregates a numeric
property (`sum`, `avg`, `min`, `max`); or it is a catalog metric (`{"metric": "paid_conversion"}`,
computed by the metrics query with the trend's range, interval, breakdown and filters). Buckets
are hours, days, ISO weeks (Monday) or months in the workspace's time zone; a bucket with no
events has the value 0 (None for avg/min/max). The total of a series is computed over the whole
range, so unique users are not double-counted across days.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from opsloop.analytics.catalog.plan import MetricRequest
from opsloop.analytics.context import QueryContext, bucket_labels
from opsloop.analytics.dialect import Grain
from opsloop.analytics.filters import PropertyFilter, needs_person, property_number, property_text
from opsloop.analytics.queries.metrics import metric_series
from opsloop.analytics.source import ANY_EVENT, events_source, workspace_person_map

Math = Literal["total", "unique_users", "sum", "avg", "min", "max"]
OTHER = "$other"


class TrendsSeries(BaseModel):
    event: str = Field(default=ANY_EVENT, min_length=1, max_length=200)
    math: Math = "total"
    property: str | None = Field(default=None, description="numeric property for sum/avg/min/max")
    filters: list[PropertyFilter] = Field(default_factory=list)
    label: str | None = None
    metric: str | None = Field(
        default=None, min_length=1, max_length=63, description="a catalog metric's key"
    )
    params: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="the catalog metric's parameters"
    )

    @model_validator(mode="after")
    def _property_for_math(self) -> TrendsSeries:
        if self.metric is not None:
            if self.event != ANY_EVENT or self.math != "total" or self.property:
                raise ValueError("a metric series takes no event, math or property")
            return self
        if self.params:
            raise ValueError("params are for a metric series")
        if self.math in ("sum", "avg", "min", "max") and not self.property:
            raise ValueError(f"math {self.math!r} needs a numeric property")
        return self


class TrendsQuery(BaseModel):
    kind: Literal["trends"] = "trends"
    series: list[TrendsSeries] = Field(min_length=1, max_length=20)
    date_from: date
    date_to: date
    interval: Grain = "day"
    breakdown: str | None = Field(default=None, description="event property, or person.<name>")
    breakdown_limit: int = Field(default=25, ge=1, le=500)
    filters: list[PropertyFilter] = Field(default_factory=list)
    compare: Literal["previous_period", "previous_week"] | None = None


def _aggregate(ctx: QueryContext, s: TrendsSeries) -> str:
    d = ctx.dialect
    if s.math == "total":
        return d.to_double("count(*)")
    if s.math == "unique_users":
        return d.to_double(d.count_distinct("person_id"))
    return d.to_double(f"{s.math}(value)")


def _series_rows(
    ctx: QueryContext, q: TrendsQuery, s: TrendsSeries, date_from: date, date_to: date
) -> tuple[dict[tuple[Any, str], float | None], dict[Any, float | None]]:
    """(breakdown value, bucket) -> value, and breakdown value -> total over the range."""
    d = ctx.dialect
    span = ctx.span(date_from, date_to)
    columns = {"bk": d.bucket_key(q.interval, "e.timestamp", ctx.timezone, span)}
    columns["bv"] = property_text(d, q.breakdown) if q.breakdown else "NULL"
    if s.property:
        columns["value"] = property_number(d, s.property)
    filters = [*q.filters, *s.filters]
    with_person = needs_person(filters, q.breakdown)
    # Counts and sums of events need no person unless a filter or the breakdown names one.
    resolve = with_person or s.math == "unique_users"
    if s.math == "unique_users" and not with_person:
        source = _distinct_id_groups(ctx, q, s.event, filters, date_from, date_to, columns)
    else:
        source = events_source(
            ctx,
            date_from,
            date_to,
            events=[s.event],
            filters=filters,
            with_person=with_person,
            resolve_persons=resolve,
            columns=columns,
        )
    agg = _aggregate(ctx, s)
    label = d.bucket_key_label(q.interval, "bk")
    additive = s.math in ("total", "sum")
    cells, totals = _cells_and_totals(ctx, source, agg, label, additive)
    if q.breakdown and len(totals) > q.breakdown_limit:
        # Keep the top values by total; the rest become one "$other" line.
        ranked = sorted(totals, key=lambda bv: (-(totals[bv] or 0), str(bv)))
        keep = ranked[: q.breakdown_limit]
        listed = ", ".join(d.string(str(bv)) for bv in keep if bv is not None)
        kept_null = " OR bv IS NULL" if None in keep else ""
        folded = f"CASE WHEN bv IN ({listed or 'NULL'}){kept_null} THEN bv ELSE '{OTHER}' END"
        value = ", value" if s.property else ""
        person = "person_id, " if resolve else ""
        source = f"SELECT {person}bk, {folded} AS bv{value} FROM ({source}) AS f"
        cells, totals = _cells_and_totals(ctx, source, agg, label, additive)
    return cells, totals


def _distinct_id_groups(
    ctx: QueryContext,
    q: TrendsQuery,
    event: str,
    filters: list[PropertyFilter],
    date_from: date,
    date_to: date,
    columns: dict[str, str],
) -> str:
    """(person_id, bk, bv) for unique users when no person property is asked for: the events
    grouped per (distinct_id, bucket, breakdown value) first and only those groups joined to the
    distinct_id → person map (catalog/rollup.py does the same for the catalog's leaves). Each
    group has events, so a person counts in a (bv, bucket) exactly when one of their ids has a
    group there. At 10M events, daily active users by channel: 1.3M groups joined instead of
    10.5M events, half the CPU."""
    grouped = ["did", "bk", *(["bv"] if q.breakdown else [])]
    inner = events_source(
        ctx,
        date_from,
        date_to,
        events=[event],
        filters=filters,
        resolve_persons=False,
        columns={"did": "e.distinct_id", **{k: columns[k] for k in grouped if k != "did"}},
    )
    keys = ", ".join(grouped)
    bv = "g.bv" if q.breakdown else "NULL"
    return (
        f"SELECT m.person_id AS person_id, g.bk AS bk, {bv} AS bv"
        f" FROM (SELECT {keys} FROM ({inner}) AS ev GROUP BY {keys}) AS g"
        f" JOIN {workspace_person_map(ctx)} AS m ON m.distinct_id = g.did"
    )


def _cells_and_totals(
    ctx: QueryContext, source: str, agg: str, label: str, additive: bool
) -> tuple[dict[tuple[Any, str], float | None], dict[Any, float | None]]:
    """One pass: the value per (breakdown, bucket) and per breakdown over the whole range. The
    rows are grouped on the bucket's key `bk` and each group labelled (`label`, over `bk`),
    instead of formatting every event's label. An additive aggregate's total (a count, a sum) is
    the sum of its buckets, added up here rather than aggregated again in SQL (the grouping set
    costs the engine about a third more)."""
    if additive:
        rows = ctx.engine.rows(
            f"SELECT bv, {label} AS bucket, {agg} FROM ({source}) AS s GROUP BY bv, bk"
        )
        cells = {(bv, bucket): v for bv, bucket, v in rows}
        totals: dict[Any, float | None] = {}
        for bv, _, v in rows:  # as SQL sums: NULL when every value is NULL
            before = totals.get(bv)
            totals[bv] = v if before is None else before if v is None else before + v
        return cells, totals
    rows = ctx.engine.rows(
        f"SELECT bv, CASE WHEN bk IS NULL THEN NULL ELSE {label} END AS bucket, {agg}"
        f" FROM ({source}) AS s"
        f" GROUP BY GROUPING SETS ((bv, bk), (bv)){ctx.dialect.grouping_sets_suffix()}"
    )
    cells = {(bv, bucket): v for bv, bucket, v in rows if bucket is not None}
    totals = {bv: v for bv, bucket, v in rows if bucket is None}
    return cells, totals


def _shift(q: TrendsQuery) -> tuple[date, date]:
    if q.compare == "previous_week":
        return q.date_from - timedelta(days=7), q.date_to - timedelta(days=7)
    span = (q.date_to - q.date_from).days + 1
    return q.date_from - timedelta(days=span), q.date_to - timedelta(days=span)


def _results(
    ctx: QueryContext, q: TrendsQuery, date_from: date, date_to: date, compare: bool
) -> list[dict[str, Any]]:
    labels = bucket_labels(q.interval, date_from, date_to)
    out: list[dict[str, Any]] = []
    for index, s in enumerate(q.series):
        if s.metric is not None:
            out += _metric_lines(ctx, q, index, s, date_from, date_to, labels, compare)
            continue
        cells, totals = _series_rows(ctx, q, s, date_from, date_to)
        empty = 0.0 if s.math in ("total", "unique_users", "sum") else None
        values_by_bv = sorted(totals, key=lambda bv: (bv == OTHER, -(totals[bv] or 0), str(bv)))
        if not q.breakdown:
            values_by_bv = [None]
        for bv in values_by_bv:
            values = [cells.get((bv, b), empty) for b in labels]
            out.append(
                {
                    "series": index,
                    "label": s.label or (s.event if s.math == "total" else f"{s.event} {s.math}"),
                    "event": s.event,
                    "math": s.math,
                    "breakdown_value": bv,
                    "dates": labels,
                    "values": [_number(v) for v in values],
                    "total": _number(totals.get(bv, empty)),
                    "compare": compare,
                }
            )
    return out


def _metric_lines(
    ctx: QueryContext,
    q: TrendsQuery,
    index: int,
    s: TrendsSeries,
    date_from: date,
    date_to: date,
    labels: list[str],
    compare: bool,
) -> list[dict[str, Any]]:
    assert s.metric is not None
    lines = metric_series(
        ctx,
        MetricRequest(s.metric, s.params, s.label, f"series.{index}.metric"),
        date_from,
        date_to,
        q.interval,
        q.breakdown,
        q.breakdown_limit,
        [*q.filters, *s.filters],
    )
    return [
        {
            "series": index,
            "label": s.label or s.metric,
            "event": None,
            "math": "metric",
            "metric": s.metric,
            "breakdown_value": bv,
            "dates": labels,
            "values": [_number(v) for v in values],
            "total": _number(total),
            "compare": compare,
        }
        for bv, values, total in lines
    ]


def _number(v: float | None) -> float | int | None:
    if v is None:
        return None
    return int(v) if float(v).is_integer() else float(v)


def run_trends(ctx: QueryContext, q: TrendsQuery) -> dict[str, Any]:
    results = _results(ctx, q, q.date_from, q.date_to, compare=False)
    answer: dict[str, Any] = {"kind": "trends", "interval": q.interval, "results": results}
    if q.compare:
        lo, hi = _shift(q)
        answer["previous"] = _results(ctx, q, lo, hi, compare=True)
    return answer
