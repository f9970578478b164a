"""Paths: what persons do next (or did before), step by step, as a Sankey diagram.

Definition (metrics.md "Funnels and paths"): a person's events in [date_from, date_to] (the
`events` named, default every activity event) are ordered by time, ties by arrival (`received_at`,
then the event's uuid). With `session_minutes`, an inactivity of that many minutes or more starts
a new path; without it, a person's whole range is one path. With `collapse_repeats`, an event
equal to the one before it in the same path is dropped (PostHog's compaction).

- With `start_event`: each path begins at its first `start_event` (step 1) and keeps `depth`
  events; paths without it are left out.
- With `end_event`: each path ends at its first `end_event`, which is step `depth` (paths are
  aligned on their end), the events before it taking steps depth-1, depth-2, ...
- With neither: each path begins at its first event.

Nodes are named `"<step>_<event>"`. A link's value is the number of distinct persons who went
from its source to its target at that step (a person doing it in several sessions counts once,
as PostHog counts users); a node's value is the number of distinct persons at it. Links below
`min_count` are dropped, then the `link_limit` largest are kept; nodes are their ends.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import DuckDbEngine
from opsloop.analytics.filters import PropertyFilter, needs_person
from opsloop.analytics.queries.paths_pass import path_rows
from opsloop.analytics.source import ANY_EVENT, events_source


class PathsQuery(BaseModel):
    kind: Literal["paths"] = "paths"
    start_event: str | None = Field(default=None, max_length=200, examples=["app_open"])
    end_event: str | None = Field(default=None, max_length=200, examples=["pay"])
    depth: int = Field(default=5, ge=2, le=10, description="events per path")
    date_from: date = Field(examples=["2026-11-01"])
    date_to: date = Field(examples=["2026-11-07"])
    session_minutes: int | None = Field(
        default=None, ge=1, le=1440, description="inactivity that starts a new path (e.g. 30)"
    )
    events: list[str] | None = Field(
        default=None, description="only these events (default every activity event)"
    )
    filters: list[PropertyFilter] = Field(default_factory=list)
    collapse_repeats: bool = False
    min_count: int = Field(default=1, ge=1)
    link_limit: int = Field(default=200, ge=1, le=5000)

    @model_validator(mode="after")
    def _one_anchor(self) -> PathsQuery:
        if self.start_event and self.end_event:
            raise ValueError("give start_event or end_event, not both")
        return self


ORDER = "t, rcv, uid"


def _event_names(q: PathsQuery) -> list[str]:
    if not q.events or ANY_EVENT in q.events:
        return [ANY_EVENT]
    anchors = [e for e in (q.start_event, q.end_event) if e]
    return list(dict.fromkeys([*q.events, *anchors]))


def _source(ctx: QueryContext, q: PathsQuery) -> str:
    d = ctx.dialect
    return events_source(
        ctx,
        q.date_from,
        q.date_to,
        events=_event_names(q),
        filters=q.filters,
        with_person=needs_person(q.filters),
        columns={
            "t": d.epoch_us("e.timestamp"),
            "rcv": "e.received_at",
            "uid": d.uuid_order("e.uuid"),
        },
    )


def _numbered(ctx: QueryContext, q: PathsQuery) -> str:
    """person_id, event, rn (its place among the person's kept events), sess (the rn of its
    path's first event; a key of the path) and nxt (the next event on the same path, or NULL).

    The expensive part is sorting, so the composite order (time, arrival, uuid) is sorted once
    and later windows order by the row number it gives."""
    d = ctx.dialect
    w = f"PARTITION BY person_id ORDER BY {ORDER}"
    gap = None if q.session_minutes is None else q.session_minutes * 60_000_000
    new_path = "prev_t IS NULL" + ("" if gap is None else f" OR t - prev_t >= {gap}")
    running = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    if not q.collapse_repeats:
        first = (
            f"SELECT person_id, event, t, row_number() OVER ({w}) AS rn, {d.lag('t', w)} AS prev_t,"
            f" {d.lead('event', w)} AS nxt, {d.lead('t', w)} AS nxt_t FROM ({_source(ctx, q)}) AS s"
        )
        if gap is None:
            return f"SELECT person_id, event, rn, 1 AS sess, nxt FROM ({first}) AS f"
        by_rn = f"PARTITION BY person_id ORDER BY rn {running}"
        sess = f"max(CASE WHEN {new_path} THEN rn END) OVER ({by_rn})"
        return (
            f"SELECT person_id, event, rn, {sess} AS sess,"
            f" CASE WHEN nxt_t - t < {gap} THEN nxt END AS nxt FROM ({first}) AS f"
        )
    # Collapsing: paths are cut on every event, then repeats dropped and the rest renumbered.
    first = (
        f"SELECT person_id, event, t, row_number() OVER ({w}) AS rn0, {d.lag('t', w)} AS prev_t,"
        f" {d.lag('event', w)} AS prev_event FROM ({_source(ctx, q)}) AS s"
    )
    marked = (
        f"SELECT person_id, event, rn0, max(CASE WHEN {new_path} THEN rn0 END) OVER"
        f" (PARTITION BY person_id ORDER BY rn0 {running}) AS sess,"
        f" ({new_path} OR prev_event <> event) AS kept FROM ({first}) AS f"
    )
    w2 = "PARTITION BY person_id ORDER BY rn0"
    return (
        f"SELECT person_id, event, row_number() OVER ({w2}) AS rn, sess,"
        f" CASE WHEN {d.lead('sess', w2)} = sess THEN {d.lead('event', w2)} END AS nxt"
        f" FROM ({marked}) AS m WHERE kept"
    )


def _steps_sql(ctx: QueryContext, q: PathsQuery) -> str:
    """One row per event on a path: person_id, step, event, and `lk` (the next event) when a
    link leaves it."""
    d = ctx.dialect
    anchor_event = q.start_event or q.end_event
    numbered = _numbered(ctx, q)
    if anchor_event is None and not q.collapse_repeats:
        anchored = f"SELECT person_id, event, rn, nxt, sess AS a FROM ({numbered}) AS n"
    else:
        match = "true" if anchor_event is None else f"event = {d.string(anchor_event)}"
        first = f"min(CASE WHEN {match} THEN rn END) OVER (PARTITION BY person_id, sess)"
        anchored = f"SELECT person_id, event, rn, nxt, {first} AS a FROM ({numbered}) AS n"
    if q.end_event:
        keep, step, link = f"rn <= a AND rn > a - {q.depth}", f"{q.depth} - (a - rn)", "rn < a"
    else:
        keep, step = f"rn >= a AND rn < a + {q.depth}", "rn - a + 1"
        link = f"rn + 1 < a + {q.depth}"
    return (
        f"SELECT person_id, {d.to_int(step)} AS step, event,"
        f" CASE WHEN {link} THEN nxt END AS lk FROM ({anchored}) AS x WHERE {keep}"
    )


def _rows(ctx: QueryContext, q: PathsQuery) -> list[tuple[Any, ...]]:
    if isinstance(ctx.engine, DuckDbEngine):
        # The embedded engine sorts once and walks the paths in numpy (paths_pass.py).
        return path_rows(ctx, q, _event_names(q))
    d = ctx.dialect
    persons = d.to_int(d.count_distinct("person_id"))
    return ctx.engine.rows(
        f"SELECT step, event, lk, {d.to_int('GROUPING(step)')} AS total,"
        f" {d.to_int('GROUPING(lk)')} AS node, {persons} AS persons FROM ({_steps_sql(ctx, q)})"
        " AS p GROUP BY GROUPING SETS ((step, event), (step, event, lk), ())"
    )


def run_paths(ctx: QueryContext, q: PathsQuery) -> dict[str, Any]:
    nodes: dict[tuple[int, str], int] = {}
    links: list[tuple[int, str, str, int]] = []
    total = 0
    for step, event, lk, is_total, is_node, persons in _rows(ctx, q):
        if is_total:
            total = int(persons)
        elif is_node:
            nodes[(int(step), str(event))] = int(persons)
        elif lk is not None and persons >= q.min_count:
            links.append((int(step), str(event), str(lk), int(persons)))
    links.sort(key=lambda x: (-x[3], x[0], x[1], x[2]))
    links = sorted(links[: q.link_limit], key=lambda x: (x[0], -x[3], x[1], x[2]))
    ends = {(s, e) for s, e, _, _ in links} | {(s + 1, t) for s, _, t, _ in links}
    return {
        "kind": "paths",
        "persons": total,
        "nodes": [
            {"name": f"{s}_{e}", "step": s, "event": e, "value": nodes[(s, e)]}
            for s, e in sorted(ends, key=lambda n: (n[0], -nodes[n], n[1]))
        ],
        "links": [
            {"source": f"{s}_{e}", "target": f"{s + 1}_{t}", "value": v} for s, e, t, v in links
        ],
    }
