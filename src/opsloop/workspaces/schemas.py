"""Request and answer models of the workspace settings and API token routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from opsloop.workspaces.service import WorkspaceRef
from opsloop.workspaces.tokens import TokenInfo

Role = Literal["owner", "admin", "operator", "analyst", "viewer"]


class WorkspacePublic(BaseModel):
    """The ingest key is write-only (it can only send events), so it is shown to every member."""

    id: int
    name: str
    timezone: str
    ingest_key: str

    @classmethod
    def of(cls, ws: WorkspaceRef) -> WorkspacePublic:
        return cls(id=ws.id, name=ws.name, timezone=ws.timezone, ingest_key=ws.ingest_key)


class WorkspaceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=64, examples=["Asia/Shanghai"])


class TokenPublic(BaseModel):
    """A token without its value: `prefix` tells it apart; `role` is what it acts with now."""

    id: int
    name: str
    prefix: str
    user_id: int | None
    user_email: str | None
    role: Role
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, t: TokenInfo) -> TokenPublic:
        return cls.model_validate(t.to_dict())


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200, examples=["reporting notebook"])
    role: Role = Field(
        default="owner",
        description="The most the token may do; it never does more than its user's role",
    )


class TokenCreated(TokenPublic):
    token: str = Field(description="The token itself: shown this once, only its hash is kept")
