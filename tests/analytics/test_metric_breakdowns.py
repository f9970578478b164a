"""Every built-in metric broken down, against the pandas reference on both engines: by an event
property (at day grain where the metric allows it)."""

from __future__ import annotations

from datetime import date

import pytest

from opsloop.errors import InvalidInput
from tests.analytics.conftest import World
from tests.analytics.test_metric_catalog import KEYS, MONTH_ONLY, check

SPEND_ONLY_BY_CHANNEL = {"ad_spend", "cac"}


@pytest.mark.parametrize("key", [k for k in KEYS if k not in SPEND_ONLY_BY_CHANNEL])
def test_by_an_event_property(world: World, key: str) -> None:
    if key in MONTH_ONLY:
        span = {"date_from": date(2026, 10, 1), "date_to": date(2026, 11, 15), "interval": "month"}
    elif key == "wau":  # counted per ISO week: week grain or longer
        span = {"date_from": date(2026, 10, 14), "date_to": date(2026, 11, 8), "interval": "week"}
    else:
        span = {"date_from": date(2026, 10, 26), "date_to": date(2026, 11, 8), "interval": "day"}
    check(world, key, breakdown="platform", **span)


@pytest.mark.parametrize("key", sorted(SPEND_ONLY_BY_CHANNEL))
def test_spend_breaks_down_by_channel_only(world: World, key: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check(
            world,
            key,
            date_from=date(2026, 10, 26),
            date_to=date(2026, 11, 8),
            breakdown="platform",
        )
    assert caught.value.field == "breakdown"
