"""Request and answer models of the insights and dashboards API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from opsloop.insights.access import MAX_NAME

EXAMPLE_QUERY = {
    "kind": "funnel",
    "steps": [{"event": "view_item"}, {"event": "pay"}],
    "date_from": "2026-11-01",
    "date_to": "2026-11-07",
    "breakdown": "platform",
}


class InsightCreate(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_NAME, examples=["下单漏斗 by platform"])
    description: str = Field(default="", max_length=5000)
    query: dict[str, Any] = Field(description="a POST /api/v1/query body", examples=[EXAMPLE_QUERY])
    shared: bool = Field(default=False, description="visible to the whole workspace")
    rolling: bool = Field(
        default=True, description="keep the range's length, ending on the latest day, when shown"
    )


class InsightUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=5000)
    query: dict[str, Any] | None = None
    shared: bool | None = None
    rolling: bool | None = None


class InsightPublic(BaseModel):
    id: int
    name: str
    description: str
    kind: str
    query: dict[str, Any]
    rolling: bool
    shared: bool
    owner_id: int | None
    created_at: datetime
    updated_at: datetime


class DashboardCreate(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_NAME, examples=["运营日报"])
    description: str = Field(default="", max_length=5000)
    shared: bool = False


class DashboardUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=5000)
    shared: bool | None = None


class TilePublic(BaseModel):
    insight: InsightPublic
    position: int
    width: int


class DashboardPublic(BaseModel):
    id: int
    name: str
    description: str
    shared: bool
    owner_id: int | None
    tiles: list[TilePublic]
    created_at: datetime
    updated_at: datetime


class PinRequest(BaseModel):
    insight_id: int = Field(ge=1)
    width: int = Field(default=1, ge=1, le=2, description="columns of the grid the tile spans")


class MoveRequest(BaseModel):
    position: int = Field(ge=0, le=10_000, description="0 is first")
