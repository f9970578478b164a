"""Request and answer models of the saved-segments REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from opsloop.analytics.queries.funnel_persons import FunnelPersonsQuery
from opsloop.analytics.queries.segment import EXAMPLE_RULE, SegmentQuery

# The query kinds whose answer is a list of persons (registry: `person_ids`).
PersonsQuery = Annotated[FunnelPersonsQuery | SegmentQuery, Field(discriminator="kind")]


class SegmentCreate(BaseModel):
    """A rule segment (`rule`), a static one (`person_ids`), or a static snapshot of the persons
    a query lists (`from_query`: e.g. a funnel step's dropped users): exactly one of the three."""

    name: str = Field(min_length=1, max_length=200, examples=["加购未付款"])
    description: str = Field(default="", max_length=2000)
    rule: dict[str, Any] | None = Field(default=None, examples=[EXAMPLE_RULE])
    person_ids: list[str] | None = Field(default=None, max_length=1_000_000)
    from_query: PersonsQuery | None = None


class SegmentUpdate(BaseModel):
    """The fields to change; a new rule or member list also switches the segment's kind."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    rule: dict[str, Any] | None = None
    person_ids: list[str] | None = Field(default=None, max_length=1_000_000)


class SegmentPublic(BaseModel):
    id: int
    name: str
    description: str
    kind: Literal["rule", "static"]
    rule: dict[str, Any] | None
    size: int | None = Field(description="members of a static segment; null for a rule")
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class SegmentList(BaseModel):
    results: list[SegmentPublic]
