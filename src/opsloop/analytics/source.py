"""The relation every query starts from: a workspace's events in a local date range, each with
the person it belongs to (resolved through the distinct_id map, so merges apply to all history)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from opsloop.analytics.context import QueryContext
from opsloop.analytics.filters import PropertyFilter, compile_filter, needs_person
from opsloop.events.schema import PERSON_ONLY_EVENTS

ANY_EVENT = "$any"
PERSON_MAP = "person_distinct_ids"


def event_condition(ctx: QueryContext, events: Sequence[str] | None) -> str | None:
    """`None` or a list holding "$any" means every activity event (not profile-only messages)."""
    d = ctx.dialect
    if not events or ANY_EVENT in events:
        skipped = ", ".join(d.string(name) for name in sorted(PERSON_ONLY_EVENTS))
        return f"e.event NOT IN ({skipped})"
    names = ", ".join(d.string(name) for name in dict.fromkeys(events))
    return f"e.event IN ({names})"


def events_source(
    ctx: QueryContext,
    date_from: date | None,
    date_to: date,
    *,
    events: Sequence[str] | None = None,
    filters: Sequence[PropertyFilter] = (),
    with_person: bool = False,
    resolve_persons: bool = True,
    columns: dict[str, str] | None = None,
    extra_where: Sequence[str] = (),
    person_map: str = PERSON_MAP,
    join_on_workspace: bool = True,
) -> str:
    """SELECT of person_id, ts, event and `columns` (alias -> SQL over e/p/m) from the events;
    `date_from=None` reaches back to the first event (for "first ever" questions). `person_map`
    replaces the distinct_id → person table (e.g. by `numbered_person_map`).

    `join_on_workspace=False` joins the map on distinct_id alone: the same rows, since both sides
    are limited to the workspace in WHERE, but DuckDB's hash join then hashes and compares one
    key instead of two (the funnel's 42M items at 105M events: 11% less CPU for their query).

    `resolve_persons=False` (for a question about events alone: counts and sums of a property,
    no person in a filter, breakdown or aggregate) leaves out person_id and the join to the
    distinct_id map. The answer is the same: every stored event's distinct_id is in the map (the
    store adds it with the event), so the join drops nothing and duplicates nothing. It saves
    reading every selected event's distinct_id and probing the map: at 10M events, daily GMV
    took 0.46 s with the join and 0.26 s without."""
    if with_person and not resolve_persons:
        raise ValueError("person properties need the persons resolved")
    d = ctx.dialect
    if date_from is None:
        lo, hi = None, ctx.utc_start_of(date_to + timedelta(days=1))
    else:
        lo, hi = ctx.utc_bounds(date_from, date_to)
    selected = [
        *(["m.person_id AS person_id"] if resolve_persons else []),
        "e.timestamp AS ts",
        "e.event AS event",
        *(f"{sql} AS {alias}" for alias, sql in (columns or {}).items()),
    ]
    joins = []
    if resolve_persons:
        same_workspace = "m.workspace_id = e.workspace_id AND " if join_on_workspace else ""
        joins.append(f"JOIN {person_map} AS m ON {same_workspace}m.distinct_id = e.distinct_id")
    if with_person:
        joins.append(
            "LEFT JOIN persons AS p ON p.workspace_id = m.workspace_id AND p.id = m.person_id"
        )
    where = [
        f"e.workspace_id = {ctx.workspace_id}",
        *([f"m.workspace_id = {ctx.workspace_id}"] if resolve_persons else []),
        *([f"e.timestamp >= {d.timestamp(lo)}"] if lo is not None else []),
        f"e.timestamp < {d.timestamp(hi)}",
    ]
    cond = event_condition(ctx, events)
    if cond:
        where.append(cond)
    where += [compile_filter(d, f) for f in filters]
    where += list(extra_where)
    return (
        f"SELECT {', '.join(selected)} FROM events AS e {' '.join(joins)}"
        f" WHERE {' AND '.join(where)}"
    )


def workspace_person_map(ctx: QueryContext) -> str:
    """The workspace's distinct_id → person rows, as a subquery to join on distinct_id alone
    (limited to the workspace here: see `events_source`'s `join_on_workspace`)."""
    return (
        f"(SELECT distinct_id, person_id FROM {PERSON_MAP} WHERE workspace_id = {ctx.workspace_id})"
    )


def numbered_person_map(ctx: QueryContext) -> str:
    """The workspace's distinct_id → person map with `pn`: persons numbered 1, 2, ... in person
    id order (dense), so that Python can hold persons as integers; the numbering is the same in
    every statement that sees the same data."""
    return (
        "(SELECT workspace_id, distinct_id, person_id, dense_rank() OVER (ORDER BY person_id)"
        f" AS pn FROM person_distinct_ids WHERE workspace_id = {ctx.workspace_id})"
    )


def split_filters(
    filters: Sequence[PropertyFilter],
) -> tuple[list[PropertyFilter], list[PropertyFilter]]:
    """(filters on the event, filters on the person): a question grouped per distinct_id before
    persons are resolved tests the first while scanning and the second once per group."""
    event = [f for f in filters if not needs_person([f])]
    return event, [f for f in filters if needs_person([f])]


def resolve_groups(
    ctx: QueryContext,
    grouped: str,
    keys: Sequence[str],
    columns: dict[str, str],
    *,
    filters: Sequence[PropertyFilter] = (),
    with_person: bool = False,
) -> str:
    """Rows grouped per (distinct_id, `keys`) resolved to persons: SELECT person_id, `keys` and
    `columns` (alias -> an aggregate over the groups `g`, which combines a person's distinct_ids,
    e.g. `max(g.s)`) FROM `grouped` joined to the person map, GROUP BY person_id and `keys`.
    `filters` (person properties, alias p) and `with_person` join the persons too.

    Grouping the events per distinct_id first joins only those groups to the map (at 10M events
    1.3M (distinct_id, day) groups instead of 10.5M events): the join of every event to the map
    and the grouping of every event by person both go. A person's distinct_ids are grouped apart,
    so a person with several of them is grouped again here (its days count once)."""
    with_person = with_person or needs_person(list(filters))
    persons = (
        " LEFT JOIN persons AS p ON p.workspace_id = m.workspace_id AND p.id = m.person_id"
        if with_person
        else ""
    )
    where = [f"m.workspace_id = {ctx.workspace_id}"]
    where += [compile_filter(ctx.dialect, f) for f in filters]
    selected = [
        "m.person_id AS person_id",
        *(f"g.{k} AS {k}" for k in keys),
        *(f"{sql} AS {alias}" for alias, sql in columns.items()),
    ]
    group_by = ", ".join(["m.person_id", *(f"g.{k}" for k in keys)])
    return (
        f"SELECT {', '.join(selected)} FROM ({grouped}) AS g"
        f" JOIN {PERSON_MAP} AS m ON m.distinct_id = g.distinct_id{persons}"
        f" WHERE {' AND '.join(where)} GROUP BY {group_by}"
    )
