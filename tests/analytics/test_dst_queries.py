"""Retention and lifecycle in a zone with DST: each query computes local days with the offsets in
force over its range only (timezones.Span), exact inside it, and events before the range (first
ever activity, read with whatever offset the range starts with) still fall before it. Both
engines, against the plain-Python references."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsloop.analytics.dialect import DuckDbDialect
from opsloop.analytics.queries.trends import TrendsQuery, run_trends
from opsloop.analytics.timezones import segments_within
from tests.analytics import test_lifecycle, test_retention
from tests.analytics.logs import ChdbPool, Row, load_log

BERLIN = "Europe/Berlin"
# The local days of each zone's changes in 2026: Berlin's at 02:00 / 03:00, Havana's at midnight
# (a spring night 23:30 is the next day's 00:30 with the summer offset: the two-day span margin).
CHANGES = {
    BERLIN: [date(2026, 3, 29), date(2026, 10, 25)],
    "America/Havana": [date(2026, 3, 8), date(2026, 11, 1)],
}


def test_a_range_without_a_change_needs_one_offset() -> None:
    d = DuckDbDialect()
    summer = (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
    assert len(segments_within(BERLIN, summer)) == 1
    assert "CASE" not in d.local_micros("e.timestamp", BERLIN, summer)
    spring = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert [off for _, off in segments_within(BERLIN, spring)] == [3600 * 10**6, 7200 * 10**6]
    assert "timezone(" in d.local_micros("e.timestamp", BERLIN)  # no span: ICU, 241 offsets


def test_early_activity_in_another_offset_stays_before_the_range(chdb_pool: ChdbPool) -> None:
    """The range lies in summer time (one offset); the first activity is a winter night, which
    that offset would move to the next day: it must still count as before the range."""
    rows = [
        Row("a", "sign_up", datetime(2026, 1, 10, 23, 30)),  # winter: first start, first active
        Row("a", "sign_up", datetime(2026, 7, 6, 9)),
        Row("a", "open", datetime(2026, 7, 7, 9)),
        Row("b", "sign_up", datetime(2026, 7, 4, 23, 30)),  # two days before the range
        Row("b", "open", datetime(2026, 7, 5, 0, 30)),
        Row("c", "sign_up", datetime(2026, 7, 6, 23, 59, 59)),
        Row("c", "open", datetime(2026, 7, 7, 0, 0)),
    ]
    loaded = load_log(rows, chdb_pool, tz=BERLIN)
    q = {
        "start_event": "sign_up",
        "return_event": "$any",
        "period": "day",
        "periods": 1,
        "date_from": date(2026, 7, 6),
        "date_to": date(2026, 7, 6),
    }
    answer = test_retention.run_both(loaded.duck, loaded.ch, q)
    assert test_retention.engine_rows(answer) == [(None, "2026-07-06", 1, [1, 1])]  # c only
    assert test_retention.engine_rows(answer) == test_retention.reference(loaded.frame, q)
    lq = {"event": "sign_up", "date_from": date(2026, 7, 6), "date_to": date(2026, 7, 6)}
    life = test_lifecycle.run_both(loaded.duck, loaded.ch, lq)
    assert life["new"] == (["2026-07-06"], [1])  # c; a was active in January
    assert life["resurrecting"] == (["2026-07-06"], [1])
    assert life == test_lifecycle.reference(loaded.frame, lq)


def test_the_evening_before_a_midnight_change_stays_before_the_range(chdb_pool: ChdbPool) -> None:
    """Havana springs forward at midnight: 23:30 on March 7th with the summer offset would be
    00:30 on the 8th, the range's first day. The span reaches two days back, so it is exact."""
    rows = [
        Row("x", "open", datetime(2026, 3, 7, 23, 30)),
        Row("y", "open", datetime(2026, 3, 8, 1, 30)),  # the first hour that exists that day
        Row("y", "open", datetime(2026, 3, 9, 12)),
    ]
    loaded = load_log(rows, chdb_pool, tz="America/Havana")
    lq = {"event": "open", "date_from": date(2026, 3, 8), "date_to": date(2026, 3, 9)}
    life = test_lifecycle.run_both(loaded.duck, loaded.ch, lq)
    assert life["new"] == (["2026-03-08", "2026-03-09"], [1, 0])  # y
    assert life["dormant"] == (["2026-03-08", "2026-03-09"], [-1, 0])  # x, active the 7th
    assert life == test_lifecycle.reference(loaded.frame, lq)
    q = {"period": "day", "periods": 1, "date_from": date(2026, 3, 8), "date_to": date(2026, 3, 8)}
    answer = test_retention.run_both(loaded.duck, loaded.ch, q)
    assert test_retention.engine_rows(answer) == [(None, "2026-03-08", 1, [1, 1])]
    assert test_retention.engine_rows(answer) == test_retention.reference(loaded.frame, q)


TIMES = st.one_of(
    st.sampled_from([time(0, 0), time(23, 59, 59), time(0, 30), time(1, 59), time(2, 30)]),
    st.builds(time, st.integers(0, 23), st.sampled_from([0, 30])),
)


Case = tuple[str, list[Row], dict[str, Any], dict[str, Any]]


@st.composite
def logs_around_a_change(draw: st.DrawFn) -> Case:
    """A zone, a log of ten days around one of its DST changes (and a few events weeks before),
    a retention query and a lifecycle query whose ranges hold the change, start on its day or
    right after it."""
    tz = draw(st.sampled_from(sorted(CHANGES)))
    change = draw(st.sampled_from(CHANGES[tz]))
    base = change - timedelta(days=5)
    row = st.builds(
        lambda person, event, day, t: Row(person, event, datetime.combine(day, t)),
        st.sampled_from("abcde"),
        st.sampled_from(["open", "open", "buy", "$set"]),
        st.one_of(
            st.integers(0, 10).map(lambda k: base + timedelta(days=k)),
            st.sampled_from([base - timedelta(days=40), base - timedelta(days=3)]),
        ),
        TIMES,
    )
    rows = draw(st.lists(row, min_size=1, max_size=30))
    first = base + timedelta(days=draw(st.integers(0, 8)))
    last = first + timedelta(days=draw(st.integers(0, 2)))
    grain = draw(st.sampled_from(["day", "day", "week"]))
    retention = {
        "start_event": draw(st.sampled_from(["open", "buy", "$any"])),
        "return_event": draw(st.sampled_from(["open", "$any"])),
        "period": grain,
        "periods": draw(st.integers(1, 3)),
        "date_from": first,
        "date_to": last,
        "mode": draw(st.sampled_from(["on", "within"])),
        "cohort": draw(st.sampled_from(["first_event", "any_start"])),
    }
    lifecycle = {
        "event": draw(st.sampled_from(["open", "$any"])),
        "interval": grain,
        "date_from": first,
        "date_to": last,
    }
    return tz, rows, retention, lifecycle


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=logs_around_a_change())
def test_random_logs_around_a_change_equal_the_references(chdb_pool: ChdbPool, case: Case) -> None:
    tz, rows, retention, lifecycle = case
    loaded = load_log(rows, chdb_pool, tz=tz)
    answer = test_retention.run_both(loaded.duck, loaded.ch, retention)
    assert test_retention.engine_rows(answer) == test_retention.reference(loaded.frame, retention)
    life = test_lifecycle.run_both(loaded.duck, loaded.ch, lifecycle)
    assert life == test_lifecycle.reference(loaded.frame, lifecycle)


def _trend_reference(frame: Any, interval: str, math: str, lo: date, hi: date) -> dict[str, float]:
    """label -> value from each event's local time (zoneinfo), the engines' label spelling."""
    fmt = "%Y-%m-%d %H:00" if interval == "hour" else "%Y-%m-%d"
    seen: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    for person, event, local in zip(frame["person"], frame["event"], frame["local"], strict=True):
        if event != "open" or not lo <= local.date() <= hi:
            continue
        label = local.strftime(fmt)
        counts[label] = counts.get(label, 0) + 1
        seen.setdefault(label, set()).add(person)
    if math == "total":
        return {k: float(v) for k, v in counts.items()}
    return {k: float(len(v)) for k, v in seen.items()}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=logs_around_a_change(), interval=st.sampled_from(["day", "hour"]))
def test_trends_around_a_change_equal_the_reference(
    chdb_pool: ChdbPool, case: Case, interval: str
) -> None:
    """Trends label each event's hour or day with the offsets over their range: the hour a DST
    change repeats is one label, the skipped one none, on both engines."""
    tz, rows, retention, _ = case
    loaded = load_log(rows, chdb_pool, tz=tz)
    lo, hi = retention["date_from"], retention["date_to"]
    for math in ("total", "unique_users"):
        q = TrendsQuery.model_validate(
            {
                "series": [{"event": "open", "math": math}],
                "interval": interval,
                "date_from": lo,
                "date_to": hi,
            }
        )
        answer = run_trends(loaded.duck, q)
        assert run_trends(loaded.ch, q) == answer
        (line,) = answer["results"]
        got = {k: v for k, v in zip(line["dates"], line["values"], strict=True) if v}
        assert got == _trend_reference(loaded.frame, interval, math, lo, hi)
