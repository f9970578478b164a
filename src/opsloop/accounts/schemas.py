"""Request and answer models of the accounts API: the caller, members and passwords."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from opsloop.accounts.members import MemberInfo
from opsloop.workspaces.schemas import Role, WorkspacePublic

__all__ = ["Role"]
Language = Literal["zh-CN", "en"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MePublic(BaseModel):
    """Who the caller is and what they act as: a user (their email and language), or the
    workspace's own token (no user)."""

    user_id: int | None
    email: str | None
    language: Language | None
    role: Role
    via: Literal["api", "console"]
    token_id: int | None
    workspace: WorkspacePublic
    permissions: list[str]


class MeUpdate(Strict):
    language: Language


class PasswordChange(Strict):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class MemberPublic(BaseModel):
    user_id: int
    email: str
    role: Role
    language: Language
    joined_at: datetime

    @classmethod
    def of(cls, m: MemberInfo) -> MemberPublic:
        return cls.model_validate(m.to_dict())


class MemberCreate(Strict):
    """Add a user by email: an existing user keeps their password; a new one gets `password` or
    a generated one, answered once."""

    email: str = Field(max_length=320)
    role: Role
    password: str | None = Field(default=None, max_length=1024)


class MemberCreated(MemberPublic):
    password: str | None = Field(description="The generated password of a new user, shown once")


class MemberUpdate(Strict):
    role: Role
