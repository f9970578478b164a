"""The demo's spend table: every paid channel every day (none for organic traffic), budgets kept
within their noise, more on weekends, the same for the same seed."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from opsloop.demo.catalog import CHANNELS
from opsloop.demo.spend import DAILY_BUDGET, NOISE, ORGANIC, WEEKEND_FACTOR, demo_spend

FIRST, LAST = date(2026, 8, 18), date(2026, 11, 15)


def test_every_paid_channel_every_day_within_its_budget() -> None:
    rows = demo_spend(FIRST, LAST, 42)
    days = (LAST - FIRST).days + 1
    paid = [c for c in CHANNELS if c != ORGANIC]
    assert [(c, d) for c, d, _ in rows] == [
        (c, FIRST + timedelta(days=i)) for i in range(days) for c in paid
    ]
    by: dict[tuple[str, bool], list[float]] = defaultdict(list)
    for channel, day, spend in rows:
        weekend = day.weekday() >= 5
        base = DAILY_BUDGET[channel] * (WEEKEND_FACTOR if weekend else 1.0)
        assert base * (1 - NOISE) - 0.01 <= spend <= base * (1 + NOISE) + 0.01
        assert round(spend, 2) == spend
        by[(channel, weekend)].append(spend)
    for channel in paid:
        weekday, weekend = by[(channel, False)], by[(channel, True)]
        assert sum(weekend) / len(weekend) > sum(weekday) / len(weekday)


def test_the_same_seed_gives_the_same_table() -> None:
    assert demo_spend(FIRST, LAST, 42) == demo_spend(FIRST, LAST, 42)
    assert demo_spend(FIRST, LAST, 42) != demo_spend(FIRST, LAST, 43)
    assert demo_spend(LAST, FIRST, 42) == []
