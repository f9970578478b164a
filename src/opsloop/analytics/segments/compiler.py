"""Compile a segment rule to one SQL query over the workspace's persons (DuckDB and ClickHouse).

Every condition is a boolean over the persons table (alias `p`): person properties test
`p.properties` directly; each behaviour, RFM or lifecycle condition is one semi-join
(`p.id IN (SELECT person_id ... GROUP BY person_id HAVING ...)`), i.e. one pass over the events
per condition, never a correlated subquery; and/or/not are SQL's. Property tests are made
two-valued (a missing property is false, so `not` of it is true), as the rule language says.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from opsloop.analytics.context import QueryContext
from opsloop.analytics.filters import compile_filter, needs_person
from opsloop.analytics.queries.rfm import rfm_scored_sql
from opsloop.analytics.segments.rules import (
    AllOf,
    AnyOf,
    CohortRule,
    DidRule,
    Interval,
    LifecycleRule,
    Not,
    PersonRule,
    RfmRule,
    Rule,
)
from opsloop.analytics.source import events_source
from opsloop.errors import InvalidInput

TRUE, FALSE = "(1 = 1)", "(1 = 0)"


@dataclass(frozen=True, slots=True)
class Cohort:
    """A saved segment as the compiler sees it: a rule, or a static list of person ids; its
    `version` changes whenever the segment does (cached answers that used it are stale then)."""

    rule: Rule | None = None
    person_ids: tuple[str, ...] = ()
    version: str = ""


# Looks a saved segment of the workspace up by id (None when there is no such segment).
CohortResolver = Callable[[int], Cohort | None]


class SavedSegments(Protocol):
    """The saved segments a query may name (a `CohortResolver`), and their current versions:
    what the query cache checks before it serves an answer that used some of them."""

    def __call__(self, segment_id: int) -> Cohort | None: ...

    def versions(self, segment_ids: Collection[int]) -> dict[int, str]:
        """The version of each segment that exists (missing ones are left out)."""
        ...


def did_window(rule: DidRule, as_of: date) -> tuple[date | None, date]:
    """The local dates a behaviour condition counts events in (both ends included; None: from
    the first event on)."""
    if rule.between is not None:
        return rule.between
    if rule.in_last_days is not None:
        return as_of - timedelta(days=rule.in_last_days - 1), as_of
    return None, as_of


def lifecycle_periods(interval: Interval, as_of: date) -> tuple[date, date]:
    """Start of the period holding `as_of`, and start of the period before it."""
    if interval == "day":
        return as_of, as_of - timedelta(days=1)
    if interval == "week":
        start = as_of - timedelta(days=as_of.weekday())
        return start, start - timedelta(days=7)
    start = as_of.replace(day=1)
    return start, (start - timedelta(days=1)).replace(day=1)


class RuleCompiler:
    """Turns a parsed rule into a SQL condition over persons `p`, as of a local date."""

    def __init__(
        self,
        ctx: QueryContext,
        as_of: date,
        cohorts: CohortResolver | None = None,
        person_map: str = "person_distinct_ids",
    ) -> None:
        """`person_map` may narrow the distinct_id → person map that behaviour and lifecycle
        conditions read events through (to the persons asked about: their answers depend only on
        their own events); RFM scores everyone whatever it is."""
        self.ctx = ctx
        self.as_of = as_of
        self.cohorts = cohorts
        self.person_map = person_map
        self._open: list[int] = []  # saved segments being expanded (to refuse cycles)

    def condition(self, rule: Rule) -> str:
        if isinstance(rule, AllOf):
            return "(" + " AND ".join(self.condition(r) for r in rule.rules) + ")"
        if isinstance(rule, AnyOf):
            return "(" + " OR ".join(self.condition(r) for r in rule.rules) + ")"
        if isinstance(rule, Not):
            return f"(NOT {self.condition(rule.rule)})"
        if isinstance(rule, PersonRule):
            return f"coalesce({compile_filter(self.ctx.dialect, rule.filter)}, false)"
        if isinstance(rule, DidRule):
            return self._did(rule)
        if isinstance(rule, RfmRule):
            return self._rfm(rule)
        if isinstance(rule, LifecycleRule):
            return self._lifecycle(rule)
        return self._cohort(rule)

    def _did(self, rule: DidRule) -> str:
        lo, hi = did_window(rule, self.as_of)
        filters = list(rule.filters)
        source = events_source(
            self.ctx,
            lo,
            hi,
            events=[rule.event],
            filters=filters,
            with_person=needs_person(filters),
            person_map=self.person_map,
        )
        if rule.at_least == 0:
            if rule.at_most is None:
                return TRUE
            return (
                f"p.id NOT IN (SELECT person_id FROM ({source}) AS s GROUP BY person_id"
                f" HAVING count(*) > {rule.at_most})"
            )
        if rule.at_least == 1 and rule.at_most is None:
            return f"p.id IN (SELECT person_id FROM ({source}) AS s)"
        having = f"count(*) >= {rule.at_least}"
        if rule.at_most is not None:
            having += f" AND count(*) <= {rule.at_most}"
        return f"p.id IN (SELECT person_id FROM ({source}) AS s GROUP BY person_id HAVING {having})"

    def _rfm(self, rule: RfmRule) -> str:
        options = rule.options.model_copy(update={"as_of": self.as_of})
        try:
            scored = rfm_scored_sql(self.ctx, options)
        except InvalidInput as exc:
            raise InvalidInput(f"{rule.path}.rfm: {exc.message}", f"{rule.path}.rfm") from exc
        return f"p.id IN (SELECT person_id FROM ({scored}) AS rfm WHERE seg = {rule.segment})"

    def _lifecycle(self, rule: LifecycleRule) -> str:
        d = self.ctx.dialect
        current, previous = lifecycle_periods(rule.interval, self.as_of)
        # dormant and returning only look at the two periods; new and resurrecting need the
        # first activity ever (as queries/lifecycle.py: all history is searched).
        lo = None if rule.stage in ("new", "resurrecting") else previous
        span = self.ctx.span(previous, self.as_of)
        source = events_source(
            self.ctx,
            lo,
            self.as_of,
            events=[rule.event],
            # Activity before `previous` only needs to fall before it (QueryContext.span).
            columns={"day": d.local_date("e.timestamp", self.ctx.timezone, span)},
            person_map=self.person_map,
        )
        cur = f"CAST({d.string(current.isoformat())} AS DATE)"
        prev = f"CAST({d.string(previous.isoformat())} AS DATE)"
        in_cur = f"max(CASE WHEN day >= {cur} THEN 1 ELSE 0 END) = 1"
        in_prev = f"max(CASE WHEN day >= {prev} AND day < {cur} THEN 1 ELSE 0 END) = 1"
        having = {
            "new": f"min(day) >= {cur}",
            "returning": f"{in_cur} AND {in_prev}",
            "resurrecting": f"{in_cur} AND NOT ({in_prev}) AND min(day) < {prev}",
            "dormant": f"{in_prev} AND NOT ({in_cur})",
        }[rule.stage]
        return f"p.id IN (SELECT person_id FROM ({source}) AS s GROUP BY person_id HAVING {having})"

    def _cohort(self, rule: CohortRule) -> str:
        at = f"{rule.path}.cohort"
        if self.cohorts is None:
            raise InvalidInput(f"{at}: saved segments are not available here", at)
        if rule.segment_id in self._open:
            raise InvalidInput(f"{at}: saved segment {rule.segment_id} refers to itself", at)
        cohort = self.cohorts(rule.segment_id)
        if cohort is None:
            raise InvalidInput(f"{at}: no saved segment {rule.segment_id}", at)
        if cohort.rule is None:
            if not cohort.person_ids:
                return FALSE
            d = self.ctx.dialect
            listed = ", ".join(d.string(pid) for pid in cohort.person_ids)
            return f"{d.uuid_text('p.id')} IN ({listed})"
        self._open.append(rule.segment_id)
        try:
            return self.condition(cohort.rule)
        finally:
            self._open.pop()


def segment_sql(
    ctx: QueryContext,
    rule: Rule,
    as_of: date,
    cohorts: CohortResolver | None = None,
    columns: str = "p.id AS person_id",
) -> str:
    """SELECT `columns` FROM the workspace's persons `p` that the rule picks."""
    condition = RuleCompiler(ctx, as_of, cohorts).condition(rule)
    return (
        f"SELECT {columns} FROM persons AS p"
        f" WHERE p.workspace_id = {ctx.workspace_id} AND {condition}"
    )
