"""Two workspaces with a member of every role, their API tokens and signed-in sessions, served
in-process: the world the access and isolation tests walk."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from opsloop.accounts.models import ROLES
from opsloop.accounts.service import create_user
from opsloop.analytics.segments.service import create_segment
from opsloop.db import open_database
from opsloop.insights.access import Viewer
from opsloop.insights.dashboards import create_dashboard
from opsloop.insights.service import create_insight
from opsloop.settings import Settings
from opsloop.web.session import SESSION_COOKIE
from opsloop.workspaces.service import CreatedWorkspace, create_workspace, get_workspace
from opsloop.workspaces.tokens import create_token
from tests.conftest import _start

PASSWORD = "correct horse battery"


@dataclass
class Member:
    """A member as the tests act: their API token, and a signed-in session with its CSRF token."""

    email: str
    user_id: int
    role: str
    workspace_id: int
    token: str
    token_id: int
    cookie: str = ""
    csrf: str = ""


@dataclass
class World:
    app: Any  # the FastAPI app being served
    client: httpx.Client
    settings: Settings
    a: CreatedWorkspace
    b: CreatedWorkspace
    members: dict[str, Member] = field(default_factory=dict)  # A's, by role; "b-admin" in B
    victim: Member | None = None  # a viewer of A whom the walk may remove, with a token to revoke
    # A's saved things, shared, by the owner: what another workspace must not find.
    resources: dict[str, int] = field(default_factory=dict)

    def ingest_key(self, workspace_id: int) -> str:
        db = open_database(self.settings.resolved_database_url, run_migrations=False)
        try:
            with db.session() as s:
                ws = get_workspace(s, workspace_id)
                assert ws is not None
                return ws.ingest_key
        finally:
            db.close()

    def as_session(self, member: Member | None) -> None:
        """Send the next requests with this member's session cookie (or none)."""
        # The jar, not a per-request cookie (deprecated in httpx); cleared before each call.
        self.client.cookies.clear()
        if member is not None:
            # The domain the server's own cookies get, so that a new one replaces this one.
            self.client.cookies.set(SESSION_COOKIE, member.cookie, domain="127.0.0.1")

    def session_cookie(self) -> str:
        """The session cookie the last answer left (the server re-issues it on every page)."""
        value = self.client.cookies.get(SESSION_COOKIE, domain="127.0.0.1")
        assert value is not None
        return value

    def api(self, token: str | None, method: str, path: str, **kw: Any) -> httpx.Response:
        """A REST call with this bearer token (and no session)."""
        self.client.cookies.clear()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.request(method, path, headers=headers, **kw)

    def page(self, member: Member, path: str) -> httpx.Response:
        """A console page as this member sees it."""
        self.as_session(member)
        return self.client.get(path)

    def form(self, member: Member, path: str, data: dict[str, str]) -> httpx.Response:
        """A console form, sent with the member's session and CSRF token."""
        self.as_session(member)
        return self.client.post(path, data={"csrf_token": member.csrf, **data})


def _member(s: Any, email: str, ws: CreatedWorkspace, role: str) -> Member:
    user, _ = create_user(s, email, workspace_id=ws.id, role=role, password=PASSWORD)
    made = create_token(s, ws.id, user.id, f"{role} token")
    return Member(user.email, user.id, role, ws.id, made.token, made.info.id)


def sign_in(client: httpx.Client, member: Member) -> None:
    client.cookies.clear()
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    r = client.post(
        "/login", data={"email": member.email, "password": PASSWORD, "csrf_token": csrf.group(1)}
    )
    assert r.status_code == 303, r.text
    member.cookie = client.cookies[SESSION_COOKIE]
    home = client.get("/events")
    found = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert found, home.text[:500]
    member.csrf = found.group(1)
    member.cookie = client.cookies[SESSION_COOKIE]


@contextmanager
def access_world(tmp_path: Path, database_url: str) -> Iterator[World]:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings.resolved_database_url)
    try:
        with db.session() as s:
            a, b = create_workspace(s, "shop"), create_workspace(s, "blog")
            members = {role: _member(s, f"{role}@shop.example", a, role) for role in ROLES}
            members["b-admin"] = _member(s, "admin@blog.example", b, "admin")
            victim = _member(s, "victim@shop.example", a, "viewer")
            owner = Viewer(members["owner"].user_id, "owner")
            query = {
                "kind": "trends",
                "series": [{"event": "pay", "math": "total"}],
                "date_from": "2026-11-01",
                "date_to": "2026-11-07",
                "interval": "day",
            }
            resources = {
                "insight_id": create_insight(s, a.id, owner, "A's", query, shared=True).id,
                "dashboard_id": create_dashboard(s, a.id, owner, "A's", shared=True).id,
                "segment_id": create_segment(
                    s, a.id, "A's", rule={"person": "city", "op": "eq", "value": "上海"}
                ).id,
            }
    finally:
        db.close()
    server, thread, port = _start(settings)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            world = World(server.config.app, client, settings, a, b, members, victim, resources)
            for member in members.values():
                sign_in(client, member)
            client.cookies.clear()
            yield world
    finally:
        server.should_exit = True
        thread.join(timeout=30)
