"""Event volume by type and day: the DuckDB query and the page against a plain Python reference."""

from __future__ import annotations

import csv
import io
import itertools
import re
import uuid as uuidlib
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from opsloop.events import IncomingEvent, open_event_store
from opsloop.events.activity import EventVolume, VolumeSeries, event_volume
from tests.conftest import LiveServer
from tests.web.conftest import Login, send_events, sign_in

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def reference(
    events: list[tuple[str, datetime]], timezone: str, now: datetime, days: int = 30
) -> EventVolume:
    """Count in Python: each event's local date, kept when it falls in the last `days` days."""
    tz = ZoneInfo(timezone)
    today = now.astimezone(tz).date()
    window = [today - timedelta(days=days - 1 - i) for i in range(days)]
    counts = Counter(
        (name, ts.astimezone(tz).date())
        for name, ts in events
        if ts.astimezone(tz).date() in window
    )
    names = sorted(
        {name for name, _ in counts},
        key=lambda n: (-sum(c for (m, _), c in counts.items() if m == n), n),
    )
    series = tuple(
        VolumeSeries(n, tuple(counts[(n, d)] for d in window), sum(counts[(n, d)] for d in window))
        for n in names
    )
    totals = tuple(sum(counts[(n, d)] for n in names) for d in window)
    return EventVolume(timezone, tuple(window), series, totals, sum(totals))


def test_volume_matches_the_reference(tmp_path: Path) -> None:
    store = open_event_store(tmp_path / "events.duckdb")
    workspaces = itertools.count(1)
    offsets = st.one_of(
        st.integers(-40 * 86400, 86400),
        # Right around local midnights, where a wrong time zone shows.
        st.tuples(st.integers(-35, 0), st.integers(-2, 2)).map(lambda t: t[0] * 86400 + t[1]),
    )

    @settings(max_examples=40, deadline=None)
    @given(
        timezone=st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York", "Asia/Kolkata"]),
        raw=st.lists(
            st.tuples(st.sampled_from(["pay", "view", "签到", "$set"]), offsets), max_size=60
        ),
    )
    def check(timezone: str, raw: list[tuple[str, int]]) -> None:
        ws = next(workspaces)
        tz = ZoneInfo(timezone)
        midnight = datetime.combine(NOW.astimezone(tz).date(), time(0), tzinfo=tz)
        events = [(name, (midnight + timedelta(seconds=s)).astimezone(UTC)) for name, s in raw]
        store.write_events(
            [
                IncomingEvent(ws, str(uuidlib.uuid4()), name, "u", ts, {}, "native")
                for name, ts in events
            ]
        )
        assert event_volume(store, ws, timezone, now=NOW) == reference(events, timezone, NOW)

    try:
        check()
    finally:
        store.close()


def test_an_empty_workspace_has_thirty_empty_days(tmp_path: Path) -> None:
    store = open_event_store(tmp_path / "events.duckdb")
    try:
        vol = event_volume(store, 1, "Asia/Shanghai", now=NOW)
    finally:
        store.close()
    assert (vol.days[0], vol.days[-1]) == (date(2026, 10, 30), date(2026, 11, 28))
    assert (len(vol.days), vol.series, vol.totals, vol.total) == (30, (), (0,) * 30, 0)


def _volume_table(html: str) -> tuple[list[date], dict[str, list[int]]]:
    table = re.search(r'<table class="volume-table".*?</table>', html, re.S)
    assert table
    days = [date.fromisoformat(d) for d in re.findall(r'data-day="([^"]+)"', table.group(0))]
    rows: dict[str, list[int]] = {}
    for name, body in re.findall(r'<tr data-event="([^"]*)">(.*?)</tr>', table.group(0), re.S):
        cells = re.findall(r'<td class="num[^"]*">([^<]*)</td>', body)
        rows[name] = [int(c.replace(",", "")) for c in cells]
    return days, rows


def test_the_page_shows_the_reference_numbers(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    tz = ZoneInfo(live_server.workspace.timezone)
    before = datetime.now(UTC)
    midnight = datetime.combine(before.astimezone(tz).date(), time(0), tzinfo=tz)
    offsets = [-1, 0, 1, -86401, -86400, -3 * 86400 + 7, -29 * 86400, -29 * 86400 - 1, -40 * 86400]
    sent = [
        (name, (midnight + timedelta(seconds=off)).astimezone(UTC))
        for i, off in enumerate(offsets)
        for name in ("pay", "view_item", "签到")[: 1 + i % 3]
    ]
    sent = [(n, ts) for n, ts in sent if ts <= before]
    send_events(
        live_server,
        [{"event": n, "distinct_id": "u1", "timestamp": ts.isoformat()} for n, ts in sent],
    )
    sign_in(client, login)
    page = client.get("/events/volume")
    after = datetime.now(UTC)
    days, rows = _volume_table(page.text)
    assert days[-1] in (before.astimezone(tz).date(), after.astimezone(tz).date())
    expected = reference(
        sent, live_server.workspace.timezone, datetime.combine(days[-1], time(12), tzinfo=tz)
    )
    assert days == list(expected.days)
    assert rows == {
        **{s.event: [s.total, *s.counts] for s in expected.series},
        "": [expected.total, *expected.totals],
    }
    assert list(rows)[:-1] == [s.event for s in expected.series]
    kpi = re.search(r'data-testid="kpi-total"[^>]*>([^<]+)<', page.text)
    assert kpi and kpi.group(1) == str(expected.total)
    exported = client.get("/events/volume.csv")
    assert list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")))) == [
        ["event", "total", *(d.isoformat() for d in expected.days)],
        *([s.event, str(s.total), *map(str, s.counts)] for s in expected.series),
    ]


def test_large_numbers_read_as_wan_and_yi_in_chinese() -> None:
    from opsloop.web.i18n import format_compact, format_number

    assert [format_compact(v, "zh-CN") for v in (9999, 12_345, 123_456_789)] == [
        "9,999",
        "1.2万",
        "1.2亿",
    ]
    assert [format_compact(v, "en") for v in (9999, 12_345, 123_456_789)] == [
        "9,999",
        "12.3K",
        "123.5M",
    ]
    assert format_number(1234567.5, "zh-CN") == format_number(1234567.5, "en") == "1,234,567.5"
