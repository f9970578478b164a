"""Metrics: catalog metrics (built-in or the workspace's) over time buckets, broken down, filtered,
with totals and an optional comparison period.

Each requested metric is expanded into its leaves (catalog/plan.py), every leaf is computed once
per bucket and breakdown value, and formulas are evaluated per bucket from their components'
values (a rate is pooled, never an average of rates). A bucket's `total` is computed over the
whole range the same way (unique users are not double-counted across days). With more breakdown
values than `breakdown_limit`, the values are ranked by the first metric's first component and
the rest fold into one "$other" line (recomputed, so distinct counts stay distinct).
`compare` computes the same lines for the previous period (as many days just before) or the same
period last week (7 days earlier), and each line gets `previous_values`, `previous_total` and the
relative `change` ((current − previous) ÷ |previous|; null when previous is null or 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from opsloop.analytics.catalog.catalog import catalog_of
from opsloop.analytics.catalog.evaluate import evaluate_plan
from opsloop.analytics.catalog.leaves import LeafResult
from opsloop.analytics.catalog.plan import MetricPlan, MetricRequest, describe, value_of
from opsloop.analytics.catalog.scope import FIRST_TOUCH, OTHER, Scope, parse_breakdown
from opsloop.analytics.context import QueryContext, bucket_labels, check_range
from opsloop.analytics.dialect import Grain
from opsloop.analytics.filters import PropertyFilter

Compare = Literal["previous_period", "same_period_last_week"]
ParamValue = str | int | float | bool
Bv = str | None
MetricKey = Annotated[str, Field(min_length=1, max_length=63)]


class MetricRef(BaseModel):
    """A catalog metric with parameters (`{"metric": "feature_usage_rate", "params":
    {"feature": "AI穿搭助手"}}`), or just its key as a string."""

    model_config = ConfigDict(extra="forbid")

    metric: MetricKey
    params: dict[str, ParamValue] = Field(default_factory=dict)
    label: str | None = Field(default=None, max_length=200)


class MetricsQuery(BaseModel):
    kind: Literal["metrics"] = "metrics"
    metrics: list[MetricKey | MetricRef] = Field(
        min_length=1, max_length=20, examples=[["dau", "paid_conversion", "gmv"]]
    )
    date_from: date
    date_to: date
    interval: Grain = "day"
    breakdown: str | None = Field(
        default=None,
        description="event property, person.<name>, $first_touch_channel, or $segment",
    )
    segments: list[int] = Field(
        default_factory=list, max_length=20, description="saved segments of a $segment breakdown"
    )
    segment: int | None = Field(default=None, ge=1, description="only this saved segment's members")
    breakdown_limit: int = Field(default=25, ge=1, le=500)
    filters: list[PropertyFilter] = Field(
        default_factory=list, description="property filters; $first_touch_channel is allowed"
    )
    compare: Compare | None = None

    @field_validator("filters")
    @classmethod
    def _channel_filters_are_text(cls, filters: list[PropertyFilter]) -> list[PropertyFilter]:
        for f in filters:
            if f.property == FIRST_TOUCH and f.op in ("gt", "gte", "lt", "lte"):
                raise ValueError(f"{FIRST_TOUCH} is text: use eq, neq, in, contains, ...")
        return filters


def requests_of(q: MetricsQuery) -> list[MetricRequest]:
    out = []
    for i, item in enumerate(q.metrics):
        ref = MetricRef(metric=item) if isinstance(item, str) else item
        out.append(MetricRequest(ref.metric, ref.params, ref.label, f"metrics.{i}"))
    return out


def build_scope(
    ctx: QueryContext,
    date_from: date,
    date_to: date,
    grain: Grain,
    breakdown: str | None = None,
    filters: Sequence[PropertyFilter] = (),
    segments: Sequence[int] = (),
    segment: int | None = None,
) -> Scope:
    check_range(date_from, date_to)
    names = dict(ctx.definitions.segment_names) if ctx.definitions is not None else {}
    return Scope(
        ctx,
        date_from,
        date_to,
        grain,
        parse_breakdown(breakdown, segments),
        tuple(f for f in filters if f.property != FIRST_TOUCH),
        tuple(f for f in filters if f.property == FIRST_TOUCH),
        segment,
        None,
        names,
    )


def shifted_range(date_from: date, date_to: date, compare: Compare) -> tuple[date, date]:
    back = 7 if compare == "same_period_last_week" else (date_to - date_from).days + 1
    return date_from - timedelta(days=back), date_to - timedelta(days=back)


def _ordered(plan: MetricPlan, leaves: dict[str, LeafResult]) -> list[Bv]:
    values: set[Bv] = set()
    for leaf in leaves.values():
        values |= leaf.breakdown_values()
    first = leaves[plan.first_leaf()]
    return sorted(values, key=lambda bv: (bv == OTHER, -first.weight(bv), str(bv)))


def breakdown_values(
    plan: MetricPlan, leaves: dict[str, LeafResult], index: int, ordered: list[Bv]
) -> list[Bv]:
    """The breakdown values a request has data for (those of its own leaves), in `ordered`'s
    order."""
    own: set[Bv] = set()
    for leaf in plan.leaves_of(index):
        own |= leaves[leaf].breakdown_values()
    return [bv for bv in ordered if bv in own]


def compute(
    scope: Scope, plan: MetricPlan, limit: int
) -> tuple[Scope, dict[str, LeafResult], list[Bv]]:
    """The leaves' results and the breakdown values to show (folded past `limit`)."""
    leaves = evaluate_plan(scope, plan)
    if scope.breakdown is None:
        return scope, leaves, [None]
    ordered = _ordered(plan, leaves)
    if len(ordered) > limit:
        scope = scope.folding(ordered[:limit])
        leaves = evaluate_plan(scope, plan)
        ordered = _ordered(plan, leaves)
    return scope, leaves, ordered


def series(
    scope: Scope, plan: MetricPlan, leaves: dict[str, LeafResult], index: int, bv: Bv
) -> tuple[list[float | None], float | None]:
    """A request's value per bucket of the scope, and over the range, for one breakdown value."""
    tree = plan.trees[index]
    labels = bucket_labels(scope.grain, scope.date_from, scope.date_to)

    def cell(bucket: str) -> float | None:
        return value_of(tree, lambda leaf: leaves[leaf].value(bv, bucket))

    return [cell(b) for b in labels], value_of(tree, lambda leaf: leaves[leaf].total(bv))


def number(v: float | None) -> float | int | None:
    if v is None:
        return None
    return int(v) if float(v).is_integer() and abs(v) < 2**53 else float(v)


def change(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous)


def metric_series(
    ctx: QueryContext,
    request: MetricRequest,
    date_from: date,
    date_to: date,
    grain: Grain,
    breakdown: str | None,
    breakdown_limit: int,
    filters: Sequence[PropertyFilter],
) -> list[tuple[Bv, list[float | None], float | None]]:
    """One metric's lines (breakdown value, values per bucket, total): a trends series."""
    plan = MetricPlan(catalog_of(ctx.definitions), [request])
    scope = build_scope(ctx, date_from, date_to, grain, breakdown, filters)
    scope, leaves, breakdowns = compute(scope, plan, breakdown_limit)
    if scope.breakdown is not None:
        breakdowns = breakdown_values(plan, leaves, 0, breakdowns)
    return [(bv, *series(scope, plan, leaves, 0, bv)) for bv in breakdowns]


def _described(ctx: QueryContext, plan: MetricPlan, index: int) -> dict[str, Any]:
    """A requested metric's names and format; money from the spend table is in its currency."""
    out = describe(plan.metrics[index])
    spend = ctx.definitions.spend if ctx.definitions is not None else None
    if spend is not None and out["format"] == "currency" and plan.uses_spend(index):
        out["currency"] = spend.currency
    return out


def run_metrics(ctx: QueryContext, q: MetricsQuery) -> dict[str, Any]:
    catalog = catalog_of(ctx.definitions)
    requests = requests_of(q)
    plan = MetricPlan(catalog, requests)
    scope = build_scope(
        ctx, q.date_from, q.date_to, q.interval, q.breakdown, q.filters, q.segments, q.segment
    )
    scope, leaves, breakdowns = compute(scope, plan, q.breakdown_limit)
    labels = bucket_labels(q.interval, q.date_from, q.date_to)
    previous = None
    if q.compare is not None:
        lo, hi = shifted_range(q.date_from, q.date_to, q.compare)
        before = scope.shifted(lo, hi)
        previous = (before, evaluate_plan(before, plan))
    results = []
    for i, request in enumerate(requests):
        own = (
            breakdowns if scope.breakdown is None else breakdown_values(plan, leaves, i, breakdowns)
        )
        for bv in own:
            values, total = series(scope, plan, leaves, i, bv)
            line: dict[str, Any] = {
                "metric": request.key,
                "label": request.label or request.key,
                "params": dict(request.params),
                "breakdown_value": bv,
                "dates": labels,
                "values": [number(v) for v in values],
                "total": number(total),
            }
            if previous is not None:
                old, old_total = series(previous[0], plan, previous[1], i, bv)
                old += [None] * (len(values) - len(old))
                line["previous_values"] = [number(v) for v in old[: len(values)]]
                line["previous_total"] = number(old_total)
                line["change"] = [change(v, o) for v, o in zip(values, old, strict=False)]
                line["total_change"] = change(total, old_total)
            results.append(line)
    answer: dict[str, Any] = {
        "kind": "metrics",
        "interval": q.interval,
        "date_from": q.date_from.isoformat(),
        "date_to": q.date_to.isoformat(),
        "breakdown": q.breakdown,
        "metrics": [_described(ctx, plan, i) for i in range(len(requests))],
        "results": results,
        "compare": None,
    }
    if previous is not None:
        before = previous[0]
        answer["compare"] = {
            "kind": q.compare,
            "date_from": before.date_from.isoformat(),
            "date_to": before.date_to.isoformat(),
            "dates": bucket_labels(q.interval, before.date_from, before.date_to),
        }
    return answer
