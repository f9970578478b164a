"""A person's lifecycle stage in the period holding a date: the lifecycle condition of the segment
rule language (`{"lifecycle": "dormant", "interval": "week"}`) evaluated for one person, so that
the stage shown is the one whose segment holds the person."""

from __future__ import annotations

from datetime import date
from typing import cast

from opsloop.analytics.context import QueryContext
from opsloop.analytics.segments.compiler import RuleCompiler
from opsloop.analytics.segments.rules import STAGES, Interval, LifecycleRule, Stage
from opsloop.analytics.source import ANY_EVENT


def lifecycle_stage(
    ctx: QueryContext, person_id: str, as_of: date, interval: Interval, event: str = ANY_EVENT
) -> str | None:
    """new, returning, resurrecting or dormant in the `interval` holding `as_of` (events up to
    `as_of`); None when the person was active in neither that period nor the one before."""
    d = ctx.dialect
    pid = d.string(person_id.lower())
    # Only this person's events are read: a lifecycle stage depends on nothing else.
    own_ids = (
        f"(SELECT * FROM person_distinct_ids WHERE workspace_id = {ctx.workspace_id}"
        f" AND {d.uuid_text('person_id')} = {pid})"
    )
    compiler = RuleCompiler(ctx, as_of, person_map=own_ids)
    cases = " ".join(
        f"WHEN {compiler.condition(LifecycleRule(cast(Stage, stage), interval, event))}"
        f" THEN {d.string(stage)}"
        for stage in STAGES
    )
    rows = ctx.engine.rows(
        f"SELECT CASE {cases} END FROM persons AS p WHERE p.workspace_id = {ctx.workspace_id}"
        f" AND {d.uuid_text('p.id')} = {pid}"
    )
    return None if not rows or rows[0][0] is None else str(rows[0][0])
