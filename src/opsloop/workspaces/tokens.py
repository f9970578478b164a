"""API tokens of users: made in the console, over REST or with `opsloop token create`, shown once,
named, revocable, with the time they were last used.

A user's token acts in its workspace with the user's role there, capped by the role it was made
with (`cap`: "owner", the default, means no cap), so removing a member or lowering their role
takes effect on their tokens at once. The workspace's own token (made with the workspace, no
user) and the CLI's short-lived tokens act with their fixed role.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.accounts.models import ROLES, Membership, User
from opsloop.accounts.permissions import lower_role
from opsloop.audit import record
from opsloop.errors import Forbidden, InvalidInput, NotFound
from opsloop.workspaces.models import ApiToken
from opsloop.workspaces.service import issue_api_token

MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as lists show it: never its value, only its first characters."""

    id: int
    workspace_id: int
    name: str
    prefix: str
    user_id: int | None
    user_email: str | None
    role: str  # the role it acts with now
    created_at: datetime
    last_used_at: datetime | None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "user_id": self.user_id,
            "user_email": self.user_email,
            "role": self.role,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
        }


@dataclass(frozen=True, slots=True)
class CreatedToken:
    info: TokenInfo
    token: str  # the one chance to see it


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite drops the zone


def _info(row: ApiToken, email: str | None, member_role: str | None) -> TokenInfo:
    role = row.role if member_role is None else lower_role(row.role, member_role)
    return TokenInfo(
        row.id,
        row.workspace_id,
        row.name,
        row.prefix + "…",
        row.user_id,
        email,
        role,
        _utc(row.created_at),
        _utc(row.last_used_at) if row.last_used_at else None,
    )


def _audit_view(info: TokenInfo) -> dict[str, object]:
    return {"name": info.name, "prefix": info.prefix, "user": info.user_email, "role": info.role}


def list_tokens(
    session: Session, workspace_id: int, *, user_id: int | None = None
) -> list[TokenInfo]:
    """The workspace's tokens (only this user's when `user_id` is given), newest first. Tokens of
    users who are no longer members are left out: they no longer work."""
    q = (
        select(ApiToken, User.email, Membership.role)
        .outerjoin(User, User.id == ApiToken.user_id)
        .outerjoin(
            Membership,
            (Membership.user_id == ApiToken.user_id) & (Membership.workspace_id == workspace_id),
        )
        .where(ApiToken.workspace_id == workspace_id)
        .where((ApiToken.user_id.is_(None)) | (Membership.id.is_not(None)))
        .order_by(ApiToken.id.desc())
    )
    if user_id is not None:
        q = q.where(ApiToken.user_id == user_id)
    return [_info(row, email, role) for row, email, role in session.execute(q)]


def create_token(
    session: Session, workspace_id: int, user_id: int, name: str, *, cap: str = "owner"
) -> CreatedToken:
    """A new token acting as this member of this workspace."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"a token needs a name of 1 to {MAX_NAME} characters", "name")
    if cap not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", "role")
    member = session.execute(
        select(Membership.role, User.email)
        .join(User, User.id == Membership.user_id)
        .where(Membership.user_id == user_id, Membership.workspace_id == workspace_id)
    ).first()
    if member is None:
        raise NotFound(f"user {user_id} is not a member of workspace {workspace_id}", "user")
    row, token = issue_api_token(session, workspace_id, user_id=user_id, name=name, role=cap)
    info = _info(row, member.email, member.role)
    record(
        session,
        "token.created",
        workspace_id=workspace_id,
        entity_type="api_token",
        entity_id=info.id,
        after=_audit_view(info),
    )
    return CreatedToken(info, token)


def revoke_token(
    session: Session, workspace_id: int, token_id: int, *, user_id: int | None, any_user: bool
) -> TokenInfo:
    """Delete a token of the workspace: one's own, or any when `any_user` (admins)."""
    row = session.get(ApiToken, token_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound(f"no API token {token_id} in this workspace", "token_id")
    if not any_user and (row.user_id is None or row.user_id != user_id):
        raise Forbidden("you can revoke only your own API tokens", "token_id")
    member = None
    if row.user_id is not None:
        member = session.execute(
            select(Membership.role, User.email)
            .join(User, User.id == Membership.user_id)
            .where(Membership.user_id == row.user_id, Membership.workspace_id == workspace_id)
        ).first()
    info = _info(row, member.email if member else None, member.role if member else None)
    session.delete(row)
    session.flush()
    record(
        session,
        "token.revoked",
        workspace_id=workspace_id,
        entity_type="api_token",
        entity_id=info.id,
        before=_audit_view(info),
    )
    return info
