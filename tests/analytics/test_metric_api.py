"""The catalog's REST doors through HTTP: workspace metrics CRUD with its refusals and roles,
spend uploads, and metrics queries over both, with the cache following every change."""

from __future__ import annotations

from typing import Any

import httpx

from opsloop.db import open_database
from opsloop.workspaces.service import create_api_token
from tests.conftest import LiveServer

SIGNUP_PAY = [
    # Asia/Shanghai: 2026-06-01 10:00 local is 02:00 UTC.
    ("a", "sign_up", "2026-06-01T02:00:00Z", {"channel": "小红书"}),
    ("a", "pay", "2026-06-01T03:00:00Z", {"channel": "小红书", "amount": 120}),
    ("b", "sign_up", "2026-06-02T02:00:00Z", {"channel": "抖音信息流"}),
    ("c", "sign_up", "2026-06-02T05:00:00Z", {"channel": "抖音信息流"}),
    ("c", "pay", "2026-06-03T05:00:00Z", {"channel": "抖音信息流", "amount": 30}),
]
DEFINITION = {
    "key": "payers_per_signup",
    "kind": "formula",
    "formula": "paying_users / new_signups",
    "name": {"zh-CN": "注册付费比", "en": "Payers per sign-up"},
    "description": {"zh-CN": "付费人数 ÷ 新注册人数", "en": "Payers ÷ new sign-ups"},
    "unit": {"zh-CN": "比例", "en": "ratio"},
    "format": "percent",
}
QUERY = {
    "kind": "metrics",
    "metrics": ["payers_per_signup", "cac", "new_users"],
    "date_from": "2026-06-01",
    "date_to": "2026-06-03",
    "interval": "day",
    "breakdown": "$first_touch_channel",
}


def _client(server: LiveServer) -> httpx.Client:
    return httpx.Client(
        base_url=server.url,
        timeout=60,
        headers={"Authorization": f"Bearer {server.workspace.api_token}"},
    )


def _send(c: httpx.Client, key: str) -> None:
    batch = [
        {"event": e, "distinct_id": d, "timestamp": t, "properties": p} for d, e, t, p in SIGNUP_PAY
    ]
    assert c.post("/api/v1/events", json={"api_key": key, "batch": batch}).status_code == 200


def _lines(answer: dict[str, Any]) -> dict[tuple[str, Any], tuple[list[Any], Any]]:
    return {
        (r["metric"], r["breakdown_value"]): (r["values"], r["total"]) for r in answer["results"]
    }


def test_workspace_metrics_over_rest(live_server: LiveServer) -> None:
    with _client(live_server) as c:
        listed = c.get("/api/v1/metrics").json()["results"]
        assert {m["key"] for m in listed} >= {"dau", "gmv", "cac", "k_factor"}
        assert all(m["source"] == "builtin" for m in listed)
        created = c.post("/api/v1/metrics", json=DEFINITION)
        assert created.status_code == 201, created.text
        assert created.json()["source"] == "workspace"
        assert created.json()["definition"]["formula"] == DEFINITION["formula"]
        shown = c.get("/api/v1/metrics/payers_per_signup").json()
        assert shown["name"] == DEFINITION["name"] and shown["format"] == "percent"
        changed = c.put(
            "/api/v1/metrics/payers_per_signup",
            json={**DEFINITION, "formula": "paying_users / new_users"},
        )
        assert (
            changed.status_code == 200 and changed.json()["formula"] == "paying_users / new_users"
        )
        refusals = [
            (c.post("/api/v1/metrics", json=DEFINITION), 409, "key"),
            (c.post("/api/v1/metrics", json={**DEFINITION, "key": "gmv"}), 409, "key"),
            (
                c.post("/api/v1/metrics", json={**DEFINITION, "key": "x", "formula": "y / 2"}),
                400,
                "formula",
            ),
            (
                c.post("/api/v1/metrics", json={**DEFINITION, "key": "x", "format": "money"}),
                422,
                "format",
            ),
            (c.put("/api/v1/metrics/gmv", json={**DEFINITION, "key": "gmv"}), 409, "key"),
            (c.delete("/api/v1/metrics/gmv"), 409, "key"),
            (c.get("/api/v1/metrics/nothing"), 404, "key"),
        ]
        for r, status, field in refusals:
            assert r.status_code == status, r.text
            assert r.json()["error"]["field"] == field, r.text
        assert c.delete("/api/v1/metrics/payers_per_signup").status_code == 204
        assert c.get("/api/v1/metrics/payers_per_signup").status_code == 404


def test_roles_and_authentication(live_server: LiveServer) -> None:
    db = open_database(live_server.settings.resolved_database_url)
    with db.session() as s:
        viewer = create_api_token(
            s, live_server.workspace.id, user_id=None, name="v", role="viewer"
        )
    db.close()
    with httpx.Client(base_url=live_server.url, timeout=60) as c:
        assert c.get("/api/v1/metrics").status_code == 401
        auth = {"Authorization": f"Bearer {viewer}"}
        assert c.get("/api/v1/metrics", headers=auth).status_code == 200
        r = c.post("/api/v1/metrics", json=DEFINITION, headers=auth)
        assert r.status_code == 403 and r.json()["error"]["field"] == "Authorization"
        csv_auth = {**auth, "Content-Type": "text/csv"}
        r = c.post(
            "/api/v1/spend", content="channel,date,spend\na,2026-06-01,1\n", headers=csv_auth
        )
        assert r.status_code == 403


def test_spend_upload_and_cac_with_the_cache_following_changes(live_server: LiveServer) -> None:
    with _client(live_server) as c:
        _send(c, live_server.workspace.ingest_key)
        assert c.post("/api/v1/metrics", json=DEFINITION).status_code == 201
        csv = "channel,date,spend\n小红书,2026-06-01,300\n抖音信息流,2026-06-02,500\n"
        r = c.post("/api/v1/spend", content=csv.encode(), headers={"Content-Type": "text/csv"})
        assert r.status_code == 200 and r.json() == {
            "rows": 2,
            "inserted": 2,
            "updated": 0,
            "unchanged": 0,
            "currency": "CNY",
        }
        first = c.post("/api/v1/query", json=QUERY).json()
        got = _lines(first)
        assert got[("cac", "小红书")] == ([300, None, None], 300)
        assert got[("cac", "抖音信息流")] == ([None, 250, None], 250)
        assert got[("payers_per_signup", "抖音信息流")] == ([None, 0, None], 0.5)
        assert got[("new_users", "抖音信息流")] == ([0, 2, 0], 2)
        assert first["cached"] is False
        assert c.post("/api/v1/query", json=QUERY).json()["cached"] is True
        r = c.post(
            "/api/v1/spend", json=[{"channel": "抖音信息流", "date": "2026-06-02", "spend": 700}]
        )
        assert r.json()["updated"] == 1
        after_spend = c.post("/api/v1/query", json=QUERY).json()
        assert after_spend["cached"] is False
        assert _lines(after_spend)[("cac", "抖音信息流")][1] == 350
        c.put("/api/v1/metrics/payers_per_signup", json={**DEFINITION, "formula": "paying_users"})
        after_metric = c.post("/api/v1/query", json=QUERY).json()
        assert after_metric["cached"] is False
        assert _lines(after_metric)[("payers_per_signup", "抖音信息流")][1] == 1
        listed = c.get("/api/v1/spend", params={"channel": "抖音信息流"}).json()
        assert listed == {
            "currency": "CNY",
            "results": [{"channel": "抖音信息流", "date": "2026-06-02", "spend": 700.0}],
        }
        assert c.delete("/api/v1/spend", params={"date_to": "2026-06-01"}).json() == {"deleted": 1}
        bad = c.post(
            "/api/v1/spend",
            content=b"channel,date,spend\na,June 1,3\n",
            headers={"Content-Type": "text/csv"},
        )
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "line 2.date"
        bad = c.post("/api/v1/spend", content=b"x", headers={"Content-Type": "image/png"})
        assert bad.status_code == 415
        trends = c.post(
            "/api/v1/query",
            json={
                "kind": "trends",
                "series": [{"metric": "new_users"}],
                "date_from": "2026-06-01",
                "date_to": "2026-06-03",
            },
        ).json()
        assert trends["results"][0]["values"] == [1, 2, 0]
        r = c.post("/api/v1/query", json={**QUERY, "metrics": ["no_such_metric"]})
        assert r.status_code == 400 and r.json()["error"]["field"] == "metrics.0"
        # An empty key, as a string or a reference, is named as the field at fault.
        for metrics in ([""], [{"metric": ""}], ["dau", ""]):
            r = c.post("/api/v1/query", json={**QUERY, "metrics": metrics})
            assert r.status_code == 422, r.text
            assert r.json()["error"]["field"].startswith(f"metrics.{len(metrics) - 1}"), r.text
