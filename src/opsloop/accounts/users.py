"""Users themselves: emails, passwords (argon2), languages, and logging a change to a user."""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsloop.accounts.models import ROLES, Membership, User
from opsloop.audit import record
from opsloop.errors import InvalidInput

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
# A pragmatic check: one @, no spaces, a dot in the domain. Deliverability is not our business.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
hasher = PasswordHasher()


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


def hash_password(password: str, field: str = "password") -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters", field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"a password may have at most {MAX_PASSWORD_LENGTH} characters", field)
    return hasher.hash(password)


def password_fingerprint(user: User) -> str:
    """Changes when the password changes; sessions carry it so a new password ends old ones."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def new_user(session: Session, email: str, password: str | None) -> tuple[User, str | None]:
    """A new user (language zh-CN) with this password, or a generated one, returned to be shown
    once. `email` must be normalized and free."""
    generated = None
    if password is None:
        password = generated = generate_password()
    user = User(email=email, password_hash=hash_password(password), language=DEFAULT_LANGUAGE)
    session.add(user)
    session.flush()
    return user, generated


def record_for_user(
    session: Session,
    user_id: int,
    action: str,
    after: dict[str, str],
    before: dict[str, str] | None = None,
) -> None:
    """A change to a user (not to one workspace) goes to the audit log of each of their
    workspaces, where their admins can see it."""
    for workspace_id in session.scalars(
        select(Membership.workspace_id).where(Membership.user_id == user_id)
    ):
        record(
            session,
            action,
            workspace_id=workspace_id,
            entity_type="user",
            entity_id=user_id,
            before=before,
            after=after,
        )
