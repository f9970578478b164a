"""Funnels: how many persons go through ordered steps within a conversion window.

Definition (metrics.md "Funnels and paths", ClickHouse `windowFunnel` semantics): a person reaches
step k when some occurrence of step 1 within [date_from, date_to] is followed by occurrences of
steps 2..k in that order, each strictly later than the one before, the last at most
`window_seconds` after that step-1 occurrence (inclusive: exactly `window_seconds` later counts).

- Equal timestamps never advance a step, and one event cannot fill two steps (view_item →
  view_item needs two view_item events at different times).
- Later steps may happen after date_to: the window of a step 1 near the end of the range runs
  past it (only step 1 must fall in the range).
- count = persons reaching the step; conversion_from_start = count_k / count_1;
  conversion_from_previous = count_k / count_{k-1} (0.0 when the denominator is 0).
- median_seconds_to_convert (steps 2..K): over the persons reaching step k, the seconds from step
  k-1 to step k on the occurrence of step k that first reached it, measured from the latest
  step k-1 occurrence before it that still lies on a chain within the window (exact median: the
  mean of the two middle values for an even count). None for step 1 and when nobody converts.
- breakdown (an event property of the step-1 event, or `person.<name>`): first touch — a person
  counts under the value on their first step-1 event in the range (ties at the same instant:
  absent last, then the smallest value), so the values' counts add up to the funnel's. Beyond
  `breakdown_limit` values (ranked by step-1 persons), the rest fold into "$other".

The SQL is in `funnel_sql.py`, DuckDB's ordered pass in `funnel_pass.py`; `funnel_people` lists
the persons at a step (e.g. those who dropped after it) for the segments module to store.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from opsloop.analytics.context import QueryContext
from opsloop.analytics.filters import PropertyFilter
from opsloop.analytics.queries.funnel_pass import Rows, person_rows
from opsloop.analytics.queries.funnel_sql import (
    FunnelSpec,
    StepSpec,
    counts_sql,
    fold_expression,
    people_sql,
)
from opsloop.errors import InvalidInput

OTHER = "$other"
MAX_WINDOW_SECONDS = 366 * 86400


class FunnelStep(BaseModel):
    """One step: an event name (`"$any"` = any activity event) and filters on that event."""

    event: str = Field(min_length=1, max_length=200, examples=["checkout"])
    filters: list[PropertyFilter] = Field(default_factory=list)
    label: str | None = Field(default=None, max_length=200)


class FunnelQuery(BaseModel):
    kind: Literal["funnel"] = "funnel"
    steps: list[FunnelStep] = Field(
        min_length=2,
        max_length=10,
        examples=[[{"event": "view_item"}, {"event": "checkout"}, {"event": "pay"}]],
    )
    window_seconds: int = Field(
        default=86400,
        ge=1,
        le=MAX_WINDOW_SECONDS,
        description="conversion window after each step-1 occurrence, inclusive",
    )
    date_from: date = Field(examples=["2026-11-01"])
    date_to: date = Field(examples=["2026-11-07"])
    breakdown: str | None = Field(
        default=None,
        description="property of the step-1 event, or person.<name>",
        examples=["platform"],
    )
    breakdown_limit: int = Field(default=25, ge=1, le=500)
    filters: list[PropertyFilter] = Field(
        default_factory=list, description="applied to every step's events"
    )


def funnel_spec(q: FunnelQuery) -> FunnelSpec:
    return FunnelSpec(
        steps=tuple(StepSpec(s.event, tuple(s.filters)) for s in q.steps),
        window_seconds=q.window_seconds,
        date_from=q.date_from,
        date_to=q.date_to,
        breakdown=q.breakdown,
        filters=tuple(q.filters),
    )


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def _steps(q: FunnelQuery, counts: list[int], medians: list[float | None]) -> list[dict[str, Any]]:
    out = []
    for k, step in enumerate(q.steps):
        median = medians[k - 1] if k else None
        out.append(
            {
                "step": k + 1,
                "event": step.event,
                "label": step.label or step.event,
                "count": counts[k],
                "conversion_from_start": _ratio(counts[k], counts[0]) if counts[0] else 0.0,
                "conversion_from_previous": _ratio(counts[k], counts[k - 1]) if k else 1.0,
                "median_seconds_to_convert": None if median is None else median / 1_000_000,
            }
        )
    if not counts[0]:
        out[0]["conversion_from_previous"] = 0.0
    return out


def _counts(
    ctx: QueryContext, q: FunnelQuery, run: Rows, source: str, bv: str | None
) -> dict[Any, tuple[Any, ...]]:
    n = len(q.steps)
    rows = run(counts_sql(ctx, funnel_spec(q), bv, source))
    return {r[0]: (r[1 : 1 + n], r[1 + n :]) for r in rows}


def _ranked(rows: dict[Any, tuple[Any, ...]]) -> list[Any]:
    """Breakdown values by step-1 persons, most first (ties: absent last, then by value)."""
    return sorted(rows, key=lambda v: (-rows[v][0][0], v is None, str(v)))


def ranked_values(ctx: QueryContext, q: FunnelQuery) -> list[str | None]:
    """The breakdown values in the order the answer keeps them before folding into "$other"."""
    with person_rows(ctx, funnel_spec(q)) as (run, source):
        return _ranked(_counts(ctx, q, run, source, "bv"))


def run_funnel(ctx: QueryContext, q: FunnelQuery) -> dict[str, Any]:
    with person_rows(ctx, funnel_spec(q)) as (run, source):
        return _answer(ctx, q, run, source)


def _answer(ctx: QueryContext, q: FunnelQuery, run: Rows, source: str) -> dict[str, Any]:
    n = len(q.steps)
    if not q.breakdown:
        rows = _counts(ctx, q, run, source, None)
        counts, medians = rows.get(None, ((0,) * n, (None,) * (n - 1)))
        results = [{"breakdown_value": None, "steps": _steps(q, list(counts), list(medians))}]
    else:
        rows = _counts(ctx, q, run, source, "bv")
        if len(rows) > q.breakdown_limit:
            kept = _ranked(rows)[: q.breakdown_limit]
            rows = _counts(ctx, q, run, source, fold_expression(ctx, kept, OTHER))
        order = sorted(rows, key=lambda v: (v == OTHER, -rows[v][0][0], v is None, str(v)))
        results = [
            {"breakdown_value": v, "steps": _steps(q, list(rows[v][0]), list(rows[v][1]))}
            for v in order
        ]
    return {
        "kind": "funnel",
        "window_seconds": q.window_seconds,
        "breakdown": q.breakdown,
        "results": results,
    }


def funnel_people(
    ctx: QueryContext,
    q: FunnelQuery,
    step: int,
    dropped: bool,
    breakdown_value: str | None = None,
) -> list[str]:
    """Person ids (sorted) who reached `step` (1-based) and, when `dropped`, not step + 1 — the
    users who dropped at a step, as a segment. With a breakdown in `q`, only the persons counted
    under `breakdown_value` (None = the property is absent); without one, everyone."""
    if not 1 <= step <= len(q.steps):
        raise InvalidInput(f"step is between 1 and {len(q.steps)}", "step")
    if dropped and step == len(q.steps):
        raise InvalidInput("nobody drops after the last step", "step")
    with person_rows(ctx, funnel_spec(q), with_ids=True) as (run, source):
        sql = people_sql(ctx, source, step, dropped, breakdown_value, bool(q.breakdown))
        return [str(r[0]) for r in run(sql)]
