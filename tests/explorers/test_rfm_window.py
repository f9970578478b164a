"""The RFM explorer and the `rfm_segment` segment rule read the same window (the 365 local days
ending on the as-of date): on the same events, the explorer's count of each segment equals the
number of members the rule finds, and a payment one day before the window counts for neither."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from opsloop.analytics.queries.rfm import SEGMENTS
from tests.conftest import LiveServer
from tests.explorers.test_pages import _table
from tests.web.conftest import Login, send_events, sign_in

LAST = date(2026, 11, 15)  # the newest event's local day: the explorer's first as-of date
# person -> (days before LAST, amount) of each pay event; every one at local noon (UTC+8).
PAYMENTS: dict[str, list[tuple[int, float]]] = {
    "a": [(0, 500.0), (10, 300.0), (40, 120.0)],
    "b": [(364, 50.0)],  # the window's first day: scored
    "c": [(365, 1000.0)],  # the day before it: not scored (it would be the top spender)
    "d": [(100, 200.0), (90, 100.0)],
    "e": [(5, 20.0)],
    "f": [(200, 80.0), (30, 60.0)],
}
# By hand: the persons with a payment in the 365 days ending on LAST.
SCORED = {"a", "b", "d", "e", "f"}


def _events() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"event": "app_open", "distinct_id": "g", "timestamp": f"{LAST}T04:00:00Z"}
    ]
    for person, payments in PAYMENTS.items():
        for n, (ago, amount) in enumerate(payments):
            day = LAST - timedelta(days=ago)
            out.append(
                {
                    "event": "pay",
                    "distinct_id": person,
                    "timestamp": f"{day}T04:0{n}:00Z",
                    "properties": {"amount": amount},
                }
            )
    return out


@pytest.fixture
def signed_in(live_server: LiveServer, login: Login, client: httpx.Client) -> httpx.Client:
    send_events(live_server, _events())
    assert sign_in(client, login).status_code in (200, 303)
    return client


def _rule_members(server: LiveServer, segment: str) -> set[str]:
    r = httpx.post(
        f"{server.url}/api/v1/query",
        headers={"Authorization": f"Bearer {server.workspace.api_token}"},
        json={"kind": "segment", "rule": {"rfm_segment": segment}, "as_of": str(LAST)},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    members = {d for person in answer["results"] for d in person["distinct_ids"]}
    assert answer["count"] == len(members)
    return members


def test_explorer_segments_count_the_rule_members(
    signed_in: httpx.Client, live_server: LiveServer
) -> None:
    page = signed_in.get("/analysis/rfm?lang=zh-CN")  # a first visit: the default window
    assert page.status_code == 200
    form_from = LAST - timedelta(days=364)
    assert f'value="{form_from}"' in page.text and f'value="{LAST}"' in page.text
    explorer = {row[0]: int(row[1]) for row in _table(page.text, "results-table")[1:]}
    rule = {zh: _rule_members(live_server, zh) for zh, _, _ in SEGMENTS}
    assert {name: len(members) for name, members in rule.items() if members} == {
        name: users for name, users in explorer.items() if users
    }
    assert set().union(*rule.values()) == SCORED
    assert sum(explorer.values()) == len(SCORED)
