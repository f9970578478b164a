"""The live writer's index of stored event ids: is this incoming id possibly stored already?

Live ingestion stores an event once per (workspace, uuid): an SDK that retries resends the same
id. Asking DuckDB on every commit costs a scan of the ids of every event near the incoming
timestamps (a few milliseconds per commit at a few hundred thousand events, and it grows with the
store). Nearly every incoming id is new, so this index answers first: it keeps a 64-bit
fingerprint of every stored id (the two halves of the UUID xor-ed), sorted, plus the ones
committed since the last merge. An id whose fingerprint is absent is certainly new; one whose
fingerprint is present is checked in SQL as before (a true resend, or a rare collision).

Like the person map's copy, it is exact for the store's `events_version` it was loaded or last
updated at; when events were written another way, it is reloaded (at most every RELOAD_SECONDS),
and past MAX_IDS it is given up and SQL answers every time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import duckdb
import numpy as np

MAX_IDS = 30_000_000  # 8 bytes each: 240 MB at most
RELOAD_SECONDS = 5.0
MERGE_AT = 65_536  # recent fingerprints kept in a set before they join the sorted array

_LOW_64 = (1 << 64) - 1


def fingerprint_sql(uuid_column: str) -> str:
    """The fingerprint of a UUID column, in DuckDB SQL (UBIGINT); equal to `fingerprint`."""
    wide = f"CAST({uuid_column} AS UHUGEINT)"
    return (
        f"xor(CAST({wide} >> 64 AS UBIGINT), CAST({wide} & CAST({_LOW_64} AS UHUGEINT) AS UBIGINT))"
    )


def fingerprint(uuid_text: str) -> int:
    """The fingerprint of an id in any spelling Python's uuid module reads (canonical here)."""
    value = int(uuid_text.replace("-", ""), 16)
    return (value >> 64) ^ (value & _LOW_64)


class StoredIdIndex:
    def __init__(self, max_ids: int = MAX_IDS) -> None:
        self.max_ids = max_ids
        self._sorted = np.empty(0, np.uint64)
        self._recent: set[int] = set()
        self._version = -1  # the events_version the index is exact for; -1: none
        self._loaded_at = float("-inf")
        self._given_up = False

    @property
    def live(self) -> bool:
        """Whether it follows writes (callers that add events may then report them)."""
        return self._version >= 0

    def maybe_stored(
        self, con: duckdb.DuckDBPyConnection, version: int, fingerprints: Sequence[int]
    ) -> list[bool] | None:
        """For each fingerprint, whether its id may be stored (False: certainly not) at
        `version`; None when the index cannot tell (then SQL must check every id)."""
        if self._version != version and not self._reload(con, version):
            return None
        array = np.fromiter(fingerprints, np.uint64, len(fingerprints))
        found = np.zeros(len(array), np.bool_)
        if len(self._sorted):
            at = np.searchsorted(self._sorted, array)
            at[at == len(self._sorted)] = 0
            found = self._sorted[at] == array
        recent = self._recent
        return [bool(f) or fp in recent for f, fp in zip(found, fingerprints, strict=True)]

    def committed(self, version: int, fingerprints: Sequence[int] | np.ndarray) -> None:
        """A write that began at `version` committed these ids: follow it to version + 1 (when
        the index was exact at `version`; otherwise it reloads when next asked)."""
        if self._version != version:
            return
        if isinstance(fingerprints, np.ndarray) and len(fingerprints) > MERGE_AT:
            self._merge(fingerprints.astype(np.uint64, copy=False))
        else:
            self._recent.update(int(fp) for fp in fingerprints)
        self._version = version + 1
        if len(self._recent) >= MERGE_AT:
            self._merge(np.fromiter(self._recent, np.uint64, len(self._recent)))
            self._recent = set()
        if len(self._sorted) + len(self._recent) > self.max_ids:
            self._give_up()

    def _merge(self, fingerprints: np.ndarray) -> None:
        added = np.sort(fingerprints)
        self._sorted = np.insert(self._sorted, np.searchsorted(self._sorted, added), added)

    def _reload(self, con: duckdb.DuckDBPyConnection, version: int) -> bool:
        now = time.monotonic()
        if self._given_up or now - self._loaded_at < RELOAD_SECONDS:
            return False
        self._loaded_at = now
        count = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        if count > self.max_ids:
            self._give_up()
            return False
        column = con.sql(f"SELECT {fingerprint_sql('uuid')} AS fp FROM events").to_arrow_table()[0]
        values = column.to_numpy() if column.num_chunks else np.empty(0, np.uint64)
        self._sorted = np.sort(values.astype(np.uint64, copy=False))
        self._recent = set()
        self._version = version
        return True

    def _give_up(self) -> None:
        self._sorted, self._recent, self._version = np.empty(0, np.uint64), set(), -1
        self._given_up = True
