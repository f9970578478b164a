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
from opsloop.analytics.filters import PropertyFilter, needs_person
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


def _ordered(ctx: QueryContext, q: PathsQuery) -> str:
    """The events with their path (`sess`) and, unless repeats are collapsed, every row."""
    d = ctx.dialect
    source = events_source(
        ctx,
        q.date_from,
        q.date_to,
        events=_event_names(q),
        filters=q.filters,
        with_person=needs_person(q.filters),
        columns={
            "t": d.epoch_us("e.timestamp"),
            "rcv": "e.received_at",
            "uid": d.uuid_text("e.uuid"),
        },
    )
    if q.session_minutes is None and not q.collapse_repeats:
        return f"SELECT person_id, event, t, rcv, uid, 0 AS sess FROM ({source}) AS s"
    w = f"PARTITION BY person_id ORDER BY {ORDER}"
    lagged = (
        f"SELECT person_id, event, t, rcv, uid, {d.lag('t', w)} AS prev_t,"
        f" {d.lag('event', w)} AS prev_event FROM ({source}) AS s"
    )
    new_path = "prev_t IS NULL"
    if q.session_minutes is not None:
        new_path += f" OR t - prev_t >= {q.session_minutes * 60_000_000}"
    sess = (
        f"sum(CASE WHEN {new_path} THEN 1 ELSE 0 END) OVER ({w}"
        " ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    )
    repeat = f"(NOT ({new_path}) AND prev_event = event)" if q.collapse_repeats else "false"
    return (
        f"SELECT person_id, event, t, rcv, uid, sess FROM (SELECT person_id, event, t, rcv, uid,"
        f" {sess} AS sess, {repeat} AS rep FROM ({lagged}) AS l) AS r WHERE NOT rep"
    )


def _steps_sql(ctx: QueryContext, q: PathsQuery) -> str:
    """One row per kept event: person_id, step, event, and `nxt` when a link leaves it."""
    d = ctx.dialect
    w = f"PARTITION BY person_id, sess ORDER BY {ORDER}"
    numbered = (
        f"SELECT person_id, sess, event, row_number() OVER ({w}) AS rn,"
        f" {d.lead('event', w)} AS nxt FROM ({_ordered(ctx, q)}) AS o"
    )
    anchor_event = q.start_event or q.end_event
    if anchor_event is None:
        anchored = f"SELECT person_id, event, rn, nxt, 1 AS a FROM ({numbered}) AS n"
    else:
        first = f"min(CASE WHEN event = {d.string(anchor_event)} THEN rn END)"
        anchored = (
            f"SELECT person_id, event, rn, nxt, {first} OVER (PARTITION BY person_id, sess) AS a"
            f" FROM ({numbered}) AS n"
        )
    if q.end_event:
        keep, step, link = f"rn <= a AND rn > a - {q.depth}", f"{q.depth} - (a - rn)", "rn < a"
    else:
        keep, step, link = (
            f"rn >= a AND rn < a + {q.depth}",
            "rn - a + 1",
            f"rn + 1 < a + {q.depth}",
        )
    return (
        f"SELECT person_id, {d.to_int(step)} AS step, event,"
        f" CASE WHEN {link} THEN nxt END AS lk FROM ({anchored}) AS x WHERE {keep}"
    )


def _rows(ctx: QueryContext, q: PathsQuery) -> list[tuple[Any, ...]]:
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
