"""Slowing down password guessing: failed sign-ins counted per email and address."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_FAILURES = 5
WINDOW_SECONDS = 300.0
# Past this many keys, expired ones are swept so that the table cannot grow without bound.
MAX_TRACKED = 10_000


class LoginThrottle:
    """At most `max_failures` failed sign-ins per (email, address) within `window` seconds.

    Kept in the server's memory: a restart forgets the counts, which is acceptable for a limit
    that only has to make guessing slow.
    """

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, email: str, address: str) -> float:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        key = (email.strip().lower(), address)
        with self._lock:
            now = self._clock()
            times = self._recent(key, now)
            if len(times) < self.max_failures:
                return 0.0
            return self.window - (now - times[0])

    def record_failure(self, email: str, address: str) -> None:
        key = (email.strip().lower(), address)
        with self._lock:
            now = self._clock()
            if len(self._failures) >= MAX_TRACKED:
                for old in list(self._failures):
                    self._recent(old, now)
            self._recent(key, now)
            self._failures.setdefault(key, deque()).append(now)

    def reset(self, email: str, address: str) -> None:
        with self._lock:
            self._failures.pop((email.strip().lower(), address), None)
