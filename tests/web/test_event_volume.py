"""Event volume by type and day: the DuckDB query and the page against a plain Python reference."""

from __future__ import annotations

import csv
import io
import itertools
import re
import uuid as uuidlib
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsloop.events import IncomingEvent, open_event_store
from opsloop.events.activity import (
    DayRange,
    EventVolume,
    VolumeSeries,
    default_volume_range,
    event_volume,
)
from opsloop.events.pages import (
    MSG_BAD_DATE,
    MSG_DAY_BOUNDS,
    MSG_REVERSED,
    MSG_TOO_LONG,
    RangeProblem,
    requested_range,
)
from opsloop.events.store import EventStore
from opsloop.web.export import XLSX_MEDIA_TYPE
from opsloop.web.i18n import format_compact, format_day_range
from tests.conftest import LiveServer
from tests.web.conftest import Login, send_events, sign_in

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
TIMEZONES = ["Asia/Shanghai", "UTC", "America/New_York", "Asia/Kolkata"]


def reference(
    events: list[tuple[str, datetime]], timezone: str, first: date, last: date
) -> EventVolume:
    """Count in Python: each event's local date, kept when it falls from `first` to `last`."""
    tz = ZoneInfo(timezone)
    window = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    counts = Counter(
        (name, ts.astimezone(tz).date())
        for name, ts in events
        if first <= ts.astimezone(tz).date() <= last
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


def reference_default(events: list[tuple[str, datetime]], timezone: str, now: datetime) -> DayRange:
    """The 30 days ending today if any event is in them, else ending on the newest event's day."""
    tz = ZoneInfo(timezone)
    today = now.astimezone(tz).date()
    local_days = [ts.astimezone(tz).date() for _, ts in events]
    if not local_days or any(today - timedelta(days=29) <= d <= today for d in local_days):
        last = today
    else:
        last = max(local_days)
    return DayRange(last - timedelta(days=29), last)


def _write(store: EventStore, ws: int, events: list[tuple[str, datetime]]) -> None:
    store.write_events(
        [
            IncomingEvent(ws, str(uuidlib.uuid4()), name, "u", ts, {}, "native")
            for name, ts in events
        ]
    )


def _local_events(timezone: str, raw: list[tuple[str, int]]) -> list[tuple[str, datetime]]:
    """Events at offsets (seconds) from local midnight of NOW's day."""
    tz = ZoneInfo(timezone)
    midnight = datetime.combine(NOW.astimezone(tz).date(), time(0), tzinfo=tz)
    return [(name, (midnight + timedelta(seconds=s)).astimezone(UTC)) for name, s in raw]


OFFSETS = st.one_of(
    st.integers(-120 * 86400, 3 * 86400),
    # Right around local midnights, where a wrong time zone shows.
    st.tuples(st.integers(-100, 2), st.integers(-2, 2)).map(lambda t: t[0] * 86400 + t[1]),
)
NAMES = st.sampled_from(["pay", "view", "签到", "$set"])


def test_volume_matches_the_reference(tmp_path: Path) -> None:
    store = open_event_store(tmp_path / "events.duckdb")
    workspaces = itertools.count(1)

    @settings(max_examples=40, deadline=None)
    @given(
        timezone=st.sampled_from(TIMEZONES),
        raw=st.lists(st.tuples(NAMES, OFFSETS), max_size=60),
        start=st.integers(-110, 2),
        length=st.integers(1, 120),
    )
    def check(timezone: str, raw: list[tuple[str, int]], start: int, length: int) -> None:
        ws = next(workspaces)
        events = _local_events(timezone, raw)
        _write(store, ws, events)
        first = NOW.astimezone(ZoneInfo(timezone)).date() + timedelta(days=start)
        days = DayRange(first, first + timedelta(days=length - 1))
        assert event_volume(store, ws, timezone, days) == reference(
            events, timezone, days.first, days.last
        )

    try:
        check()
    finally:
        store.close()


def test_the_default_range_follows_the_data(tmp_path: Path) -> None:
    store = open_event_store(tmp_path / "events.duckdb")
    workspaces = itertools.count(1)

    @settings(max_examples=40, deadline=None)
    @given(
        timezone=st.sampled_from(TIMEZONES),
        raw=st.lists(st.tuples(NAMES, OFFSETS), max_size=8),
    )
    def check(timezone: str, raw: list[tuple[str, int]]) -> None:
        ws = next(workspaces)
        events = _local_events(timezone, raw)
        _write(store, ws, events)
        chosen = default_volume_range(store, ws, timezone, now=NOW)
        assert chosen == reference_default(events, timezone, NOW)

    try:
        check()
    finally:
        store.close()


def test_an_empty_workspace_has_thirty_empty_days_ending_today(tmp_path: Path) -> None:
    store = open_event_store(tmp_path / "events.duckdb")
    try:
        days = default_volume_range(store, 1, "Asia/Shanghai", now=NOW)
        vol = event_volume(store, 1, "Asia/Shanghai", days)
    finally:
        store.close()
    assert days == DayRange(date(2026, 10, 30), date(2026, 11, 28))
    assert (len(vol.days), vol.series, vol.totals, vol.total) == (30, (), (0,) * 30, 0)


def test_requested_ranges_are_checked() -> None:
    ok = {
        (None, None): None,
        ("", " "): None,
        ("2026-11-01", "2026-11-30"): DayRange(date(2026, 11, 1), date(2026, 11, 30)),
        ("2026-11-01", "2026-11-01"): DayRange(date(2026, 11, 1), date(2026, 11, 1)),
        ("2026-11-01", None): DayRange(date(2026, 11, 1), date(2026, 11, 30)),
        (None, "2026-11-30"): DayRange(date(2026, 11, 1), date(2026, 11, 30)),
        # 366 days: a leap year in full.
        ("2028-01-01", "2028-12-31"): DayRange(date(2028, 1, 1), date(2028, 12, 31)),
        ("1970-01-01", None): DayRange(date(1970, 1, 1), date(1970, 1, 30)),
        (None, "1970-01-02"): DayRange(date(1970, 1, 1), date(1970, 1, 2)),
    }
    assert {k: requested_range(*k) for k in ok} == ok
    bad = {
        ("2026-13-01", None): (MSG_BAD_DATE, "from"),
        ("yesterday", "2026-11-30"): (MSG_BAD_DATE, "from"),
        ("2026-11-01", "30/11/2026"): (MSG_BAD_DATE, "to"),
        ("2026-11-30", "2026-11-01"): (MSG_REVERSED, "from"),
        ("2025-01-01", "2026-01-02"): (MSG_TOO_LONG, "to"),
        ("0001-01-01", "0001-01-02"): (MSG_DAY_BOUNDS, "from"),
        ("9999-12-01", "9999-12-31"): (MSG_DAY_BOUNDS, "from"),
        ("1969-12-31", None): (MSG_DAY_BOUNDS, "from"),
    }
    found = {}
    for (date_from, date_to), _ in bad.items():
        with pytest.raises(RangeProblem) as caught:
            requested_range(date_from, date_to)
        found[(date_from, date_to)] = (caught.value.message, caught.value.field)
    assert found == bad


def _volume_table(html: str) -> tuple[list[date], dict[str, list[int]]]:
    table = re.search(r'<table class="volume-table".*?</table>', html, re.S)
    assert table
    days = [date.fromisoformat(d) for d in re.findall(r'data-day="([^"]+)"', table.group(0))]
    rows: dict[str, list[int]] = {}
    for name, body in re.findall(r'<tr data-event="([^"]*)">(.*?)</tr>', table.group(0), re.S):
        cells = re.findall(r'<td class="num[^"]*">([^<]*)</td>', body)
        rows[name] = [int(c.replace(",", "")) for c in cells]
    return days, rows


def _kpis(html: str) -> dict[str, str]:
    found = dict(re.findall(r'data-testid="(kpi-[a-z-]+)"[^>]*>([^<]+)<', html))
    return {k: unescape(v) for k, v in found.items()}


def _range_shown(html: str) -> str:
    match = re.search(r'data-testid="range-shown">([^<]+)<', html)
    assert match
    return unescape(match.group(1))


def _form_values(html: str) -> tuple[str, str]:
    values = [
        unescape(re.search(rf'<input id="range-{name}"[^>]*value="([^"]*)"', html).group(1))  # type: ignore[union-attr]
        for name in ("from", "to")
    ]
    return values[0], values[1]


def _expected_kpis(
    expected: EventVolume, days: DayRange, today: date, lang: str = "zh-CN"
) -> dict[str, str]:
    labels = {
        ("zh-CN", True): "今日事件数",
        ("en", True): "Events today",
        ("zh-CN", False): f"{days.last.month}月{days.last.day}日事件数",
        ("en", False): f"Events on {days.last.strftime('%b')} {days.last.day}",
    }
    return {
        "kpi-total": format_compact(expected.total, lang),
        "kpi-last-day-label": labels[(lang, days.last == today)],
        "kpi-last-day": format_compact(expected.totals[-1], lang),
        "kpi-types": str(len(expected.series)),
        "kpi-average": format_compact(round(expected.total / len(expected.days), 1), lang),
    }


def _check_page_and_exports(
    client: httpx.Client,
    page: httpx.Response,
    expected: EventVolume,
    days: DayRange,
    today: date,
    lang: str = "zh-CN",
) -> None:
    """The page's table, KPI cards and both downloads against the reference."""
    shown_days, rows = _volume_table(page.text)
    assert shown_days == list(expected.days)
    assert rows == {
        **{s.event: [s.total, *s.counts] for s in expected.series},
        "": [expected.total, *expected.totals],
    }
    assert list(rows)[:-1] == [s.event for s in expected.series]
    assert _kpis(page.text) == _expected_kpis(expected, days, today, lang)
    assert _range_shown(page.text) == format_day_range(days.first, days.last, lang)
    assert _form_values(page.text) == (days.first.isoformat(), days.last.isoformat())
    links = dict(re.findall(r'href="([^"]+)" download data-testid="(export[^"]*)"', page.text))
    query = f"from={days.first.isoformat()}&amp;to={days.last.isoformat()}"
    assert links == {
        f"/events/volume.csv?{query}": "export",
        f"/events/volume.xlsx?{query}": "export-xlsx",
    }
    header = ["event", "total", *(d.isoformat() for d in expected.days)]
    exported = client.get(unescape(f"/events/volume.csv?{query}"))
    assert list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")))) == [
        header,
        *([s.event, str(s.total), *map(str, s.counts)] for s in expected.series),
    ]
    xlsx = client.get(unescape(f"/events/volume.xlsx?{query}"))
    assert xlsx.status_code == 200
    assert xlsx.headers["content-type"] == XLSX_MEDIA_TYPE
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    sheet = book.active
    assert sheet is not None
    assert (book.sheetnames, sheet.freeze_panes) == (
        ["事件量" if lang == "zh-CN" else "Event volume"],
        "B2",
    )
    assert list(sheet.iter_rows(values_only=True)) == [
        tuple(header),
        *((s.event, s.total, *s.counts) for s in expected.series),
    ]


def _send(server: LiveServer, sent: list[tuple[str, datetime]]) -> None:
    send_events(
        server, [{"event": n, "distinct_id": "u1", "timestamp": ts.isoformat()} for n, ts in sent]
    )


def test_the_page_shows_the_reference_numbers(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    timezone = live_server.workspace.timezone
    tz = ZoneInfo(timezone)
    before = datetime.now(UTC)
    midnight = datetime.combine(before.astimezone(tz).date(), time(0), tzinfo=tz)
    offsets = [-1, 0, 1, -86401, -86400, -3 * 86400 + 7, -29 * 86400, -29 * 86400 - 1, -40 * 86400]
    sent = [
        (name, (midnight + timedelta(seconds=off)).astimezone(UTC))
        for i, off in enumerate(offsets)
        for name in ("pay", "view_item", "签到")[: 1 + i % 3]
    ]
    sent = [(n, ts) for n, ts in sent if ts <= before]
    _send(live_server, sent)
    sign_in(client, login)
    page = client.get("/events/volume")
    after = datetime.now(UTC)
    assert page.status_code == 200
    days, _ = _volume_table(page.text)
    # The page was drawn on one of these two days (the test may straddle a midnight).
    today = days[-1]
    assert today in (before.astimezone(tz).date(), after.astimezone(tz).date())
    shown = DayRange(today - timedelta(days=29), today)
    expected = reference(sent, timezone, shown.first, shown.last)
    assert 'data-testid="range-note"' not in page.text
    _check_page_and_exports(client, page, expected, shown, today)


def test_old_history_shows_the_thirty_days_up_to_the_newest_event(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    """Imported history that ends months ago: the default range ends on its last day."""
    timezone = live_server.workspace.timezone
    tz = ZoneInfo(timezone)
    newest_day = datetime.now(UTC).astimezone(tz).date() - timedelta(days=200)
    midnight = datetime.combine(newest_day, time(0), tzinfo=tz)
    offsets = [86399, 3600, -1, -5 * 86400, -29 * 86400, -29 * 86400 - 1, -60 * 86400]
    sent = [
        (name, (midnight + timedelta(seconds=off)).astimezone(UTC))
        for i, off in enumerate(offsets)
        for name in ("pay", "签到")[: 1 + i % 2]
    ]
    _send(live_server, sent)
    sign_in(client, login)
    page = client.get("/events/volume")
    assert page.status_code == 200
    shown = DayRange(newest_day - timedelta(days=29), newest_day)
    expected = reference(sent, timezone, shown.first, shown.last)
    assert expected.totals[-1] == 3  # the newest day is the last one shown
    today = datetime.now(UTC).astimezone(tz).date()
    _check_page_and_exports(client, page, expected, shown, today)
    assert "最近 30 天没有事件，因此显示截至最新事件的 30 天。" in page.text
    # The same page in English, and an explicit range around the older events.
    chosen = DayRange(newest_day - timedelta(days=70), newest_day - timedelta(days=20))
    page = client.get(
        "/events/volume",
        params={"from": chosen.first.isoformat(), "to": chosen.last.isoformat(), "lang": "en"},
    )
    assert page.status_code == 200
    expected = reference(sent, timezone, chosen.first, chosen.last)
    assert 'data-testid="range-note"' not in page.text
    _check_page_and_exports(client, page, expected, chosen, today, "en")
    # Earlier / later move by the range's length.
    step = timedelta(days=chosen.days)
    links = dict(re.findall(r'href="([^"]+)" data-testid="range-(earlier|later)"', page.text))
    assert {v: unescape(k) for k, v in links.items()} == {
        "earlier": f"/events/volume?from={chosen.first - step}&to={chosen.last - step}",
        "later": f"/events/volume?from={chosen.first + step}&to={chosen.last + step}",
    }


BAD_RANGES = [
    ({"from": "2026-02-30", "to": "2026-03-10"}, "请按 YYYY-MM-DD 格式输入日期。"),
    ({"from": "2026-11-20", "to": "2026-11-01"}, "开始日期不能晚于结束日期。"),
    ({"from": "2024-01-01", "to": "2026-01-01"}, "最多可选择 366 天。"),
    ({"from": "0001-01-01", "to": "0001-01-05"}, "请选择 1970 年至 2999 年之间的日期。"),
    ({"to": "9999-12-31"}, "请选择 1970 年至 2999 年之间的日期。"),
]


@pytest.mark.parametrize(("params", "message"), BAD_RANGES)
def test_a_bad_range_is_explained_on_the_page(
    client: httpx.Client,
    live_server: LiveServer,
    login: Login,
    params: dict[str, str],
    message: str,
) -> None:
    timezone = live_server.workspace.timezone
    sent = [("pay", datetime.now(UTC) - timedelta(hours=1))]
    _send(live_server, sent)
    sign_in(client, login)
    page = client.get("/events/volume", params=params)
    assert page.status_code == 400
    error = re.search(r'data-testid="range-error">([^<]+)<', page.text)
    assert error
    today = datetime.now(UTC).astimezone(ZoneInfo(timezone)).date()
    shown = DayRange(today - timedelta(days=29), today)
    assert (
        unescape(error.group(1))
        == f"{message} 现显示 {format_day_range(shown.first, shown.last, 'zh-CN')} 的数据。"
    )
    # The form keeps what was typed, so it can be corrected; the default range is shown.
    assert _form_values(page.text) == (params.get("from", ""), params.get("to", ""))
    days, rows = _volume_table(page.text)
    expected = reference(sent, timezone, shown.first, shown.last)
    assert (days, rows[""]) == (list(expected.days), [expected.total, *expected.totals])
    # A download of a bad range is refused with the same reason, as JSON or as a page.
    for fmt in ("csv", "xlsx"):
        r = client.get(f"/events/volume.{fmt}", params=params)
        assert r.status_code == 400
        problem = requested_range_problem(params)
        assert r.json() == {"error": {"code": "invalid_input", **problem}}
    page = client.get("/events/volume.xlsx", params=params, headers={"Accept": "text/html"})
    assert (page.status_code, page.headers["content-type"]) == (400, "text/html; charset=utf-8")
    assert "请求无效" in page.text


def requested_range_problem(params: dict[str, str]) -> dict[str, str]:
    with pytest.raises(RangeProblem) as caught:
        requested_range(params.get("from"), params.get("to"))
    return {"message": str(caught.value), "field": caught.value.field}


def test_large_numbers_read_as_wan_and_yi_in_chinese() -> None:
    from opsloop.web.i18n import format_number

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
