"""Requests and answers of the materialized-property endpoints and commands."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

PropertyType = Literal["text", "number"]


class MaterializeRequest(BaseModel):
    """`type` "auto" picks number when every value seen is a JSON number, else text."""

    key: str = Field(min_length=1, max_length=200, description="the event property's key")
    type: Literal["auto", "text", "number"] = "auto"


class AutoMaterializeRequest(BaseModel):
    """Materialize the properties queries read most in the last `days` days."""

    limit: int = Field(default=5, ge=1, le=64, description="at most this many new columns")
    min_uses: int = Field(default=3, ge=1, description="only properties read this often")
    days: int = Field(default=30, ge=1, le=366)


class MaterializedPropertyPublic(BaseModel):
    key: str
    type: PropertyType
    column: str
    origin: Literal["manual", "auto", "demo"]
    ready: bool = Field(description="false while the stored events are being backfilled")
    created_at: datetime


class PropertyUsePublic(BaseModel):
    key: str
    type: PropertyType = Field(description="how queries read it: as text or as a number")
    uses: int
    last_used: date
    materialized: bool
