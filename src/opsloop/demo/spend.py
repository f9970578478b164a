"""The demo world's acquisition spend table: what each paid channel cost per local day, so that
`ad_spend` and channel CAC (`cac` by `$first_touch_channel`) have numbers out of the box. Each
paid channel has a daily budget, spent more on weekends (as feeds and stores are bid up then),
with seeded day-to-day noise; 自然流量 (organic) costs nothing and has no rows."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from opsloop.demo.catalog import CHANNELS

ORGANIC = "自然流量"
# Daily budget in CNY of each paid channel (the organic channel has none).
DAILY_BUDGET = {
    "应用商店": 6_000.0,
    "抖音信息流": 12_000.0,
    "小红书": 5_000.0,
    "微信裂变": 1_500.0,
    "百度搜索": 4_500.0,
}
WEEKEND_FACTOR = 1.25
NOISE = 0.1  # ± share of the budget, uniform


def demo_spend(date_from: date, date_to: date, seed: int) -> list[tuple[str, date, float]]:
    """(channel, day, spend) for every paid channel and day, both ends included, by day then
    channel in the catalog's order; the same seed gives the same table."""
    assert set(DAILY_BUDGET) == set(CHANNELS) - {ORGANIC}
    rng = np.random.default_rng([seed, 20_260_101])
    out = []
    day = date_from
    while day <= date_to:
        weekend = WEEKEND_FACTOR if day.weekday() >= 5 else 1.0
        for channel in CHANNELS:
            if channel == ORGANIC:
                continue
            noise = 1 + rng.uniform(-NOISE, NOISE)
            out.append((channel, day, round(DAILY_BUDGET[channel] * weekend * noise, 2)))
        day += timedelta(days=1)
    return out
