"""Paths on the embedded engine: every person's events sorted once, then cut into paths,
anchored, linked and counted in numpy (one ordered pass; paths.py gives the same rows in SQL on
ClickHouse).

DuckDB sorts the events by (person, time) — persons numbered densely (`numbered_person_map`),
packed with the time into one UBIGINT key when they fit, events as codes into the list of event
names — and equal (person, time) pairs are put in (arrival, uuid) order by a query of their own.
A path starts at a person's first event and, with `session_minutes`, at every event that many
minutes or more after the one before; `collapse_repeats` drops an event equal to the one before
it on the same path. The anchor (the first `start_event` or `end_event` of the path, else its
first event) and the `depth` events it keeps give each kept event its step and the event after
it on the path; distinct persons per node and per link are counted from a stable radix sort by
node or link, the rows staying in person order within each.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import DuckDbEngine, DuckDbSnapshot
from opsloop.analytics.filters import needs_person
from opsloop.analytics.source import event_condition, events_source, numbered_person_map

if TYPE_CHECKING:
    from opsloop.analytics.queries.paths import PathsQuery

TIES = "path_ties"
# (person, time) pack into one UBIGINT sort key while persons × range µs stay below this.
PACKED_KEY_LIMIT = 2**64


def _names_sql(ctx: QueryContext, q: PathsQuery, events: Sequence[str]) -> str:
    """The event names the paths can hold (a superset: no filters, no persons)."""
    d = ctx.dialect
    lo, hi = ctx.utc_bounds(q.date_from, q.date_to)
    return (
        f"SELECT DISTINCT e.event FROM events AS e WHERE e.workspace_id = {ctx.workspace_id}"
        f" AND e.timestamp >= {d.timestamp(lo)} AND e.timestamp < {d.timestamp(hi)}"
        f" AND {event_condition(ctx, events)} ORDER BY 1"
    )


def _coded_sql(ctx: QueryContext, q: PathsQuery, events: Sequence[str], names: list[str]) -> str:
    """Every event the paths can use: pn, t (µs since the range's start), rcv, uid and code
    (its name's place in `names`), unsorted."""
    d = ctx.dialect
    lo, _ = ctx.utc_bounds(q.date_from, q.date_to)
    source = events_source(
        ctx,
        q.date_from,
        q.date_to,
        events=events,
        filters=q.filters,
        with_person=needs_person(q.filters),
        columns={
            "pn": "m.pn",
            "t": f"{d.epoch_us('e.timestamp')} - {d.epoch_us(d.timestamp(lo))}",
            "rcv": "e.received_at",
            "uid": d.uuid_order("e.uuid"),
        },
        person_map=numbered_person_map(ctx),
    )
    codes = ", ".join(f"({d.string(name)}, {i})" for i, name in enumerate(names))
    return (
        f"SELECT s.pn AS pn, s.t AS t, s.rcv AS rcv, s.uid AS uid, n.code AS code"
        f" FROM ({source}) AS s JOIN (VALUES {codes}) AS n(name, code) ON n.name = s.event"
    )


def _sorted_events(
    snap: DuckDbSnapshot, ctx: QueryContext, q: PathsQuery, coded: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pn, t and code of the events sorted by (person, time, arrival, uuid).

    Sorting is most of the work, and DuckDB sorts one 8-byte key about twice as fast as two:
    (person, time) are packed into one UBIGINT when they fit. Equal (person, time) pairs — rare
    in practice — are then put in (arrival, uuid) order by a query of their own."""
    lo, hi = ctx.utc_bounds(q.date_from, q.date_to)
    span = (hi - lo) // timedelta(microseconds=1)
    persons = snap.rows(
        "SELECT count(DISTINCT person_id) FROM person_distinct_ids"
        f" WHERE workspace_id = {ctx.workspace_id}"
    )[0][0]
    if (int(persons) + 1) * span < PACKED_KEY_LIMIT:
        key = f"CAST(pn - 1 AS UBIGINT) * CAST({span} AS UBIGINT) + CAST(t AS UBIGINT)"
        cols = snap.columns(f"SELECT {key} AS k, code FROM ({coded}) AS c ORDER BY k")
        k = cols["k"].astype(np.uint64)
        pn = (k // np.uint64(span)).astype(np.int64) + 1
        t = (k % np.uint64(span)).astype(np.int64)
        del k
    else:
        cols = snap.columns(f"SELECT pn, t, code FROM ({coded}) AS c ORDER BY pn, t")
        pn, t = cols["pn"].astype(np.int64), cols["t"].astype(np.int64)
    code = cols["code"].astype(np.int64)
    tie = (pn[1:] == pn[:-1]) & (t[1:] == t[:-1])
    if tie.any():
        tied = np.zeros(pn.size, dtype=bool)
        tied[1:] |= tie
        tied[:-1] |= tie
        at = np.flatnonzero(tied)
        snap.register(TIES, pa.table({"pn": pn[at], "t": t[at]}))
        ordered = snap.columns(
            f"SELECT c.code AS code FROM ({coded}) AS c"
            f" JOIN (SELECT DISTINCT pn, t FROM {TIES}) AS x ON x.pn = c.pn AND x.t = c.t"
            " ORDER BY c.pn, c.t, c.rcv, c.uid"
        )
        code[at] = ordered["code"]
    return pn, t, code


def path_steps(
    pn: np.ndarray, t: np.ndarray, code: np.ndarray, q: PathsQuery, names: list[str]
) -> dict[str, np.ndarray]:
    """pn, step (1..depth), event code and the next event's code (-1: no link) of every event
    kept on a path, from events sorted by (pn, time, arrival, uuid)."""
    n = pn.size
    cut = np.ones(n, dtype=bool)
    np.not_equal(pn[1:], pn[:-1], out=cut[1:])
    if q.session_minutes is not None:
        cut[1:] |= (t[1:] - t[:-1]) >= q.session_minutes * 60_000_000
    if q.collapse_repeats:
        keep = cut.copy()
        keep[1:] |= code[1:] != code[:-1]
        pn, code, cut = pn[keep], code[keep], cut[keep]
        n = pn.size
    path = np.cumsum(cut, dtype=np.int64) - 1
    starts = np.flatnonzero(cut)
    rn = np.arange(n, dtype=np.int64) - starts[path]
    anchor_event = q.start_event or q.end_event
    if anchor_event is None:
        has, a = np.ones(starts.size, dtype=bool), np.zeros(starts.size, dtype=np.int64)
    else:
        has, a = np.zeros(starts.size, dtype=bool), np.zeros(starts.size, dtype=np.int64)
        if anchor_event in names:
            hits = np.flatnonzero(code == names.index(anchor_event))
            first = np.ones(hits.size, dtype=bool)
            np.not_equal(path[hits][1:], path[hits][:-1], out=first[1:])
            has[path[hits[first]]] = True
            a[path[hits[first]]] = rn[hits[first]]
    ra = a[path]
    same_next = np.zeros(n, dtype=bool)
    same_next[:-1] = ~cut[1:]
    if q.end_event:
        kept = has[path] & (rn <= ra) & (rn > ra - q.depth)
        step, link = q.depth - (ra - rn), rn < ra
    else:
        kept = has[path] & (rn >= ra) & (rn < ra + q.depth)
        step, link = rn - ra + 1, (rn + 1 < ra + q.depth) & same_next
    nxt = np.full(n, -1, dtype=np.int64)
    nxt[:-1] = np.where(link[:-1], code[1:], -1)
    rows = np.flatnonzero(kept)
    return {"pn": pn[rows], "step": step[rows], "ev": code[rows], "nxt": nxt[rows]}


def path_rows(ctx: QueryContext, q: PathsQuery, events: Sequence[str]) -> list[tuple[Any, ...]]:
    """paths.py's rows — (step, event, next event, is total, is node, persons) — computed with
    the ordered pass (DuckDB only)."""
    assert isinstance(ctx.engine, DuckDbEngine)
    with ctx.engine.snapshot() as snap:
        names = [str(r[0]) for r in snap.rows(_names_sql(ctx, q, events))]
        if not names:
            return [(None, None, None, 1, 1, 0)]
        pn, t, code = _sorted_events(snap, ctx, q, _coded_sql(ctx, q, events, names))
        steps = path_steps(pn, t, code, q, names)
        del pn, t, code
    return _counted(steps, q.depth, names)


def _counted(steps: dict[str, np.ndarray], depth: int, names: list[str]) -> list[tuple[Any, ...]]:
    """Persons per node (step, event) and per link (step, event, next event), and in all."""
    e = len(names)
    node = (steps["step"] - 1) * e + steps["ev"]
    person = np.cumsum(_run_starts(steps["pn"])) - 1
    linked = steps["nxt"] >= 0
    link = node[linked] * e + steps["nxt"][linked]
    total = int(person[-1]) + 1 if person.size else 0
    rows: list[tuple[Any, ...]] = [(None, None, None, 1, 1, total)]
    for key, n in zip(*persons_per_key(person, node, depth * e), strict=True):
        step, ev = divmod(int(key), e)
        rows.append((step + 1, names[ev], None, 0, 1, int(n)))
    for key, n in zip(*persons_per_key(person[linked], link, depth * e * e), strict=True):
        (step, ev), lk = divmod(int(key) // e, e), int(key) % e
        rows.append((step + 1, names[ev], names[lk], 0, 0, int(n)))
    return rows


def persons_per_key(
    person: np.ndarray, key: np.ndarray, keys: int
) -> tuple[np.ndarray, np.ndarray]:
    """The keys present (ascending) and how many distinct persons each has, from rows sorted by
    person: a stable sort by key (a radix sort while keys fit in 16 bits) keeps each key's rows
    in person order, so a person's first row of a key is where (key, person) changes."""
    order = np.argsort(key.astype(np.uint16) if keys <= 1 << 16 else key, kind="stable")
    k, p = key[order], person[order]
    first = np.ones(k.size, dtype=bool)
    first[1:] = (k[1:] != k[:-1]) | (p[1:] != p[:-1])
    kept = k[first]  # sorted
    starts = np.flatnonzero(_run_starts(kept))
    return kept[starts], np.diff(np.append(starts, kept.size))


def _run_starts(owners: np.ndarray) -> np.ndarray:
    """True where a run of equal values starts (the array is sorted)."""
    starts = np.ones(owners.size, dtype=bool)
    np.not_equal(owners[1:], owners[:-1], out=starts[1:])
    return starts
