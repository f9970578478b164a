"""Computing the leaves of a plan: each kind's evaluator, and acquisition spend from the uploaded
spend table (no SQL: the rows come from the operational store through the query's definitions).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from opsloop.analytics.catalog.leaves import (
    LeafResult,
    batchable,
    event_aggregates,
    new_users,
    referred_users,
    repeat_users,
)
from opsloop.analytics.catalog.plan import MetricPlan
from opsloop.analytics.catalog.rollup import eligible, rolled_up
from opsloop.analytics.catalog.scope import FIRST_TOUCH, OTHER, Scope, date_bucket
from opsloop.analytics.catalog.spec import (
    ActiveUsersMetric,
    AnyMetric,
    EventMetric,
    NewUsersMetric,
    ReferredUsersMetric,
    RetentionMetric,
    SpendMetric,
    UniqueUsersMetric,
)
from opsloop.analytics.catalog.windows import active_users, retention
from opsloop.analytics.filters import PropertyFilter
from opsloop.errors import InvalidInput


def evaluate_leaf(scope: Scope, metric: AnyMetric) -> LeafResult:
    """One leaf on its own (event aggregates are usually batched by evaluate_plan)."""
    if isinstance(metric, ActiveUsersMetric):
        return active_users(scope, metric)
    if isinstance(metric, RetentionMetric):
        return retention(scope, metric)
    if isinstance(metric, NewUsersMetric):
        return new_users(scope, metric)
    if isinstance(metric, ReferredUsersMetric):
        return referred_users(scope, metric)
    if isinstance(metric, SpendMetric):
        return spend(scope, metric)
    if isinstance(metric, UniqueUsersMetric) and not batchable(metric):
        return repeat_users(scope, metric)
    assert isinstance(metric, EventMetric)
    return aggregates(scope, {"leaf": metric})["leaf"]


def aggregates(scope: Scope, metrics: dict[str, EventMetric]) -> dict[str, LeafResult]:
    """Batched event aggregates: those that decompose in two stages over (distinct_id, bucket)
    groups (catalog/rollup.py), the others in one pass over the events."""
    staged = {ident: m for ident, m in metrics.items() if eligible(scope, m)}
    rest = {ident: m for ident, m in metrics.items() if ident not in staged}
    out = rolled_up(scope, staged) if staged else {}
    return out | (event_aggregates(scope, rest) if rest else {})


def evaluate_plan(scope: Scope, plan: MetricPlan) -> dict[str, LeafResult]:
    """Every leaf of the plan: the event aggregates batched, the others one query each."""
    batch: dict[str, EventMetric] = {
        ident: m for ident, m in plan.leaves.items() if isinstance(m, EventMetric) and batchable(m)
    }
    out = aggregates(scope, batch) if batch else {}
    for ident, metric in plan.leaves.items():
        if ident not in out:
            out[ident] = evaluate_leaf(scope, metric)
    return out


# -- spend -----------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def channel_matches(f: PropertyFilter, channel: str | None) -> bool:
    """A $first_touch_channel filter applied to a channel name, as its SQL would be."""
    values = [_text(v) for v in (f.value if isinstance(f.value, list) else [f.value])]
    if f.op == "is_set":
        return channel is not None
    if f.op == "is_not_set":
        return channel is None
    if f.op == "eq":
        return channel == values[0]
    if f.op == "neq":
        return channel != values[0]
    if f.op == "in":
        return channel in values
    if f.op == "not_in":
        return channel not in values
    if f.op == "contains":
        return channel is not None and values[0] in channel
    if f.op == "not_contains":
        return channel is None or values[0] not in channel
    raise InvalidInput(f"{FIRST_TOUCH} is text: use eq, neq, in, contains, ...", "filters")


def spend(scope: Scope, metric: SpendMetric) -> LeafResult:
    """The spend of each bucket's days; by channel under the first-touch breakdown. A line
    whose channel has no spend row in the range is null (no data), not 0."""
    date_bucket(scope.grain, scope.date_from)  # refuses the hour grain
    if scope.filters or scope.segment is not None:
        raise InvalidInput(
            f"{metric.key} comes from the spend table: it takes filters on {FIRST_TOUCH} only",
            "filters" if scope.filters else "segment",
        )
    bd = scope.breakdown
    if bd is not None and bd.kind != "first_touch":
        raise InvalidInput(
            f"{metric.key} comes from the spend table: break it down by {FIRST_TOUCH} only",
            "breakdown",
        )
    table = scope.ctx.definitions.spend if scope.ctx.definitions is not None else None
    rows = table.rows(scope.date_from, scope.date_to) if table is not None else []
    cells: dict[tuple[str | None, str], float] = defaultdict(float)
    totals: dict[str | None, float] = defaultdict(float)
    for row in rows:
        if not all(channel_matches(f, row.channel) for f in scope.channel_filters):
            continue
        bv: str | None = None
        if bd is not None:
            bv = row.channel
            if scope.keep is not None and bv not in scope.keep:
                bv = OTHER
        cells[(bv, date_bucket(scope.grain, row.day))] += row.spend
        totals[bv] += row.spend
    result = LeafResult(dict(cells), dict(totals), None)
    result.empty_of = dict.fromkeys(totals, 0.0)
    return result
