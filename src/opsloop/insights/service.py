"""Saved insights: a named REST body of an analysis kind, validated by the engine's own parser,
private or shared; `rolled` moves a rolling insight's dates to end on the latest day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from opsloop.analytics.service import parse_query
from opsloop.audit import record
from opsloop.errors import InvalidInput, NotFound
from opsloop.insights.access import Viewer, clean_name
from opsloop.insights.models import Insight

# Kinds worth saving: the analyses with an explorer and a chart, and segments.
SAVABLE_KINDS = ("trends", "funnel", "retention", "paths", "lifecycle", "rfm", "segment")


@dataclass(frozen=True, slots=True)
class InsightInfo:
    id: int
    workspace_id: int
    name: str
    description: str
    kind: str
    query: dict[str, Any]
    rolling: bool
    shared: bool
    owner_id: int | None
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "kind": self.kind,
            "query": self.query,
            "rolling": self.rolling,
            "shared": self.shared,
            "owner_id": self.owner_id,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite drops the zone


def info(row: Insight) -> InsightInfo:
    return InsightInfo(
        row.id,
        row.workspace_id,
        row.name,
        row.description,
        row.kind,
        dict(row.query),
        row.rolling,
        row.shared,
        row.owner_id,
        as_utc(row.created_at),
        as_utc(row.updated_at),
    )


def checked_query(query: Any) -> dict[str, Any]:
    """The body as the engine reads it (fields given, defaults left out); errors name the field
    under `query`."""
    if not isinstance(query, dict):
        raise InvalidInput("the query must be a JSON object", "query")
    try:
        model = parse_query(query)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, f"query.{exc.field}" if exc.field else "query") from None
    kind = str(model.kind)  # type: ignore[attr-defined]
    if kind not in SAVABLE_KINDS:
        raise InvalidInput(f"a {kind!r} query cannot be saved as an insight", "query.kind")
    return {"kind": kind, **model.model_dump(mode="json", exclude_unset=True)}


def row_of(session: Session, workspace_id: int, viewer: Viewer, insight_id: int) -> Insight:
    row = session.get(Insight, insight_id)
    if row is None or row.workspace_id != workspace_id or not viewer.sees(row.owner_id, row.shared):
        raise NotFound(f"no insight {insight_id}", "insight_id")
    return row


def create_insight(
    session: Session,
    workspace_id: int,
    viewer: Viewer,
    name: str,
    query: Any,
    *,
    description: str = "",
    shared: bool = False,
    rolling: bool = True,
) -> InsightInfo:
    viewer.check_creates()
    body = checked_query(query)
    row = Insight(
        workspace_id=workspace_id,
        name=clean_name(name),
        description=description.strip(),
        kind=body["kind"],
        query=body,
        rolling=rolling,
        shared=shared,
        owner_id=viewer.user_id,
    )
    session.add(row)
    session.flush()
    created = info(row)
    _record(session, "insight.created", created, None, created)
    return created


def _record(
    session: Session,
    action: str,
    insight: InsightInfo,
    before: InsightInfo | None,
    after: InsightInfo | None,
) -> None:
    record(
        session,
        action,
        workspace_id=insight.workspace_id,
        entity_type="insight",
        entity_id=insight.id,
        before=_audited(before),
        after=_audited(after),
    )


def _audited(insight: InsightInfo | None) -> dict[str, Any] | None:
    if insight is None:
        return None
    return {k: v for k, v in insight.to_dict().items() if k not in ("created_at", "updated_at")}


def get_insight(
    session: Session, workspace_id: int, viewer: Viewer, insight_id: int
) -> InsightInfo:
    return info(row_of(session, workspace_id, viewer, insight_id))


def list_insights(session: Session, workspace_id: int, viewer: Viewer) -> list[InsightInfo]:
    """The insights the viewer sees, most recently changed first."""
    stmt = select(Insight).where(Insight.workspace_id == workspace_id)
    if viewer.user_id is not None:
        stmt = stmt.where(or_(Insight.shared.is_(True), Insight.owner_id == viewer.user_id))
    rows = session.scalars(stmt.order_by(Insight.updated_at.desc(), Insight.id.desc()))
    return [info(r) for r in rows]


def update_insight(
    session: Session,
    workspace_id: int,
    viewer: Viewer,
    insight_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    query: Any = None,
    shared: bool | None = None,
    rolling: bool | None = None,
) -> InsightInfo:
    row = row_of(session, workspace_id, viewer, insight_id)
    viewer.check_edits(row.owner_id, "insight")
    before = info(row)
    if name is not None:
        row.name = clean_name(name)
    if description is not None:
        row.description = description.strip()
    if query is not None:
        body = checked_query(query)
        row.query, row.kind = body, body["kind"]
    if shared is not None:
        row.shared = shared
    if rolling is not None:
        row.rolling = rolling
    session.flush()
    after = info(row)
    _record(session, "insight.changed", after, before, after)
    return after


def delete_insight(session: Session, workspace_id: int, viewer: Viewer, insight_id: int) -> None:
    row = row_of(session, workspace_id, viewer, insight_id)
    viewer.check_edits(row.owner_id, "insight")
    before = info(row)
    session.delete(row)
    session.flush()
    _record(session, "insight.deleted", before, before, None)


def rolled(insight: InsightInfo, last_day: date) -> dict[str, Any]:
    """The query to run now: a rolling insight keeps its range's length and ends on `last_day`
    (RFM: its as_of); a fixed one is run as saved."""
    query = dict(insight.query)
    end_field = "as_of" if "as_of" in query and "date_to" not in query else "date_to"
    if not insight.rolling or end_field not in query:
        return query
    end = date.fromisoformat(str(query[end_field]))
    shift = last_day - end
    query[end_field] = last_day.isoformat()
    if "date_from" in query:
        start = date.fromisoformat(str(query["date_from"])) + shift
        query["date_from"] = start.isoformat()
    return query
