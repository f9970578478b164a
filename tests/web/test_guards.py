"""Numbers past 64 bits: in a path they name nothing (404), in a query body they are refused
(400); never a 500 from a database driver or a serialiser."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import LiveServer

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/dashboards/{HUGE}",
        f"/api/v1/insights/{HUGE}",
        f"/api/v1/insights/{HUGE}/results",
        f"/api/v1/dashboards/1/tiles/-{HUGE}",
    ],
)
def test_an_id_past_64_bits_is_not_found(live_server: LiveServer, path: str) -> None:
    r = httpx.get(
        live_server.url + path,
        headers={"Authorization": f"Bearer {live_server.workspace.api_token}"},
        timeout=60.0,
    )
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_the_largest_id_is_looked_up_as_usual(live_server: LiveServer) -> None:
    r = httpx.get(
        live_server.url + f"/api/v1/dashboards/{2**63 - 1}",
        headers={"Authorization": f"Bearer {live_server.workspace.api_token}"},
        timeout=60.0,
    )
    assert r.status_code == 404
    assert "64-bit" not in r.json()["error"]["message"]


def test_a_query_holding_a_number_past_64_bits_is_refused(live_server: LiveServer) -> None:
    r = httpx.post(
        live_server.url + "/api/v1/query",
        content=f'{{"kind": "segment", "rule": {{"huge": [{10**30}]}}}}',
        headers={
            "Authorization": f"Bearer {live_server.workspace.api_token}",
            "Content-Type": "application/json",
        },
        timeout=60.0,
    )
    assert r.status_code == 400, r.text
    assert "out of range" in r.json()["error"]["message"]
