"""The pieces of console access that need no server: safe redirects and role checks."""

from __future__ import annotations

import pytest

from opsloop.accounts.models import ROLES
from opsloop.accounts.service import MembershipRef
from opsloop.errors import Forbidden
from opsloop.web.console_user import ConsoleUser, console_role, safe_next
from opsloop.web.session import SessionData
from opsloop.workspaces.service import WorkspaceRef


def test_only_local_paths_are_followed() -> None:
    cases = {
        "/setup": "/setup",
        "/events?event=pay": "/events?event=pay",
        "": "/home",
        None: "/home",
        "https://evil.example/": "/home",
        "//evil.example/": "/home",
        "/\\evil.example": "/home",
        "javascript:alert(1)": "/home",
    }
    assert {k: safe_next(k, "/home") for k in cases} == cases


def _user(role: str) -> ConsoleUser:
    m = MembershipRef(WorkspaceRef(1, "shop", "Asia/Shanghai", "phc_x"), role)
    return ConsoleUser(1, "a@example.com", "zh-CN", (m,), m, SessionData())


def test_roles_let_in_their_rank_and_above() -> None:
    allowed = {}
    for minimum in ROLES:
        check = console_role(minimum)
        for role in ROLES:
            try:
                check(_user(role))
            except Forbidden:
                continue
            allowed.setdefault(minimum, []).append(role)
    assert allowed == {
        "owner": ["owner"],
        "admin": ["owner", "admin"],
        "operator": ["owner", "admin", "operator"],
        "analyst": ["owner", "admin", "operator", "analyst"],
        "viewer": list(ROLES),
    }
    with pytest.raises(Forbidden, match="needs the admin role"):
        console_role("admin")(_user("viewer"))
