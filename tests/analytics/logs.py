"""Small event logs loaded into both engines: the input of the property-based tests.

`load_log` writes rows (person, event, local time, properties) into a fresh DuckDB event store and
into a ClickHouse (chdb) session, and returns both query contexts plus the rows as a pandas frame
for the test's own reference implementation.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from chdb import session as chdb_session

from opsloop.analytics.clickhouse import export_parquet, load_parquet
from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import ChdbEngine, DuckDbEngine
from opsloop.events import IncomingEvent, PersonOp, open_event_store
from opsloop.events.store import events_to_arrow

TZ = "Asia/Shanghai"


@dataclass(frozen=True)
class Row:
    person: str
    event: str
    local: datetime  # naive wall-clock time in TZ
    props: dict[str, Any] | None = None


@dataclass
class Loaded:
    duck: QueryContext
    ch: QueryContext
    frame: pd.DataFrame  # person, event, local (naive), ts (UTC), props


class ChdbPool:
    """The process's one embedded ClickHouse (chdb allows one per process); each data set gets a
    database of its own in it."""

    _session: Any = None

    def __init__(self) -> None:
        if ChdbPool._session is None:
            folder = Path(tempfile.mkdtemp(prefix="opsloop-chdb-"))
            ChdbPool._session = chdb_session.Session(str(folder / "db"))
        self.session = ChdbPool._session


@pytest.fixture(scope="session")
def chdb_pool() -> Iterator[ChdbPool]:
    yield ChdbPool()


def load_log(
    rows: Sequence[Row],
    pool: ChdbPool,
    workspace_id: int = 1,
    database: str = "log",
    merges: Sequence[tuple[str, str]] = (),
    tz: str = TZ,
) -> Loaded:
    """`merges`: (anonymous id, user id) pairs, each an `$identify` sent by the user id after the
    rows (one person, both ids, all history); the frame's `person` is then the user id. `tz` is
    the workspace's time zone, in which rows' times are read; the frame's `local` is the instant
    in it again (a time that a DST change skips moves on by the hour)."""
    folder = Path(tempfile.mkdtemp(prefix="opsloop-log-"))
    store = open_event_store(folder / "events.duckdb")
    zone = ZoneInfo(tz)
    events = [
        IncomingEvent(
            workspace_id,
            str(uuid.UUID(int=i + 1)),
            r.event,
            r.person,
            r.local.replace(tzinfo=zone).astimezone(UTC),
            dict(r.props or {}),
            "test",
        )
        for i, r in enumerate(rows)
    ]
    if events:
        store.append_table(events_to_arrow(events, datetime(2026, 1, 1, tzinfo=UTC)), dedupe="none")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for k, (anonymous, user) in enumerate(merges):
        op = PersonOp("identify", other_id=anonymous)
        uid = str(uuid.UUID(int=10**9 + k))
        store.write_events(
            [IncomingEvent(workspace_id, uid, "$identify", user, at, {}, "test", [op])]
        )
    person_of = dict(merges)
    load_parquet(pool.session, export_parquet(store.cursor(), folder / "parquet"), database)
    frame = pd.DataFrame(
        {
            "person": [person_of.get(r.person, r.person) for r in rows],
            "event": [r.event for r in rows],
            "local": pd.to_datetime(
                [e.timestamp.astimezone(zone).replace(tzinfo=None) for e in events]
            ),
            "ts": pd.to_datetime([e.timestamp for e in events], utc=True),
            "props": [dict(r.props or {}) for r in rows],
        }
    )
    return Loaded(
        QueryContext(workspace_id, tz, DuckDbEngine(store)),
        QueryContext(workspace_id, tz, ChdbEngine(pool.session, database)),
        frame,
    )


def person_id(duck: QueryContext, distinct_id: str) -> str:
    """The person id the store gave a distinct_id (answers name persons by this id)."""
    rows = duck.engine.rows(
        "SELECT CAST(person_id AS VARCHAR) FROM person_distinct_ids"
        f" WHERE distinct_id = {duck.dialect.string(distinct_id)}"
    )
    return str(rows[0][0])
