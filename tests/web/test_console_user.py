"""The pieces of console access that need no server: safe redirects."""

from __future__ import annotations

from opsloop.web.console_user import safe_next


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
