"""The funnel compiler: one row per person who did step 1 — their breakdown value, how deep they
got, and the seconds between steps on the chain the median uses — for DuckDB or ClickHouse.

Both engines compute the same thing with the algorithm that is fast on each (results are compared
in the tests). A person's events are the funnel's "items": one per (event, step it matches), so
an event matching two steps (view_item → view_item) is two items. Call `G_k(e)` the latest step-1
time from which item `e` can be step k of a chain (each step strictly later than the one before,
all within the window of that step 1). `G_1(e) = t(e)`, and `G_k(e) = G_{k-1}(e')` where `e'` is
the person's latest step-(k-1) item with a chain, strictly before `e` — because `G` grows with
time, the latest predecessor has the latest start — provided `t(e) - G_k(e) <= window`; when it
does not hold no earlier predecessor can help either. A person reaches step k when some item has
a `G_k`. This is exact (no greedy shortcut that equal timestamps could fool): ties never chain.

- DuckDB (embedded): the items of all persons sorted once by (person, time) and the recurrence
  carried level by level over that one array with numpy (funnel_pass.py): one ordered pass per
  person, vectorised. (K-1 ASOF joins, the SQL spelling of the same recurrence, sort every
  step's items again for each join and take about twice as long; benchmarks/README.md.)
- ClickHouse: each person's items sorted in one array; `arrayFill` carries the latest start
  forward level by level (the same recurrence, vectorised). Its native `windowFunnel` is not
  used: with 'strict_increase' it neither lets one event name fill two steps nor handles ties
  exactly (A@0 → A@1 → B@2 gives 1 for steps A, A, B).

Time to convert (for each step k >= 2): on the person's first item that reaches step k, the time
since its predecessor — the latest step-(k-1) item before it that still has a chain within the
window. Items are compared in microseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from opsloop.analytics.context import MAX_RANGE_DAYS, QueryContext, check_range
from opsloop.analytics.filters import (
    PropertyFilter,
    compile_filter,
    needs_person,
    property_text,
)
from opsloop.analytics.source import (
    ANY_EVENT,
    PERSON_MAP,
    event_condition,
    events_source,
    numbered_person_map,
)
from opsloop.errors import InvalidInput

NO_START = -(2**62)  # "no chain" in ClickHouse's arrays: below every start minus any window


@dataclass(frozen=True, slots=True)
class StepSpec:
    event: str
    filters: tuple[PropertyFilter, ...] = ()


@dataclass(frozen=True, slots=True)
class FunnelSpec:
    """What the compiler needs from a funnel request."""

    steps: tuple[StepSpec, ...]
    window_seconds: int
    date_from: date
    date_to: date
    breakdown: str | None = None
    filters: tuple[PropertyFilter, ...] = ()

    @property
    def window_us(self) -> int:
        return self.window_seconds * 1_000_000


def _bounds(ctx: QueryContext, spec: FunnelSpec) -> tuple[datetime, datetime, date]:
    """The UTC end of step 1's range, the end of later steps' (window past date_to), and a
    local date past that end for the event source's coarse bound."""
    check_range(spec.date_from, spec.date_to)
    _, hi = ctx.utc_bounds(spec.date_from, spec.date_to)
    extra_days = math.ceil(spec.window_seconds / 86400) + 1
    if (spec.date_to - spec.date_from).days + extra_days > MAX_RANGE_DAYS:
        raise InvalidInput(
            f"the date range plus the conversion window spans at most {MAX_RANGE_DAYS} days",
            "window_seconds",
        )
    return hi, hi + timedelta(seconds=spec.window_seconds), spec.date_to + timedelta(extra_days)


def _step_condition(ctx: QueryContext, step: StepSpec) -> str:
    parts = [event_condition(ctx, [step.event]) or "true"]
    parts += [compile_filter(ctx.dialect, f) for f in step.filters]
    return "(" + " AND ".join(parts) + ")"


def step_source(ctx: QueryContext, spec: FunnelSpec, k: int, *, numbered: bool = False) -> str:
    """Step k's events (0-based): person_id, t (epoch µs), and bv for step 1 with a breakdown.
    Step 1 happens in the date range; later steps up to the window past its end. `numbered`
    adds `pn`, the person's number (`numbered_person_map`, joined on distinct_id alone)."""
    d = ctx.dialect
    _, hi_ext, to_ext = _bounds(ctx, spec)
    step = spec.steps[k]
    columns = {"t": d.epoch_us("e.timestamp")}
    if numbered:
        columns["pn"] = "m.pn"
    if k == 0 and spec.breakdown:
        columns["bv"] = property_text(d, spec.breakdown)
    filters = [*spec.filters, *step.filters]
    return events_source(
        ctx,
        spec.date_from,
        spec.date_to if k == 0 else to_ext,
        events=[step.event],
        filters=filters,
        with_person=needs_person(filters, spec.breakdown if k == 0 else None),
        columns=columns,
        extra_where=[] if k == 0 else [f"e.timestamp < {d.timestamp(hi_ext)}"],
        person_map=numbered_person_map(ctx) if numbered else PERSON_MAP,
        join_on_workspace=not numbered,
    )


def funnel_source(ctx: QueryContext, spec: FunnelSpec, *, numbered: bool = False) -> str:
    """All the funnel's events in one scan: person_id, t (epoch µs), m0..m{K-1} (matches step
    k; step 1 only within the date range) and bv (with a breakdown); `numbered`: `pn` instead of
    bv (`numbered_person_map`, joined on distinct_id alone: one hash key instead of two)."""
    d = ctx.dialect
    hi, hi_ext, to_ext = _bounds(ctx, spec)
    columns = {"t": d.epoch_us("e.timestamp")}
    for k, step in enumerate(spec.steps):
        in_range = f" AND e.timestamp < {d.timestamp(hi)}" if k == 0 else ""
        columns[f"m{k}"] = f"({_step_condition(ctx, step)}{in_range})"
    if numbered:
        columns["pn"] = "m.pn"
    elif spec.breakdown:
        columns["bv"] = property_text(d, spec.breakdown)
    names = [s.event for s in spec.steps]
    step_filters = [f for s in spec.steps for f in s.filters]
    return events_source(
        ctx,
        spec.date_from,
        to_ext,
        events=[ANY_EVENT] if ANY_EVENT in names else names,
        filters=spec.filters,
        with_person=needs_person(
            [*spec.filters, *step_filters], None if numbered else spec.breakdown
        ),
        columns=columns,
        extra_where=[f"e.timestamp < {d.timestamp(hi_ext)}"],
        person_map=numbered_person_map(ctx) if numbered else PERSON_MAP,
        join_on_workspace=not numbered,
    )


def per_person_sql(ctx: QueryContext, spec: FunnelSpec) -> str:
    """ClickHouse: SELECT person_id, bv, depth (1..K), d1..d{K-1} (µs from step k to k+1's
    predecessor rule; NULL when not reached) for every person with a step 1 in range. (DuckDB
    computes the same rows in funnel_pass.py.)"""
    return _per_person_clickhouse(ctx, spec)


def _per_person_clickhouse(ctx: QueryContext, spec: FunnelSpec) -> str:
    k_steps, w, none = len(spec.steps), spec.window_us, NO_START
    codes = ", ".join(f"if(m{k}, {k_steps - 1 - k}, -1)" for k in range(k_steps))
    bv = ", bv" if spec.breakdown else ""
    items = (
        f"SELECT person_id, t * 16 + code AS x, code{bv} FROM ({funnel_source(ctx, spec)})"
        f" ARRAY JOIN arrayFilter(c -> c >= 0, [{codes}]) AS code"
    )
    # Codes sort higher steps first among equal times, so a fill never sees a same-time item.
    first = k_steps - 1
    lets = [
        "arraySort(groupArray(x)) AS xs",
        "arrayMap(v -> intDiv(v, 16), xs) AS ts",
        "arrayMap(v -> v % 16, xs) AS cs",
        f"arrayFill(z -> z > {none}, arrayMap((c, t) -> if(c = {first}, t, {none}), cs, ts)) AS g0",
        "g0 AS lt0",
    ]
    for j in range(1, k_steps):
        lets.append(
            f"arrayMap((c, g, t) -> c = {first - j} AND g >= t - {w}, cs, g{j - 1}, ts) AS v{j}"
        )
        lets.append(f"arrayFirstIndex(v -> v, v{j}) AS p{j}")
        lets.append(f"if(p{j} > 0, ts[p{j}] - lt{j - 1}[p{j}], NULL) AS d{j}")
        if j < k_steps - 1:
            lets.append(
                f"arrayFill(z -> z > {none}, arrayMap((v, g) -> if(v, g, {none}), v{j},"
                f" g{j - 1})) AS g{j}"
            )
            lets.append(
                f"arrayFill(z -> z > {none}, arrayMap((v, t) -> if(v, t, {none}), v{j}, ts))"
                f" AS lt{j}"
            )
    depth = " + ".join(["1"] + [f"(p{j} > 0)" for j in range(1, k_steps)])
    if spec.breakdown:
        lets.append(f"minIf(tuple(x, isNull(bv), ifNull(bv, '')), code = {first}) AS b")
        bv_out = "if(b.2, NULL, b.3)"
    else:
        bv_out = "CAST(NULL AS Nullable(String))"
    ds = ", ".join(f"d{j}" for j in range(1, k_steps))
    return (
        f"SELECT person_id, {bv_out} AS bv, toInt64({depth}) AS depth, {ds} FROM ("
        f"SELECT person_id, {', '.join(lets)} FROM ({items}) GROUP BY person_id"
        f" HAVING countIf(code = {first}) > 0)"
    )


def fold_expression(ctx: QueryContext, kept: list[str | None], other: str) -> str:
    """The breakdown value, with every value outside `kept` folded into `other`."""
    d = ctx.dialect
    listed = ", ".join(d.string(v) for v in kept if v is not None)
    keep_null = " OR bv IS NULL" if None in kept else ""
    return f"CASE WHEN bv IN ({listed or 'NULL'}){keep_null} THEN bv ELSE {d.string(other)} END"


def counts_sql(ctx: QueryContext, spec: FunnelSpec, bv: str | None, source: str) -> str:
    """Per breakdown value (the `bv` expression, or none): persons reaching each step and the
    median µs into each step from the previous one, over `source`'s per-person rows."""
    d = ctx.dialect
    k_steps = len(spec.steps)
    counts = [d.to_int(d.count_if(f"depth >= {k}")) for k in range(1, k_steps + 1)]
    medians = [d.to_double(d.median_exact(f"d{j}")) for j in range(1, k_steps)]
    selected = ", ".join([*counts, *medians])
    if bv is None:
        return f"SELECT NULL AS bv, {selected} FROM ({source}) AS pp"
    return f"SELECT {bv} AS bv_out, {selected} FROM ({source}) AS pp GROUP BY bv_out"


def people_sql(
    ctx: QueryContext, source: str, step: int, dropped: bool, bv: str | None, by_bv: bool
) -> str:
    """Person ids (text, sorted) who reached `step` (1-based) and, when `dropped`, went no
    further; with `by_bv`, only those whose breakdown value is `bv`; over `source`'s rows."""
    d = ctx.dialect
    where = [f"depth = {step}" if dropped else f"depth >= {step}"]
    if by_bv:
        where.append("bv IS NULL" if bv is None else f"bv = {d.string(bv)}")
    return (
        f"SELECT {d.uuid_text('person_id')} AS pid FROM ({source}) AS pp"
        f" WHERE {' AND '.join(where)} ORDER BY pid"
    )
