"""`GET /api/v1/audit` on SQLite and PostgreSQL: admins read the log page by page and filtered;
nobody else does; bad parameters name the field."""

from __future__ import annotations

from typing import Any

from tests.web.access_world import World


def test_admins_page_through_the_log(world: World) -> None:
    admin, owner = world.members["admin"].token, world.members["owner"].token
    for i in range(7):
        r = world.api(owner, "POST", "/api/v1/tokens", json={"name": f"t{i}"})
        assert r.status_code == 201
    everything = world.api(admin, "GET", "/api/v1/audit", params={"limit": 1000}).json()
    assert everything["next"] is None
    entries = everything["results"]
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True)
    seen: list[dict[str, Any]] = []
    url: str | None = "/api/v1/audit?limit=3"
    while url is not None:
        page = world.api(admin, "GET", url).json()
        assert len(page["results"]) <= 3
        seen += page["results"]
        url = page["next"]
    assert seen == entries
    made = world.api(admin, "GET", "/api/v1/audit", params={"action": "token.", "actor": "OWNER@"})
    assert [e["after"]["name"] for e in made.json()["results"]] == [
        f"t{i}" for i in reversed(range(7))
    ]
    after = entries[0]["at"]
    recent = world.api(admin, "GET", "/api/v1/audit", params={"after": after}).json()["results"]
    assert [e["id"] for e in recent] == [e["id"] for e in entries if e["at"] >= after]
    # Entries of another workspace are not there.
    blog = world.api(world.members["b-admin"].token, "GET", "/api/v1/audit").json()["results"]
    assert {e["id"] for e in blog}.isdisjoint(ids)


def test_only_admins_read_it_and_bad_parameters_name_the_field(world: World) -> None:
    for role in ("operator", "analyst", "viewer"):
        r = world.api(world.members[role].token, "GET", "/api/v1/audit")
        assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
    admin = world.members["admin"].token
    for params, field in (
        ({"cursor": "abc"}, "cursor"),
        ({"cursor": "²"}, "cursor"),  # a digit to str.isdigit, not to int()
        ({"after": "²"}, "after"),
        ({"after": "yesterday"}, "after"),
        ({"limit": "0"}, "limit"),
        ({"action": "x" * 65}, "action"),
    ):
        r = world.api(admin, "GET", "/api/v1/audit", params=params)
        assert r.status_code in (400, 422)
        assert r.json()["error"]["field"] == field
