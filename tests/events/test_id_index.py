"""The live writer's index of stored event ids: it may only ever say "certainly new" truthfully."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsloop.events import EventStore, IncomingEvent, open_event_store
from opsloop.events.id_index import StoredIdIndex, fingerprint, fingerprint_sql
from opsloop.events.store import events_to_arrow

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def ev(uid: str | None = None, seconds: int = 0, ws: int = 1) -> IncomingEvent:
    return IncomingEvent(
        ws,
        uid or str(uuid.uuid4()),
        "pay",
        "u1",
        T0 + timedelta(seconds=seconds),
        {},
        "test",
        [],
    )


@given(st.lists(st.uuids(), min_size=1, max_size=30))
@settings(max_examples=30, deadline=None)
def test_sql_and_python_fingerprints_agree(ids: list[uuid.UUID]) -> None:
    con = duckdb.connect()
    texts = [str(u) for u in ids] + ["ffffffff-ffff-ffff-ffff-ffffffffffff", str(uuid.UUID(int=1))]
    got = con.execute(
        f"SELECT {fingerprint_sql('u::UUID')} FROM unnest(?::VARCHAR[]) WITH ORDINALITY t(u, i)"
        " ORDER BY i",
        [texts],
    ).fetchall()
    assert [int(r[0]) for r in got] == [fingerprint(t) for t in texts]
    # Any spelling uuid reads (upper case, no hyphens) has the same fingerprint.
    assert [fingerprint(u.hex.upper()) for u in ids] == [fingerprint(str(u)) for u in ids]


def test_index_answers_for_stored_and_new_ids(tmp_path: Path) -> None:
    store = open_event_store(tmp_path / "events.duckdb")
    stored = [ev() for _ in range(5)]
    store.write_events(stored)
    index = StoredIdIndex()
    fresh = [str(uuid.uuid4()) for _ in range(5)]
    with store._transaction() as con:
        maybe = index.maybe_stored(
            con,
            store.events_version,
            [fingerprint(e.uuid) for e in stored] + list(map(fingerprint, fresh)),
        )
    assert maybe == [True] * 5 + [False] * 5
    # It follows a commit it is told about, through the merge into the sorted array too.
    index.committed(store.events_version, [fingerprint(u) for u in fresh])
    assert index.maybe_stored(None, store.events_version + 1, [fingerprint(fresh[0])]) == [True]  # type: ignore[arg-type]


def test_merging_keeps_every_fingerprint() -> None:
    index = StoredIdIndex()
    index._version = 0
    values = [fingerprint(str(uuid.uuid4())) for _ in range(70_000)]
    index.committed(0, values[:40_000])
    index.committed(1, values[40_000:])  # crosses MERGE_AT: the set joins the sorted array
    assert len(index._sorted) == 70_000
    probe = values[::997] + [fingerprint(str(uuid.uuid4())) for _ in range(50)]
    assert index.maybe_stored(None, 2, probe) == [True] * len(values[::997]) + [False] * 50  # type: ignore[arg-type]


@pytest.mark.parametrize("max_ids", [30_000_000, 0])
def test_resend_after_every_kind_of_write_is_a_duplicate(tmp_path: Path, max_ids: int) -> None:
    """Live writes, row-by-row writes and bulk appends all keep the index exact; with the index
    given up (max_ids=0) SQL answers and the result is the same."""
    store = open_event_store(tmp_path / "events.duckdb")
    store._ids = StoredIdIndex(max_ids=max_ids)
    live = ev()
    assert store.write_events([live]).accepted == 1  # the index loads here (when it may)
    bulk = ev(seconds=5)
    assert store.append_table(events_to_arrow([bulk], T0)).accepted == 1
    row = ev(seconds=9)
    assert store.write_events_row_by_row([row]).accepted == 1
    again = [replace(e, timestamp=e.timestamp + timedelta(minutes=3)) for e in (live, bulk, row)]
    fresh = ev(seconds=20)
    result = store.write_events([*again, fresh])
    assert result.stored == (False, False, False, True)
    assert store.count_events() == 4


def test_same_id_in_another_workspace_is_checked_and_stored(tmp_path: Path) -> None:
    store: EventStore = open_event_store(tmp_path / "events.duckdb")
    first = ev(ws=1)
    store.write_events([first])
    other = replace(first, workspace_id=2)
    # The fingerprint is present (same uuid), SQL finds it is not stored in workspace 2.
    assert store.write_events([other]).stored == (True,)
    assert store.write_events([other]).stored == (False,)
    assert store.count_events() == 2
