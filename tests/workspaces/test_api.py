"""Workspace settings and API tokens over REST, on SQLite and PostgreSQL: renaming, the time zone
(which moves day boundaries, cached answers included), rotating the ingest key, tokens made,
used, listed and revoked."""

from __future__ import annotations

from typing import Any

from tests.web.access_world import World

PAY = {"event": "pay", "distinct_id": "u1", "timestamp": "2026-11-01T17:30:00Z"}


def _days(world: World, token: str) -> dict[str, int]:
    body: dict[str, Any] = {
        "kind": "trends",
        "series": [{"event": "pay", "math": "total"}],
        "date_from": "2026-11-01",
        "date_to": "2026-11-02",
        "interval": "day",
    }
    r = world.api(token, "POST", "/api/v1/query", json=body)
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    return dict(zip(result["dates"], result["values"], strict=True))


def test_settings_change_and_the_time_zone_moves_days(world: World) -> None:
    admin, viewer = world.members["admin"].token, world.members["viewer"].token
    key = world.ingest_key(world.a.id)
    assert world.api(key, "POST", "/api/v1/events", json=PAY).status_code == 200
    # 17:30 UTC is the next day in Shanghai.
    assert _days(world, viewer) == {"2026-11-01": 0, "2026-11-02": 1}
    r = world.api(viewer, "PATCH", "/api/v1/workspace", json={"timezone": "UTC"})
    assert r.status_code == 403
    r = world.api(
        admin, "PATCH", "/api/v1/workspace", json={"name": "Shop 中国", "timezone": "UTC"}
    )
    assert r.json() == {"id": world.a.id, "name": "Shop 中国", "timezone": "UTC", "ingest_key": key}
    assert world.api(viewer, "GET", "/api/v1/workspace").json() == r.json()
    assert _days(world, viewer) == {"2026-11-01": 1, "2026-11-02": 0}
    for body, status, field in (
        ({"timezone": "Mars/Olympus"}, 400, "timezone"),
        ({"name": "blog"}, 409, "name"),
        ({"name": " "}, 400, "name"),
        ({"colour": "red"}, 422, "colour"),
    ):
        bad = world.api(admin, "PATCH", "/api/v1/workspace", json=body)
        assert (bad.status_code, bad.json()["error"]["field"]) == (status, field)


def test_a_rotated_ingest_key_stops_working_at_once(world: World) -> None:
    admin = world.members["admin"].token
    old = world.ingest_key(world.a.id)
    assert world.api(old, "POST", "/api/v1/events", json=PAY).status_code == 200
    r = world.api(world.members["operator"].token, "POST", "/api/v1/workspace/ingest-key/rotate")
    assert r.status_code == 403
    r = world.api(admin, "POST", "/api/v1/workspace/ingest-key/rotate")
    new = r.json()["ingest_key"]
    assert new != old and new == world.ingest_key(world.a.id)
    assert world.api(old, "POST", "/api/v1/events", json=PAY).status_code == 401
    assert (
        world.api(new, "POST", "/api/v1/events", json={**PAY, "distinct_id": "u2"}).status_code
        == 200
    )
    audit = world.api(admin, "GET", "/api/v1/audit", params={"action": "ingest_key.rotated"}).json()
    assert [(e["before"], e["after"], e["actor"]) for e in audit["results"]] == [
        ({"ingest_key": old[:10] + "…"}, {"ingest_key": new[:10] + "…"}, "admin@shop.example")
    ]


def test_tokens_are_made_used_listed_and_revoked(world: World) -> None:
    analyst, admin = world.members["analyst"], world.members["admin"]
    r = world.api(analyst.token, "POST", "/api/v1/tokens", json={"name": "notebook"})
    assert r.status_code == 201, r.text
    made = r.json()
    token = made.pop("token")
    assert token.startswith("olt_") and made["prefix"] == token[:10] + "…"
    assert (made["name"], made["role"], made["user_email"]) == (
        "notebook",
        "analyst",
        analyst.email,
    )
    me = world.api(token, "GET", "/api/v1/me").json()
    assert (me["email"], me["role"], me["token_id"]) == (analyst.email, "analyst", made["id"])
    capped = world.api(
        analyst.token, "POST", "/api/v1/tokens", json={"name": "ro", "role": "viewer"}
    )
    assert world.api(capped.json()["token"], "GET", "/api/v1/me").json()["role"] == "viewer"
    mine = world.api(analyst.token, "GET", "/api/v1/tokens").json()
    assert [(t["name"], t["role"]) for t in mine] == [
        ("ro", "viewer"),
        ("notebook", "analyst"),
        ("analyst token", "analyst"),
    ]
    assert all("token" not in t for t in mine)
    assert next(t for t in mine if t["name"] == "notebook")["last_used_at"] is not None
    # Everyone's tokens: for admins only.
    assert world.api(analyst.token, "GET", "/api/v1/workspace/tokens").status_code == 403
    every = world.api(admin.token, "GET", "/api/v1/workspace/tokens").json()
    assert {t["user_email"] for t in every} == {
        None,
        *(
            f"{r}@shop.example"
            for r in ("owner", "admin", "operator", "analyst", "viewer", "victim")
        ),
    }
    # A member revokes their own; not someone else's; an admin revokes anyone's.
    viewer = world.members["viewer"]
    r = world.api(viewer.token, "DELETE", f"/api/v1/tokens/{made['id']}")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
    assert world.api(analyst.token, "DELETE", f"/api/v1/tokens/{made['id']}").status_code == 204
    assert world.api(token, "GET", "/api/v1/me").status_code == 401
    assert (
        world.api(admin.token, "DELETE", f"/api/v1/tokens/{capped.json()['id']}").status_code == 204
    )
    assert world.api(capped.json()["token"], "GET", "/api/v1/me").status_code == 401
    # The workspace's own token makes no tokens (it has no user).
    r = world.api(world.a.api_token, "POST", "/api/v1/tokens", json={"name": "x"})
    assert r.status_code == 403
    bad = world.api(analyst.token, "POST", "/api/v1/tokens", json={"name": "  "})
    assert (bad.status_code, bad.json()["error"]["field"]) == (400, "name")


def test_only_roles_that_import_may_send_events_with_an_api_token(world: World) -> None:
    event = {**PAY, "distinct_id": "u9"}
    r = world.api(world.members["analyst"].token, "POST", "/api/v1/events", json=event)
    assert (r.status_code, r.json()["error"]["field"]) == (403, "Authorization")
    r = world.api(world.members["operator"].token, "POST", "/api/v1/events", json=event)
    assert r.status_code == 200
    found = world.api(
        world.members["viewer"].token, "GET", "/api/v1/events", params={"distinct_id": "u9"}
    )
    assert [e["distinct_id"] for e in found.json()["results"]] == ["u9"]
