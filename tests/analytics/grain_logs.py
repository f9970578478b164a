"""Random small event logs over a range of hours, days, weeks or months, with merged persons:
the input of the property-based tests of the bucketed aggregates (catalog rollup, trends).

Each log is (grain, rows, merges). Rows fall on a bucket's first instant, just after it, on the
hour after midnight and on the last second of a day, spread over SPAN[grain] days from BASE (a
Monday). Events are active ones, a repeated `pay` with amounts of every JSON kind (numbers,
numeric text, booleans), and the person-only `$set`. Channels give up to four breakdown values
(missing included). A merge puts an anonymous id's events on a user id's person."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from hypothesis import strategies as st

from opsloop.analytics.catalog.scope import date_bucket
from tests.analytics.logs import Row

BASE = date(2026, 3, 2)  # a Monday
SPAN = {"hour": 1, "day": 9, "week": 30, "month": 70}
AMOUNTS = st.one_of(st.none(), st.integers(0, 50), st.sampled_from([0.5, 19.99, "12", True]))
GrainLog = tuple[str, list[Row], list[tuple[str, str]]]


@st.composite
def grain_logs(draw: st.DrawFn) -> GrainLog:
    grain = draw(st.sampled_from(["hour", "day", "week", "month"]))
    rows = []
    for _ in range(draw(st.integers(1, 40))):
        event = draw(st.sampled_from(["app_open", "pay", "pay", "view", "$set"]))
        props: dict[str, Any] = {}
        channel = draw(st.sampled_from([None, "ads", "seo", "push"]))
        if channel is not None:
            props["channel"] = channel
        amount = draw(AMOUNTS)
        if event == "pay" and amount is not None:
            props["amount"] = amount
        day = BASE + timedelta(days=draw(st.integers(0, SPAN[grain])))
        at = draw(st.sampled_from([time(0, 0), time(0, 30), time(1, 0), time(23, 59, 59)]))
        rows.append(Row(draw(st.sampled_from("abcdef")), event, datetime.combine(day, at), props))
    # (anonymous id, user id): the first joins the second's person
    merges = draw(st.lists(st.sampled_from([("b", "a"), ("d", "c"), ("f", "e")]), unique=True))
    return grain, rows, merges


def bucket_label(grain: str, local: datetime) -> str:
    """The label of the bucket holding a local time, as the engines spell it."""
    if grain == "hour":
        return local.strftime("%Y-%m-%d %H:00")
    return date_bucket(grain, local.date())  # type: ignore[arg-type]
