"""Event aggregates in two stages, for leaves whose value over a set of events follows from their
values over parts of it: counts, unique users, sums, averages, minimums and maximums.

Stage one groups the events by (distinct_id, bucket, breakdown value), with each leaf's partial
values per group: its number of events, and the sum, count, minimum or maximum of its property.
There are far fewer groups than events (a person's events of one day make one group: 105M events
of the 100M benchmark world make 13M). Only the groups are joined to the distinct_id → person map,
and stage two combines the parts per (breakdown value, bucket) and over the range: counts and sums
add up, an average is the sum of sums over the sum of counts, a unique-users leaf counts the
distinct persons of its groups with events. The bucket is grouped on as a number
(`Dialect.bucket_key`) and labelled once per group.

Done in one pass instead (leaves.event_aggregates: every event joined to the map, each distinct
count a hash aggregate over all of them), the catalog's paid conversion and GMV by day took 63 s
of CPU at 100M, of which the join was 20 s and the two distinct counts 60%.

The parts must not depend on the person: a person property in a filter or the breakdown needs the
person's row beside every event, so those queries keep the single pass (`eligible`). The first-
touch channel and segments are per person and are applied after the join (`Scope.wrap`). When no
leaf counts persons and nothing else asks for one, the map is not joined at all (every stored
event's distinct_id is mapped exactly once: docs/decisions.md D14).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from opsloop.analytics.catalog.leaves import LeafResult, collect
from opsloop.analytics.catalog.scope import Scope
from opsloop.analytics.catalog.spec import (
    CountMetric,
    EventMetric,
    PropertyMetric,
    UniqueUsersMetric,
)
from opsloop.analytics.filters import compile_filter, property_number
from opsloop.analytics.source import (
    ANY_EVENT,
    event_condition,
    events_source,
    workspace_person_map,
)


def decomposable(metric: EventMetric) -> bool:
    if isinstance(metric, UniqueUsersMetric):
        return metric.min_days == 1 and metric.min_events == 1
    return isinstance(metric, CountMetric | PropertyMetric)


def eligible(scope: Scope, metric: EventMetric) -> bool:
    """Computed in two stages: decomposable, and no person property anywhere in its question."""
    return decomposable(metric) and not scope.needs_person(metric.filters)


def _needs_persons(scope: Scope, metrics: Sequence[EventMetric]) -> bool:
    bd = scope.breakdown
    per_person = bd is not None and bd.kind in ("first_touch", "segment")
    restricted = bool(scope.channel_filters) or scope.segment is not None
    return per_person or restricted or any(isinstance(m, UniqueUsersMetric) for m in metrics)


class _Conditions:
    """The leaves' conditions as columns of the events, one per distinct condition: the
    catalog's leaves often share one (paying users and GMV both count `pay` events). A leaf
    whose condition the source's WHERE already implies (its events are the source's and it has
    no filter of its own, e.g. active users over active events) needs none: that test per event
    cost a tenth of paid conversion and GMV's CPU at 10M."""

    def __init__(self, scope: Scope, implied: str | None) -> None:
        self.scope, self.implied = scope, implied
        self.columns: dict[str, str] = {}
        self._names: dict[str, str] = {}

    def of(self, metric: EventMetric) -> str | None:
        """The SQL of the metric's condition over events `e`; None when it always holds."""
        d = self.scope.ctx.dialect
        event = event_condition(self.scope.ctx, list(metric.event))
        if not metric.filters and event == self.implied:
            return None
        tests = [event or "1 = 1", *(compile_filter(d, f) for f in metric.filters)]
        return " AND ".join(tests)

    def column(self, condition: str) -> str:
        """The name of the 0/1 column testing `condition` (added on first use)."""
        if condition not in self._names:
            name = f"c{len(self._names)}"
            self._names[condition] = name
            self.columns[name] = f"CASE WHEN {condition} THEN 1 ELSE 0 END"
        return self._names[condition]


def _parts(
    scope: Scope, metric: EventMetric, i: int, conditions: _Conditions
) -> tuple[dict[str, str], dict[str, str]]:
    """Leaf i's value column over events `e` (if it has one), and its partial aggregates over
    them by name (n{i}: events, s{i}: sum, minimum or maximum of the values, k{i}: values)."""
    d = scope.ctx.dialect
    condition = conditions.of(metric)
    columns: dict[str, str] = {}
    if condition is None:
        parts = {f"n{i}": "count(*)"}
    else:
        parts = {f"n{i}": d.count_if(f"{conditions.column(condition)} = 1")}
    if isinstance(metric, PropertyMetric):
        value = property_number(d, metric.property)
        columns[f"v{i}"] = value if condition is None else f"CASE WHEN {condition} THEN {value} END"
        parts[f"s{i}"] = f"{'sum' if metric.kind == 'avg' else metric.kind}(v{i})"
        if metric.kind == "avg":
            parts[f"k{i}"] = f"count(v{i})"
    return columns, parts


def _combined(scope: Scope, metric: EventMetric, i: int) -> tuple[str, float | None]:
    """Leaf i's value from its parts, and its value where it has no events."""
    d = scope.ctx.dialect
    if isinstance(metric, CountMetric):
        return d.to_double(f"sum(n{i})"), 0.0
    if isinstance(metric, UniqueUsersMetric):
        return d.to_double(d.count_distinct(f"CASE WHEN n{i} > 0 THEN person_id END")), 0.0
    assert isinstance(metric, PropertyMetric)
    if metric.kind == "sum":
        return d.to_double(f"coalesce(sum(s{i}), 0)"), 0.0
    if metric.kind == "avg":
        return d.to_double(f"CASE WHEN sum(k{i}) > 0 THEN sum(s{i}) / sum(k{i}) END"), None
    return d.to_double(f"{metric.kind}(s{i})"), None


def rolled_up(scope: Scope, metrics: Mapping[str, EventMetric]) -> dict[str, LeafResult]:
    """The `eligible` leaves' values per (bv, bucket) and per bv over the range."""
    ctx, d = scope.ctx, scope.ctx.dialect
    items = list(metrics.items())
    persons = _needs_persons(scope, [m for _, m in items])
    # Without a breakdown bv0 is a constant: grouping on it too costs a third more.
    raw = scope.raw_breakdown()
    span = ctx.span(scope.date_from, scope.date_to)  # only the offsets in force over the range
    constant = raw == "NULL"
    columns = {
        **({"did": "e.distinct_id"} if persons else {}),
        "bk": d.bucket_key(scope.grain, "e.timestamp", ctx.timezone, span),
        **({} if constant else {"bv0": raw}),
    }
    events = [name for _, m in items for name in m.event]
    wanted = [ANY_EVENT] if ANY_EVENT in events else list(dict.fromkeys(events))
    conditions = _Conditions(scope, event_condition(ctx, wanted))
    partial: dict[str, str] = {}
    values: dict[str, str] = {}
    combined, empties = [], []
    for i, (_, m) in enumerate(items):
        cols, parts = _parts(scope, m, i, conditions)
        values |= cols
        partial |= parts
        value, empty = _combined(scope, m, i)
        combined += [value, d.to_int(f"sum(n{i})")]
        empties.append(empty)
    columns |= conditions.columns | values
    source = events_source(
        ctx,
        scope.date_from,
        scope.date_to,
        events=wanted,
        filters=scope.filters,
        columns=columns,
        resolve_persons=False,
    )
    keys = [*(["did"] if persons else []), "bk", *([] if constant else ["bv0"])]
    names = ["bv0", *partial]
    selected = [*keys, *(["NULL AS bv0"] if constant else [])]
    selected += [f"{sql} AS {name}" for name, sql in partial.items()]
    grouped = f"SELECT {', '.join(selected)} FROM ({source}) AS ev GROUP BY {', '.join(keys)}"
    if persons:
        # distinct_id is not needed past the join: carrying it costs the materialization below.
        kept = ", ".join(f"g.{c}" for c in dict.fromkeys([k for k in keys if k != "did"] + names))
        grouped = (
            f"SELECT m.person_id AS person_id, {kept} FROM ({grouped}) AS g"
            f" JOIN {workspace_person_map(ctx)} AS m ON m.distinct_id = g.did"
        )
    label = d.bucket_key_label(scope.grain, "bk")
    rows = ctx.engine.rows(
        f"SELECT bv, CASE WHEN bk IS NULL THEN NULL ELSE {label} END AS bucket,"
        f" {', '.join(combined)} FROM ({scope.wrap(grouped)}) AS x"
        f" GROUP BY GROUPING SETS ((bv, bk), (bv)){d.grouping_sets_suffix()}"
    )
    return collect(rows, [ident for ident, _ in items], empties)
