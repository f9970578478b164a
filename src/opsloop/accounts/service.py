"""Console users: creating them, checking their passwords, their roles in workspaces."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.accounts.members import add_member, change_role
from opsloop.accounts.models import Membership, User
from opsloop.accounts.permissions import role_rank
from opsloop.accounts.users import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    MIN_PASSWORD_LENGTH,
    hash_password,
    hasher,
    normalize_email,
    password_fingerprint,
    record_for_user,
    user_by_email,
    validate_language,
    validate_role,
)
from opsloop.errors import InvalidInput, NotFound
from opsloop.workspaces.models import Workspace
from opsloop.workspaces.service import WorkspaceRef
from opsloop.workspaces.tokens import create_token

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "MIN_PASSWORD_LENGTH",
    "MembershipRef",
    "authenticate",
    "change_password",
    "create_user",
    "create_user_token",
    "has_role",
    "memberships_of",
    "password_fingerprint",
    "set_language",
    "user_by_email",
]

# An unknown email is checked against this hash too, so both answers take the same time.
_DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class MembershipRef:
    """A user's role in one workspace."""

    workspace: WorkspaceRef
    role: str


def has_role(role: str, minimum: str) -> bool:
    return role_rank(role) >= role_rank(minimum)


def create_user(
    session: Session,
    email: str,
    *,
    workspace_id: int,
    role: str,
    password: str | None = None,
) -> tuple[User, str | None]:
    """Create a user with a membership, or give an existing one a membership (or a new role):
    what `opsloop user create` does, with an owner's rights.

    Returns the user and the generated password when a new user got none. An existing user keeps
    their password unless one is given.
    """
    email = normalize_email(email)
    validate_role(role)
    if session.get(Workspace, workspace_id) is None:
        raise NotFound(f"no workspace has the id {workspace_id}", field="workspace")
    user = user_by_email(session, email)
    if user is None:
        added = add_member(
            session, workspace_id, email, role, acting_role="owner", password=password
        )
        new = session.get(User, added.member.user_id)
        assert new is not None
        return new, added.password
    if password is not None:
        user.password_hash = hash_password(password)
        record_for_user(session, user.id, "user.password_set", {"email": user.email})
    member = session.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id, Membership.workspace_id == workspace_id
        )
    )
    if member is None:
        add_member(session, workspace_id, email, role, acting_role="owner")
    else:
        change_role(session, workspace_id, user.id, role, acting_role="owner")
    return user, None


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user whose email and password these are, or None."""
    user = user_by_email(session, email)
    if user is None:
        with contextlib.suppress(VerificationError):
            hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def memberships_of(session: Session, user_id: int) -> list[MembershipRef]:
    """The workspaces a user belongs to, with the role in each, by workspace id."""
    rows = session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id)
        .order_by(Workspace.id)
    ).all()
    return [
        MembershipRef(WorkspaceRef(ws.id, ws.name, ws.timezone, ws.ingest_key), role)
        for ws, role in rows
    ]


def set_language(session: Session, user_id: int, language: str) -> None:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user has the id {user_id}", field="user")
    language = validate_language(language)
    if language != user.language:
        before = {"email": user.email, "language": user.language}
        user.language = language
        after = {**before, "language": language}
        record_for_user(session, user_id, "user.language_changed", after, before)


def change_password(session: Session, user_id: int, current: str, new: str) -> User:
    """Set a new password after checking the current one. Sessions signed in with the old
    password end (they carry its fingerprint); API tokens keep working."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user has the id {user_id}", field="user")
    try:
        hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise InvalidInput("the current password is not right", "current_password") from None
    if new == current:
        raise InvalidInput("the new password must differ from the current one", "new_password")
    user.password_hash = hash_password(new, "new_password")
    session.flush()
    record_for_user(session, user.id, "user.password_changed", {"email": user.email})
    return user


def create_user_token(
    session: Session, email: str, workspace_id: int, name: str = "cli", *, cap: str = "owner"
) -> str:
    """An API token acting as this user in this workspace, with the user's role there (at most
    `cap`)."""
    user = user_by_email(session, email)
    if user is None:
        raise NotFound(f"no user has the email {email.strip().lower()!r}", field="user")
    member = session.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id, Membership.workspace_id == workspace_id
        )
    )
    if member is None:
        raise NotFound(f"{user.email} is not a member of workspace {workspace_id}", "workspace")
    return create_token(session, workspace_id, user.id, name, cap=cap).token
