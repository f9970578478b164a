"""Who may call a route: every REST route and console page declares one permission (or that it
is public, or authenticated by the ingest key) with these dependencies.

- `require(permission)`: REST routes. The caller is an API token (`Authorization: Bearer`), or
  the console's signed-in session, which must then send its CSRF token in `X-CSRF-Token` for
  anything but GET/HEAD. Answers the `Actor`; 401 without credentials, 403 below the role.
- `require_page(permission)`: console pages. Answers the `ConsoleUser`; a signed-out browser is
  sent to /login, a user below the role gets the 403 page.
- `require_console_json(permission)`: the console's own JSON endpoints (401 instead of a redirect).
- `public`, `ingest_key_only`: markers for routes anyone may call, and for the ingestion routes,
  which check the ingest key themselves and never read anything.

`declared_access(route)` tells what a route declared; tests/web/test_access.py walks every route
with every role and fails on a route that declares nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Literal

from fastapi import Request
from fastapi.dependencies.models import Dependant
from sqlalchemy.orm import Session

from opsloop.accounts.permissions import MINIMUM_ROLE, Permission, allows
from opsloop.audit import Who, acting_as
from opsloop.errors import Forbidden, Unauthorized
from opsloop.web.console_user import ConsoleUser, console_user, console_user_json
from opsloop.web.deps import StateDep, bearer
from opsloop.web.i18n import N_
from opsloop.web.session import read_session
from opsloop.web.state import AppState
from opsloop.workspaces.service import WorkspaceRef, resolve_api_token

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who calls a REST route: the workspace they act in and the role they act with."""

    workspace: WorkspaceRef
    role: str
    user_id: int | None
    label: str  # the user's email, or the token's name for a token without a user
    via: Literal["api", "console"]
    ip: str | None = None
    token_id: int | None = None

    @property
    def who(self) -> Who:
        return Who(self.label, self.via, self.user_id, self.ip)

    def can(self, permission: Permission) -> bool:
        return allows(self.role, permission)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


# A page's 403 shows why, translated: one message per least role (see error_pages.error_page).
PAGE_DENIED = {
    "owner": N_("this page needs the owner role"),
    "admin": N_("this page needs the admin role or higher"),
    "operator": N_("this page needs the operator role or higher"),
    "analyst": N_("this page needs the analyst role or higher"),
    "viewer": N_("this page needs the viewer role or higher"),
}


def _denied(role: str, permission: Permission, field: str | None) -> Forbidden:
    return Forbidden(
        f"the {role} role may not do this ({permission.value} needs"
        f" {MINIMUM_ROLE[permission]} or higher)",
        field,
    )


def _page_denied(permission: Permission) -> Forbidden:
    return Forbidden(PAGE_DENIED[MINIMUM_ROLE[permission]])


def _token_actor(request: Request, state: AppState, token: str) -> Actor:
    with state.db.session() as s:
        ref = resolve_api_token(s, token)
    if ref is None:
        raise Unauthorized("unknown or revoked API token", "Authorization")
    label = ref.user_email or f"token {ref.prefix}… ({ref.name})"
    return Actor(ref.workspace, ref.role, ref.user_id, label, "api", client_ip(request), ref.id)


def _session_actor(request: Request, state: AppState) -> Actor:
    if read_session(request).user_id is None:
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'", "Authorization")
    user = console_user_json(request, state)
    if request.method not in SAFE_METHODS and not user.session.csrf_matches(
        request.headers.get(CSRF_HEADER)
    ):
        raise Forbidden(f"send the console's CSRF token in the {CSRF_HEADER} header", CSRF_HEADER)
    return Actor(user.workspace, user.role, user.user_id, user.email, "console", user.ip)


class RequirePermission:
    """The dependency `require` makes; `permission` is what the route declared."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, request: Request, state: StateDep) -> Actor:
        token = bearer(request)
        actor = (
            _token_actor(request, state, token)
            if token is not None
            else _session_actor(request, state)
        )
        if not actor.can(self.permission):
            raise _denied(actor.role, self.permission, "Authorization" if token else None)
        return actor


class RequirePagePermission:
    """The dependency `require_page` (or `require_console_json`) makes."""

    def __init__(self, permission: Permission, *, json: bool) -> None:
        self.permission = permission
        self.json = json

    def __call__(self, request: Request, state: StateDep) -> ConsoleUser:
        user = console_user_json(request, state) if self.json else console_user(request, state)
        if not allows(user.role, self.permission):
            raise _page_denied(self.permission)
        return user


@cache
def require(permission: Permission) -> RequirePermission:
    return RequirePermission(permission)


@cache
def require_page(permission: Permission) -> RequirePagePermission:
    return RequirePagePermission(permission, json=False)


@cache
def require_console_json(permission: Permission) -> RequirePagePermission:
    return RequirePagePermission(permission, json=True)


async def public() -> None:
    """Marks a route anyone may call (sign-in, static files, health)."""


async def ingest_key_only() -> None:
    """Marks an ingestion route: it checks the ingest key itself, and only ever writes."""


@dataclass(frozen=True, slots=True)
class AccessRule:
    """What a route declared: its door ("api", "page", "console_json") and permission, or that
    it is "public" or "ingest" (authenticated by the ingest key)."""

    door: Literal["api", "page", "console_json", "public", "ingest"]
    permission: Permission | None = None


def declared_access(dependant: Dependant) -> list[AccessRule]:
    """What a route (its dependant, with its routers' dependencies) declared, at any depth."""
    found: list[AccessRule] = []
    call = dependant.call
    if isinstance(call, RequirePermission):
        found.append(AccessRule("api", call.permission))
    elif isinstance(call, RequirePagePermission):
        found.append(AccessRule("console_json" if call.json else "page", call.permission))
    elif call is public:
        found.append(AccessRule("public"))
    elif call is ingest_key_only:
        found.append(AccessRule("ingest"))
    for sub in dependant.dependencies:
        found.extend(declared_access(sub))
    return found


@contextmanager
def work_as(state: AppState, who: Who) -> Iterator[Session]:
    """A unit of work whose changes the audit log attributes to `who`."""
    with state.db.session() as s:
        acting_as(s, who)
        yield s
