"""The leaves computed in one SQL query each, grouped by breakdown value and bucket with the
range's total per breakdown value in the same pass (GROUPING SETS): event aggregates, new users
and referred users.

Values are doubles or NULL. A bucket without rows takes the leaf's `empty` value: 0 for counts
and sums, None (no data) for averages, extremes and percentiles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opsloop.analytics.catalog.scope import Scope
from opsloop.analytics.catalog.spec import (
    CountMetric,
    DistinctCountMetric,
    EventMetric,
    NewUsersMetric,
    PercentileMetric,
    PropertyMetric,
    ReferredUsersMetric,
    UniqueUsersMetric,
)
from opsloop.analytics.filters import compile_filter, property_number, property_text
from opsloop.analytics.source import ANY_EVENT, event_condition, events_source

Bv = str | None


@dataclass
class LeafResult:
    """A leaf's value per (breakdown value, bucket) and over the whole range per breakdown
    value; `weights` rank the breakdown values (the larger, the earlier)."""

    cells: Mapping[tuple[Bv, str], float | None]
    totals: Mapping[Bv, float | None]
    empty: float | None = 0.0
    weights: Mapping[Bv, float] = field(default_factory=dict)
    # Per breakdown value, the value of an empty cell when it differs from `empty`.
    empty_of: Mapping[Bv, float | None] = field(default_factory=dict)

    def value(self, bv: Bv, bucket: str) -> float | None:
        return self.cells.get((bv, bucket), self.empty_of.get(bv, self.empty))

    def total(self, bv: Bv) -> float | None:
        return self.totals.get(bv, self.empty_of.get(bv, self.empty))

    def breakdown_values(self) -> set[Bv]:
        return set(self.totals) | {bv for bv, _ in self.cells}

    def weight(self, bv: Bv) -> float:
        if bv in self.weights:
            return self.weights[bv]
        total = self.totals.get(bv)
        return float(total) if total is not None else 0.0


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def grouped(scope: Scope, source: str, aggregate: str, empty: float | None) -> LeafResult:
    """The aggregate per (bv, bucket) and per bv over all buckets, from a source with
    person_id, bucket and bv."""
    d = scope.ctx.dialect
    rows = scope.ctx.engine.rows(
        f"SELECT bv, bucket, {aggregate} FROM ({source}) AS x"
        f" GROUP BY GROUPING SETS ((bv, bucket), (bv)){d.grouping_sets_suffix()}"
    )
    cells = {(bv, str(bucket)): _float(v) for bv, bucket, v in rows if bucket is not None}
    totals = {bv: _float(v) for bv, bucket, v in rows if bucket is None}
    return LeafResult(cells, totals, empty)


def bucket_column(scope: Scope) -> str:
    return scope.ctx.dialect.bucket_label(scope.grain, "e.timestamp", scope.ctx.timezone)


def batchable(metric: EventMetric) -> bool:
    """Leaves computed together, in one pass over the events, by conditional aggregates."""
    if isinstance(metric, UniqueUsersMetric):
        return metric.min_days == 1 and metric.min_events == 1
    return isinstance(metric, CountMetric | PropertyMetric | PercentileMetric | DistinctCountMetric)


def _aggregate(scope: Scope, metric: EventMetric, i: int) -> tuple[str, float | None]:
    """Leaf i's aggregate over the rows where its condition `c{i}` holds, and its empty value."""
    d = scope.ctx.dialect
    value = f"CASE WHEN c{i} = 1 THEN v{i} END"
    if isinstance(metric, CountMetric):
        return d.to_double(d.count_if(f"c{i} = 1")), 0.0
    if isinstance(metric, UniqueUsersMetric):
        return d.to_double(d.count_distinct(f"CASE WHEN c{i} = 1 THEN person_id END")), 0.0
    if isinstance(metric, DistinctCountMetric):
        return d.to_double(d.count_distinct(value)), 0.0
    if isinstance(metric, PercentileMetric):
        return d.to_double(d.quantile_exact(value, metric.p)), None
    assert isinstance(metric, PropertyMetric)
    if metric.kind == "sum":
        return d.to_double(f"coalesce(sum({value}), 0)"), 0.0
    return d.to_double(f"{metric.kind}({value})"), None


def event_aggregates(scope: Scope, metrics: Mapping[str, EventMetric]) -> dict[str, LeafResult]:
    """count, unique_users, sum / avg / min / max, percentile and distinct_count leaves, all in
    one pass: each leaf's events are marked by a condition column, each aggregate reads only
    its rows, and a leaf has a cell only where it has events. Leaves that decompose are
    computed in two stages instead where they can be (catalog/rollup.py)."""
    d = scope.ctx.dialect
    items = list(metrics.items())
    columns = {"bucket": bucket_column(scope)}
    selected, events, person = [], [], False
    empties = []
    for i, (_, m) in enumerate(items):
        tests = [event_condition(scope.ctx, list(m.event)) or "1 = 1"]
        tests += [compile_filter(d, f) for f in m.filters]
        columns[f"c{i}"] = f"CASE WHEN {' AND '.join(tests)} THEN 1 ELSE 0 END"
        if isinstance(m, PropertyMetric | PercentileMetric):
            columns[f"v{i}"] = property_number(d, m.property)
        elif isinstance(m, DistinctCountMetric):
            columns[f"v{i}"] = property_text(d, m.property)
        aggregate, empty = _aggregate(scope, m, i)
        selected += [aggregate, d.to_int(d.count_if(f"c{i} = 1"))]
        empties.append(empty)
        events += list(m.event)
        person = person or scope.needs_person(m.filters)
    wanted = [ANY_EVENT] if ANY_EVENT in events else list(dict.fromkeys(events))
    source = scope.source(scope.date_from, scope.date_to, wanted, (), columns, with_person=person)
    rows = scope.ctx.engine.rows(
        f"SELECT bv, bucket, {', '.join(selected)} FROM ({source}) AS x"
        f" GROUP BY GROUPING SETS ((bv, bucket), (bv)){d.grouping_sets_suffix()}"
    )
    return collect(rows, [ident for ident, _ in items], empties)


def collect(
    rows: list[tuple[Any, ...]], idents: list[str], empties: list[float | None]
) -> dict[str, LeafResult]:
    """Leaves from rows of (bv, bucket or NULL for the range, then per leaf its value and its
    number of events): a leaf has a cell only where it has events."""
    out = {}
    for i, ident in enumerate(idents):
        cells: dict[tuple[Bv, str], float | None] = {}
        totals: dict[Bv, float | None] = {}
        for row in rows:
            bv, bucket, value, present = row[0], row[1], row[2 + 2 * i], row[3 + 2 * i]
            if not present:
                continue
            if bucket is None:
                totals[bv] = _float(value)
            else:
                cells[(bv, str(bucket))] = _float(value)
        out[ident] = LeafResult(cells, totals, empties[i])
    return out


def repeat_users(scope: Scope, metric: UniqueUsersMetric) -> LeafResult:
    d = scope.ctx.dialect
    columns = {
        "bucket": bucket_column(scope),
        "day": d.local_day_number("e.timestamp", scope.ctx.timezone),
    }
    source = scope.source(scope.date_from, scope.date_to, metric.event, metric.filters, columns)
    return _repeat_users(scope, source, metric)


def _repeat_users(scope: Scope, source: str, metric: UniqueUsersMetric) -> LeafResult:
    """Persons with matching events on at least min_days distinct days and at least
    min_events events, in each bucket and over the range."""
    d = scope.ctx.dialect
    per_person = (
        f"SELECT person_id, bv, bucket, {d.count_distinct('day')} AS n_days,"
        " count(*) AS n_events FROM src GROUP BY person_id, bv, bucket"
        f" UNION ALL SELECT person_id, bv, NULL AS bucket, {d.count_distinct('day')} AS n_days,"
        " count(*) AS n_events FROM src GROUP BY person_id, bv"
    )
    test = f"n_days >= {metric.min_days} AND n_events >= {metric.min_events}"
    rows = scope.ctx.engine.rows(
        f"WITH src AS ({source}) SELECT bv, bucket, {d.to_double(d.count_if(test))}"
        f" FROM ({per_person}) AS pp GROUP BY bv, bucket"
    )
    cells = {(bv, str(bucket)): _float(v) for bv, bucket, v in rows if bucket is not None}
    totals = {bv: _float(v) for bv, bucket, v in rows if bucket is None}
    return LeafResult(cells, totals, 0.0)


def first_events(scope: Scope, metric: EventMetric, columns: dict[str, str]) -> str:
    """Each person's first matching event ever (up to the range's end; ties by uuid), kept when
    it passes the metric's and the query's filters: person_id, ts, the columns, bv."""
    d = scope.ctx.dialect
    filters = [*scope.filters, *metric.filters]
    passes = " AND ".join(compile_filter(d, f) for f in filters) or "1 = 1"
    base = events_source(
        scope.ctx,
        None,
        scope.date_to,
        events=list(metric.event),
        with_person=scope.needs_person(metric.filters),
        columns={
            **columns,
            "bv0": scope.raw_breakdown(),
            "fl": f"CASE WHEN {passes} THEN 1 ELSE 0 END",
            "ord": d.uuid_order("e.uuid"),
        },
    )
    ranked = (
        "SELECT *, row_number() OVER (PARTITION BY person_id ORDER BY ts, ord) AS rn"
        f" FROM ({base}) AS b"
    )
    start = d.timestamp(scope.ctx.utc_start_of(scope.date_from))
    return scope.wrap(f"SELECT * FROM ({ranked}) AS r WHERE rn = 1 AND fl = 1 AND ts >= {start}")


def new_users(scope: Scope, metric: NewUsersMetric) -> LeafResult:
    source = first_events(scope, metric, {"bucket": bucket_column(scope)})
    return grouped(scope, source, scope.ctx.dialect.to_double("count(*)"), 0.0)


def referred_users(scope: Scope, metric: ReferredUsersMetric) -> LeafResult:
    """Invitees (persons whose sign-up carries an invite's code) per bucket of the invite;
    0 where invites were sent but none was taken up."""
    d = scope.ctx.dialect
    code = property_text(d, metric.match_property)
    invites = scope.source(
        scope.date_from,
        scope.date_to,
        metric.event,
        metric.filters,
        {"bucket": bucket_column(scope), "code": code},
        extra_where=[f"{code} IS NOT NULL"],
    )
    signups = events_source(
        scope.ctx,
        None,
        scope.date_to,
        events=[metric.signup_event],
        columns={"code": code},
        extra_where=[f"{code} IS NOT NULL"],
    )
    # Every invite keeps its row (a bucket of invites nobody took up counts 0); an unmatched
    # invite's code is NULL on the right (Nullable in ClickHouse too), so it adds no invitee.
    joined = (
        "SELECT i.bv AS bv, i.bucket AS bucket,"
        " CASE WHEN s.code IS NOT NULL THEN s.invitee END AS invitee FROM"
        f" ({invites}) AS i LEFT JOIN (SELECT DISTINCT person_id AS invitee, code FROM"
        f" ({signups}) AS su) AS s ON s.code = i.code"
    )
    return grouped(scope, joined, d.to_double(d.count_distinct("invitee")), 0.0)
