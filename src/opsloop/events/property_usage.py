"""How often queries read each event property, per workspace and day: what the automatic choice
of properties to materialize ranks by (properties/service.py).

Queries record uses in memory (a dict update, no I/O on the query path); the counts are added to
the store's `property_usage` table when usage is read, when properties are materialized and when
the store closes. A process that stops abruptly loses its uses since the last of those.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from opsloop.events.materialized import PropertyKind

if TYPE_CHECKING:
    from opsloop.events.store import EventStore

UsageKey = tuple[int, str, PropertyKind, date]  # workspace, key, kind, UTC day


@dataclass(frozen=True, slots=True)
class PropertyUse:
    key: str
    kind: PropertyKind
    uses: int
    last_used: date


class PropertyUsage:
    """Uses recorded since the last flush, kept in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: Counter[UsageKey] = Counter()

    def record(self, workspace_id: int, key: str, kind: PropertyKind) -> None:
        day = datetime.now(UTC).date()
        with self._lock:
            self._pending[(workspace_id, key, kind, day)] += 1

    def take(self) -> Counter[UsageKey]:
        """The pending uses, which are forgotten here (a failed flush puts them back)."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
        return pending

    def snapshot(self) -> Counter[UsageKey]:
        with self._lock:
            return Counter(self._pending)

    def put_back(self, uses: Counter[UsageKey]) -> None:
        with self._lock:
            self._pending.update(uses)


def flush_usage(store: EventStore) -> None:
    """Add the uses recorded in memory to the store's property_usage table."""
    if store.read_only:
        return
    pending = store.property_usage.take()
    if not pending:
        return
    keys = list(pending)
    _usage_in = pa.table(
        {
            "workspace_id": pa.array([k[0] for k in keys], pa.int32()),
            "key": pa.array([k[1] for k in keys], pa.string()),
            "kind": pa.array([k[2] for k in keys], pa.string()),
            "day": pa.array([k[3] for k in keys], pa.date32()),
            "uses": pa.array([pending[k] for k in keys], pa.int64()),
        }
    )
    try:
        with store.transaction() as con:
            con.execute(
                "INSERT INTO property_usage SELECT * FROM _usage_in"
                " ON CONFLICT DO UPDATE SET uses = property_usage.uses + excluded.uses"
            )
    except BaseException:
        store.property_usage.put_back(pending)
        raise


def property_uses(store: EventStore, workspace_id: int, since: date) -> list[PropertyUse]:
    """The event properties queries of the workspace read on `since` or later (UTC days), most
    used first: stored uses plus those still in memory."""
    flush_usage(store)
    cur = store.cursor()
    try:
        has_table = cur.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"
            " AND schema_name = 'main' AND table_name = 'property_usage'"
        ).fetchall()[0][0]
        rows = (
            cur.execute(
                "SELECT key, kind, sum(uses), max(day) FROM property_usage"
                " WHERE workspace_id = ? AND day >= ? GROUP BY key, kind",
                [workspace_id, since],
            ).fetchall()
            if has_table
            else []
        )
    finally:
        cur.close()
    totals: dict[tuple[str, PropertyKind], tuple[int, date]] = {
        (key, kind): (int(uses), last) for key, kind, uses, last in rows
    }
    if store.read_only:  # nothing was flushed: count what is in memory too
        for (ws, key, kind, day), uses in store.property_usage.snapshot().items():
            if ws == workspace_id and day >= since:
                old, last = totals.get((key, kind), (0, day))
                totals[(key, kind)] = (old + uses, max(last, day))
    result = [PropertyUse(k, kind, n, last) for (k, kind), (n, last) in totals.items()]
    return sorted(result, key=lambda u: (-u.uses, u.key, u.kind))
