"""Build the demo world into an event store: plan it, write its events block by block, give the
persons their properties, then measure the planted truths back and write truths.json."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import orjson

from opsloop.demo.calendar import DEFAULT_END_DATE, build_calendar
from opsloop.demo.eventlog import render_block
from opsloop.demo.measures import compute_truths
from opsloop.demo.scenario import World, catalog_summary, person_properties, plan_world
from opsloop.errors import Conflict, InvalidInput
from opsloop.events import EventStore
from opsloop.events.materialized import PropertyKind, add_materialized

TRUTHS_FILE = "truths.json"
# About ten events per user-day: blocks of ~250k events keep memory flat at any size.
BLOCK_USER_DAYS = 25_000
PERSON_BATCH = 200_000

Progress = Callable[[int, int], None]

# The event properties the demo's analyses filter and break down by most (its planted truths are
# by channel, region, platform, category, feature and variant; GMV sums amount): materialized
# before the first event, so every write fills them and no backfill is needed.
HOT_PROPERTIES: tuple[tuple[str, PropertyKind], ...] = (
    ("channel", "text"),
    ("platform", "text"),
    ("region", "text"),
    ("category", "text"),
    ("feature", "text"),
    ("variant", "text"),
    ("amount", "number"),
)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    workspace_id: int
    users: int
    days: int
    events: int
    seed: int
    date_from: date
    date_to: date
    timezone: str
    truths_path: Path


def build_demo_world(
    store: EventStore,
    workspace_id: int,
    data_dir: Path,
    *,
    users: int = 20_000,
    days: int = 90,
    seed: int = 42,
    end_date: date | None = None,
    timezone: str = "Asia/Shanghai",
    progress: Progress | None = None,
) -> DemoSummary:
    """Write the demo world's events and persons into `store` under `workspace_id`, and its
    planted truths to `data_dir/truths.json`. Same arguments, same bytes."""
    if users < 100:
        raise InvalidInput("the demo world needs at least 100 users", "users")
    if _has_demo_events(store, workspace_id):
        raise Conflict(f"workspace {workspace_id} already holds demo events", "workspace_id")
    cal = build_calendar(days, end_date or DEFAULT_END_DATE, timezone)
    world = plan_world(users, cal, seed)
    for key, kind in HOT_PROPERTIES:
        add_materialized(store, workspace_id, key, kind, origin="demo")
    ud = world.activity
    n_blocks = -(-len(ud) // BLOCK_USER_DAYS)
    total = n_blocks + 2
    events = 0
    next_order = 1
    for i in range(n_blocks):
        lo, hi = i * BLOCK_USER_DAYS, min(len(ud), (i + 1) * BLOCK_USER_DAYS)
        rng = np.random.default_rng([seed, 2, i])
        table, next_order = render_block(
            world, ud.user[lo:hi], ud.day[lo:hi], rng, workspace_id, next_order
        )
        events += store.append_table(table, dedupe="none").accepted
        if progress:
            progress(i + 1, total)
    for lo in range(0, users, PERSON_BATCH):
        store.set_person_properties(
            workspace_id, person_properties(world, lo, min(users, lo + PERSON_BATCH))
        )
    if progress:
        progress(n_blocks + 1, total)
    path = write_truths(store, workspace_id, world, data_dir, events)
    if progress:
        progress(total, total)
    return DemoSummary(
        workspace_id=workspace_id,
        users=users,
        days=days,
        events=events,
        seed=seed,
        date_from=cal.start,
        date_to=cal.end,
        timezone=timezone,
        truths_path=path,
    )


def _has_demo_events(store: EventStore, workspace_id: int) -> bool:
    cur = store.cursor()
    try:
        row = cur.execute(
            "SELECT count(*) FROM (SELECT 1 FROM events WHERE workspace_id = ?"
            " AND source = 'demo' LIMIT 1)",
            [workspace_id],
        ).fetchone()
    finally:
        cur.close()
    return bool(row and row[0])


def write_truths(
    store: EventStore, workspace_id: int, world: World, data_dir: Path, events: int
) -> Path:
    cal = world.cal
    document = {
        "world": {
            "seed": world.seed,
            "users": world.users,
            "days": cal.days,
            "events": events,
            "date_from": cal.iso(0),
            "date_to": cal.iso(cal.days - 1),
            "timezone": cal.timezone,
            "workspace_id": workspace_id,
            **catalog_summary(world),
        },
        "truths": [t.to_dict() for t in compute_truths(store, workspace_id, world)],
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / TRUTHS_FILE
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    return path
