"""Signing in and out of the console: redirects, CSRF, the session cookie, the rate limit."""

from __future__ import annotations

import stat
from urllib.parse import quote

import httpx

from opsloop.accounts.throttle import MAX_FAILURES
from opsloop.web.session import SESSION_COOKIE
from tests.conftest import LiveServer
from tests.web.conftest import Login, csrf_of, make_login, sign_in

PAGES = ["/events", "/events/volume", "/setup"]


def test_signed_out_requests_go_to_login(client: httpx.Client) -> None:
    r = client.get("/")
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    for page in PAGES:
        r = client.get(page + "?x=1")
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=" + quote(page + "?x=1", safe="")
    feed = client.get("/events/feed", params={"after": "2026-01-01T00:00:00Z"})
    assert feed.status_code == 401
    assert feed.json()["error"]["code"] == "unauthorized"
    form = client.get("/login")
    assert form.status_code == 200
    for field in ('name="email"', 'name="password"', 'name="csrf_token"'):
        assert field in form.text


def test_sign_in_goes_home_and_sign_out_ends_the_session(
    client: httpx.Client, login: Login
) -> None:
    r = sign_in(client, login)
    assert (r.status_code, r.headers["location"]) == (303, "/overview")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= flags
    assert client.get("/").headers["location"] == "/overview"
    # The sign-in form is not shown to someone signed in.
    assert client.get("/login?next=/setup").headers["location"] == "/setup"
    page = client.get("/events")
    assert page.status_code == 200
    assert login.email in page.text
    # Sign-out needs the form's CSRF token.
    refused = client.post("/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert client.get("/events").status_code == 200
    out = client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert client.get("/events").status_code == 303


def test_next_is_kept_and_only_local(client: httpx.Client, login: Login) -> None:
    assert sign_in(client, login, "/setup").headers["location"] == "/setup"
    client.cookies.clear()
    assert sign_in(client, login, "https://evil.example/").headers["location"] == "/overview"
    client.cookies.clear()
    assert sign_in(client, login, "//evil.example/x").headers["location"] == "/overview"


def test_login_without_the_forms_csrf_token_is_refused(client: httpx.Client, login: Login) -> None:
    client.get("/login")
    r = client.post("/login", data={"email": login.email, "password": login.password})
    assert r.status_code == 403
    assert "表单已过期，请重试。" in r.text
    # A token from another visitor's session does not work either.
    with httpx.Client(base_url=str(client.base_url)) as other:
        foreign = csrf_of(other.get("/login").text)
    r = client.post(
        "/login", data={"email": login.email, "password": login.password, "csrf_token": foreign}
    )
    assert r.status_code == 403
    assert client.get("/events").status_code == 303


def test_wrong_password_and_unknown_email(client: httpx.Client, login: Login) -> None:
    for email, password in ((login.email, "wrong password"), ("nobody@example.com", "whatever1")):
        token = csrf_of(client.get("/login").text)
        r = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
        assert r.status_code == 401
        assert "邮箱或密码错误。" in r.text
        assert f'value="{email}"' in r.text
    assert client.get("/events").status_code == 303


def test_failed_logins_are_rate_limited_per_email_and_address(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    other = make_login(live_server, "han.meimei@example.com")
    for _ in range(MAX_FAILURES):
        token = csrf_of(client.get("/login").text)
        r = client.post(
            "/login", data={"email": login.email, "password": "nope-nope", "csrf_token": token}
        )
        assert r.status_code == 401
    # Even the right password is refused now, with a clear message.
    token = csrf_of(client.get("/login?lang=en").text)
    r = client.post(
        "/login", data={"email": login.email, "password": login.password, "csrf_token": token}
    )
    assert r.status_code == 429
    assert "Too many failed sign-ins. Try again in 5 minutes." in r.text
    # Another account from the same address is not affected.
    assert sign_in(client, other).headers["location"] == "/overview"


def test_a_tampered_cookie_signs_out(client: httpx.Client, login: Login) -> None:
    sign_in(client, login)
    value = client.cookies[SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert client.get("/events").status_code == 303


def test_a_new_password_ends_old_sessions(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    sign_in(client, login)
    assert client.get("/events").status_code == 200
    with live_server.app_state.db.session() as s:
        from opsloop.accounts.service import create_user

        create_user(
            s,
            login.email,
            workspace_id=live_server.workspace.id,
            role="viewer",
            password="a brand new one",
        )
    assert client.get("/events").status_code == 303


def test_the_signing_key_is_kept_private_in_the_data_folder(
    client: httpx.Client, live_server: LiveServer
) -> None:
    client.get("/login")
    key = live_server.settings.data_dir / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(key.read_text()) >= 32


def test_pages_carry_security_headers(client: httpx.Client) -> None:
    r = client.get("/login")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    for src in ('src="http', 'href="http', "//cdn"):
        assert src not in r.text


def test_the_session_cookie_is_secure_when_served_over_https(client: httpx.Client) -> None:
    """Behind a TLS proxy on this host (X-Forwarded-Proto), the cookie gets Secure; over plain
    HTTP (local use) it cannot have it, or the browser would never send it back."""

    def flags(r: httpx.Response) -> set[str]:
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        return {part.strip().lower() for part in cookie.split(";")[1:]}

    plain = flags(client.get("/login"))
    client.cookies.clear()
    tls = flags(client.get("/login", headers={"X-Forwarded-Proto": "https"}))
    assert {"httponly", "samesite=lax", "path=/"} <= plain and "secure" not in plain
    assert {"httponly", "samesite=lax", "path=/", "secure"} <= tls
