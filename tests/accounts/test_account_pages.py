"""The "My account" page on SQLite and PostgreSQL: language, password change (that keeps this
browser signed in and ends the others), and one's own API tokens."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import openpyxl

from opsloop.accounts.throttle import MAX_FAILURES
from tests.web.access_world import PASSWORD, World
from tests.web.html import marked_texts, table_rows


def test_every_member_reaches_their_account(world: World) -> None:
    for role in ("owner", "viewer"):
        member = world.members[role]
        page = world.page(member, "/account")
        assert page.status_code == 200
        assert marked_texts(page.text, "account-email") == [member.email]
        assert "nav-account" in page.text
    # Settings are in the navigation of admins only.
    assert (
        'data-testid="nav-settings-members"' in world.page(world.members["admin"], "/account").text
    )
    assert 'data-testid="nav-settings' not in world.page(world.members["operator"], "/account").text


def test_choosing_a_language_applies_to_every_page(world: World) -> None:
    viewer = world.members["viewer"]
    r = world.form(viewer, "/language", {"lang": "en", "next": "/account"})
    assert (r.status_code, r.headers["location"]) == (303, "/account")
    for path in ("/account", "/events", "/setup"):
        assert '<html lang="en">' in world.page(viewer, path).text
    # ?lang= still switches it, and it is stored on the user.
    assert '<html lang="zh-CN">' in world.page(viewer, "/events?lang=zh-CN").text
    assert '<html lang="zh-CN">' in world.page(viewer, "/account").text


def test_password_change_keeps_this_browser_and_ends_others(world: World) -> None:
    analyst = world.members["analyst"]
    old_cookie = analyst.cookie
    bad = world.form(
        analyst,
        "/account/password",
        {
            "current_password": "wrong one!",
            "new_password": "n3w pass word",
            "confirm_password": "n3w pass word",
        },
    )
    assert bad.status_code == 400
    assert marked_texts(bad.text, "password-error") == ["当前密码不正确。"]
    mismatch = world.form(
        analyst,
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "n3w pass word",
            "confirm_password": "other",
        },
    )
    assert marked_texts(mismatch.text, "password-error") == ["两次输入的新密码不一致。"]
    ok = world.form(
        analyst,
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "n3w pass word",
            "confirm_password": "n3w pass word",
        },
    )
    assert (ok.status_code, ok.headers["location"]) == (303, "/account?done=password")
    new_cookie = world.session_cookie()
    assert new_cookie != old_cookie
    analyst.cookie = new_cookie
    page = world.page(analyst, "/account?done=password")
    assert marked_texts(page.text, "notice") == ["密码已修改。你在其他地方的登录已退出。"]
    analyst.cookie = old_cookie
    assert world.page(analyst, "/account").headers["location"].startswith("/login")
    # Wrong current passwords are throttled.
    analyst.cookie, analyst.csrf = (
        new_cookie,
        re.findall(r'name="csrf_token" value="([^"]+)"', page.text)[0],
    )
    wrong = {"current_password": "nope nope", "new_password": "x" * 9, "confirm_password": "x" * 9}
    statuses = [
        world.form(analyst, "/account/password", wrong).status_code for _ in range(MAX_FAILURES + 1)
    ]
    assert statuses == [400] * MAX_FAILURES + [429]


def test_own_tokens_are_made_shown_once_and_revoked(world: World) -> None:
    viewer = world.members["viewer"]
    r = world.form(viewer, "/account/tokens", {"name": "我的脚本", "role": "owner"})
    assert r.status_code == 200
    token = marked_texts(r.text, "new-token")[0]
    me = world.api(token, "GET", "/api/v1/me").json()
    assert (me["email"], me["role"]) == (viewer.email, "viewer")
    # The list never shows the token again.
    page = world.page(viewer, "/account")
    assert token not in page.text
    rows = table_rows(page.text, "tokens-table")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("我的脚本", token[:10] + "…", "只读成员"),
        ("viewer token", viewer.token[:10] + "…", "只读成员"),
    ]
    # A viewer may not cap a token above their role.
    refused = world.form(viewer, "/account/tokens", {"name": "x", "role": "admin"})
    assert (refused.status_code, marked_texts(refused.text, "token-error")) == (
        400,
        ["请选择令牌的权限。"],
    )
    empty = world.form(viewer, "/account/tokens", {"name": " ", "role": "owner"})
    assert marked_texts(empty.text, "token-error") == ["请为令牌填写 1 到 200 个字符的名称。"]
    token_id = me["token_id"]
    # Someone else's token cannot be revoked from one's account.
    other = world.form(viewer, f"/account/tokens/{world.members['admin'].token_id}/revoke", {})
    assert (other.status_code, marked_texts(other.text, "token-error")) == (
        403,
        ["你只能吊销自己的 API 令牌。"],
    )
    done = world.form(viewer, f"/account/tokens/{token_id}/revoke", {})
    assert (done.status_code, done.headers["location"]) == (303, "/account?done=token_revoked")
    assert world.api(token, "GET", "/api/v1/me").status_code == 401
    assert world.api(world.members["admin"].token, "GET", "/api/v1/me").status_code == 200


def test_forms_without_the_csrf_token_change_nothing(world: World) -> None:
    viewer = world.members["viewer"]
    world.as_session(viewer)
    r = world.client.post("/account/tokens", data={"name": "sneaky", "csrf_token": "forged"})
    assert r.status_code == 403
    assert [t["name"] for t in world.api(viewer.token, "GET", "/api/v1/tokens").json()] == [
        "viewer token"
    ]


def test_own_tokens_export_as_the_list_shows_them(world: World) -> None:
    viewer = world.members["viewer"]
    made = world.form(viewer, "/account/tokens", {"name": "日报脚本", "role": "owner"})
    token = marked_texts(made.text, "new-token")[0]
    world.as_session(viewer)
    got = world.client.get("/account/tokens/export.csv")
    assert got.status_code == 200 and "my-api-tokens.csv" in got.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0] == ["name", "member", "token", "role", "created_at", "last_used_at"]
    listed = table_rows(world.page(viewer, "/account").text, "tokens-table")
    assert [(r[0], r[2], r[3]) for r in rows[1:]] == [(r[0], r[1], r[2]) for r in listed]
    assert {r[0] for r in rows[1:]} == {"日报脚本", "viewer token"}  # not the admin's
    assert all(r[1] == viewer.email for r in rows[1:])
    assert token not in got.text and rows[1][2] == token[:10] + "…"
    world.as_session(viewer)
    xlsx = world.client.get("/account/tokens/export.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    created = [row[4].value for row in sheet.iter_rows(min_row=2)]
    assert len(created) == 2 and all(isinstance(c, datetime) for c in created)
