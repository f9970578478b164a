"""The accounts REST routes on SQLite and PostgreSQL: who the caller is, their language and
password, and the members of their workspace, each change in the audit log."""

from __future__ import annotations

from typing import Any

from opsloop.accounts.models import ROLES
from opsloop.accounts.permissions import permissions_of
from opsloop.accounts.throttle import MAX_FAILURES
from tests.web.access_world import PASSWORD, World


def _audit(world: World, **params: str) -> list[dict[str, Any]]:
    r = world.api(world.members["admin"].token, "GET", "/api/v1/audit", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["results"])


def test_me_says_who_and_what(world: World) -> None:
    for role in ROLES:
        m = world.members[role]
        r = world.api(m.token, "GET", "/api/v1/me")
        assert r.json() == {
            "user_id": m.user_id,
            "email": m.email,
            "language": "zh-CN",
            "role": role,
            "via": "api",
            "token_id": m.token_id,
            "workspace": {
                "id": world.a.id,
                "name": "shop",
                "timezone": "Asia/Shanghai",
                "ingest_key": world.ingest_key(world.a.id),
            },
            "permissions": [p.value for p in permissions_of(role)],
        }
    # The workspace's own token acts as admin, for no user.
    service = world.api(world.a.api_token, "GET", "/api/v1/me").json()
    assert (service["user_id"], service["email"], service["role"]) == (None, None, "admin")
    refused = world.api(world.a.api_token, "PATCH", "/api/v1/me", json={"language": "en"})
    assert (refused.status_code, refused.json()["error"]["field"]) == (403, "Authorization")
    assert world.api(None, "GET", "/api/v1/me").status_code == 401


def test_language_over_rest_is_the_consoles_language(world: World) -> None:
    viewer = world.members["viewer"]
    r = world.api(viewer.token, "PATCH", "/api/v1/me", json={"language": "en"})
    assert (r.status_code, r.json()["language"]) == (200, "en")
    assert '<html lang="en">' in world.page(viewer, "/events").text
    bad = world.api(viewer.token, "PATCH", "/api/v1/me", json={"language": "fr"})
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "language")
    entry = _audit(world, action="user.language_changed")[0]
    assert (entry["actor"], entry["via"], entry["before"], entry["after"]) == (
        viewer.email,
        "api",
        {"email": viewer.email, "language": "zh-CN"},
        {"email": viewer.email, "language": "en"},
    )


def test_password_change_ends_old_sessions_and_is_rate_limited(world: World) -> None:
    analyst = world.members["analyst"]
    assert world.page(analyst, "/events").status_code == 200
    wrong = {"current_password": "not it at all", "new_password": "brand new pass"}
    r = world.api(analyst.token, "POST", "/api/v1/me/password", json=wrong)
    assert (r.status_code, r.json()["error"]["field"]) == (400, "current_password")
    short = {"current_password": PASSWORD, "new_password": "short"}
    r = world.api(analyst.token, "POST", "/api/v1/me/password", json=short)
    assert (r.status_code, r.json()["error"]["field"]) == (400, "new_password")
    good = {"current_password": PASSWORD, "new_password": "brand new pass"}
    assert world.api(analyst.token, "POST", "/api/v1/me/password", json=good).status_code == 204
    # The session signed in with the old password has ended; the API token still works.
    assert world.page(analyst, "/events").headers["location"].startswith("/login")
    assert world.api(analyst.token, "GET", "/api/v1/me").status_code == 200
    assert _audit(world, action="user.password_changed")[0]["actor"] == analyst.email
    # Guessing the current password is throttled like signing in (the success reset the count).
    for _ in range(MAX_FAILURES):
        r = world.api(analyst.token, "POST", "/api/v1/me/password", json=wrong)
        assert r.status_code == 400
    r = world.api(analyst.token, "POST", "/api/v1/me/password", json=wrong)
    assert (r.status_code, r.json()["error"]["code"]) == (429, "rate_limited")


def test_admins_manage_members_and_owners_manage_owners(world: World) -> None:
    admin, owner = world.members["admin"].token, world.members["owner"].token
    r = world.api(
        admin, "POST", "/api/v1/members", json={"email": "Nu@Shop.example", "role": "analyst"}
    )
    assert r.status_code == 201, r.text
    added = r.json()
    assert (added["email"], added["role"], len(added["password"])) == (
        "nu@shop.example",
        "analyst",
        16,
    )
    r = world.api(
        admin, "POST", "/api/v1/members", json={"email": "nu@shop.example", "role": "viewer"}
    )
    assert (r.status_code, r.json()["error"]["field"]) == (409, "email")
    # An existing user of another workspace joins without a new password.
    r = world.api(
        admin, "POST", "/api/v1/members", json={"email": "admin@blog.example", "role": "viewer"}
    )
    assert (r.status_code, r.json()["password"]) == (201, None)
    uid = added["user_id"]
    r = world.api(admin, "PATCH", f"/api/v1/members/{uid}", json={"role": "operator"})
    assert (r.status_code, r.json()["role"]) == (200, "operator")
    r = world.api(admin, "PATCH", f"/api/v1/members/{uid}", json={"role": "owner"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
    r = world.api(owner, "PATCH", f"/api/v1/members/{uid}", json={"role": "owner"})
    assert r.status_code == 200
    roster = {m["email"]: m["role"] for m in world.api(admin, "GET", "/api/v1/members").json()}
    assert roster == {
        "owner@shop.example": "owner",
        "admin@shop.example": "admin",
        "operator@shop.example": "operator",
        "analyst@shop.example": "analyst",
        "viewer@shop.example": "viewer",
        "victim@shop.example": "viewer",
        "nu@shop.example": "owner",
        "admin@blog.example": "viewer",
    }
    # Owners can step down while another owner remains; the last one cannot.
    owner_id = world.members["owner"].user_id
    assert (
        world.api(owner, "PATCH", f"/api/v1/members/{uid}", json={"role": "admin"}).status_code
        == 200
    )
    r = world.api(owner, "DELETE", f"/api/v1/members/{owner_id}")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "conflict")
    assert world.api(admin, "DELETE", f"/api/v1/members/{uid}").status_code == 204
    assert world.api(admin, "DELETE", f"/api/v1/members/{uid}").status_code == 404
    history = [
        (e["action"], (e["before"] or {}).get("role"), (e["after"] or {}).get("role"), e["actor"])
        for e in reversed(_audit(world, entity_type="member", entity_id=str(uid)))
    ]
    assert history == [
        ("member.added", None, "analyst", "admin@shop.example"),
        ("member.role_changed", "analyst", "operator", "admin@shop.example"),
        ("member.role_changed", "operator", "owner", "owner@shop.example"),
        ("member.role_changed", "owner", "admin", "owner@shop.example"),
        ("member.removed", "admin", None, "admin@shop.example"),
    ]
    made_over_rest = [e for e in _audit(world, entity_type="member") if e["via"] == "api"]
    assert {e["ip"] for e in made_over_rest} == {"127.0.0.1"}
    # The members made before the server started were made by the system, from nowhere.
    others = _audit(world, entity_type="member")
    assert {(e["actor"], e["ip"]) for e in others if e["via"] != "api"} == {("system", None)}


def test_bad_member_requests_name_the_field(world: World) -> None:
    admin = world.members["admin"].token
    for body, field in (
        ({"email": "not-an-email", "role": "viewer"}, "email"),
        ({"email": "a@b.example", "role": "boss"}, "role"),
        ({"email": "a@b.example"}, "role"),
        ({"email": "a@b.example", "role": "viewer", "password": "short"}, "password"),
        ({"email": "a@b.example", "role": "viewer", "extra": 1}, "extra"),
    ):
        r = world.api(admin, "POST", "/api/v1/members", json=body)
        assert r.status_code in (400, 422)
        assert r.json()["error"]["field"] == field
    r = world.api(admin, "PATCH", "/api/v1/members/999999", json={"role": "viewer"})
    assert (r.status_code, r.json()["error"]["field"]) == (404, "user_id")


def test_the_console_session_calls_rest_with_its_csrf_token_in_a_header(world: World) -> None:
    analyst = world.members["analyst"]
    world.as_session(analyst)
    me = world.client.get("/api/v1/me")
    assert (me.status_code, me.json()["via"], me.json()["email"]) == (200, "console", analyst.email)
    body = {"name": "from the page"}
    refused = world.client.post("/api/v1/tokens", json=body)
    assert (refused.status_code, refused.json()["error"]["field"]) == (403, "X-CSRF-Token")
    forged = world.client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": "forged"})
    assert forged.status_code == 403
    made = world.client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": analyst.csrf})
    assert made.status_code == 201
    names = [t["name"] for t in world.api(analyst.token, "GET", "/api/v1/tokens").json()]
    assert names == ["from the page", "analyst token"]
    entry = world.api(world.members["admin"].token, "GET", "/api/v1/audit").json()["results"][0]
    assert (entry["action"], entry["actor"], entry["via"]) == (
        "token.created",
        analyst.email,
        "console",
    )
