"""The sign-in rate limit with a clock the test moves."""

from __future__ import annotations

from opsloop.accounts.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_block_until_the_first_ages_out() -> None:
    clock = Clock()
    t = LoginThrottle(max_failures=5, window=300, clock=clock)
    waits = []
    for _ in range(5):
        waits.append(t.retry_after("A@x.com", "1.2.3.4"))
        t.record_failure("a@x.com", "1.2.3.4")
        clock.now += 10
    # Five failures at 1000, 1010, ..., 1040; now 1050: blocked until 1300.
    assert waits == [0.0] * 5
    assert t.retry_after("a@x.com", "1.2.3.4") == 250.0
    assert (t.retry_after("b@x.com", "1.2.3.4"), t.retry_after("a@x.com", "5.6.7.8")) == (0, 0)
    clock.now = 1300.0
    assert t.retry_after("a@x.com", "1.2.3.4") == 0.0
    t.record_failure("a@x.com", "1.2.3.4")
    assert t.retry_after("a@x.com", "1.2.3.4") == 10.0  # the one at 1010 ages out at 1310
    t.reset("a@x.com", "1.2.3.4")
    assert t.retry_after("a@x.com", "1.2.3.4") == 0.0
