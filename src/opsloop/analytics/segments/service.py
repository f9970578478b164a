"""Saved segments: create, read, list, update and delete them, and ask for their members.

A saved segment is either a rule (the segment rule language, evaluated whenever its members are
asked for, so it follows the data) or a static list of person ids (a snapshot, e.g. a funnel's
dropped users via `create_static_segment`). Rules may name other saved segments (`{"cohort":
id}`) of the same workspace; cycles are refused when saved. Names are unique per workspace.
A person merged into another after a static list was saved drops out of it (merges delete the
merged person); rules have no such drift.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import orjson
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from opsloop.analytics.context import QueryContext
from opsloop.analytics.queries.segment import (
    SegmentQuery,
    count_members,
    export_members,
    run_segment,
    today,
)
from opsloop.analytics.segments.compiler import Cohort, segment_sql
from opsloop.analytics.segments.models import SavedSegment, SegmentMember
from opsloop.analytics.segments.persons import canonical_person_id
from opsloop.analytics.segments.rules import CohortRule, Rule, cohort_rules, parse_rule
from opsloop.audit import record
from opsloop.errors import Conflict, InvalidInput, NotFound

EXPORT_COLUMNS = ("person_id", "distinct_id")


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    id: int
    workspace_id: int
    name: str
    description: str
    kind: Literal["rule", "static"]
    rule: dict[str, Any] | None
    size: int | None  # members of a static segment; None for a rule (ask `count`)
    created_by: int | None
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "kind": self.kind,
            "rule": self.rule,
            "size": self.size,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _audited(info: SegmentInfo) -> dict[str, Any]:
    """What the audit log keeps of a segment (a static one's size, not its members)."""
    return {k: v for k, v in info.to_dict().items() if k not in ("created_at", "updated_at")}


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite drops the zone


def _info(session: Session, row: SavedSegment) -> SegmentInfo:
    size = None
    if row.kind == "static":
        size = len(_member_ids(session, row.id))
    return SegmentInfo(
        row.id,
        row.workspace_id,
        row.name,
        row.description,
        "static" if row.kind == "static" else "rule",
        row.rule,
        size,
        row.created_by,
        _utc(row.created_at),
        _utc(row.updated_at),
    )


def _row(session: Session, workspace_id: int, segment_id: int) -> SavedSegment:
    row = session.get(SavedSegment, segment_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound(f"no saved segment {segment_id}", "segment_id")
    return row


def _member_ids(session: Session, segment_id: int) -> list[str]:
    return list(
        session.scalars(
            select(SegmentMember.person_id)
            .where(SegmentMember.segment_id == segment_id)
            .order_by(SegmentMember.person_id)
        )
    )


def _name(session: Session, workspace_id: int, name: str, segment_id: int | None) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a segment needs a name of 1 to 200 characters", "name")
    taken = session.scalar(
        select(SavedSegment.id).where(
            SavedSegment.workspace_id == workspace_id, SavedSegment.name == name
        )
    )
    if taken is not None and taken != segment_id:
        raise Conflict(f"a segment named {name!r} already exists", "name")
    return name


def _person_ids(person_ids: Iterable[str]) -> list[str]:
    out: dict[str, None] = {}
    for i, pid in enumerate(person_ids):
        canonical = canonical_person_id(str(pid))
        if canonical is None:
            raise InvalidInput(f"person_ids[{i}]: not a person id", f"person_ids[{i}]")
        out[canonical] = None
    return list(out)


def _check_rule(
    session: Session, workspace_id: int, rule: dict[str, Any], segment_id: int | None
) -> dict[str, Any]:
    """Parse the rule, and refuse references to missing segments or back to this one."""
    parsed = parse_rule(rule)
    seen: set[int] = set()
    todo = [(r, r) for r in cohort_rules(parsed)]
    while todo:
        origin, ref = todo.pop()
        at = f"{origin.path}.cohort"
        if ref.segment_id == segment_id:
            raise InvalidInput(f"{at}: a segment cannot contain itself", at)
        if ref.segment_id in seen:
            continue
        seen.add(ref.segment_id)
        row = session.get(SavedSegment, ref.segment_id)
        if row is None or row.workspace_id != workspace_id:
            raise InvalidInput(f"{at}: no saved segment {ref.segment_id}", at)
        if row.rule is not None:
            todo += [(origin, r) for r in cohort_rules(parse_rule(row.rule))]
    return rule


def _set_members(session: Session, segment_id: int, person_ids: Sequence[str]) -> None:
    session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment_id))
    session.add_all(SegmentMember(segment_id=segment_id, person_id=p) for p in person_ids)
    session.flush()


def create_segment(
    session: Session,
    workspace_id: int,
    name: str,
    *,
    rule: dict[str, Any] | None = None,
    person_ids: Iterable[str] | None = None,
    description: str = "",
    created_by: int | None = None,
) -> SegmentInfo:
    """A rule segment (`rule`) or a static one (`person_ids`): exactly one of them."""
    if (rule is None) == (person_ids is None):
        raise InvalidInput("a segment has either a rule or a list of person ids", "rule")
    row = SavedSegment(
        workspace_id=workspace_id,
        name=_name(session, workspace_id, name, None),
        description=description,
        kind="rule" if rule is not None else "static",
        rule=None if rule is None else _check_rule(session, workspace_id, rule, None),
        created_by=created_by,
    )
    members = [] if person_ids is None else _person_ids(person_ids)
    session.add(row)
    session.flush()
    if person_ids is not None:
        _set_members(session, row.id, members)
    info = _info(session, row)
    record(
        session,
        "segment.created",
        workspace_id=workspace_id,
        entity_type="segment",
        entity_id=row.id,
        after=_audited(info),
    )
    return info


def create_static_segment(
    session: Session,
    workspace_id: int,
    name: str,
    person_ids: Iterable[str],
    *,
    description: str = "",
    created_by: int | None = None,
) -> SegmentInfo:
    """Save a list of persons (e.g. a funnel's dropped users) as a static segment."""
    return create_segment(
        session,
        workspace_id,
        name,
        person_ids=person_ids,
        description=description,
        created_by=created_by,
    )


def get_segment(session: Session, workspace_id: int, segment_id: int) -> SegmentInfo:
    return _info(session, _row(session, workspace_id, segment_id))


def list_segments(session: Session, workspace_id: int) -> list[SegmentInfo]:
    rows = session.scalars(
        select(SavedSegment)
        .where(SavedSegment.workspace_id == workspace_id)
        .order_by(SavedSegment.name, SavedSegment.id)
    )
    return [_info(session, row) for row in rows]


def update_segment(
    session: Session,
    workspace_id: int,
    segment_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    rule: dict[str, Any] | None = None,
    person_ids: Iterable[str] | None = None,
) -> SegmentInfo:
    """Change what is given; a new rule or member list also switches the segment's kind."""
    row = _row(session, workspace_id, segment_id)
    before = _audited(_info(session, row))
    if rule is not None and person_ids is not None:
        raise InvalidInput("give a rule or a list of person ids, not both", "rule")
    if name is not None:
        row.name = _name(session, workspace_id, name, segment_id)
    if description is not None:
        row.description = description
    if rule is not None:
        row.rule = _check_rule(session, workspace_id, rule, segment_id)
        row.kind = "rule"
        _set_members(session, segment_id, [])
    if person_ids is not None:
        members = _person_ids(person_ids)
        row.rule, row.kind = None, "static"
        _set_members(session, segment_id, members)
    # Strictly later, even within the clock's resolution: the version cached answers check.
    row.updated_at = max(datetime.now(UTC), _utc(row.updated_at) + timedelta(microseconds=1))
    session.flush()
    info = _info(session, row)
    record(
        session,
        "segment.updated",
        workspace_id=workspace_id,
        entity_type="segment",
        entity_id=segment_id,
        before=before,
        after=_audited(info),
    )
    return info


def delete_segment(session: Session, workspace_id: int, segment_id: int) -> None:
    """Delete a segment; refused while another saved segment's rule refers to it."""
    row = _row(session, workspace_id, segment_id)
    users = [
        other.name
        for other in session.scalars(
            select(SavedSegment).where(
                SavedSegment.workspace_id == workspace_id, SavedSegment.kind == "rule"
            )
        )
        if other.id != segment_id
        and other.rule
        and segment_id in {c.segment_id for c in cohort_rules(parse_rule(other.rule))}
    ]
    if users:
        raise Conflict(f"segment {segment_id} is used by {', '.join(sorted(users))}", "segment_id")
    before = _audited(_info(session, row))
    session.delete(row)
    session.flush()
    record(
        session,
        "segment.deleted",
        workspace_id=workspace_id,
        entity_type="segment",
        entity_id=segment_id,
        before=before,
    )


class StoredSegments:
    """The workspace's saved segments as the rule compiler looks them up (a `SavedSegments`),
    read through an operational-store session that outlives the query."""

    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def __call__(self, segment_id: int) -> Cohort | None:
        row = self.session.get(SavedSegment, segment_id)
        if row is None or row.workspace_id != self.workspace_id:
            return None
        version = _version(row.updated_at)
        if row.kind == "static":
            members = tuple(_member_ids(self.session, row.id))
            return Cohort(person_ids=members, version=version)
        return Cohort(rule=parse_rule(row.rule), version=version)

    def versions(self, segment_ids: Collection[int]) -> dict[int, str]:
        if not segment_ids:
            return {}
        rows = self.session.execute(
            select(SavedSegment.id, SavedSegment.updated_at).where(
                SavedSegment.workspace_id == self.workspace_id,
                SavedSegment.id.in_(list(segment_ids)),
            )
        )
        return {int(i): _version(at) for i, at in rows}


def _version(updated_at: datetime) -> str:
    return _utc(updated_at).isoformat()


def cohort_resolver(session: Session, workspace_id: int) -> StoredSegments:
    """Saved segments of the workspace as the rule compiler (and the query cache) look them up."""
    return StoredSegments(session, workspace_id)


def _as_rule(session: Session, ctx: QueryContext, segment_id: int) -> Rule:
    _row(session, ctx.workspace_id, segment_id)
    return CohortRule(segment_id)


def members(
    session: Session,
    ctx: QueryContext,
    segment_id: int,
    *,
    as_of: date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """A page of the segment's persons: the `segment` query's answer, plus the segment."""
    info = get_segment(session, ctx.workspace_id, segment_id)
    query = SegmentQuery(rule={"cohort": segment_id}, as_of=as_of, limit=limit, offset=offset)
    answer = run_segment(ctx, query, cohort_resolver(session, ctx.workspace_id))
    return {**answer, "segment": info.to_dict()}


def count(session: Session, ctx: QueryContext, segment_id: int, as_of: date | None = None) -> int:
    rule = _as_rule(session, ctx, segment_id)
    resolver = cohort_resolver(session, ctx.workspace_id)
    return count_members(ctx, rule, as_of or today(ctx), resolver)


def export(
    session: Session,
    ctx: QueryContext,
    segment_id: int,
    *,
    as_of: date | None = None,
    properties: Sequence[str] | None = None,
) -> Iterator[list[str]]:
    """CSV rows of the members: a header (person_id, distinct_id, then the person properties:
    `properties`, or every property any member has, sorted), then one row per member. Values
    that are not text are written as JSON; a missing property is an empty cell."""
    rule = _as_rule(session, ctx, segment_id)
    rows = export_members(
        ctx, rule, as_of or today(ctx), cohort_resolver(session, ctx.workspace_id)
    )
    keys = list(properties) if properties is not None else sorted({k for *_, p in rows for k in p})
    yield [*EXPORT_COLUMNS, *keys]
    for pid, did, props in rows:
        yield [pid, did or "", *(_cell(props.get(k)) for k in keys)]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def segments_of(
    session: Session, ctx: QueryContext, person_id: str, as_of: date | None = None
) -> list[SegmentInfo]:
    """The saved segments (rule or static) this person belongs to as of a date (default today),
    in the order of list_segments; one small query per segment."""
    as_of = as_of or today(ctx)
    resolver = cohort_resolver(session, ctx.workspace_id)
    d = ctx.dialect
    found = []
    for info in list_segments(session, ctx.workspace_id):
        members = segment_sql(ctx, CohortRule(info.id), as_of, resolver, "1 AS hit")
        sql = f"{members} AND {d.uuid_text('p.id')} = {d.string(person_id)} LIMIT 1"
        if ctx.engine.rows(sql):
            found.append(info)
    return found
