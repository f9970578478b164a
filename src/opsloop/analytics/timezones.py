"""A time zone's UTC offsets as segments, so engines compute local time with integer arithmetic.

Converting every event with the engine's time-zone library (ICU in DuckDB) costs ~10× more than
adding the offset in force at that instant. The offsets come from the IANA database (zoneinfo),
DST included; an instant's offset is found by a balanced CASE over the segment starts. Zones with
many transitions (DST zones: ~250 from 1970 to 2100) would make that CASE huge, so for them the
dialects fall back to the engine's own conversion (`uses_arithmetic`).

A query knows the instants it reads: with a `Span` only the segments overlapping it are needed,
one offset for most zones and ranges (a DST zone over a quarter: two or three). Instants outside
the span get the offset of the span's first or last segment: exact inside, and a query reading
instants before its span (first-ever activity) gives the span two days before its first day, so
those instants still fall before that day whatever offset they get (offsets differ by at most
26 hours). At 10.5M events, Europe/Berlin's local day cost 1.88 s of CPU through ICU and 0.17 s
with its one offset over the range.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

MICROS = 1_000_000
# [from, to) in UTC, either end open (None): the instants a query computes local time for.
Span = tuple[datetime | None, datetime | None]
FIRST = datetime(1970, 1, 1, tzinfo=UTC)
LAST = datetime(2100, 1, 1, tzinfo=UTC)


def _offset(zone: ZoneInfo, at: datetime) -> int:
    off = at.astimezone(zone).utcoffset()
    return int(off.total_seconds()) * MICROS if off is not None else 0


@lru_cache(maxsize=64)
def offset_segments(tz: str) -> tuple[tuple[int, int], ...]:
    """((start epoch micros, offset micros), ...): the offset in force from each start on."""
    zone = ZoneInfo(tz)
    segments = [(-(2**62), _offset(zone, FIRST))]
    day = timedelta(days=1)
    at = FIRST
    current = segments[0][1]
    while at < LAST:
        nxt = at + day
        off = _offset(zone, nxt)
        if off != current:
            lo, hi = at, nxt  # the change lies in (lo, hi]: find it to the second
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if _offset(zone, mid) == current:
                    lo = mid
                else:
                    hi = mid
            start = int((hi - FIRST).total_seconds()) * MICROS
            segments.append((start, off))
            current = off
        at = nxt
    return tuple(segments)


MAX_SEGMENTS = 16


def _micros(at: datetime) -> int:
    return (at - FIRST) // timedelta(microseconds=1)


def segments_within(tz: str, span: Span | None = None) -> tuple[tuple[int, int], ...]:
    """The zone's segments that overlap `span` (all of them without one)."""
    segments = offset_segments(tz)
    if span is None:
        return segments
    lo = None if span[0] is None else _micros(span[0])
    hi = None if span[1] is None else _micros(span[1])
    ends = [start for start, _ in segments[1:]] + [2**62]
    return tuple(
        seg
        for seg, end in zip(segments, ends, strict=True)
        if (hi is None or seg[0] < hi) and (lo is None or end > lo)
    )


def uses_arithmetic(tz: str, span: Span | None = None) -> bool:
    """True for zones with a few offsets (Asia/Shanghai, UTC, ...) or a few over the span."""
    return len(segments_within(tz, span)) <= MAX_SEGMENTS


def offset_case(micros: str, tz: str, span: Span | None = None) -> str:
    """SQL for the offset (micros) in force at epoch-micros expression `micros`, exact for the
    instants in `span`."""
    segments = segments_within(tz, span)

    def build(lo: int, hi: int) -> str:
        if hi - lo == 1:
            return str(segments[lo][1])
        mid = (lo + hi) // 2
        return (
            f"CASE WHEN {micros} < {segments[mid][0]} THEN {build(lo, mid)}"
            f" ELSE {build(mid, hi)} END"
        )

    return build(0, len(segments))
