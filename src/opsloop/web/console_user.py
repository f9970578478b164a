"""Who is using the console: the signed-in user, their language and their current workspace.

Console pages get theirs through `web.access.require_page(permission)`: a signed-out request is
sent to /login, a request for a workspace the user is not a member of falls back to one they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from opsloop.accounts.models import User
from opsloop.accounts.permissions import Permission, allows
from opsloop.accounts.service import (
    MembershipRef,
    memberships_of,
    password_fingerprint,
    set_language,
)
from opsloop.audit import Who, acting_as
from opsloop.errors import Forbidden, Unauthorized
from opsloop.web.deps import StateDep
from opsloop.web.i18n import DEFAULT_LANGUAGE, normalize_language
from opsloop.web.session import SessionData, read_session
from opsloop.workspaces.service import WorkspaceRef


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    user_id: int
    email: str
    language: str
    memberships: tuple[MembershipRef, ...]
    current: MembershipRef
    session: SessionData
    ip: str | None = None

    @property
    def workspace(self) -> WorkspaceRef:
        return self.current.workspace

    @property
    def role(self) -> str:
        return self.current.role

    def can(self, permission: str) -> bool:
        """Whether the user's role here allows a permission (by its value, for templates)."""
        return allows(self.role, Permission(permission))

    @property
    def who(self) -> Who:
        """Who the audit log says acted, for changes made through the console."""
        return Who(self.email, "console", self.user_id, self.ip)


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after a form; anything that could leave the site becomes default."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def anonymous_language(request: Request) -> str:
    """A signed-out visitor's language: ?lang=, then their session, then their browser."""
    session = read_session(request)
    chosen = normalize_language(request.query_params.get("lang"))
    if chosen is not None:
        session.language = chosen
        return chosen
    if session.language:
        return normalize_language(session.language) or DEFAULT_LANGUAGE
    for part in request.headers.get("accept-language", "").split(","):
        lang = normalize_language(part.split(";")[0])
        if lang is not None:
            return lang
    return DEFAULT_LANGUAGE


class _NoMembership(Exception):
    pass


class ConsoleRedirect(Exception):
    """Raised by a page's dependencies to send the browser elsewhere (303 See Other): the sign-in
    form for a signed-out visitor, /no-access for a user without a workspace."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def _resolve(request: Request, state: StateDep) -> ConsoleUser | None:
    session = read_session(request)
    if session.user_id is None:
        return None
    chosen = normalize_language(request.query_params.get("lang"))
    ip = request.client.host if request.client else None
    with state.db.session() as s:
        user = s.get(User, session.user_id)
        if user is None or password_fingerprint(user) != session.password_fp:
            return None
        acting_as(s, Who(user.email, "console", user.id, ip))
        if chosen is not None and chosen != user.language:
            set_language(s, user.id, chosen)
        memberships = tuple(memberships_of(s, user.id))
        email, language = user.email, user.language
    if not memberships:
        raise _NoMembership
    current = next(
        (m for m in memberships if m.workspace.id == session.workspace_id), memberships[0]
    )
    session.workspace_id = current.workspace.id
    session.language = language
    lang = normalize_language(language) or DEFAULT_LANGUAGE
    return ConsoleUser(session.user_id, email, lang, memberships, current, session, ip)


def console_user(request: Request, state: StateDep) -> ConsoleUser:
    """For pages: a signed-out visitor is redirected to the sign-in form."""
    try:
        user = _resolve(request, state)
    except _NoMembership:
        raise ConsoleRedirect("/no-access") from None
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise ConsoleRedirect(f"/login?next={quote(target, safe='')}")
    return user


def console_user_json(request: Request, state: StateDep) -> ConsoleUser:
    """For the console's own JSON endpoints: 401 instead of a redirect."""
    try:
        user = _resolve(request, state)
    except _NoMembership:
        raise Forbidden("you are not a member of any workspace") from None
    if user is None:
        raise Unauthorized("sign in to the console first")
    return user


ConsoleUserDep = Annotated[ConsoleUser, Depends(console_user)]
ConsoleUserJsonDep = Annotated[ConsoleUser, Depends(console_user_json)]
