"""The overview's key metrics on a hand-worked week: each day's values by metrics.md's
definitions, and the day-over-day and week-over-week changes of the report day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from opsloop.overview.kpis import DAYS, Kpi, key_metrics, relative_change, report_day
from opsloop.workspaces.service import WorkspaceRef, get_workspace
from tests.conftest import LiveServer
from tests.web.conftest import send_events

REPORT = date(2026, 11, 8)


def _event(day: int, person: str, event: str, amount: float | None = None) -> dict[str, Any]:
    return {
        "event": event,
        "distinct_id": person,
        "timestamp": f"2026-11-{day:02d}T04:00:00Z",  # noon in Asia/Shanghai
        "properties": {} if amount is None else {"amount": amount},
    }


WEEK = [
    _event(1, "u1", "app_open"),
    _event(1, "u2", "app_open"),  # two new users
    _event(7, "u1", "app_open"),
    _event(7, "u2", "app_open"),
    _event(7, "u1", "pay", 30),
    _event(8, "u1", "app_open"),
    _event(8, "u2", "app_open"),
    _event(8, "u3", "app_open"),  # new
    _event(8, "u1", "pay", 100),
    _event(8, "u2", "pay", 50),
]


@pytest.fixture
def kpis(live_server: LiveServer) -> dict[str, Kpi]:
    send_events(live_server, WEEK)
    state = live_server.app_state
    ref = state_workspace(live_server)
    assert report_day(state, ref) == REPORT  # the newest event's day, which has ended
    return {k.definition.key: k for k in key_metrics(state, ref)}


def state_workspace(server: LiveServer) -> WorkspaceRef:
    with server.app_state.db.session() as s:
        ref = get_workspace(s, server.workspace.name)
    assert ref is not None
    return ref


def test_each_day_has_its_values(kpis: dict[str, Kpi]) -> None:
    dau = kpis["dau"]
    assert dau.days[-1] == REPORT and len(dau.days) == DAYS
    assert dau.days[0] == REPORT - timedelta(days=DAYS - 1)
    by_day = {k: dict(zip(v.days, v.values, strict=True)) for k, v in kpis.items()}
    d1, d7, d8 = date(2026, 11, 1), date(2026, 11, 7), date(2026, 11, 8)
    assert {k: (v[d1], v[d7], v[d8]) for k, v in by_day.items()} == {
        "dau": (2, 2, 3),
        "new_users": (2, 0, 1),
        "paying_users": (0, 1, 2),
        "paid_conversion": (0, 0.5, pytest.approx(2 / 3)),
        "gmv": (0, 30, 150),
        "aov": (None, 30, 75),
    }
    assert by_day["dau"][date(2026, 11, 4)] == 0


def test_changes_of_the_report_day(kpis: dict[str, Kpi]) -> None:
    changes = {k: (v.day_over_day, v.week_over_week) for k, v in kpis.items()}
    assert changes == {
        "dau": (0.5, 0.5),
        "new_users": (None, -0.5),  # no new user the day before: no ratio
        "paying_users": (1.0, None),
        "paid_conversion": (pytest.approx(1 / 3), None),
        "gmv": (4.0, None),
        "aov": (1.5, None),
    }


def test_relative_change() -> None:
    assert [
        relative_change(*p) for p in [(3, 2), (1, 2), (5, 0), (None, 1), (2, None), (-1, -2)]
    ] == [
        0.5,
        -0.5,
        None,
        None,
        None,
        0.5,
    ]
