"""The live writer's copy of the person map gives each distinct id exactly one person, whether
the ids arrive live, through imports in between, through aliases, or past the copy's limit."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsloop.events import EventStore, IncomingEvent, PersonOp, open_event_store, person_map
from opsloop.events.person_map import PersonMapCache
from opsloop.events.schema import person_id_for
from opsloop.events.store import events_to_arrow

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def ev(did: str, seconds: int, ws: int = 1, ops: list[PersonOp] | None = None) -> IncomingEvent:
    return IncomingEvent(
        ws, str(uuid.uuid4()), "e", did, T0 + timedelta(seconds=seconds), {}, "test", ops or []
    )


def persons(store: EventStore) -> tuple[list[tuple[int, str, str, datetime]], int]:
    """The map joined to its persons, and how many persons there are."""
    cur = store.cursor()
    try:
        rows = cur.execute(
            "SELECT m.workspace_id, m.distinct_id, CAST(p.id AS VARCHAR), p.created_at"
            " FROM person_distinct_ids m JOIN persons p"
            "  ON p.workspace_id = m.workspace_id AND p.id = m.person_id"
        ).fetchall()
        (count,) = cur.execute("SELECT count(*) FROM persons").fetchone() or (0,)
    finally:
        cur.close()
    return sorted(rows), int(count)


def expected(first_seen: dict[tuple[int, str], int]) -> list[tuple[int, str, str, datetime]]:
    return sorted(
        (ws, did, person_id_for(ws, did), T0 + timedelta(seconds=s))
        for (ws, did), s in first_seen.items()
    )


@pytest.mark.parametrize("max_ids", [1_000_000, 30])
def test_live_groups_and_imports_in_between(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_ids: int
) -> None:
    """Random groups over two workspaces, with bulk appends (another writer) in between: every
    distinct id gets one person created at its first event, with the id every writer derives.
    With a limit of 30 ids the copy gives up part way and SQL answers."""
    store = open_event_store(tmp_path / "events.duckdb")
    store._person_map = PersonMapCache(max_ids)
    rng = random.Random(3)
    first_seen: dict[tuple[int, str], int] = {}
    second = 0
    for round_no in range(12):
        # Reloads after a foreign write: immediate in odd rounds, throttled (SQL) in even ones.
        monkeypatch.setattr(person_map, "RELOAD_SECONDS", 0.0 if round_no % 2 else 3600.0)
        group = []
        for _ in range(rng.randrange(1, 30)):
            second += 1
            key = (rng.choice([1, 2]), f"u{rng.randrange(60)}")
            group.append(ev(key[1], second, ws=key[0]))
            first_seen.setdefault(key, second)
        store.write_events(group)
        if round_no % 3 == 1:
            second += 1
            bulk = [ev(f"u{rng.randrange(80)}", second, ws=1) for _ in range(5)]
            for e in bulk:
                first_seen.setdefault((1, e.distinct_id), second)
            store.append_table(events_to_arrow(bulk, T0))
    assert persons(store) == (expected(first_seen), len(first_seen))


def test_ids_named_by_person_changes_are_remembered(tmp_path: Path) -> None:
    """An alias names an id never sent as an event's distinct_id: it gets a person then, and an
    event for it later neither creates a second one nor loses the merge."""
    store = open_event_store(tmp_path / "events.duckdb")
    store.write_events([ev("anon", 0)])
    store.write_events([ev("anon", 1, ops=[PersonOp("merge", other_id="user-42")])])
    store.write_events([ev("user-42", 2), ev("fresh", 3)])
    rows, count = persons(store)
    assert count == 2
    assert [(did, pid) for _, did, pid, _ in rows] == [
        ("anon", person_id_for(1, "anon")),
        ("fresh", person_id_for(1, "fresh")),
        ("user-42", person_id_for(1, "anon")),
    ]
