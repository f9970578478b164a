"""The funnel's per-person rows on the embedded engine: one ordered pass per person, in numpy.

DuckDB sorts the funnel's items (one per event and step it matches) once by (person, time,
step), persons numbered densely (`numbered_person_map`). The chain recurrence of funnel_sql.py
then runs level by level over that single array: an item of step k continues the chain of the
latest item before it in the array that is on a chain to step k-1 — the latest strictly
earlier one, because at equal times later steps sort first — found by binary search among those
items' positions, and kept when it is the same person's and within the window of its chain's
step 1. That is ClickHouse's `arrayFill` recurrence over all persons at once, each level
touching only its own step's items. Per person: the depth reached and, for each step, the µs
from its predecessor on the person's first item that reached it. Those rows go back into the
same read transaction as an Arrow table, where the breakdown (first touch), the counts and the
medians are SQL (funnel_sql.counts_sql / people_sql).

ClickHouse keeps its own SQL spelling of the recurrence (funnel_sql.per_person_sql).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import DuckDbEngine
from opsloop.analytics.queries.funnel_sql import (
    FunnelSpec,
    funnel_source,
    per_person_sql,
    step_source,
)
from opsloop.analytics.source import ANY_EVENT, numbered_person_map

TABLE = "funnel_persons"
Rows = Callable[[str], list[tuple[Any, ...]]]


@dataclass(frozen=True, slots=True)
class PersonDepths:
    """Every person with a step 1 in range: number, deepest step reached (1..K), and per step
    2..K the µs from its predecessor (valid where depth >= that step)."""

    pn: np.ndarray
    depth: np.ndarray
    micros: list[np.ndarray]

    def table(self) -> pa.Table:
        columns: dict[str, Any] = {"pn": self.pn, "depth": self.depth}
        for j, d in enumerate(self.micros, start=1):
            columns[f"d{j}"] = pa.array(d, mask=self.depth <= j)
        return pa.table(columns)


def items_sql(ctx: QueryContext, spec: FunnelSpec) -> str:
    """pn and x = t * 16 + c per item, c = K-1-k for step k (so that at equal times later steps
    sort first), sorted by (pn, x)."""
    k_steps = len(spec.steps)
    source = funnel_source(ctx, spec, numbered=True)
    names = [s.event for s in spec.steps]
    if ANY_EVENT not in names and len(set(names)) == k_steps:
        # Distinct event names: an event matches one step at most.
        whens = " ".join(f"WHEN m{k} THEN {k_steps - 1 - k}" for k in range(k_steps))
        codes = f"CASE {whens} END"
    else:
        listed = ", ".join(f"CASE WHEN m{k} THEN {k_steps - 1 - k} END" for k in range(k_steps))
        codes = f"unnest([{listed}])"
    return (
        f"SELECT pn, t * 16 + c AS x FROM (SELECT pn, t, {codes} AS c FROM ({source}) AS s)"
        " AS i WHERE c IS NOT NULL ORDER BY pn, x"
    )


def _run_starts(owners: np.ndarray) -> np.ndarray:
    """True where a run of equal person numbers starts (the array is sorted)."""
    starts = np.ones(owners.size, dtype=bool)
    np.not_equal(owners[1:], owners[:-1], out=starts[1:])
    return starts


def ordered_pass(pn: np.ndarray, x: np.ndarray, k_steps: int, window_us: int) -> PersonDepths:
    """The recurrence over items sorted by (pn, x); see the module docstring. Each step's
    items are found once (a stable sort of the step codes keeps them in array order); for each
    item of step k, the latest item on a chain to step k-1 before it is a binary search among
    those (sorted) positions, accepted when it is the same person's and its chain started within
    the window."""
    t, c = x >> 4, (x & 15).astype(np.int8)
    by_code = np.argsort(c, kind="stable")
    bounds = np.searchsorted(c[by_code], np.arange(k_steps + 1, dtype=np.int8))
    chain = by_code[bounds[k_steps - 1] : bounds[k_steps]]  # positions of step-1 items
    persons = pn[chain][_run_starts(pn[chain])]
    depth = np.ones(persons.size, dtype=np.int64)
    micros = []
    start = t[chain]  # G of each chain item: when its chain's step 1 happened
    for j in range(1, k_steps):
        d = np.zeros(persons.size, dtype=np.int64)
        micros.append(d)
        if chain.size == 0:
            continue
        items = by_code[bounds[k_steps - 1 - j] : bounds[k_steps - j]]
        before = np.searchsorted(chain, items) - 1
        at = np.maximum(before, 0)
        prev = chain[at]
        ok = (before >= 0) & (pn[prev] == pn[items]) & (start[at] >= t[items] - window_us)
        chain, start, prev = items[ok], start[at[ok]], prev[ok]
        firsts = _run_starts(pn[chain])
        who = np.searchsorted(persons, pn[chain[firsts]])
        depth[who] += 1
        d[who] = t[chain[firsts]] - t[prev[firsts]]
    return PersonDepths(persons, depth, micros)


def _source_sql(ctx: QueryContext, spec: FunnelSpec, with_ids: bool) -> str:
    """The per-person rows funnel_sql's counts and people queries read: the pass's table with
    the first-touch breakdown value (and person ids)."""
    k_steps = len(spec.steps)
    ds = "".join(f", pp.d{j} AS d{j}" for j in range(1, k_steps))
    joins, bv = "", "CAST(NULL AS VARCHAR)"
    if spec.breakdown:
        # First touch: the value on the person's first step-1 event (ties: absent last, then
        # the smallest value), so every person counts under exactly one value.
        touch = (
            "SELECT pn, min(struct_pack(t := t, n := bv IS NULL, v := coalesce(bv, ''))) AS b"
            f" FROM ({step_source(ctx, spec, 0, numbered=True)}) AS s GROUP BY pn"
        )
        joins += f" JOIN ({touch}) AS ft ON ft.pn = pp.pn"
        bv = "CASE WHEN ft.b.n THEN NULL ELSE ft.b.v END"
    person = ""
    if with_ids:
        ids = f"SELECT DISTINCT person_id, pn FROM {numbered_person_map(ctx)} AS m"
        joins += f" JOIN ({ids}) AS ids ON ids.pn = pp.pn"
        person = "ids.person_id AS person_id, "
    return f"SELECT {person}{bv} AS bv, pp.depth AS depth{ds} FROM {TABLE} AS pp{joins}"


@contextmanager
def person_rows(
    ctx: QueryContext, spec: FunnelSpec, *, with_ids: bool = False
) -> Iterator[tuple[Rows, str]]:
    """(run a query, SQL of the per-person rows: person_id when `with_ids`, bv, depth,
    d1..d{K-1}) — valid inside the `with` block."""
    engine = ctx.engine
    if not isinstance(engine, DuckDbEngine):
        yield engine.rows, per_person_sql(ctx, spec)
        return
    with engine.snapshot() as snap:
        cols = snap.columns(items_sql(ctx, spec))
        depths = ordered_pass(
            cols["pn"].astype(np.int64), cols["x"].astype(np.int64), len(spec.steps), spec.window_us
        )
        snap.register(TABLE, depths.table())
        yield snap.rows, _source_sql(ctx, spec, with_ids)
