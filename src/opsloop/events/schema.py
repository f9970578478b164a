"""The one shape every ingested event takes, whatever wire format it came in, and its columns."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa

# A person's id is derived from the first distinct_id seen for it, so that every writer
# (live ingestion, imports, the demo world) agrees on it without a lookup.
PERSON_NAMESPACE = uuidlib.UUID("6f1c2d3e-4b5a-4c7d-9e8f-0a1b2c3d4e5f")

PersonOpKind = Literal["set", "set_once", "unset", "clear", "add", "append", "merge", "identify"]

# Events that only carry identity or profile changes: stored (nothing accepted is dropped) but not
# counted as user activity by analyses ("$any" excludes them).
PERSON_ONLY_EVENTS = frozenset(
    {
        "$set",
        "$set_once",
        "$unset",
        "$identify",
        "$create_alias",
        "$merge_dangerously",
        "$groupidentify",
        "$profile_set",
        "$profile_set_once",
        "$profile_increment",
        "$profile_append",
        "$profile_unset",
        "$profile_delete",
        "$BindID",
        "$UnbindID",
        "$item_set",
        "$item_delete",
    }
)

# Common properties promoted to their own columns (faster filters); the JSON keeps them too.
PROMOTED = {"session_id": "$session_id", "lib": "$lib", "os": "$os", "url": "$current_url"}


def person_id_for(workspace_id: int, distinct_id: str) -> str:
    return str(uuidlib.uuid5(PERSON_NAMESPACE, f"{workspace_id}:{distinct_id}"))


@dataclass(slots=True, frozen=True)
class PersonOp:
    """A change to the person behind an event's distinct_id.

    set / set_once / unset / add / append carry `properties`; clear empties them (a deleted
    profile: the person and its events stay); merge folds the person of
    `other_id` into this one (alias); identify does the same unless that person is already
    identified as someone else (PostHog's rule). `distinct_id`, when given, names the id whose
    person the op changes (and which survives a merge) instead of the event's own.
    """

    kind: PersonOpKind
    properties: dict[str, Any] | list[str] | None = None
    other_id: str | None = None
    distinct_id: str | None = None


@dataclass(slots=True)
class IncomingEvent:
    workspace_id: int
    uuid: str
    event: str
    distinct_id: str
    timestamp: datetime
    properties: dict[str, Any]
    source: str
    person_ops: list[PersonOp] = field(default_factory=list)


EVENT_ARROW_SCHEMA = pa.schema(
    [
        ("uuid", pa.string()),
        ("workspace_id", pa.int32()),
        ("event", pa.string()),
        ("distinct_id", pa.string()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("received_at", pa.timestamp("us", tz="UTC")),
        ("properties", pa.string()),
        ("session_id", pa.string()),
        ("lib", pa.string()),
        ("os", pa.string()),
        ("url", pa.string()),
        ("source", pa.string()),
    ]
)

EVENT_COLUMNS = [f.name for f in EVENT_ARROW_SCHEMA]

# The properties column is compressed with zstd: DuckDB's default for text (dictionary + FSST,
# after trying each) cost three times as much to write and kept the JSON 2.6 times bigger, while
# JSON extraction read it back as fast (3M rows: 0.56 s against 1.71 s to write, 45 MB against
# 118 MB). Stores created before keep their columns' compression.
DDL = [
    """
    CREATE TABLE IF NOT EXISTS events (
        uuid UUID NOT NULL,
        workspace_id INTEGER NOT NULL,
        event VARCHAR NOT NULL,
        distinct_id VARCHAR NOT NULL,
        timestamp TIMESTAMPTZ NOT NULL,
        received_at TIMESTAMPTZ NOT NULL,
        properties JSON USING COMPRESSION zstd,
        session_id VARCHAR,
        lib VARCHAR,
        os VARCHAR,
        url VARCHAR,
        source VARCHAR
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS persons (
        workspace_id INTEGER NOT NULL,
        id UUID NOT NULL,
        properties JSON NOT NULL,
        is_identified BOOLEAN NOT NULL DEFAULT false,
        created_at TIMESTAMPTZ NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS person_distinct_ids (
        workspace_id INTEGER NOT NULL,
        distinct_id VARCHAR NOT NULL,
        person_id UUID NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR PRIMARY KEY, value VARCHAR)
    """,
    # Materialized properties (events/materialized.py): which (key, kind) has an mp_ column of
    # events in which workspace, and whether its backfill is done (queries read it then).
    """
    CREATE TABLE IF NOT EXISTS materialized_properties (
        workspace_id INTEGER NOT NULL,
        key VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        column_name VARCHAR NOT NULL,
        origin VARCHAR NOT NULL,
        ready BOOLEAN NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (workspace_id, key, kind)
    )
    """,
    # How often queries read each event property, per UTC day (events/property_usage.py).
    """
    CREATE TABLE IF NOT EXISTS property_usage (
        workspace_id INTEGER NOT NULL,
        key VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        day DATE NOT NULL,
        uses BIGINT NOT NULL,
        PRIMARY KEY (workspace_id, key, kind, day)
    )
    """,
]
