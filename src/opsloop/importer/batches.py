"""A batch of validated rows posted to the server by `opsloop import` (Arrow IPC stream in the
layout of EVENT_ARROW_SCHEMA): checked again at the door, then appended to the event store."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from opsloop.errors import InvalidInput
from opsloop.events import EventStore, WriteResult
from opsloop.events.schema import EVENT_ARROW_SCHEMA, EVENT_COLUMNS

UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
REQUIRED_COLUMNS = ("uuid", "event", "distinct_id", "timestamp", "received_at")


def read_batch(body: bytes, workspace_id: int) -> pa.Table:
    """The posted rows, bound to the caller's workspace whatever workspace_id they carry."""
    try:
        table = pa.ipc.open_stream(pa.py_buffer(body)).read_all()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, ValueError) as exc:
        raise InvalidInput("the body is not an Arrow IPC stream", "body") from exc
    missing = [c for c in EVENT_COLUMNS if c not in table.column_names]
    if missing:
        raise InvalidInput(f"the batch has no column {', '.join(missing)}", missing[0])
    try:
        table = table.select(EVENT_COLUMNS).cast(EVENT_ARROW_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise InvalidInput(
            f"the batch's columns do not have the types of the events table: {exc}", "body"
        ) from exc
    for column in REQUIRED_COLUMNS:
        if table[column].null_count:
            raise InvalidInput(f"{column} is empty in {table[column].null_count} rows", column)
    if table.num_rows and not pc.all(pc.match_substring_regex(table["uuid"], UUID_PATTERN)).as_py():
        raise InvalidInput("every uuid must be a UUID in its 8-4-4-4-12 form", "uuid")
    workspace = pa.array([workspace_id] * table.num_rows, pa.int32())
    return table.set_column(EVENT_COLUMNS.index("workspace_id"), "workspace_id", workspace)


def append_batch(store: EventStore, table: pa.Table) -> WriteResult:
    """Append with the store's dedupe (ids already stored in the workspace are duplicates)."""
    try:
        return store.append_table(table)
    except (duckdb.ConversionException, duckdb.InvalidInputException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"the batch could not be stored: {first}", "body") from exc
