"""Retention's members when the cohort is each person's first `start_event` (a named event):
the cohort from a scan of the start events alone, the returns joined to it.

The general form (`retention._first_event_members`) aggregates every start and return event to
(person, period) pairs and finds each person's first start period with a window over all pairs.
With a named start event that window is not needed: the start events are few and their scan
reads only them (`event IN (...)` is tested while scanning), so each person's cohort period and
breakdown value come from those events grouped per distinct_id and then per person. The return
events are grouped per (distinct_id, period), resolved to persons and joined to the cohorts; only
the periods within `periods` after a person's cohort are kept. At 10M events (daily sign-up
cohorts, 7 days) the window and the person-level grouping of every pair were 0.55 s of 1.9 s of
CPU; this form takes 1.5 s (docs/decisions.md D18).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsloop.analytics.context import QueryContext
from opsloop.analytics.filters import needs_person, property_text
from opsloop.analytics.queries.periods import period_first_day, period_key, period_last_day
from opsloop.analytics.source import PERSON_MAP, events_source, resolve_groups, split_filters

if TYPE_CHECKING:
    from opsloop.analytics.queries.retention import RetentionQuery


def first_start_members(ctx: QueryContext, q: RetentionQuery, lo: int, hi: int) -> str:
    """(person_id, c, bv, k) rows, as `retention._first_event_members` gives them: k = 0 for
    each member of cohort c (lo..hi), then each period k in 1..periods in which they returned.

    A person's cohort is the period of their first start event (over all history, up to the last
    cohort period); its breakdown value is that event's (ties at the same instant: the smallest
    value, a missing value last), or the person's property for `person.<name>`. Event filters
    narrow both sides; person filters narrow the cohorts (and so the returns)."""
    d, grain = ctx.dialect, q.period
    event_filters, person_filters = split_filters(q.filters)
    span = ctx.span(period_first_day(grain, lo), period_last_day(grain, hi + q.periods))
    key = period_key(d, grain, "e.timestamp", ctx.timezone, span)
    by_person = q.breakdown is not None and needs_person([], q.breakdown)
    by_event = q.breakdown is not None and not by_person

    columns = {"distinct_id": "e.distinct_id", "p": key}
    per_id = {"fp": "min(p)"}
    if by_event:
        assert q.breakdown is not None
        columns["bv"] = property_text(d, q.breakdown)
        per_id["fts"] = "min(ts)"
        per_id["fbv"] = "argMin([bv], (ts, bv IS NULL, coalesce(bv, '')))"
    starts = events_source(
        ctx,
        None,
        period_last_day(grain, hi),
        events=[q.start_event],
        filters=event_filters,
        resolve_persons=False,
        columns=columns,
    )
    firsts = ", ".join(f"{sql} AS {alias}" for alias, sql in per_id.items())
    by_id = f"SELECT distinct_id, {firsts} FROM ({starts}) AS ev GROUP BY distinct_id"
    per_person = {"c": "min(g.fp)", "cbv": "NULL"}
    if by_event:
        per_person["cbv"] = "argMin(g.fbv, (g.fts, g.fbv[1] IS NULL, coalesce(g.fbv[1], '')))"
    elif by_person:
        assert q.breakdown is not None
        per_person["cbv"] = f"argMin([{property_text(d, q.breakdown)}], g.fp)"
    cohorts = resolve_groups(
        ctx, by_id, [], per_person, filters=person_filters, with_person=by_person
    )

    backs = events_source(
        ctx,
        period_first_day(grain, lo + 1),
        period_last_day(grain, hi + q.periods),
        events=[q.return_event],
        filters=event_filters,
        resolve_persons=False,
        columns={"distinct_id": "e.distinct_id", "p": key},
    )
    returns = f"SELECT distinct_id, p FROM ({backs}) AS ev GROUP BY distinct_id, p"
    bv = "cbv[1]" if q.breakdown else "NULL"
    return (
        f"WITH co AS (SELECT person_id, c, {bv} AS bv FROM ({cohorts}) AS cs"
        f" WHERE c BETWEEN {lo} AND {hi})"
        " SELECT person_id, c, bv, 0 AS k FROM co"
        " UNION ALL SELECT DISTINCT co.person_id AS person_id, co.c AS c, co.bv AS bv,"
        f" r.p - co.c AS k FROM ({returns}) AS r"
        f" JOIN {PERSON_MAP} AS m ON m.distinct_id = r.distinct_id"
        " JOIN co ON co.person_id = m.person_id"
        f" WHERE m.workspace_id = {ctx.workspace_id}"
        f" AND r.p > co.c AND r.p <= co.c + {q.periods}"
    )
