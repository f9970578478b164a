"""The persons behind a funnel step: who reached step k, or who dropped there (reached k and not
k+1) — a page of them with their distinct ids and properties, and how many in all.

The request is a funnel (every field of `funnel`, same meaning) plus the step. With a breakdown,
`breakdown_value` picks the persons counted under that value in the funnel's answer (first touch;
null = the property is absent; "$other" = the values folded past `breakdown_limit`), so the
count here equals the count there. Persons are ordered by person id (as text). Saving the whole
list as a static segment: `POST /api/v1/segments` with this request as `from_query`.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import Field

from opsloop.analytics.context import QueryContext
from opsloop.analytics.queries.funnel import OTHER, FunnelQuery, funnel_spec, ranked_values
from opsloop.analytics.queries.funnel_pass import person_rows
from opsloop.analytics.queries.funnel_sql import fold_expression
from opsloop.analytics.segments.persons import distinct_ids_of
from opsloop.errors import InvalidInput


class FunnelPersonsQuery(FunnelQuery):
    kind: Literal["funnel_persons"] = "funnel_persons"  # type: ignore[assignment]
    step: int = Field(ge=1, le=10, description="the step (1-based)", examples=[2])
    dropped: bool = Field(default=False, description="only those who went no further than `step`")
    breakdown_value: str | None = Field(
        default=None, description="with a breakdown: the value whose persons to list"
    )
    limit: int = Field(default=100, ge=0, le=100_000)
    offset: int = Field(default=0, ge=0, le=10_000_000)


def _where(ctx: QueryContext, q: FunnelPersonsQuery) -> str:
    if q.step > len(q.steps):
        raise InvalidInput(f"step is between 1 and {len(q.steps)}", "step")
    if q.dropped and q.step == len(q.steps):
        raise InvalidInput("nobody drops after the last step", "step")
    where = [f"depth = {q.step}" if q.dropped else f"depth >= {q.step}"]
    if q.breakdown is None:
        if q.breakdown_value is not None:
            raise InvalidInput("breakdown_value needs a breakdown", "breakdown_value")
        return where[0]
    d = ctx.dialect
    value = q.breakdown_value
    kept = ranked_values(ctx, q) if value == OTHER else []
    if len(kept) > q.breakdown_limit:  # the values folded into "$other"
        folded = fold_expression(ctx, kept[: q.breakdown_limit], OTHER)
        where.append(f"{folded} = {d.string(OTHER)}")
    else:
        where.append("bv IS NULL" if value is None else f"bv = {d.string(value)}")
    return " AND ".join(where)


def _persons(source: str, where: str) -> str:
    return f"SELECT person_id FROM ({source}) AS pp WHERE {where}"


def funnel_person_ids(ctx: QueryContext, q: FunnelPersonsQuery) -> list[str]:
    """Every person id of the answer, sorted (what a saved static segment keeps)."""
    d = ctx.dialect
    where = _where(ctx, q)
    with person_rows(ctx, funnel_spec(q), with_ids=True) as (run, source):
        pid = d.uuid_text("person_id")
        rows = run(f"SELECT {pid} AS pid FROM ({_persons(source, where)}) AS f ORDER BY pid")
    return [str(r[0]) for r in rows]


def _page(ctx: QueryContext, q: FunnelPersonsQuery) -> tuple[int, list[tuple[Any, ...]]]:
    """(how many persons in all, the page's (person id, properties JSON) rows)."""
    d = ctx.dialect
    where = _where(ctx, q)
    with person_rows(ctx, funnel_spec(q), with_ids=True) as (run, source):
        persons = _persons(source, where)
        rows: list[tuple[Any, ...]] = []
        if q.limit > 0:
            profiles = (
                "SELECT id, CAST(properties AS VARCHAR) AS props FROM persons"
                f" WHERE workspace_id = {ctx.workspace_id}"
            )
            rows = run(
                f"SELECT {d.uuid_text('f.person_id')} AS pid, p.props,"
                f" {d.to_int('count(*) OVER ()')} AS total FROM ({persons}) AS f"
                f" LEFT JOIN ({profiles}) AS p ON p.id = f.person_id"
                f" ORDER BY pid LIMIT {q.limit} OFFSET {q.offset}"
            )
        if rows:
            return int(rows[0][2]), [r[:2] for r in rows]
        # No page asked for, or the page is past the end.
        return int(run(f"SELECT {d.to_int('count(*)')} FROM ({persons}) AS f")[0][0]), []


def run_funnel_persons(ctx: QueryContext, q: FunnelPersonsQuery) -> dict[str, Any]:
    total, rows = _page(ctx, q)
    ids = distinct_ids_of(ctx, [str(r[0]) for r in rows])
    results = [
        {
            "person_id": str(pid),
            "distinct_id": next(iter(ids.get(str(pid), [])), None),
            "distinct_ids": ids.get(str(pid), []),
            "properties": orjson.loads(props) if props else {},
        }
        for pid, props in rows
    ]
    return {
        "kind": "funnel_persons",
        "step": q.step,
        "event": q.steps[min(q.step, len(q.steps)) - 1].event,
        "dropped": q.dropped,
        "breakdown_value": q.breakdown_value,
        "count": total,
        "results": results,
    }
