"""The live writer's copy of the person map: which distinct ids already have a person.

Finding a group's new distinct ids in SQL costs an anti-join over the whole map on every commit
(most of a commit's time once the map holds tens of thousands of ids, and new users arrive all
the time); this copy answers in Python. It is exact for the store's `data_version` it was loaded
or last updated at: when another writer (an import, the demo builder) has committed since, it is
reloaded, at most every RELOAD_SECONDS; past MAX_IDS it is given up and SQL answers again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import datetime

import duckdb

from opsloop.events.schema import IncomingEvent

MAX_IDS = 500_000  # about 50 MB of Python strings
RELOAD_SECONDS = 5.0

NewIds = dict[tuple[int, str], datetime]


class PersonMapCache:
    def __init__(self, max_ids: int = MAX_IDS) -> None:
        self.max_ids = max_ids
        self._ids: dict[int, set[str]] = {}
        self._size = 0
        self._version = -1  # the data_version the copy is exact for; -1: none
        self._loaded_at = float("-inf")
        self._given_up = False

    def new_ids(
        self, con: duckdb.DuckDBPyConnection, version: int, events: Sequence[IncomingEvent]
    ) -> NewIds | None:
        """The distinct ids of `events` that have no person at `version`, each with its first
        timestamp among them; None when this copy cannot tell (then SQL must)."""
        if self._version != version and not self._reload(con, version):
            return None
        ids = self._ids
        new: NewIds = {}
        for e in events:
            known = ids.get(e.workspace_id)
            if known is None or e.distinct_id not in known:
                key = (e.workspace_id, e.distinct_id)
                first = new.get(key)
                if first is None or e.timestamp < first:
                    new[key] = e.timestamp
        return new

    def committed(self, version: int, mapped: Iterable[tuple[int, str]]) -> None:
        """The transaction that began at `version` committed, and `mapped` all have a person
        now: the copy follows to version + 1 (when it was exact at `version`)."""
        if self._version != version:
            return
        for workspace_id, distinct_id in mapped:
            known = self._ids.setdefault(workspace_id, set())
            if distinct_id not in known:
                known.add(distinct_id)
                self._size += 1
        self._version = version + 1
        if self._size > self.max_ids:
            self._give_up()

    def _reload(self, con: duckdb.DuckDBPyConnection, version: int) -> bool:
        now = time.monotonic()
        if self._given_up or now - self._loaded_at < RELOAD_SECONDS:
            return False
        self._loaded_at = now
        row = con.execute("SELECT count(*) FROM person_distinct_ids").fetchone()
        if row is None or row[0] > self.max_ids:
            self._give_up()
            return False
        ids: dict[int, set[str]] = {}
        for workspace_id, distinct_id in con.execute(
            "SELECT workspace_id, distinct_id FROM person_distinct_ids"
        ).fetchall():
            ids.setdefault(workspace_id, set()).add(distinct_id)
        self._ids, self._size, self._version = ids, int(row[0]), version
        return True

    def _give_up(self) -> None:
        self._ids, self._size, self._version, self._given_up = {}, 0, -1, True
