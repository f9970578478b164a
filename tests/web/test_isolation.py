"""Workspace isolation on SQLite and PostgreSQL: a user or token of workspace B never sees or
changes anything of workspace A, through the REST API or the console; a user in both workspaces
sees each one only through that workspace's token or current workspace."""

from __future__ import annotations

from typing import Any

from opsloop.accounts.service import create_user
from opsloop.db import open_database
from opsloop.workspaces.tokens import create_token
from tests.web.access_world import PASSWORD, Member, World, sign_in
from tests.web.html import table_rows

A_EVENTS = [
    {
        "event": "pay",
        "distinct_id": "a-user-1",
        "timestamp": "2026-11-01T02:00:00Z",
        "properties": {"amount": 10},
    },
    {
        "event": "pay",
        "distinct_id": "a-user-2",
        "timestamp": "2026-11-01T03:00:00Z",
        "properties": {"amount": 20},
    },
]
B_EVENTS = [
    {
        "event": "pay",
        "distinct_id": "b-user-1",
        "timestamp": "2026-11-01T04:00:00Z",
        "properties": {"amount": 5},
    }
]
TRENDS = {
    "kind": "trends",
    "series": [{"event": "pay", "math": "sum", "property": "amount"}],
    "date_from": "2026-11-01",
    "date_to": "2026-11-01",
    "interval": "day",
}


def _seed(world: World) -> dict[str, Any]:
    """Events in both workspaces, and an insight of A."""
    for ws, events in ((world.a.id, A_EVENTS), (world.b.id, B_EVENTS)):
        r = world.api(world.ingest_key(ws), "POST", "/api/v1/events", json=events)
        assert r.status_code == 200, r.text
    owner = world.members["owner"].token
    insight = world.api(
        owner,
        "POST",
        "/api/v1/insights",
        json={"name": "A's revenue", "query": TRENDS, "shared": True},
    )
    assert insight.status_code == 201, insight.text
    return {"insight": insight.json()["id"]}


def _a_state(world: World) -> Any:
    """Everything of A a B caller might try to read or change, as A's owner sees it."""
    owner = world.members["owner"].token
    return (
        world.api(owner, "GET", "/api/v1/members").json(),
        world.api(owner, "GET", "/api/v1/workspace/tokens").json(),
        world.api(owner, "GET", "/api/v1/workspace").json(),
        world.api(owner, "GET", "/api/v1/insights").json(),
        world.api(owner, "GET", "/api/v1/events").json()["results"],
    )


def test_a_token_of_b_reads_only_b(world: World) -> None:
    _seed(world)
    b = world.members["b-admin"].token
    events = world.api(b, "GET", "/api/v1/events").json()["results"]
    assert [e["distinct_id"] for e in events] == ["b-user-1"]
    assert (
        world.api(b, "GET", "/api/v1/events", params={"distinct_id": "a-user-1"}).json()["results"]
        == []
    )
    assert world.api(b, "GET", "/api/v1/persons/a-user-1").status_code == 404
    assert world.api(b, "GET", "/api/v1/persons/b-user-1").status_code == 200
    answer = world.api(b, "POST", "/api/v1/query", json=TRENDS).json()
    assert answer["results"][0]["values"] == [5]
    a_answer = world.api(world.members["viewer"].token, "POST", "/api/v1/query", json=TRENDS).json()
    assert a_answer["results"][0]["values"] == [30]
    assert world.api(b, "GET", "/api/v1/insights").json() == []
    assert [m["email"] for m in world.api(b, "GET", "/api/v1/members").json()] == [
        "admin@blog.example"
    ]
    assert {t["user_email"] for t in world.api(b, "GET", "/api/v1/workspace/tokens").json()} == {
        None,
        "admin@blog.example",
    }
    assert world.api(b, "GET", "/api/v1/workspace").json()["name"] == "blog"
    audit = world.api(b, "GET", "/api/v1/audit", params={"limit": 1000}).json()["results"]
    assert all("shop" not in str(e) for e in audit)
    assert world.api(b, "GET", "/api/v1/me").json()["workspace"]["id"] == world.b.id


def test_a_token_of_b_changes_nothing_of_a(world: World) -> None:
    ids = _seed(world)
    before = _a_state(world)
    b = world.members["b-admin"].token
    victim = world.victim
    assert victim is not None
    attempts = [
        ("PATCH", f"/api/v1/members/{victim.user_id}", {"role": "admin"}),
        ("DELETE", f"/api/v1/members/{victim.user_id}", None),
        ("DELETE", f"/api/v1/tokens/{victim.token_id}", None),
        ("GET", f"/api/v1/insights/{ids['insight']}", None),
        ("PATCH", f"/api/v1/insights/{ids['insight']}", {"name": "mine now"}),
        ("DELETE", f"/api/v1/insights/{ids['insight']}", None),
        ("GET", f"/api/v1/insights/{ids['insight']}/results", None),
    ]
    answers = [world.api(b, m, path, json=body).status_code for m, path, body in attempts]
    assert answers == [404] * len(attempts)
    assert _a_state(world) == before
    assert world.api(victim.token, "GET", "/api/v1/me").status_code == 200


def test_a_console_user_of_b_sees_and_changes_nothing_of_a(world: World) -> None:
    ids = _seed(world)
    before = _a_state(world)
    other = world.members["b-admin"]
    victim = world.victim
    assert victim is not None
    members = table_rows(world.page(other, "/settings/members").text, "members-table")
    assert [r[0] for r in members] == ["admin@blog.example (你)"]
    live = world.page(other, "/events").text
    assert "b-user-1" in live and "a-user" not in live
    assert world.page(other, "/users/a-user-1").status_code == 404
    assert world.page(other, f"/insights/{ids['insight']}").status_code == 404
    assert "shop" not in world.page(other, "/settings/audit").text
    posts = [
        world.form(other, f"/settings/members/{victim.user_id}/role", {"role": "admin"}),
        world.form(other, f"/settings/members/{victim.user_id}/remove", {}),
        world.form(other, f"/settings/tokens/{victim.token_id}/revoke", {}),
        world.form(other, f"/insights/{ids['insight']}/delete", {}),
        world.form(other, "/workspace", {"workspace_id": str(world.a.id)}),
    ]
    assert [r.status_code for r in posts] == [404] * len(posts)
    assert _a_state(world) == before


def test_a_member_of_both_sees_each_through_its_own_door(world: World) -> None:
    _seed(world)
    db = open_database(world.settings.resolved_database_url, run_migrations=False)
    try:
        with db.session() as s:
            user, _ = create_user(
                s, "both@example.com", workspace_id=world.a.id, role="viewer", password=PASSWORD
            )
            create_user(s, "both@example.com", workspace_id=world.b.id, role="owner")
            a_token = create_token(s, world.a.id, user.id, "a").token
            b_token = create_token(s, world.b.id, user.id, "b").token
            uid = user.id
    finally:
        db.close()
    a_events = world.api(a_token, "GET", "/api/v1/events").json()["results"]
    b_events = world.api(b_token, "GET", "/api/v1/events").json()["results"]
    assert sorted(e["distinct_id"] for e in a_events) == ["a-user-1", "a-user-2"]
    assert [e["distinct_id"] for e in b_events] == ["b-user-1"]
    # Owner in B is no help in A: the A token acts as a viewer of A.
    assert world.api(a_token, "GET", "/api/v1/members").status_code == 403
    assert world.api(b_token, "GET", "/api/v1/members").status_code == 200
    # In the console, the current workspace decides; switching is allowed between one's own.
    both = Member("both@example.com", uid, "viewer", world.a.id, a_token, 0)
    sign_in(world.client, both)
    assert world.page(both, "/settings/members").status_code == 403
    switched = world.form(
        both, "/workspace", {"workspace_id": str(world.b.id), "next": "/settings/members"}
    )
    assert switched.status_code == 303
    both.cookie = world.session_cookie()
    page = world.page(both, "/settings/members")
    assert page.status_code == 200
    assert [r[0] for r in table_rows(page.text, "members-table")] == [
        "both@example.com (你)",
        "admin@blog.example",
    ]
