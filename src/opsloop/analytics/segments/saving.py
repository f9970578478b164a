"""Saving the persons an answer lists (a funnel step's dropped users, a rule's members today) as
a static segment: a snapshot that campaigns and outreach can target while the data moves on."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.orm import Session

from opsloop.analytics.context import QueryContext
from opsloop.analytics.registry import KINDS
from opsloop.analytics.segments.service import SegmentInfo, create_static_segment
from opsloop.analytics.service import resolve_defaults
from opsloop.errors import InvalidInput


def persons_of(ctx: QueryContext, query: BaseModel) -> list[str]:
    """Every person id the query's answer lists (all pages), sorted."""
    kind = KINDS[query.kind]  # type: ignore[attr-defined]
    if kind.person_ids is None:
        listing = ", ".join(sorted(k.name for k in KINDS.values() if k.person_ids is not None))
        raise InvalidInput(
            f"a {kind.name} answer is not a list of persons; save one of: {listing}",
            "from_query.kind",
        )
    return kind.person_ids(ctx, resolve_defaults(ctx, query))


def save_query_persons(
    session: Session,
    ctx: QueryContext,
    name: str,
    query: BaseModel,
    *,
    description: str = "",
    created_by: int | None = None,
) -> SegmentInfo:
    """A static segment of the persons `query` lists, as of now."""
    return create_static_segment(
        session,
        ctx.workspace_id,
        name,
        persons_of(ctx, query),
        description=description,
        created_by=created_by,
    )
