"""Group commit: many concurrent requests, one writer thread, one transaction per group.

A request's events are acknowledged only after the transaction holding them has committed, so a
2xx answer means the events are durable. While the writer commits one group, the next requests
queue up and are committed together, which is what makes small batches from many clients cheap.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Literal

import pyarrow as pa

from opsloop.errors import StoreWriteFailed
from opsloop.events.schema import IncomingEvent
from opsloop.events.store import EventStore, WriteResult

log = logging.getLogger(__name__)

_STOP = object()
_Item = tuple[list[IncomingEvent], pa.Table | None, Future[WriteResult]]


_frozen = False


def _freeze_startup_objects() -> None:
    """Everything start-up allocated lives as long as the process: keep the collector from
    scanning it again and again while requests allocate (full collections of a few hundred
    thousand objects otherwise take a noticeable share of ingestion's CPU). Once per process."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


class GroupCommitWriter:
    """Owns all live writes to an EventStore."""

    def __init__(
        self,
        store: EventStore,
        *,
        max_group_events: int = 50_000,
        mode: Literal["group", "row"] = "group",
        commit_interval_ms: int = 0,
    ) -> None:
        self.store = store
        self.max_group_events = max_group_events
        # While other requests are coming in, wait this long for them to join the group:
        # fewer, larger commits (each costs a few statements and a WAL sync whatever its size).
        self.gather_seconds = commit_interval_ms / 1000
        # "row" commits every event in its own single-row INSERT: the benchmark's baseline.
        self.mode = mode
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="opsloop-writer", daemon=True)
        self._thread.start()

    def submit(
        self, events: Sequence[IncomingEvent], table: pa.Table | None = None
    ) -> Future[WriteResult]:
        """Queue events for the next group. `table`, when given, is events_to_arrow(events) made
        by the caller: laid out by the request's own thread, while this one commits others."""
        fut: Future[WriteResult] = Future()
        if not events:
            fut.set_result(WriteResult(0, 0, ()))
            return fut
        self._queue.put((list(events), table, fut))
        return fut

    async def write(
        self, events: Sequence[IncomingEvent], table: pa.Table | None = None
    ) -> WriteResult:
        return await asyncio.wrap_future(self.submit(events, table))

    def write_events(self, events: Sequence[IncomingEvent]) -> WriteResult:
        """Blocking write through the group commit (for code running outside the event loop)."""
        return self.submit(events).result()

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        # pyarrow imports pandas (when installed) on first use: pay that at start-up, not
        # in the first request's commit.
        pa.array([], pa.string())
        _freeze_startup_objects()
        busy = False  # the last group held several requests: others are sending too
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            group = [item]
            size = len(item[0])  # type: ignore[index]
            stop = False
            deadline = time.monotonic() + (self.gather_seconds if busy else 0.0)
            while size < self.max_group_events:
                wait = deadline - time.monotonic()
                try:
                    nxt = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                group.append(nxt)
                size += len(nxt[0])  # type: ignore[index]
            busy = len(group) > 1
            self._commit(group)  # type: ignore[arg-type]
            if stop:
                return

    def _commit(self, group: list[_Item]) -> None:
        events = [e for evs, _, _ in group for e in evs]
        tables = [t for _, t, _ in group if t is not None]
        try:
            if self.mode == "row":
                result = self.store.write_events_row_by_row(events)
            elif len(tables) == len(group):
                # One chunk: DuckDB scans a many-chunk table on several threads, and for a few
                # hundred rows handing the chunks out costs more than the scan (about 15% of a
                # 400-event commit's CPU in the writer alone, 6% of the server's per event).
                table = pa.concat_tables(tables).combine_chunks()
                result = self.store.write_events(events, table)
            else:
                result = self.store.write_events(events)
        except Exception:
            if len(group) == 1:
                log.exception("event write failed")
                group[0][2].set_exception(
                    StoreWriteFailed("the event store could not commit these events; retry")
                )
                return
            # One bad request must not fail its neighbours: retry each on its own.
            for g in group:
                self._commit([g])
            return
        start = 0
        for evs, _, fut in group:
            flags = result.stored[start : start + len(evs)]
            start += len(evs)
            accepted = sum(flags)
            fut.set_result(WriteResult(accepted, len(evs) - accepted, flags))
