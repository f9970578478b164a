"""`POST /api/v1/query` through HTTP: same answer as the Python API, cached until new data."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from opsloop.analytics.context import QueryContext
from opsloop.analytics.segments.service import (
    create_segment,
    create_static_segment,
    update_segment,
)
from tests.conftest import LiveServer

BODY = {
    "kind": "trends",
    "series": [{"event": "pay", "math": "sum", "property": "amount"}],
    "date_from": "2026-11-01",
    "date_to": "2026-11-03",
    "interval": "day",
}


def _send(c: httpx.Client, key: str, events: list[dict[str, object]]) -> None:
    r = c.post("/api/v1/events", json={"api_key": key, "batch": events})
    assert r.status_code == 200, r.text


def test_trends_over_rest_and_the_cache(live_server: LiveServer) -> None:
    key, token = live_server.workspace.ingest_key, live_server.workspace.api_token
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        _send(
            c,
            key,
            [
                # Asia/Shanghai: 2026-11-01 23:30 local is 15:30 UTC; 2026-11-02 00:10 is 16:10 UTC.
                {
                    "event": "pay",
                    "distinct_id": "a",
                    "timestamp": "2026-11-01T15:30:00Z",
                    "properties": {"amount": 10},
                },
                {
                    "event": "pay",
                    "distinct_id": "b",
                    "timestamp": "2026-11-01T16:10:00Z",
                    "properties": {"amount": 2.5},
                },
                {"event": "view", "distinct_id": "b", "timestamp": "2026-11-01T16:11:00Z"},
            ],
        )
        first = c.post("/api/v1/query", json=BODY, headers=auth).json()
        assert first["results"][0]["dates"] == ["2026-11-01", "2026-11-02", "2026-11-03"]
        assert first["results"][0]["values"] == [10, 2.5, 0]
        assert first["results"][0]["total"] == 12.5
        assert first["cached"] is False
        again = c.post("/api/v1/query", json=BODY, headers=auth).json()
        assert again["cached"] is True
        assert again["results"] == first["results"]
        no_cache = {**auth, "Cache-Control": "no-cache"}
        recomputed = c.post("/api/v1/query", json=BODY, headers=no_cache).json()
        assert recomputed["cached"] is False
        assert recomputed["results"] == first["results"]
        _send(
            c,
            key,
            [
                {
                    "event": "pay",
                    "distinct_id": "c",
                    "timestamp": "2026-11-03T01:00:00Z",
                    "properties": {"amount": 1},
                }
            ],
        )
        fresh = c.post("/api/v1/query", json=BODY, headers=auth).json()
        assert fresh["cached"] is False
        assert fresh["results"][0]["values"] == [10, 2.5, 1]


def test_bad_queries_are_4xx_naming_the_field(live_server: LiveServer) -> None:
    auth = {"Authorization": f"Bearer {live_server.workspace.api_token}"}
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        assert c.post("/api/v1/query", json=BODY).status_code == 401
        r = c.post("/api/v1/query", json={**BODY, "kind": "nope"}, headers=auth)
        assert r.status_code == 422
        r = c.post(
            "/api/v1/query",
            json={**BODY, "series": [{"event": "pay", "math": "sum"}]},
            headers=auth,
        )
        assert r.status_code == 422 and "numeric property" in r.json()["error"]["message"]
        r = c.post("/api/v1/query", json={**BODY, "date_to": "2026-10-01"}, headers=auth)
        assert r.status_code == 400 and r.json()["error"]["field"] == "date_to"
        r = c.post(
            "/api/v1/query",
            json={**BODY, "filters": [{"property": 'bad"name', "op": "eq", "value": 1}]},
            headers=auth,
        )
        assert r.status_code == 400 and r.json()["error"]["field"] == "property"


def test_every_registered_kind_answers_over_rest(live_server: LiveServer) -> None:
    key, token = live_server.workspace.ingest_key, live_server.workspace.api_token
    auth = {"Authorization": f"Bearer {token}"}
    bodies = {
        "retention": {
            "start_event": "pay",
            "return_event": "$any",
            "period": "day",
            "periods": 2,
            "date_from": "2026-11-01",
            "date_to": "2026-11-03",
        },
        "lifecycle": {
            "event": "$any",
            "interval": "day",
            "date_from": "2026-11-01",
            "date_to": "2026-11-03",
        },
        "rfm": {"as_of": "2026-11-05", "scoring": "quintile"},
        "funnel": {
            "steps": [{"event": "pay"}, {"event": "view"}],
            "window_seconds": 86400 * 2,
            "date_from": "2026-11-01",
            "date_to": "2026-11-03",
        },
        "funnel_persons": {
            "steps": [{"event": "pay"}, {"event": "view"}],
            "window_seconds": 86400 * 2,
            "date_from": "2026-11-01",
            "date_to": "2026-11-03",
            "step": 2,
        },
        "paths": {
            "start_event": "pay",
            "depth": 3,
            "date_from": "2026-11-01",
            "date_to": "2026-11-03",
        },
        "segment": {
            "rule": {"did": "pay", "at_least": 1, "in_last_days": 30},
            "as_of": "2026-11-05",
        },
        "timeline": {"distinct_id": "a"},
        "metrics": {
            "metrics": ["paying_users", "paid_conversion", "gmv"],
            "date_from": "2026-11-01",
            "date_to": "2026-11-03",
        },
    }
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        _send(
            c,
            key,
            [
                {
                    "event": "pay",
                    "distinct_id": "a",
                    "timestamp": "2026-11-01T02:00:00Z",
                    "properties": {"amount": 10},
                },
                {"event": "view", "distinct_id": "a", "timestamp": "2026-11-02T02:00:00Z"},
            ],
        )
        from opsloop.analytics.registry import KINDS

        assert set(bodies) | {"trends"} == set(KINDS)
        for kind, body in bodies.items():
            r = c.post("/api/v1/query", json={"kind": kind, **body}, headers=auth)
            assert r.status_code == 200, (kind, r.text)
            answer = r.json()
            assert answer["nodes" if kind == "paths" else "results"], kind
        funnel = c.post(
            "/api/v1/query", json={"kind": "funnel", **bodies["funnel"]}, headers=auth
        ).json()
        assert [s["count"] for s in funnel["results"][0]["steps"]] == [1, 1]
        persons = c.post(
            "/api/v1/query",
            json={"kind": "funnel_persons", **bodies["funnel_persons"]},
            headers=auth,
        ).json()
        assert (persons["count"], [p["distinct_ids"] for p in persons["results"]]) == (1, [["a"]])
        paths = c.post(
            "/api/v1/query", json={"kind": "paths", **bodies["paths"]}, headers=auth
        ).json()
        assert (paths["persons"], paths["nodes"], paths["links"]) == (
            1,
            [
                {"name": "1_pay", "step": 1, "event": "pay", "value": 1},
                {"name": "2_view", "step": 2, "event": "view", "value": 1},
            ],
            [{"source": "1_pay", "target": "2_view", "value": 1}],
        )
        retention = c.post(
            "/api/v1/query", json={"kind": "retention", **bodies["retention"]}, headers=auth
        ).json()
        first = retention["results"][0]
        assert (first["cohort"], first["size"], first["values"][:2]) == ("2026-11-01", 1, [1, 1])


def test_saved_segments_in_rules_over_rest_and_their_edits(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rule naming saved segments answers through REST; the cached answer is dropped when a
    segment it used changes, and when the day a default as_of stands for passes."""
    ws = live_server.workspace
    auth = {"Authorization": f"Bearer {ws.api_token}"}
    db = live_server.app_state.db
    today = [date(2026, 11, 2)]
    monkeypatch.setattr(QueryContext, "today", lambda ctx: today[0])
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        _send(
            c,
            ws.ingest_key,
            [
                {"event": "pay", "distinct_id": "a", "timestamp": "2026-11-01T02:00:00Z"},
                {"event": "pay", "distinct_id": "b", "timestamp": "2026-11-02T02:00:00Z"},
                {"event": "view", "distinct_id": "c", "timestamp": "2026-11-02T03:00:00Z"},
            ],
        )
        pid = {p["distinct_id"]: p["person_id"] for p in _members(c, auth, {"did": "$any"})}
        with db.session() as s:
            picked = create_static_segment(s, ws.id, "picked", [pid["c"]]).id
            payers = create_segment(s, ws.id, "payers", rule={"did": "pay"}).id
        rule = {"or": [{"cohort": picked}, {"cohort": payers}]}
        assert sorted(pid) == ["a", "b", "c"]
        first = _query(c, auth, rule)
        assert (first["as_of"], _dids(first), first["cached"]) == ("2026-11-02", "abc", False)
        assert _query(c, auth, rule)["cached"] is True
        with db.session() as s:
            update_segment(s, ws.id, payers, rule={"did": "pay", "in_last_days": 1})
        fresh = _query(c, auth, rule)
        assert (_dids(fresh), fresh["cached"]) == ("bc", False)  # a paid on 1 Nov
        assert _query(c, auth, rule)["cached"] is True
        today[0] = date(2026, 11, 3)  # a new day: nobody paid on it
        next_day = _query(c, auth, rule)
        assert (next_day["as_of"], _dids(next_day), next_day["cached"]) == (
            "2026-11-03",
            "c",
            False,
        )
        r = c.post("/api/v1/query", json={"kind": "segment", "rule": {"cohort": 999}}, headers=auth)
        assert r.status_code == 400 and r.json()["error"]["field"] == "rule.cohort"


def _query(c: httpx.Client, auth: dict[str, str], rule: dict[str, Any]) -> dict[str, Any]:
    r = c.post("/api/v1/query", json={"kind": "segment", "rule": rule}, headers=auth)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def _members(c: httpx.Client, auth: dict[str, str], rule: dict[str, Any]) -> list[Any]:
    results: list[Any] = _query(c, auth, rule)["results"]
    return results


def _dids(answer: dict[str, Any]) -> str:
    return "".join(sorted(p["distinct_id"] for p in answer["results"]))
