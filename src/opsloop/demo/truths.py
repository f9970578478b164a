"""The planted truths of the demo world, measured back from the event store after the build.

Each truth states what was planted (the simulator's target, `planted`) and what the stored
events actually say (`expected`, exact for this seed and size, computed here in SQL). Analyses
that find a truth must land within `tolerance` of `expected`; `planted_tolerance` says, per
planted value, how far sampling noise may carry `expected` from it (four standard errors, at
least 0.01), so small worlds are honest about how blurred their stories are.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from opsloop.demo.scenario import World
from opsloop.events import EventStore

RATE_TOLERANCE = 0.001


@dataclass(frozen=True, slots=True)
class Truth:
    id: str
    what: str
    what_zh: str
    metric: str
    where: dict[str, Any]
    expected: dict[str, float]
    tolerance: float
    planted: dict[str, float]
    planted_tolerance: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        # Targets like 1.3 / 1.0 - 1 print as 0.30000000000000004; six decimals say it.
        out["planted"] = {k: round(v, 6) for k, v in self.planted.items()}
        return out


def sigma4(p: float, n: int) -> float:
    """Four binomial standard errors of a rate p measured on n people, at least 0.01."""
    if n <= 0:
        return 1.0
    return max(0.01, 4 * math.sqrt(max(p * (1 - p), 0.0025) / n))


def ratio_tolerance(num: float, num_tol: float, den: float, den_tol: float) -> float:
    """How far num/den may move when num and den each move within their tolerances."""
    if den - den_tol <= 0:
        return 10.0
    centre = num / den
    high = (num + num_tol) / (den - den_tol)
    low = (num - num_tol) / (den + den_tol)
    return max(high - centre, centre - low)


def product_tolerance(a: float, a_tol: float, b: float, b_tol: float) -> float:
    """How far a*b may move when a and b each move within their tolerances (a, b > 0)."""
    return max((a + a_tol) * (b + b_tol) - a * b, a * b - max(a - a_tol, 0) * max(b - b_tol, 0))


def rate(num: float, den: float) -> float:
    return num / den if den else 0.0


class EventQuery:
    """Queries over one workspace's demo events, with the local day of each event."""

    def __init__(self, store: EventStore, workspace_id: int, world: World) -> None:
        self.cur = store.cursor()
        tz = world.cal.timezone.replace("'", "''")
        self.ev = (
            "(SELECT distinct_id, event, timestamp, properties,"
            f" CAST(timezone('{tz}', timestamp) AS DATE) AS day FROM events"
            f" WHERE workspace_id = {int(workspace_id)} AND source = 'demo')"
        )

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.cur.execute(sql.replace("{ev}", self.ev), params or []).fetchall()

    def close(self) -> None:
        self.cur.close()
