"""Who may do what: one table of actions and the least role each needs.

Every REST route and console page declares one `Permission` (`web/access.py`: `require`,
`require_page`); a test walks every route of the app with every role and checks the answers
against `MINIMUM_ROLE`. Roles are ordered: viewer < analyst < operator < admin < owner, and a
role may do everything the roles below it may.
"""

from __future__ import annotations

from enum import StrEnum

from opsloop.accounts.models import ROLES


class Permission(StrEnum):
    """An action on a workspace. The value is stable: it names the action in errors and docs."""

    READ_DATA = "data.read"
    USE_ACCOUNT = "account.use"
    SAVE_ANALYSES = "analyses.save"
    IMPORT_EVENTS = "events.import"
    RUN_OPERATIONS = "operations.run"
    MANAGE_MEMBERS = "members.manage"
    MANAGE_TOKENS = "tokens.manage"
    MANAGE_WORKSPACE = "workspace.manage"
    READ_AUDIT = "audit.read"
    MANAGE_OWNERS = "owners.manage"


MINIMUM_ROLE: dict[Permission, str] = {
    Permission.READ_DATA: "viewer",
    Permission.USE_ACCOUNT: "viewer",
    Permission.SAVE_ANALYSES: "analyst",
    Permission.IMPORT_EVENTS: "operator",
    Permission.RUN_OPERATIONS: "operator",
    Permission.MANAGE_MEMBERS: "admin",
    Permission.MANAGE_TOKENS: "admin",
    Permission.MANAGE_WORKSPACE: "admin",
    Permission.READ_AUDIT: "admin",
    Permission.MANAGE_OWNERS: "owner",
}


def role_rank(role: str) -> int:
    """viewer 0 < analyst 1 < operator 2 < admin 3 < owner 4; an unknown role ranks below all."""
    return len(ROLES) - 1 - ROLES.index(role) if role in ROLES else -1


def allows(role: str, permission: Permission) -> bool:
    """Whether a member with `role` may do `permission`."""
    return role_rank(role) >= role_rank(MINIMUM_ROLE[permission])


def roles_allowed(permission: Permission) -> frozenset[str]:
    return frozenset(r for r in ROLES if allows(r, permission))


def permissions_of(role: str) -> tuple[Permission, ...]:
    return tuple(p for p in Permission if allows(role, p))


def lower_role(a: str, b: str) -> str:
    """The lesser of two roles."""
    return a if role_rank(a) <= role_rank(b) else b
