"""Where validated rows go: through the running server (it owns the event store), or straight
into the event store when no server runs for this data folder (DESIGN.md, "One writer")."""

from __future__ import annotations

from typing import Protocol

import duckdb
import httpx
import pyarrow as pa

from opsloop.db import Database
from opsloop.discovery import ServerAddress, running_server
from opsloop.errors import InvalidInput, OpsLoopError, StoreBusy, StoreWriteFailed
from opsloop.events import EventStore, WriteResult, open_event_store
from opsloop.events.schema import EVENT_ARROW_SCHEMA
from opsloop.settings import Settings
from opsloop.workspaces.service import create_api_token, revoke_api_token

ARROW_STREAM = "application/vnd.apache.arrow.stream"
BATCHES_PATH = "/api/v1/import/batches"
BATCH_TIMEOUT_SECONDS = 600.0
# Rows per batch: the local store takes big ones; the server takes bodies of about this size, so
# that live ingestion waits at most a moment for each.
LOCAL_BATCH_ROWS = 1_048_576
SERVER_BATCH_BYTES = 16 * 1024 * 1024
SERVER_BATCH_ROWS = 262_144
RETRY_HINT = "run the import again: rows already stored count as duplicates, nothing is doubled"


class EventSink(Protocol):
    """Stores a batch of rows laid out as EVENT_ARROW_SCHEMA, skipping ids already stored."""

    where: str

    def connection(self) -> duckdb.DuckDBPyConnection:
        """Where the file is staged and checked (the caller closes it)."""
        ...

    def rows_per_batch(self, row_bytes: int) -> int: ...

    def append(self, table: pa.Table) -> WriteResult: ...

    def close(self) -> None: ...


class LocalSink:
    """Appends to the event store file itself (no server runs for this data folder)."""

    def __init__(self, settings: Settings) -> None:
        try:
            self.store: EventStore = open_event_store(settings.event_store_path)
        except StoreBusy as exc:
            raise StoreBusy(
                f"the event store {settings.event_store_path} is held by another OpsLoop process,"
                " and no server answers for this data folder (server.json); stop that process,"
                " or run the import while `opsloop serve` runs for this data folder"
            ) from exc
        self.where = f"into {settings.event_store_path}"

    def connection(self) -> duckdb.DuckDBPyConnection:
        # A cursor of the store: the checked rows go into the events table in one statement.
        return self.store.cursor()

    def rows_per_batch(self, row_bytes: int) -> int:
        return LOCAL_BATCH_ROWS

    def append(self, table: pa.Table) -> WriteResult:
        return self.store.append_table(table, dedupe="stored")

    def close(self) -> None:
        self.store.close()


class ServerSink:
    """Posts batches as Arrow IPC streams to the running server, with an API token made for
    this import and revoked after it."""

    def __init__(self, address: ServerAddress, db: Database, workspace_id: int) -> None:
        self.db = db
        with db.session() as s:
            self.token = create_api_token(
                s, workspace_id, user_id=None, name="opsloop import (CLI)", role="admin"
            )
        self.client = httpx.Client(
            base_url=address.url,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": ARROW_STREAM},
            timeout=BATCH_TIMEOUT_SECONDS,
        )
        self.where = f"through the server at {address.url}"

    def connection(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect()

    def rows_per_batch(self, row_bytes: int) -> int:
        return max(1_000, min(SERVER_BATCH_ROWS, SERVER_BATCH_BYTES // max(row_bytes, 1)))

    def append(self, table: pa.Table) -> WriteResult:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, EVENT_ARROW_SCHEMA) as writer:
            writer.write_table(table)
        try:
            answer = self.client.post(BATCHES_PATH, content=sink.getvalue().to_pybytes())
        except httpx.HTTPError as exc:
            raise StoreWriteFailed(
                f"the server at {self.client.base_url} stopped answering ({exc}); {RETRY_HINT}"
            ) from exc
        if answer.status_code != 200:
            raise _server_error(answer)
        body = answer.json()
        return WriteResult(int(body["accepted"]), int(body["duplicates"]))

    def close(self) -> None:
        self.client.close()
        with self.db.session() as s:
            revoke_api_token(s, self.token)


def _server_error(answer: httpx.Response) -> OpsLoopError:
    try:
        error = answer.json()["error"]
        message, field = str(error["message"]), error.get("field")
    except (ValueError, KeyError, TypeError):
        message, field = answer.text[:200], None
    text = f"the server refused a batch ({answer.status_code}): {message}; {RETRY_HINT}"
    if answer.status_code >= 500:
        return StoreWriteFailed(text, field)
    return InvalidInput(text, field)


def open_sink(settings: Settings, db: Database, workspace_id: int) -> EventSink:
    address = running_server(settings)
    if address is not None:
        return ServerSink(address, db, workspace_id)
    return LocalSink(settings)
