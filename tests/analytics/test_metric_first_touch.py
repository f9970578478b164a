"""Every built-in metric broken down by the person's first-touch channel, against the pandas
reference on both engines (CAC per channel included: the channel's spend ÷ its new users)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.analytics.conftest import World
from tests.analytics.test_metric_catalog import KEYS, MONTH_ONLY, check


@pytest.mark.parametrize("key", KEYS)
def test_by_first_touch_channel(world: World, key: str) -> None:
    interval = "month" if key in MONTH_ONLY else "week"
    check(
        world,
        key,
        date_from=date(2026, 10, 14),
        date_to=date(2026, 11, 15),
        interval=interval,
        breakdown="$first_touch_channel",
    )
