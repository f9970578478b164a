"""The console's language: zh-CN by default, ?lang= and the language form switch it, the user
keeps it, and <html lang> follows."""

from __future__ import annotations

import httpx

from opsloop.accounts.models import User
from tests.conftest import LiveServer
from tests.web.conftest import Login, csrf_of, html_lang, sign_in


def _stored_language(server: LiveServer, login: Login) -> str:
    with server.app_state.db.session() as s:
        user = s.get(User, login.user_id)
        assert user is not None
        return user.language


def test_chinese_is_the_default(client: httpx.Client, login: Login) -> None:
    page = client.get("/login")
    assert html_lang(page.text) == "zh-CN"
    assert "<title>登录 · OpsLoop</title>" in page.text
    sign_in(client, login)
    page = client.get("/events")
    assert html_lang(page.text) == "zh-CN"
    assert "<h1>实时数据</h1>" in page.text


def test_lang_parameter_switches_and_is_stored_on_the_user(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    sign_in(client, login)
    page = client.get("/events/volume?lang=en")
    assert html_lang(page.text) == "en"
    assert "<title>Event volume · OpsLoop</title>" in page.text
    assert '<h1>Event volume <span class="h1-range"' in page.text
    assert _stored_language(live_server, login) == "en"
    # It sticks: the next page, without the parameter, and a new session.
    assert html_lang(client.get("/setup").text) == "en"
    with httpx.Client(base_url=live_server.url) as again:
        sign_in(again, login)
        assert html_lang(again.get("/events").text) == "en"
    page = client.get("/events?lang=zh-CN")
    assert (html_lang(page.text), _stored_language(live_server, login)) == ("zh-CN", "zh-CN")
    # An unsupported language changes nothing.
    assert html_lang(client.get("/events?lang=fr").text) == "zh-CN"


def test_language_form_needs_csrf_and_redirects_back(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    sign_in(client, login)
    page = client.get("/setup")
    refused = client.post("/language", data={"lang": "en", "next": "/setup"})
    assert refused.status_code == 403
    assert _stored_language(live_server, login) == "zh-CN"
    r = client.post(
        "/language", data={"lang": "en", "next": "/setup", "csrf_token": csrf_of(page.text)}
    )
    assert (r.status_code, r.headers["location"]) == (303, "/setup")
    assert _stored_language(live_server, login) == "en"
    assert "<h1>Setup</h1>" in client.get("/setup").text


def test_a_visitor_chooses_before_signing_in(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    page = client.get("/login?lang=en")
    assert html_lang(page.text) == "en"
    assert "Sign in to the console" in page.text
    assert html_lang(client.get("/login").text) == "en"
    # The choice made on the sign-in page becomes the user's.
    sign_in(client, login)
    assert html_lang(client.get("/events").text) == "en"
    assert _stored_language(live_server, login) == "en"


def test_browser_language_is_the_first_guess(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as c:
        page = c.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
        assert html_lang(page.text) == "en"
        page = c.get("/login", headers={"Accept-Language": "fr-FR,zh-TW;q=0.8"})
        assert html_lang(page.text) == "zh-CN"
