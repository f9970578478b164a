"""`/api/v1/segments` through HTTP: a funnel step's dropped users saved as a segment and read back
(equal to a plain-Python reference), rule and static segments changed and deleted, and the
refusals (4xx naming the field, roles, other workspaces)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from opsloop.audit import AuditFilter, list_entries
from opsloop.workspaces.service import create_api_token, create_workspace
from tests.conftest import LiveServer

# (distinct_id, event, UTC time): a view -> cart -> pay funnel with a one-hour window.
LOG = [
    ("a", "view", "2026-11-01T02:00:00"),
    ("a", "cart", "2026-11-01T02:10:00"),
    ("a", "pay", "2026-11-01T02:20:00"),
    ("b", "view", "2026-11-01T03:00:00"),
    ("b", "cart", "2026-11-01T03:30:00"),
    ("b", "pay", "2026-11-01T05:00:00"),  # too late: b dropped at cart
    ("c", "view", "2026-11-02T01:00:00"),
    ("c", "cart", "2026-11-02T01:01:00"),
    ("d", "view", "2026-11-02T08:00:00"),  # dropped at view
    ("e", "cart", "2026-11-02T09:00:00"),  # never entered
]
FUNNEL = {
    "steps": [{"event": "view"}, {"event": "cart"}, {"event": "pay"}],
    "window_seconds": 3600,
    "date_from": "2026-11-01",
    "date_to": "2026-11-03",
}


def reference_dropped(step: int) -> list[str]:
    """Who reached `step` and not the next, by the funnel's definition over LOG (one step 1
    per person here, so the first view starts the only chain)."""
    by_person: dict[str, list[tuple[datetime, str]]] = {}
    for who, event, at in LOG:
        by_person.setdefault(who, []).append((datetime.fromisoformat(at), event))
    window = timedelta(seconds=FUNNEL["window_seconds"])  # type: ignore[arg-type]
    names = [s["event"] for s in FUNNEL["steps"]]  # type: ignore[attr-defined]
    out = []
    for who, events in by_person.items():
        starts = [t for t, e in events if e == names[0]]
        if not starts:
            continue
        depth, last = 1, starts[0]
        for name in names[1:]:
            nxt = [t for t, e in sorted(events) if e == name and last < t <= starts[0] + window]
            if not nxt:
                break
            depth, last = depth + 1, nxt[0]
        if depth == step:
            out.append(who)
    return sorted(out)


def _client(server: LiveServer) -> httpx.Client:
    auth = {"Authorization": f"Bearer {server.workspace.api_token}"}
    return httpx.Client(base_url=server.url, timeout=30, headers=auth)


def _load(c: httpx.Client, server: LiveServer) -> None:
    events = [{"event": e, "distinct_id": who, "timestamp": at + "Z"} for who, e, at in LOG]
    r = c.post("/api/v1/events", json={"api_key": server.workspace.ingest_key, "batch": events})
    assert r.status_code == 200, r.text


def _dids(answer: dict[str, Any]) -> list[str]:
    """The answer's persons by distinct id, sorted (answers order persons by person id)."""
    return sorted(p["distinct_id"] for p in answer["results"])


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def test_dropped_users_saved_and_read_back(live_server: LiveServer) -> None:
    with _client(live_server) as c:
        _load(c, live_server)
        for step in (1, 2):
            want = reference_dropped(step)
            q = {"kind": "funnel_persons", **FUNNEL, "step": step, "dropped": True}
            listed = _ok(c.post("/api/v1/query", json=q))
            assert _dids(listed) == want
            saved = _ok(
                c.post("/api/v1/segments", json={"name": f"dropped at {step}", "from_query": q}),
                201,
            )
            assert (saved["kind"], saved["size"], saved["rule"]) == ("static", len(want), None)
            members = _ok(c.get(f"/api/v1/segments/{saved['id']}/members"))
            assert _dids(members) == want
            assert members["count"] == len(want) and members["segment"] == saved
            by_rule = _ok(
                c.post("/api/v1/query", json={"kind": "segment", "rule": {"cohort": saved["id"]}})
            )
            assert by_rule["results"] == members["results"]
        assert reference_dropped(1) == ["d"] and reference_dropped(2) == ["b", "c"]
        # A rule's members today, saved as a snapshot.
        snapshot = {"kind": "segment", "rule": {"did": "pay"}, "as_of": "2026-11-03"}
        saved = _ok(
            c.post("/api/v1/segments", json={"name": "payers", "from_query": snapshot}), 201
        )
        assert saved["size"] == 2
        listed = _ok(c.get("/api/v1/segments"))["results"]
        assert [s["name"] for s in listed] == ["dropped at 1", "dropped at 2", "payers"]
        assert _ok(c.get(f"/api/v1/segments/{saved['id']}")) == saved


def test_rule_segments_change_and_delete(live_server: LiveServer) -> None:
    with _client(live_server) as c:
        _load(c, live_server)
        viewers = _ok(
            c.post("/api/v1/segments", json={"name": "viewers", "rule": {"did": "view"}}), 201
        )
        assert (viewers["kind"], viewers["size"]) == ("rule", None)
        both = _ok(
            c.post(
                "/api/v1/segments",
                json={
                    "name": "viewers who paid",
                    "rule": {"and": [{"cohort": viewers["id"]}, {"did": "pay"}]},
                },
            ),
            201,
        )
        members = _ok(
            c.get(f"/api/v1/segments/{both['id']}/members", params={"as_of": "2026-11-03"})
        )
        assert _dids(members) == ["a", "b"]
        changed = _ok(
            c.patch(
                f"/api/v1/segments/{viewers['id']}", json={"rule": {"did": "cart", "at_least": 1}}
            )
        )
        assert changed["rule"] == {"did": "cart", "at_least": 1} and changed["name"] == "viewers"
        members = _ok(
            c.get(f"/api/v1/segments/{both['id']}/members", params={"as_of": "2026-11-03"})
        )
        assert _dids(members) == ["a", "b"]
        frozen = _ok(c.patch(f"/api/v1/segments/{viewers['id']}", json={"person_ids": []}))
        assert (frozen["kind"], frozen["size"]) == ("static", 0)
        members = _ok(c.get(f"/api/v1/segments/{both['id']}/members"))
        assert members["count"] == 0
        r = c.delete(f"/api/v1/segments/{viewers['id']}")
        assert r.status_code == 409 and "viewers who paid" in r.json()["error"]["message"]
        _ok(c.delete(f"/api/v1/segments/{both['id']}"), 204)
        _ok(c.delete(f"/api/v1/segments/{viewers['id']}"), 204)
        assert _ok(c.get("/api/v1/segments"))["results"] == []
        assert c.get(f"/api/v1/segments/{viewers['id']}").status_code == 404
    with live_server.app_state.db.session() as s:
        entries, _ = list_entries(s, live_server.workspace.id, AuditFilter(entity_type="segment"))
    assert [(e.action, e.entity_id, e.via) for e in reversed(entries)] == [
        ("segment.created", str(viewers["id"]), "api"),
        ("segment.created", str(both["id"]), "api"),
        ("segment.updated", str(viewers["id"]), "api"),
        ("segment.updated", str(viewers["id"]), "api"),
        ("segment.deleted", str(both["id"]), "api"),
        ("segment.deleted", str(viewers["id"]), "api"),
    ]
    changed_rule = entries[-3]
    assert changed_rule.before is not None and changed_rule.after is not None
    assert (changed_rule.before["rule"], changed_rule.after["rule"]) == (
        {"did": "view"},
        {"did": "cart", "at_least": 1},
    )
    assert entries[0].before is not None and entries[0].after is None


def test_refusals_name_the_field(live_server: LiveServer) -> None:
    ws = live_server.workspace
    with live_server.app_state.db.session() as s:
        viewer = create_api_token(s, ws.id, user_id=None, name="v", role="viewer")
        other = create_workspace(s, "other")
    with _client(live_server) as c:
        _load(c, live_server)
        seg = _ok(c.post("/api/v1/segments", json={"name": "a", "person_ids": []}), 201)
        cases: list[tuple[dict[str, Any], int, str]] = [
            ({"name": "x"}, 400, "rule"),
            ({"name": "x", "rule": {"did": "pay"}, "person_ids": []}, 400, "rule"),
            ({"name": "a", "rule": {"did": "pay"}}, 409, "name"),
            ({"name": "x", "rule": {"did": 3}}, 400, "rule.did"),
            ({"name": "x", "rule": {"cohort": 999}}, 400, "rule.cohort"),
            ({"name": "x", "person_ids": ["nope"]}, 400, "person_ids[0]"),
            (
                {
                    "name": "x",
                    "from_query": {"kind": "funnel_persons", **FUNNEL, "step": 3, "dropped": True},
                },
                400,
                "step",
            ),
        ]
        for body, status, field in cases:
            r = c.post("/api/v1/segments", json=body)
            assert (r.status_code, r.json()["error"]["field"]) == (status, field), body
        r = c.post("/api/v1/segments", json={"name": "x", "from_query": {"kind": "trends"}})
        assert r.status_code == 422 and "from_query" in r.json()["error"]["field"]
        as_viewer = {"Authorization": f"Bearer {viewer}"}
        assert c.get("/api/v1/segments", headers=as_viewer).status_code == 200
        r = c.post(
            "/api/v1/segments", json={"name": "v", "rule": {"did": "pay"}}, headers=as_viewer
        )
        assert r.status_code == 403
        assert c.delete(f"/api/v1/segments/{seg['id']}", headers=as_viewer).status_code == 403
        theirs = {"Authorization": f"Bearer {other.api_token}"}
        assert c.get(f"/api/v1/segments/{seg['id']}", headers=theirs).status_code == 404
        assert c.get(f"/api/v1/segments/{seg['id']}/members", headers=theirs).status_code == 404
        assert _ok(c.get("/api/v1/segments", headers=theirs))["results"] == []
