"""Console users: creating them, checking their passwords, their roles in workspaces."""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.accounts.models import ROLES, Membership, User
from opsloop.errors import InvalidInput, NotFound
from opsloop.workspaces.models import Workspace
from opsloop.workspaces.service import WorkspaceRef, create_api_token

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
MIN_PASSWORD_LENGTH = 8
# A pragmatic check: one @, no spaces, a dot in the domain. Deliverability is not our business.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# An unknown email is checked against this hash too, so both answers take the same time.
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class MembershipRef:
    """A user's role in one workspace."""

    workspace: WorkspaceRef
    role: str


def role_rank(role: str) -> int:
    """viewer 0 < analyst 1 < operator 2 < admin 3 < owner 4."""
    return len(ROLES) - 1 - ROLES.index(role)


def has_role(role: str, minimum: str) -> bool:
    return role_rank(role) >= role_rank(minimum)


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 320 or not _EMAIL.match(email):
        raise InvalidInput(f"{email!r} is not a valid email address", field="email")
    return email


def validate_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    return role


def validate_language(language: str) -> str:
    if language not in LANGUAGES:
        raise InvalidInput(f"language must be one of {', '.join(LANGUAGES)}", field="language")
    return language


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    return _hasher.hash(password)


def password_fingerprint(user: User) -> str:
    """Changes when the password changes; sessions carry it so a new password ends old ones."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def create_user(
    session: Session,
    email: str,
    *,
    workspace_id: int,
    role: str,
    password: str | None = None,
) -> tuple[User, str | None]:
    """Create a user with a membership, or give an existing one a membership (or a new role).

    Returns the user and the generated password when a new user got none. An existing user keeps
    their password unless one is given.
    """
    email = normalize_email(email)
    validate_role(role)
    if session.get(Workspace, workspace_id) is None:
        raise NotFound(f"no workspace has the id {workspace_id}", field="workspace")
    user = user_by_email(session, email)
    generated = None
    if user is None:
        if password is None:
            password = generated = generate_password()
        user = User(email=email, password_hash=hash_password(password), language=DEFAULT_LANGUAGE)
        session.add(user)
        session.flush()
    elif password is not None:
        user.password_hash = hash_password(password)
    membership = session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.workspace_id == workspace_id
        )
    )
    if membership is None:
        session.add(Membership(user_id=user.id, workspace_id=workspace_id, role=role))
    else:
        membership.role = role
    session.flush()
    return user, generated


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user whose email and password these are, or None."""
    user = user_by_email(session, email)
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
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
    user.language = validate_language(language)


def create_user_token(session: Session, email: str, workspace_id: int, name: str = "cli") -> str:
    """An API token acting as this user in this workspace, with the user's role there."""
    user = user_by_email(session, email)
    if user is None:
        raise NotFound(f"no user has the email {email.strip().lower()!r}", field="user")
    role = session.scalar(
        select(Membership.role).where(
            Membership.user_id == user.id, Membership.workspace_id == workspace_id
        )
    )
    if role is None:
        raise NotFound(f"{user.email} is not a member of workspace {workspace_id}", "workspace")
    return create_api_token(session, workspace_id, user_id=user.id, name=name, role=role)
