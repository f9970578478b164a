"""The funnel's per-person rows on the embedded engine: one ordered pass per person, in numpy.

DuckDB selects the funnel's items (one per event and step it matches: the person's number
`pn`, dense in person id order (`numbered_person_map`), and x = time × 16 + a step code), unsorted;
numpy sorts them by (person, time, step) (person_sort.py: one 64-bit key per item, several times
faster than DuckDB's two-key `ORDER BY`) and cuts them into as many parts as DuckDB has threads,
at person boundaries. On each part, on its own thread, the chain recurrence of funnel_sql.py runs
level by level: an item of step k continues the chain of the latest item before it in the array
that is on a chain to step k-1 — the latest strictly earlier one, because at equal times later
steps sort first — found by binary search among those items' positions, and kept when it is the
same person's and within the window of its chain's step 1. That is ClickHouse's `arrayFill`
recurrence over all persons at once, each level touching only its own step's items; persons are
independent, so the parts' rows, in order, are the rows of one pass over everything. Per person:
the depth reached and, for each step, the µs from its predecessor on the person's first item
that reached it. Those rows go back into the same read transaction as an Arrow table, where the
breakdown (first touch), the counts and the medians are SQL (funnel_sql.counts_sql /
people_sql).

Where the time goes at 105M events (42.5M items, 1.97M persons; benchmarks/README.md, "Session
5: funnel"): DuckDB's items query with `ORDER BY pn, x` took 26-29 s of CPU, more than half of it
the sort; without the sort it takes 10-11.5 s (scan, event filter, and the hash join to the
person map, on DuckDB's threads). The numpy sort then takes about 2.5 s of CPU and the pass 2.1
s. Fetching the items in two ranges of persons, so that DuckDB sorts one while numpy passes the
other, was not done: the range filter applies after the join, so each statement would scan and
join every event again, and DuckDB's part already keeps both cores busy.

ClickHouse keeps its own SQL spelling of the recurrence (funnel_sql.per_person_sql).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
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
from opsloop.analytics.queries.person_sort import in_threads, person_parts, sort_by_person
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
        columns = {"pn": _int64s(self.pn), "depth": _int64s(self.depth)}
        for j, d in enumerate(self.micros, start=1):
            columns[f"d{j}"] = _int64s(d, valid=self.depth > j)
        return pa.table(columns)


def _int64s(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """An Arrow int64 array over the numpy array's memory, NULL where not `valid`. (Built from
    buffers: `pa.array` on a numpy array imports pandas when it is installed, 1.5-2.3 s the first
    time in a process.)"""
    data = pa.py_buffer(np.ascontiguousarray(values, dtype=np.int64))
    bits = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.int64(), values.size, [bits, data])


def items_sql(ctx: QueryContext, spec: FunnelSpec) -> str:
    """pn and x = t * 16 + c per item, c = K-1-k for step k (so that at equal times later steps
    sort first), in no particular order (`ordered_pass` sorts them)."""
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
        " AS i WHERE c IS NOT NULL"
    )


def _run_starts(owners: np.ndarray) -> np.ndarray:
    """True where a run of equal person numbers starts (the array is sorted)."""
    starts = np.ones(owners.size, dtype=bool)
    np.not_equal(owners[1:], owners[:-1], out=starts[1:])
    return starts


def ordered_pass(
    pn: np.ndarray, x: np.ndarray, k_steps: int, window_us: int, parts: int = 1
) -> PersonDepths:
    """Every person's depth and times to convert from the items (pn, x) in any order: sorted by
    (pn, x), cut into up to `parts` runs of whole persons, the recurrence run on each run on a
    thread of its own, the rows put back together in person order. Writable int64 arrays given
    are used as the sort's working memory (`sort_by_person`): their content is lost."""
    pn, x = sort_by_person(pn, x, parts)
    runs = person_parts(pn, parts)
    rows = in_threads([partial(_chains, pn[r], x[r], k_steps, window_us) for r in runs], parts)
    if not rows:
        return _chains(pn, x, k_steps, window_us)
    if len(rows) == 1:
        return rows[0]
    micros = [np.concatenate([r.micros[j] for r in rows]) for j in range(k_steps - 1)]
    return PersonDepths(
        np.concatenate([r.pn for r in rows]), np.concatenate([r.depth for r in rows]), micros
    )


def _chains(pn: np.ndarray, x: np.ndarray, k_steps: int, window_us: int) -> PersonDepths:
    """The recurrence over items sorted by (pn, x); see the module docstring. For each item of
    step k, the latest item on a chain to step k-1 before it is a binary search among those
    items' (sorted) positions, accepted when it is the same person's and its chain started within
    the window. Of a person's consecutive step-1 items only the last is kept: no later item can
    find the others (the last lies between them and it), and it has the latest start — at 105M
    events that leaves a fraction of the 33M view_item items and halves the pass."""
    t, c = x >> 4, (x & 15).astype(np.int8)
    first = k_steps - 1  # step 1's code
    is_first = c == first
    keep = is_first.copy()
    keep[:-1] &= ~(is_first[1:] & (pn[1:] == pn[:-1]))
    chain = np.flatnonzero(keep)  # positions of the step-1 items kept
    del is_first, keep
    owners = pn[chain]
    persons = owners[_run_starts(owners)]
    depth = np.ones(persons.size, dtype=np.int64)
    micros = []
    start = t[chain]  # G of each chain item: when its chain's step 1 happened
    for j in range(1, k_steps):
        d = np.zeros(persons.size, dtype=np.int64)
        micros.append(d)
        if chain.size == 0:
            continue
        items = np.flatnonzero(c == first - j)  # step j+1's items, in array order
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
            cols.pop("pn"), cols.pop("x"), len(spec.steps), spec.window_us, snap.threads()
        )
        snap.register(TABLE, depths.table())
        yield snap.rows, _source_sql(ctx, spec, with_ids)
