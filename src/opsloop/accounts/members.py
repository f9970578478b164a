"""The members of a workspace: adding (a new or an existing user), changing roles, removing.

Owner rules: only an owner may give the owner role or take it away (`MANAGE_OWNERS`), and a
workspace always keeps at least one owner. Every change is written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from opsloop.accounts.models import Membership, User
from opsloop.accounts.permissions import Permission, allows
from opsloop.accounts.users import new_user, normalize_email, user_by_email, validate_role
from opsloop.audit import record
from opsloop.errors import Conflict, Forbidden, NotFound
from opsloop.workspaces.models import ApiToken, Workspace


@dataclass(frozen=True, slots=True)
class MemberInfo:
    user_id: int
    email: str
    role: str
    language: str
    joined_at: datetime

    def to_dict(self) -> dict[str, object]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "role": self.role,
            "language": self.language,
            "joined_at": self.joined_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class AddedMember:
    member: MemberInfo
    password: str | None  # generated for a new user who got none; shown once


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite drops the zone


def _info(user: User, membership: Membership) -> MemberInfo:
    return MemberInfo(
        user.id, user.email, membership.role, user.language, _utc(membership.created_at)
    )


def list_members(session: Session, workspace_id: int) -> list[MemberInfo]:
    """The workspace's members, owners first, then by email."""
    rows = session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id)
        .order_by(User.email)
    ).all()
    members = [_info(u, m) for u, m in rows]
    return sorted(members, key=lambda m: (m.role != "owner", m.email))


def _membership(session: Session, workspace_id: int, user_id: int) -> tuple[User, Membership]:
    row = session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
    ).first()
    if row is None:
        raise NotFound(f"user {user_id} is not a member of this workspace", "user_id")
    return row[0], row[1]


def _owners(session: Session, workspace_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.workspace_id == workspace_id, Membership.role == "owner")
        )
        or 0
    )


def _check_owner_rule(acting_role: str, *roles: str) -> None:
    if "owner" in roles and not allows(acting_role, Permission.MANAGE_OWNERS):
        raise Forbidden("only an owner can give or take away the owner role", "role")


def _view(member: MemberInfo) -> dict[str, str]:
    return {"email": member.email, "role": member.role}


def add_member(
    session: Session,
    workspace_id: int,
    email: str,
    role: str,
    *,
    acting_role: str,
    password: str | None = None,
) -> AddedMember:
    """Make a user a member. A new email becomes a new user with `password` or a generated one
    (returned, to hand over once); an existing user keeps their password."""
    email = normalize_email(email)
    validate_role(role)
    _check_owner_rule(acting_role, role)
    if session.get(Workspace, workspace_id) is None:
        raise NotFound(f"no workspace has the id {workspace_id}", "workspace")
    user, generated = user_by_email(session, email), None
    created = user is None
    if user is None:
        user, generated = new_user(session, email, password)
    else:
        taken = session.scalar(
            select(Membership.id).where(
                Membership.user_id == user.id, Membership.workspace_id == workspace_id
            )
        )
        if taken is not None:
            raise Conflict(f"{email} is already a member; change their role instead", "email")
    membership = Membership(user_id=user.id, workspace_id=workspace_id, role=role)
    session.add(membership)
    session.flush()
    member = _info(user, membership)
    record(
        session,
        "member.added",
        workspace_id=workspace_id,
        entity_type="member",
        entity_id=user.id,
        after={**_view(member), "new_user": created},
    )
    return AddedMember(member, generated)


def change_role(
    session: Session, workspace_id: int, user_id: int, role: str, *, acting_role: str
) -> MemberInfo:
    validate_role(role)
    user, membership = _membership(session, workspace_id, user_id)
    before = _info(user, membership)
    if role == membership.role:
        return before
    _check_owner_rule(acting_role, role, membership.role)
    if membership.role == "owner" and _owners(session, workspace_id) <= 1:
        raise Conflict("a workspace needs an owner: make another member owner first", "role")
    membership.role = role
    session.flush()
    after = _info(user, membership)
    record(
        session,
        "member.role_changed",
        workspace_id=workspace_id,
        entity_type="member",
        entity_id=user_id,
        before=_view(before),
        after=_view(after),
    )
    return after


def remove_member(
    session: Session, workspace_id: int, user_id: int, *, acting_role: str
) -> MemberInfo:
    """Remove a member and delete their API tokens of this workspace (the user stays, with their
    other workspaces)."""
    user, membership = _membership(session, workspace_id, user_id)
    member = _info(user, membership)
    _check_owner_rule(acting_role, membership.role)
    if membership.role == "owner" and _owners(session, workspace_id) <= 1:
        raise Conflict("the last owner of a workspace cannot be removed", "user_id")
    of_member = (ApiToken.workspace_id == workspace_id) & (ApiToken.user_id == user_id)
    tokens = session.scalar(select(func.count()).select_from(ApiToken).where(of_member)) or 0
    session.execute(delete(ApiToken).where(of_member))
    session.delete(membership)
    session.flush()
    record(
        session,
        "member.removed",
        workspace_id=workspace_id,
        entity_type="member",
        entity_id=user_id,
        before={**_view(member), "api_tokens": tokens},
    )
    return member
