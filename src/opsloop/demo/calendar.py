"""The demo world's calendar: its local days in UTC, and when each planted story happens.

Everything is placed relative to the number of days, so any range of MIN_DAYS or more tells the
same stories: the payment collapse first, then the repurchase drop, the title test, the campaign.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from opsloop.errors import InvalidInput

DEFAULT_END_DATE = date(2026, 11, 15)
MIN_DAYS = 28
CAMPAIGN_DAYS = 11
EXPERIMENT_DAYS = 14


@dataclass(frozen=True, slots=True, eq=False)
class DemoCalendar:
    start: date
    days: int
    timezone: str
    day_start_us: npt.NDArray[np.int64]  # days + 1 local midnights, as UTC epoch microseconds
    weekend: npt.NDArray[np.bool_]
    collapse_day: int  # Android's checkout→pay collapses on this day
    drop_day: int  # 华南 old users buy less again from this day
    repurchase_window: int  # days compared before and after drop_day
    experiment: tuple[int, int]  # first and last day of the title A/B test
    campaign: tuple[int, int]  # first and last day of the referral campaign

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    def date_of(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def iso(self, day: int) -> str:
        return self.date_of(day).isoformat()

    @property
    def repurchase_before(self) -> tuple[int, int]:
        return self.drop_day - self.repurchase_window, self.drop_day - 1

    @property
    def repurchase_after(self) -> tuple[int, int]:
        return self.drop_day, self.drop_day + self.repurchase_window - 1

    @property
    def old_user_cutoff(self) -> int:
        """Old users (老用户) of the repurchase story signed up before this day."""
        return self.repurchase_before[0]


def build_calendar(days: int, end_date: date, timezone: str) -> DemoCalendar:
    if days < MIN_DAYS:
        raise InvalidInput(f"the demo world needs at least {MIN_DAYS} days", "days")
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {timezone!r}", "timezone") from exc
    start = end_date - timedelta(days=days - 1)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    starts = []
    for i in range(days + 1):
        d = start + timedelta(days=i)
        local_midnight = datetime(d.year, d.month, d.day, tzinfo=tz)
        starts.append((local_midnight - epoch) // timedelta(microseconds=1))
    weekend = np.array([(start + timedelta(days=i)).weekday() >= 5 for i in range(days)])
    window = min(14, days // 4)
    campaign_start = days - 4 - CAMPAIGN_DAYS
    experiment_start = max(0, campaign_start - 1 - EXPERIMENT_DAYS)
    return DemoCalendar(
        start=start,
        days=days,
        timezone=timezone,
        day_start_us=np.array(starts, dtype=np.int64),
        weekend=weekend,
        collapse_day=days // 3,
        drop_day=round(days * 0.62),
        repurchase_window=window,
        experiment=(experiment_start, experiment_start + EXPERIMENT_DAYS - 1),
        campaign=(campaign_start, campaign_start + CAMPAIGN_DAYS - 1),
    )
