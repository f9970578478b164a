"""What every leaf of a metrics query shares: the range and grain, the breakdown, the filters and
the saved-segment restriction, and the SQL that puts them around a leaf's events.

Breakdowns: an event property (`platform`), a person property (`person.region`), the person's
first-touch channel (`$first_touch_channel`: the channel-like property, `$channel`, `channel`,
`utm_source` or `$utm_source` in that order, of the person's earliest activity event carrying
one, up to the range's end; ties at one instant by event uuid; profile-only messages are not
activity), or saved-segment membership (`$segment`
with `segments: [ids]`: a line per segment, each counting its members; a person in two segments
counts in both). Segment rules are evaluated as of the range's last day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Literal

from opsloop.analytics.context import QueryContext
from opsloop.analytics.dialect import Grain
from opsloop.analytics.filters import (
    PropertyFilter,
    compile_filter_on,
    needs_person,
    property_text,
)
from opsloop.analytics.segments.compiler import segment_sql
from opsloop.analytics.segments.rules import CohortRule
from opsloop.analytics.source import events_source
from opsloop.errors import InvalidInput

FIRST_TOUCH = "$first_touch_channel"
SEGMENT = "$segment"
OTHER = "$other"
CHANNEL_PROPERTIES = ("$channel", "channel", "utm_source", "$utm_source")
BreakdownKind = Literal["event", "person", "first_touch", "segment"]


@dataclass(frozen=True)
class Breakdown:
    kind: BreakdownKind
    property: str | None = None
    segments: tuple[int, ...] = ()


def parse_breakdown(name: str | None, segments: Sequence[int]) -> Breakdown | None:
    if name is None:
        if segments:
            raise InvalidInput(f"segments are for the {SEGMENT!r} breakdown", "segments")
        return None
    if name == SEGMENT:
        if not segments:
            raise InvalidInput(f"the {SEGMENT!r} breakdown needs segments: [ids]", "segments")
        return Breakdown("segment", segments=tuple(dict.fromkeys(segments)))
    if segments:
        raise InvalidInput(f"segments are for the {SEGMENT!r} breakdown", "segments")
    if name == FIRST_TOUCH:
        return Breakdown("first_touch")
    property_text_check = name.removeprefix("person.")
    if not property_text_check:
        raise InvalidInput("name a property after person.", "breakdown")
    return Breakdown("person" if name.startswith("person.") else "event", name)


@dataclass(frozen=True)
class Scope:
    ctx: QueryContext
    date_from: date
    date_to: date
    grain: Grain
    breakdown: Breakdown | None = None
    filters: tuple[PropertyFilter, ...] = ()  # event and person property filters
    channel_filters: tuple[PropertyFilter, ...] = ()  # on $first_touch_channel
    segment: int | None = None
    keep: tuple[str | None, ...] | None = None  # breakdown values kept; the rest fold to $other
    names: dict[int, str] = field(default_factory=dict)  # saved segments' names

    def shifted(self, date_from: date, date_to: date) -> Scope:
        return replace(self, date_from=date_from, date_to=date_to)

    def folding(self, keep: Sequence[str | None]) -> Scope:
        return replace(self, keep=tuple(keep))

    def needs_person(self, filters: Sequence[PropertyFilter] = ()) -> bool:
        bd = self.breakdown
        prop = bd.property if bd is not None and bd.kind == "person" else None
        return needs_person([*self.filters, *filters], prop)

    def raw_breakdown(self) -> str:
        """SQL over events `e` (persons `p`) for an event or person property breakdown."""
        bd = self.breakdown
        if bd is not None and bd.kind in ("event", "person") and bd.property is not None:
            return property_text(self.ctx.dialect, bd.property)
        return "NULL"

    def source(
        self,
        date_from: date | None,
        date_to: date,
        events: Sequence[str],
        filters: Sequence[PropertyFilter] = (),
        columns: dict[str, str] | None = None,
        extra_where: Sequence[str] = (),
        with_person: bool = False,
    ) -> str:
        """The leaf's events with their breakdown value `bv` and `columns`, every filter
        applied: person_id, ts, event, the columns, bv."""
        all_filters = [*self.filters, *filters]
        base = events_source(
            self.ctx,
            date_from,
            date_to,
            events=list(events),
            filters=all_filters,
            with_person=with_person or self.needs_person(filters),
            columns={**(columns or {}), "bv0": self.raw_breakdown()},
            extra_where=extra_where,
        )
        return self.wrap(base)

    def wrap(self, base: str) -> str:
        """`base` (with person_id and bv0) joined to what the breakdown and the restrictions
        need; the folded breakdown value is `bv`."""
        d = self.ctx.dialect
        joins, where = [], []
        raw = "s.bv0"
        bd = self.breakdown
        if self.channel_filters or (bd is not None and bd.kind == "first_touch"):
            joins.append(
                f"LEFT JOIN ({self.first_touch_sql()}) AS ft ON ft.person_id = s.person_id"
            )
            where += [compile_filter_on(d, f, "ft.channel", "NULL") for f in self.channel_filters]
            if bd is not None and bd.kind == "first_touch":
                raw = "ft.channel"
        if bd is not None and bd.kind == "segment":
            joins.append(
                f"JOIN ({self.segments_sql(bd.segments)}) AS sg ON sg.person_id = s.person_id"
            )
            raw = "sg.name"
        if self.segment is not None:
            members = self.members_sql(self.segment)
            where.append(f"s.person_id IN ({members})")
        sql = f"SELECT s.*, {self.fold(raw)} AS bv FROM ({base}) AS s {' '.join(joins)}"
        return sql + (f" WHERE {' AND '.join(where)}" if where else "")

    def fold(self, raw: str) -> str:
        if self.keep is None:
            return raw
        d = self.ctx.dialect
        listed = ", ".join(d.string(str(v)) for v in self.keep if v is not None)
        kept_null = f" OR {raw} IS NULL" if None in self.keep else ""
        return (
            f"CASE WHEN {raw} IN ({listed or 'NULL'}){kept_null} THEN {raw}"
            f" ELSE {d.string(OTHER)} END"
        )

    def first_touch_sql(self) -> str:
        """(person_id, channel): each person's first-touch channel, up to the range's end."""
        return first_touch_sql(self.ctx, self.date_to)

    def members_sql(self, segment_id: int, columns: str = "p.id AS person_id") -> str:
        """SELECT `columns` (SQL over persons `p`) of a saved segment's members, as of the
        range's last day."""
        cohorts = self.ctx.cohorts
        if cohorts is None or cohorts(segment_id) is None:
            raise InvalidInput(f"no saved segment {segment_id}", "segment")
        return segment_sql(
            self.ctx, CohortRule(segment_id, "segment"), self.date_to, cohorts, columns
        )

    def segments_sql(self, ids: Sequence[int]) -> str:
        d = self.ctx.dialect
        parts = []
        for sid in ids:
            name = d.string(self.names.get(sid, f"segment {sid}"))
            parts.append(self.members_sql(sid, f"p.id AS person_id, {name} AS name"))
        return " UNION ALL ".join(parts)


def first_touch_sql(
    ctx: QueryContext, date_to: date, person_map: str = "person_distinct_ids"
) -> str:
    """(person_id, channel): each person's first-touch channel, up to `date_to`; `person_map`
    may narrow the distinct_id → person map to the persons asked about (a person's first touch
    depends only on their own events)."""
    d = ctx.dialect
    texts = ", ".join(property_text(d, name) for name in CHANNEL_PROPERTIES)
    channel = f"coalesce({texts})"
    events = events_source(
        ctx,
        None,
        date_to,
        columns={"channel": channel, "ord": d.uuid_order("e.uuid")},
        extra_where=[f"{channel} IS NOT NULL"],
        person_map=person_map,
    )
    ranked = (
        "SELECT person_id, channel, row_number() OVER"
        f" (PARTITION BY person_id ORDER BY ts, ord) AS rn FROM ({events}) AS fe"
    )
    return f"SELECT person_id, channel FROM ({ranked}) AS r WHERE rn = 1"


def person_first_touch(ctx: QueryContext, person_id: str, date_to: date) -> str | None:
    """One person's `$first_touch_channel` up to `date_to` (None: no event of theirs carries a
    channel), reading only that person's events."""
    d = ctx.dialect
    own_ids = (
        f"(SELECT * FROM person_distinct_ids WHERE workspace_id = {ctx.workspace_id}"
        f" AND {d.uuid_text('person_id')} = {d.string(person_id.lower())})"
    )
    rows = ctx.engine.rows(f"SELECT channel FROM ({first_touch_sql(ctx, date_to, own_ids)}) AS ft")
    return None if not rows or rows[0][0] is None else str(rows[0][0])


# -- buckets of local dates ------------------------------------------------------------------------


def date_bucket(grain: Grain, day: date) -> str:
    """The label of the bucket holding a local date (as Dialect.bucket_label spells it)."""
    if grain == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if grain == "month":
        return day.strftime("%Y-%m")
    if grain == "day":
        return day.isoformat()
    raise InvalidInput(
        "this metric is computed per day: use interval day, week or month", "interval"
    )


def days(date_from: date, date_to: date) -> list[date]:
    return [date_from + timedelta(days=i) for i in range((date_to - date_from).days + 1)]
