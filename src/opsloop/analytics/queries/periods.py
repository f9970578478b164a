"""Retention's and lifecycle's periods: a day, an ISO week from Monday, or a month in the
workspace's time zone, numbered consecutively (the numbering of `Dialect.period_number`): days
since 1970-01-01, weeks since Monday 1970-01-05, months since 1970-01."""

from __future__ import annotations

from datetime import date, timedelta

from opsloop.analytics.dialect import EPOCH, WEEK_EPOCH, Dialect, PeriodGrain
from opsloop.analytics.timezones import Span


def period_of(grain: PeriodGrain, day: date) -> int:
    if grain == "day":
        return (day - EPOCH).days
    if grain == "week":
        return (day - WEEK_EPOCH).days // 7
    return (day.year - 1970) * 12 + day.month - 1


def period_first_day(grain: PeriodGrain, n: int) -> date:
    if grain == "day":
        return EPOCH + timedelta(days=n)
    if grain == "week":
        return WEEK_EPOCH + timedelta(days=7 * n)
    return date(1970 + n // 12, n % 12 + 1, 1)


def period_last_day(grain: PeriodGrain, n: int) -> date:
    return period_first_day(grain, n + 1) - timedelta(days=1)


def period_label(grain: PeriodGrain, n: int) -> str:
    first = period_first_day(grain, n)
    return first.strftime("%Y-%m") if grain == "month" else first.isoformat()


def period_key(d: Dialect, grain: PeriodGrain, ts: str, tz: str, span: Span | None) -> str:
    """SQL of the number of the period holding `ts` in `tz`, computed from the instant as an
    integer for days and weeks (no DATE built per event: a fifth of the per-event work of
    retention's first stage at 10M events). Exact for the instants in `span`."""
    if grain == "month":
        return d.period_number("month", d.period_start("month", ts, tz, span))
    day = d.local_day_number(ts, tz, span)
    if grain == "week":  # Monday 1970-01-05 is day 4
        return d.int_div(f"({day} - {(WEEK_EPOCH - EPOCH).days})", 7)
    return day
