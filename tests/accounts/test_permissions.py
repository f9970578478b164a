"""The permission table: roles are ordered and each permission lets in its role and those above."""

from __future__ import annotations

from opsloop.accounts.models import ROLES
from opsloop.accounts.permissions import (
    MINIMUM_ROLE,
    Permission,
    allows,
    lower_role,
    permissions_of,
    role_rank,
    roles_allowed,
)


def test_roles_let_in_their_rank_and_above() -> None:
    above = {
        "owner": {"owner"},
        "admin": {"owner", "admin"},
        "operator": {"owner", "admin", "operator"},
        "analyst": {"owner", "admin", "operator", "analyst"},
        "viewer": set(ROLES),
    }
    for permission, minimum in MINIMUM_ROLE.items():
        assert roles_allowed(permission) == above[minimum]
        assert {r for r in ROLES if allows(r, permission)} == above[minimum]


def test_every_permission_has_a_minimum_role() -> None:
    assert set(MINIMUM_ROLE) == set(Permission)
    assert set(MINIMUM_ROLE.values()) <= set(ROLES)


def test_the_table_says_what_the_issue_says() -> None:
    assert {p.value: MINIMUM_ROLE[p] for p in Permission} == {
        "data.read": "viewer",
        "account.use": "viewer",
        "analyses.save": "analyst",
        "events.import": "operator",
        "operations.run": "operator",
        "members.manage": "admin",
        "tokens.manage": "admin",
        "workspace.manage": "admin",
        "audit.read": "admin",
        "owners.manage": "owner",
    }


def test_what_each_role_may_do() -> None:
    assert permissions_of("viewer") == (Permission.READ_DATA, Permission.USE_ACCOUNT)
    assert permissions_of("owner") == tuple(Permission)
    assert Permission.MANAGE_MEMBERS not in permissions_of("operator")
    assert Permission.MANAGE_OWNERS not in permissions_of("admin")


def test_ranks_and_the_lesser_role() -> None:
    assert [role_rank(r) for r in ("viewer", "analyst", "operator", "admin", "owner")] == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert role_rank("nobody") == -1
    assert not allows("nobody", Permission.READ_DATA)
    assert lower_role("owner", "analyst") == "analyst"
    assert lower_role("viewer", "admin") == "viewer"
    assert lower_role("admin", "admin") == "admin"
