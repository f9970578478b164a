"""A time zone's UTC offsets as segments, so engines compute local time with integer arithmetic.

Converting every event with the engine's time-zone library (ICU in DuckDB) costs ~10× more than
adding the offset in force at that instant. The offsets come from the IANA database (zoneinfo),
DST included; an instant's offset is found by a balanced CASE over the segment starts. Zones with
many transitions (DST zones: ~250 from 1970 to 2100) would make that CASE huge, so for them the
dialects fall back to the engine's own conversion (`uses_arithmetic`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

MICROS = 1_000_000
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


def uses_arithmetic(tz: str) -> bool:
    """True for zones with a few offsets only (Asia/Shanghai, UTC, ...)."""
    return len(offset_segments(tz)) <= MAX_SEGMENTS


def offset_case(micros: str, tz: str) -> str:
    """SQL for the offset (micros) in force at epoch-micros expression `micros`."""
    segments = offset_segments(tz)

    def build(lo: int, hi: int) -> str:
        if hi - lo == 1:
            return str(segments[lo][1])
        mid = (lo + hi) // 2
        return (
            f"CASE WHEN {micros} < {segments[mid][0]} THEN {build(lo, mid)}"
            f" ELSE {build(mid, hi)} END"
        )

    return build(0, len(segments))
