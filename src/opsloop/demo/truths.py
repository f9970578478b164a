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

import numpy as np

from opsloop.demo import catalog as cat
from opsloop.demo.calendar import DemoCalendar
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


# Properties the measurements read, extracted from the JSON once (reading the properties
# column is most of the cost of a query), and the events that carry them.
EXTRACTED = (
    "channel",
    "region",
    "platform",
    "campaign_id",
    "feature",
    "type",
    "variant",
    "experiment_id",
    "content_id",
    "invite_code",
)
MEASURED_EVENTS = (
    "sign_up",
    "checkout",
    "pay",
    "campaign_join",
    "share",
    "invite",
    "use_feature",
    "feedback",
    "experiment_exposure",
    "read_article",
)


def local_day_sql(cal: DemoCalendar) -> str:
    """SQL for the local date of `timestamp`: plain arithmetic when the zone's offset is the
    same all through the range (no daylight saving), else DuckDB's time zone conversion."""
    steps = np.diff(cal.day_start_us)
    if (steps == 86_400_000_000).all():
        first = int(cal.day_start_us[0])
        return (
            f"(DATE '{cal.start.isoformat()}'"
            f" + CAST((epoch_us(timestamp) - {first}) // 86400000000 AS INTEGER))"
        )
    tz = cal.timezone.replace("'", "''")
    return f"CAST(timezone('{tz}', timestamp) AS DATE)"


class EventQuery:
    """One workspace's demo events, laid out for the measurements in two temporary tables of
    the query's own connection: _demo_days (distinct_id, day: when each person was active) and
    _demo_ev (the measured events with their local day and extracted properties)."""

    def __init__(self, store: EventStore, workspace_id: int, world: World) -> None:
        self.cur = store.cursor()
        day = local_day_sql(world.cal)
        scope = f"FROM events WHERE workspace_id = {int(workspace_id)} AND source = 'demo'"
        self.cur.execute(
            f"CREATE TEMP TABLE _demo_days AS SELECT DISTINCT distinct_id, {day} AS day {scope}"
        )
        paths = ", ".join(f"'$.{key}'" for key in EXTRACTED)
        columns = ", ".join(f"p[{i + 1}] AS {key}" for i, key in enumerate(EXTRACTED))
        events = ", ".join(f"'{e}'" for e in MEASURED_EVENTS)
        self.cur.execute(
            "CREATE TEMP TABLE _demo_ev AS SELECT * FROM ("
            f" SELECT distinct_id, event, timestamp, day, {columns} FROM ("
            f"  SELECT distinct_id, event, timestamp, {day} AS day,"
            f"   json_extract_string(properties, [{paths}]) AS p {scope}"
            f"   AND event IN ({events})))"
            # Only the tested article's reads and the planted feature's uses are measured.
            " WHERE (event <> 'read_article' OR content_id = ?)"
            " AND (event <> 'use_feature' OR feature = ?)",
            [cat.EXPERIMENT_CONTENT_ID, cat.TARGET_FEATURE],
        )

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.cur.execute(sql, params or []).fetchall()

    def close(self) -> None:
        self.cur.close()
