"""Errors inside the console are pages in the reader's language with a way back; the REST API
and the ingestion endpoints keep the JSON error body; a 500 never shows what went wrong."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from html import unescape
from typing import Annotated, Any

import httpx
import pytest
import uvicorn
from fastapi import Depends
from fastapi.responses import PlainTextResponse
from sqlalchemy import delete

from opsloop.accounts.models import Membership
from opsloop.accounts.permissions import Permission
from opsloop.db import open_database
from opsloop.settings import Settings
from opsloop.web.access import require_page
from opsloop.web.app import create_app
from opsloop.web.console_user import ConsoleUser
from opsloop.web.templating import CONSOLE_TAG
from opsloop.workspaces.service import create_workspace
from tests.conftest import LiveServer
from tests.web.conftest import Login, make_login, sign_in

SECRET = "s3cr3t-detail-in-the-exception"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"
INTERNAL = {
    "error": {
        "code": "internal_error",
        "message": "an unexpected error happened; it has been logged",
        "field": None,
    }
}


def _add_trap_routes(app: Any) -> None:
    """A console page and an API route that fail on purpose, and a page for admins only."""

    @app.get("/boom", include_in_schema=False, tags=[CONSOLE_TAG])
    def boom_page() -> None:
        raise RuntimeError(SECRET)

    @app.get("/api/v1/boom")
    def boom_api() -> None:
        raise RuntimeError(SECRET)

    @app.get("/admin-only", include_in_schema=False, tags=[CONSOLE_TAG])
    def admin_only(
        user: Annotated[ConsoleUser, Depends(require_page(Permission.MANAGE_MEMBERS))],
    ) -> PlainTextResponse:
        return PlainTextResponse(user.email)


@pytest.fixture
def trap_server(settings: Settings) -> Iterator[LiveServer]:
    """OpsLoop on 127.0.0.1 with the trap routes added, and one workspace."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings.resolved_database_url)
    with db.session() as s:
        ws = create_workspace(s, "test")
    db.close()
    app = create_app(settings)
    _add_trap_routes(app)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()
    for _ in range(3000):  # up to 30 s
        if server.started or not thread.is_alive():
            break
        started.wait(0.01)
    assert server.started, "the test server did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", port, settings, app.state.opsloop, ws)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def trap_client(trap_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=trap_server.url, timeout=30) as c:
        yield c


def _page(r: httpx.Response) -> dict[str, Any]:
    """What an error page says: status, language, title, message, details and the way back."""
    assert r.headers["content-type"] == HTML_TYPE
    assert r.headers["content-security-policy"].startswith("default-src 'self'")

    def one(pattern: str) -> str:
        match = re.search(pattern, r.text, re.S)
        assert match, pattern
        return unescape(match.group(1)).strip()

    return {
        "status": int(one(r'data-testid="error-page" data-status="(\d+)"')),
        "lang": one(r'<html lang="([^"]+)">'),
        "title": one(r"<h1>(.*?)</h1>"),
        "message": one(r'role="alert">(.*?)</p>'),
        "details": [
            unescape(d) for d in re.findall(r'data-testid="error-detail">([^<]+)<', r.text)
        ],
        "back": (
            one(r'href="([^"]+)" data-testid="error-back"'),
            one(r'data-testid="error-back">([^<]+)<'),
        ),
    }


NOT_FOUND_ZH = {
    "status": 404,
    "lang": "zh-CN",
    "title": "页面不存在",
    "message": "此地址没有对应的页面，链接可能有误或已失效。",
    "details": [],
    "back": ("/", "返回控制台"),
}
NOT_FOUND_EN = {
    "status": 404,
    "lang": "en",
    "title": "Page not found",
    "message": "There is no page at this address. The link may be wrong or out of date.",
    "details": [],
    "back": ("/", "Back to the console"),
}


def test_console_errors_are_pages_in_the_readers_language(
    trap_server: LiveServer, trap_client: httpx.Client
) -> None:
    c = trap_client
    r = c.get("/no-such-page", headers=HTML)
    assert (r.status_code, _page(r)) == (404, NOT_FOUND_ZH)
    r = c.get("/no-such-page?lang=en", headers=HTML)
    assert (r.status_code, _page(r)) == (404, NOT_FOUND_EN)
    r = c.get("/events/nothing-here", headers={**HTML, "Accept-Language": "en-US,en;q=0.9"})
    assert (r.status_code, _page(r)) == (404, NOT_FOUND_EN)
    r = c.get("/static/missing.css", headers=HTML)
    assert (r.status_code, _page(r)) == (404, {**NOT_FOUND_ZH, "details": ["no such static file"]})
    r = c.get("/logout", headers=HTML)
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"
    assert _page(r) == {
        "status": 405,
        "lang": "zh-CN",
        "title": "请求无效",
        "message": "此页面不支持这种请求方式。",
        "details": [],
        "back": ("/", "返回控制台"),
    }
    # A signed-in reader gets their own language, whatever the browser says.
    viewer = make_login(trap_server, "viewer@example.com", "viewer")
    sign_in(c, viewer)
    assert c.get("/events?lang=en").status_code == 200
    r = c.get("/no-such-page", headers={**HTML, "Accept-Language": "zh-CN"})
    assert (r.status_code, _page(r)) == (404, NOT_FOUND_EN)
    r = c.get("/admin-only", headers=HTML)
    assert (r.status_code, _page(r)) == (
        403,
        {
            "status": 403,
            "lang": "en",
            "title": "No access",
            "message": "Your role in this workspace does not allow this."
            " Ask an administrator if you need it.",
            "details": ["this page needs the admin role or higher"],
            "back": ("/", "Back to the console"),
        },
    )
    # The same errors for a client that does not ask for HTML are the JSON body.
    r = c.get("/admin-only")
    assert (r.status_code, r.headers["content-type"], r.json()) == (
        403,
        JSON_TYPE,
        {
            "error": {
                "code": "forbidden",
                "message": "this page needs the admin role or higher",
                "field": None,
            }
        },
    )
    admin = make_login(trap_server, "admin@example.com", "admin")
    with httpx.Client(base_url=trap_server.url) as other:
        sign_in(other, admin)
        assert other.get("/admin-only", headers=HTML).text == admin.email


def test_an_unexpected_error_never_shows_its_details(trap_server: LiveServer) -> None:
    # Each on its own connection: the server closes a connection after an unexpected error.
    r = httpx.get(trap_server.url + "/boom", headers=HTML)
    assert r.status_code == 500
    assert _page(r) == {
        "status": 500,
        "lang": "zh-CN",
        "title": "出错了",
        "message": "服务器发生了意外错误，已记录日志，请稍后再试。",
        "details": [],
        "back": ("/", "返回控制台"),
    }
    for leak in (SECRET, "Traceback", "RuntimeError", "boom_page"):
        assert leak not in r.text
    for path, headers in (("/boom", {}), ("/api/v1/boom", HTML)):
        r = httpx.get(trap_server.url + path, headers=headers)
        assert (r.status_code, r.headers["content-type"], r.json()) == (500, JSON_TYPE, INTERNAL)


def test_the_api_and_ingestion_keep_json_errors_for_browsers_too(
    trap_server: LiveServer, trap_client: httpx.Client
) -> None:
    c = trap_client
    token = {"Authorization": f"Bearer {trap_server.workspace.api_token}"}
    cases: list[tuple[str, str, dict[str, Any], int, dict[str, Any]]] = [
        (
            "GET",
            "/api/v1/events?cursor=not-a-cursor",
            {"headers": {**HTML, **token}},
            400,
            {"code": "invalid_input", "message": "the cursor is not one this server issued"}
            | {"field": "cursor"},
        ),
        (
            "GET",
            "/api/v1/no-such-route",
            {"headers": HTML},
            404,
            {"code": "not_found", "message": "Not Found", "field": None},
        ),
        (
            "GET",
            "/api/v1/persons/nobody",
            {"headers": {**HTML, **token}},
            404,
            {"code": "not_found", "message": "no person has the distinct_id 'nobody'"}
            | {"field": "distinct_id"},
        ),
    ]
    for method, path, kw, status, error in cases:
        r = c.request(method, path, **kw)
        assert (r.status_code, r.headers["content-type"], r.json()) == (
            status,
            JSON_TYPE,
            {"error": error},
        ), path
    # Ingestion endpoints of every wire format answer bad input with the JSON body.
    bad_key = {"api_key": "phc_unknown", "event": "pay", "distinct_id": "u1"}
    for path in ("/capture/", "/batch/", "/api/v1/events"):
        r = c.post(path, json=bad_key, headers=HTML)
        assert (r.status_code, r.headers["content-type"]) == (401, JSON_TYPE), path
        assert set(r.json()["error"]) == {"code", "message", "field"}
    r = c.post("/v1/batch", content=b"{not json", headers={**HTML, "Content-Type": JSON_TYPE})
    assert r.headers["content-type"] == JSON_TYPE
    assert r.status_code in (400, 401)
    assert set(r.json()["error"]) == {"code", "message", "field"}
    r = c.get("/sa.gif", headers=HTML)
    assert r.headers["content-type"] == JSON_TYPE
    assert r.status_code >= 400
    assert set(r.json()["error"]) == {"code", "message", "field"}


def test_signed_out_pages_redirect_with_an_empty_body(
    trap_server: LiveServer, trap_client: httpx.Client, login_elsewhere: Login
) -> None:
    for headers in (HTML, {}):
        r = trap_client.get("/events/volume?from=2026-11-01", headers=headers)
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=%2Fevents%2Fvolume%3Ffrom%3D2026-11-01"
        assert (r.content, r.headers.get("content-type")) == (b"", None)
    # A user in no workspace is sent to /no-access the same way.
    sign_in(trap_client, login_elsewhere)
    r = trap_client.get("/setup", headers=HTML)
    assert (r.status_code, r.headers["location"], r.content) == (303, "/no-access", b"")
    assert trap_client.get("/no-access").status_code == 403


@pytest.fixture
def login_elsewhere(trap_server: LiveServer) -> Login:
    """A user whose only workspace membership is then removed."""
    login = make_login(trap_server, "nowhere@example.com")
    with trap_server.app_state.db.session() as s:
        s.execute(delete(Membership).where(Membership.user_id == login.user_id))
    return login


def test_every_console_route_is_tagged_as_one() -> None:
    from fastapi.routing import APIRoute

    from opsloop.accounts import pages as accounts_pages
    from opsloop.events import pages as events_pages
    from opsloop.web import console
    from opsloop.workspaces import pages as workspaces_pages

    paths = {
        (route.path, CONSOLE_TAG in route.tags)
        for module in (accounts_pages, events_pages, workspaces_pages, console)
        for route in module.router.routes
        if isinstance(route, APIRoute)
    }
    assert {p for p, _ in paths} >= {"/", "/static/{name:path}", "/login", "/events", "/setup"}
    assert {tagged for _, tagged in paths} == {True}
