"""Segment: the persons a rule of the segment rule language picks (segments/rules.py), as of a
local date: how many, and a page of them with their distinct ids and properties.

Results are ordered by person id (as text); `count` is over all matching persons. Rules that
name saved segments (`{"cohort": id}`) need a resolver of saved segments: the one given, else the
context's (segments.service.cohort_resolver binds one to an operational-store session).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field

from opsloop.analytics.context import QueryContext
from opsloop.analytics.segments.compiler import CohortResolver, segment_sql
from opsloop.analytics.segments.persons import distinct_ids_of
from opsloop.analytics.segments.rules import Rule, parse_rule

EXAMPLE_RULE = {
    "and": [
        {"did": "pay", "at_least": 2, "in_last_days": 30},
        {"person": "channel", "op": "eq", "value": "小红书"},
        {"did_not": "app_open", "in_last_days": 14},
    ]
}


class SegmentQuery(BaseModel):
    kind: Literal["segment"] = "segment"
    rule: dict[str, Any] = Field(
        description="a rule of the segment rule language", examples=[EXAMPLE_RULE]
    )
    as_of: date | None = Field(
        default=None, description="the date relative windows end on; default today"
    )
    limit: int = Field(default=100, ge=0, le=100_000)
    offset: int = Field(default=0, ge=0, le=10_000_000)


def today(ctx: QueryContext) -> date:
    """Today's date in the workspace's time zone."""
    return ctx.today()


def member_rows(
    ctx: QueryContext,
    rule: Rule,
    as_of: date,
    cohorts: CohortResolver | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[int | None, list[tuple[str, dict[str, Any]]]]:
    """(count of all members when a page was asked for, [(person id, properties)]) by id."""
    d = ctx.dialect
    columns = f"{d.uuid_text('p.id')} AS pid, CAST(p.properties AS VARCHAR) AS props"
    if limit is not None:
        columns += f", {d.to_int('count(*) OVER ()')} AS total"
    sql = f"SELECT * FROM ({segment_sql(ctx, rule, as_of, cohorts, columns)}) AS m ORDER BY pid"
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    rows = ctx.engine.rows(sql)
    total = int(rows[0][2]) if rows and limit is not None else None
    return total, [(str(r[0]), orjson.loads(r[1]) if r[1] else {}) for r in rows]


def export_members(
    ctx: QueryContext, rule: Rule, as_of: date, cohorts: CohortResolver | None = None
) -> list[tuple[str, str | None, dict[str, Any]]]:
    """Every member as (person id, its smallest distinct_id, properties), by person id; in one
    query (a join with the distinct_id map), for exports of any size."""
    d = ctx.dialect
    columns = "p.id AS person_id, CAST(p.properties AS VARCHAR) AS props"
    names = (
        "SELECT person_id, min(distinct_id) AS did FROM person_distinct_ids"
        f" WHERE workspace_id = {ctx.workspace_id} GROUP BY person_id"
    )
    sql = (
        f"SELECT {d.uuid_text('m.person_id')} AS pid, n.did, m.props"
        f" FROM ({segment_sql(ctx, rule, as_of, cohorts, columns)}) AS m"
        f" LEFT JOIN ({names}) AS n ON n.person_id = m.person_id ORDER BY pid"
    )
    return [
        (str(pid), None if did is None else str(did), orjson.loads(props) if props else {})
        for pid, did, props in ctx.engine.rows(sql)
    ]


def count_members(
    ctx: QueryContext, rule: Rule, as_of: date, cohorts: CohortResolver | None = None
) -> int:
    members = segment_sql(ctx, rule, as_of, cohorts)
    sql = f"SELECT {ctx.dialect.to_int('count(*)')} FROM ({members}) AS m"
    return int(ctx.engine.rows(sql)[0][0])


def segment_person_ids(
    ctx: QueryContext, q: SegmentQuery, cohorts: CohortResolver | None = None
) -> list[str]:
    """Every member's person id, sorted (what a saved static segment keeps)."""
    d = ctx.dialect
    columns = f"{d.uuid_text('p.id')} AS pid"
    rule, as_of = parse_rule(q.rule), q.as_of or today(ctx)
    members = segment_sql(ctx, rule, as_of, cohorts or ctx.cohorts, columns)
    return [str(r[0]) for r in ctx.engine.rows(f"SELECT pid FROM ({members}) AS m ORDER BY pid")]


def run_segment(
    ctx: QueryContext, q: SegmentQuery, cohorts: CohortResolver | None = None
) -> dict[str, Any]:
    rule = parse_rule(q.rule)
    as_of = q.as_of or today(ctx)
    cohorts = cohorts or ctx.cohorts
    rows: list[tuple[str, dict[str, Any]]] = []
    total: int | None = None
    if q.limit > 0:
        total, rows = member_rows(ctx, rule, as_of, cohorts, limit=q.limit, offset=q.offset)
    if total is None:  # no page asked for, or the page is past the end
        total = count_members(ctx, rule, as_of, cohorts) if q.limit == 0 or q.offset else 0
    ids = distinct_ids_of(ctx, [pid for pid, _ in rows])
    results = [
        {
            "person_id": pid,
            "distinct_id": next(iter(ids.get(pid, [])), None),
            "distinct_ids": ids.get(pid, []),
            "properties": props,
        }
        for pid, props in rows
    ]
    return {"kind": "segment", "as_of": as_of.isoformat(), "count": total, "results": results}
