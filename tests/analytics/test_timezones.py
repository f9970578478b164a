"""Local time by integer arithmetic equals zoneinfo, DST transitions included, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from opsloop.analytics.dialect import ClickHouseDialect, Dialect, DuckDbDialect
from opsloop.analytics.timezones import offset_segments
from tests.analytics.logs import ChdbPool

ZONES = ["Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "UTC"]
instants = st.datetimes(
    min_value=datetime(1985, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


def _expected(ts: datetime, tz: str) -> tuple[str, str, str, str]:
    local = ts.astimezone(ZoneInfo(tz))
    monday = local.date() - timedelta(days=local.weekday())
    return (
        local.strftime("%Y-%m-%d"),
        local.strftime("%Y-%m-%d %H:00"),
        monday.isoformat(),
        local.strftime("%Y-%m"),
    )


def _sql(d: Dialect, ts: datetime, tz: str) -> str:
    t = d.timestamp(ts)
    return (
        f"SELECT {d.date_text(d.local_date(t, tz))}, {d.bucket_label('hour', t, tz)},"
        f" {d.bucket_label('week', t, tz)}, {d.bucket_label('month', t, tz)}"
    )


@settings(max_examples=60, deadline=None)
@given(ts=instants, tz=st.sampled_from(ZONES))
def test_duckdb_local_time_equals_zoneinfo(ts: datetime, tz: str) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    assert con.execute(_sql(DuckDbDialect(), ts, tz)).fetchone() == _expected(ts, tz)


def test_clickhouse_local_time_equals_zoneinfo_around_transitions(chdb_pool: ChdbPool) -> None:
    d = ClickHouseDialect()
    for tz in ZONES:
        starts = [s for s, _ in offset_segments(tz)[1:] if 0 < s < 2_200_000_000 * 10**6][:6]
        for s in starts:
            for delta in (-1, 0, 1, 3600):
                ts = datetime.fromtimestamp(s / 1e6 + delta, UTC)
                got = chdb_pool.session.query(_sql(d, ts, tz), "CSV").bytes().decode()
                assert got.strip().replace('"', "").split(",") == list(_expected(ts, tz)), (tz, ts)


def test_segments_of_a_zone_without_dst_today() -> None:
    segments = offset_segments("Asia/Shanghai")
    assert segments[-1][1] == 8 * 3600 * 10**6
    assert len(segments) < 20  # China's DST of 1986-1991 only
