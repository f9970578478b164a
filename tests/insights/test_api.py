"""The insights and dashboards REST API with an API token: save, run (the same answer as POST
/api/v1/query of the query that ran), pin, order, unpin, and refusals with the field named."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.explorers.test_pages import _events
from tests.web.conftest import send_events

FUNNEL = {
    "kind": "funnel",
    "steps": [{"event": "view_item"}, {"event": "add_to_cart"}, {"event": "pay"}],
    "date_from": "2026-10-26",
    "date_to": "2026-11-01",
    "breakdown": "platform",
}


@pytest.fixture
def api(live_server: LiveServer) -> httpx.Client:
    send_events(live_server, _events())
    return httpx.Client(
        base_url=live_server.url + "/api/v1",
        headers={"Authorization": f"Bearer {live_server.workspace.api_token}"},
        timeout=30,
    )


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if status != 204 else None


def test_save_and_run_an_insight(api: httpx.Client) -> None:
    saved = _ok(api.post("/insights", json={"name": "下单漏斗", "query": FUNNEL}), 201)
    assert {k: saved[k] for k in ("name", "kind", "query", "shared", "rolling")} == {
        "name": "下单漏斗",
        "kind": "funnel",
        "query": FUNNEL,
        "shared": False,
        "rolling": True,
    }
    assert _ok(api.get("/insights")) == [saved]
    ran = _ok(api.get(f"/insights/{saved['id']}/results"))
    # The newest event's day is 2026-11-01 (Asia/Shanghai): the week up to it, as saved.
    assert ran["query"] == FUNNEL
    direct = _ok(api.post("/query", json=ran["query"]))
    assert ran["results"] == direct["results"]
    assert [s["count"] for r in ran["results"] for s in r["steps"]] == [2, 0, 0, 2, 2, 1]
    fixed = _ok(api.patch(f"/insights/{saved['id']}", json={"rolling": False, "name": "v2"}))
    assert (fixed["rolling"], fixed["name"]) == (False, "v2")
    _ok(api.delete(f"/insights/{saved['id']}"), 204)
    assert _ok(api.get("/insights")) == []
    assert api.get(f"/insights/{saved['id']}").status_code == 404


def test_dashboards_pin_order_and_unpin(api: httpx.Client) -> None:
    ids = [
        _ok(api.post("/insights", json={"name": f"i{n}", "query": FUNNEL}), 201)["id"]
        for n in range(3)
    ]
    board = _ok(api.post("/dashboards", json={"name": "运营日报", "shared": True}), 201)
    for i in ids:
        board = _ok(api.post(f"/dashboards/{board['id']}/tiles", json={"insight_id": i}))
    assert [t["insight"]["id"] for t in board["tiles"]] == ids
    assert all(t["insight"]["shared"] for t in board["tiles"])  # pinned to a shared board
    board = _ok(api.patch(f"/dashboards/{board['id']}/tiles/{ids[2]}", json={"position": 0}))
    assert [(t["insight"]["id"], t["position"]) for t in board["tiles"]] == [
        (ids[2], 0),
        (ids[0], 1),
        (ids[1], 2),
    ]
    board = _ok(api.delete(f"/dashboards/{board['id']}/tiles/{ids[0]}"))
    assert [t["insight"]["id"] for t in board["tiles"]] == [ids[2], ids[1]]
    assert _ok(api.get(f"/dashboards/{board['id']}")) == board
    assert [b["name"] for b in _ok(api.get("/dashboards"))] == ["运营日报"]
    _ok(api.delete(f"/dashboards/{board['id']}"), 204)
    assert _ok(api.get("/dashboards")) == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("post", "/insights", {"name": "x", "query": {"kind": "funnel"}}, 400, "query.steps"),
        ("post", "/insights", {"name": "", "query": FUNNEL}, 422, "name"),
        ("post", "/dashboards/999/tiles", {"insight_id": 1}, 404, "dashboard_id"),
        ("patch", "/insights/999", {"name": "y"}, 404, "insight_id"),
    ],
)
def test_refusals_name_the_field(
    api: httpx.Client, method: str, path: str, body: dict[str, Any], status: int, field: str
) -> None:
    r = api.request(method.upper(), path, json=body)
    assert r.status_code == status, r.text
    assert field in str(r.json()["error"]["field"])


def test_the_api_needs_a_token(live_server: LiveServer) -> None:
    r = httpx.get(live_server.url + "/api/v1/insights", timeout=30)
    assert r.status_code == 401
