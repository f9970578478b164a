"""The store's identity invariants, under any mix of writes: every stored event's distinct_id is
in the distinct_id → person map exactly once, and every mapped person exists, once.

Queries rely on them: trends of event counts and sums leave the map out (the join would drop
nothing and duplicate nothing), and every per-person query joins it expecting one person per id.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsloop.events import EventStore, IncomingEvent, PersonOp, open_event_store
from opsloop.events.person_map import PersonMapCache
from opsloop.events.store import events_to_arrow

T0 = datetime(2026, 11, 1, tzinfo=UTC)
IDS = st.sampled_from(["a", "b", "c", "d", "e", "f"])
WORKSPACES = st.sampled_from([1, 2])

# One step: (kind, workspace, distinct_id, other id, seconds).
STEP = st.tuples(
    st.sampled_from(["track", "track", "identify", "alias", "set", "bulk", "resend"]),
    WORKSPACES,
    IDS,
    IDS,
    st.integers(0, 1000),
)


def _event(ws: int, did: str, seconds: int, ops: list[PersonOp] | None = None) -> IncomingEvent:
    name = "$identify" if ops else "view"
    return IncomingEvent(
        ws, str(uuid.uuid4()), name, did, T0 + timedelta(seconds=seconds), {}, "test", ops or []
    )


def _apply(store: EventStore, steps: list[tuple[str, int, str, str, int]]) -> None:
    group: list[IncomingEvent] = []
    sent: list[IncomingEvent] = []
    for kind, ws, did, other, seconds in steps:
        if kind == "track":
            group.append(_event(ws, did, seconds))
        elif kind == "identify":
            group.append(_event(ws, did, seconds, [PersonOp("identify", other_id=other)]))
        elif kind == "alias":
            group.append(_event(ws, did, seconds, [PersonOp("merge", other_id=other)]))
        elif kind == "set":
            group.append(_event(ws, did, seconds, [PersonOp("set", {"k": seconds})]))
        elif kind == "resend" and sent:
            group.append(sent[seconds % len(sent)])
        elif kind == "bulk":
            rows = [_event(ws, did, seconds), _event(ws, other, seconds + 1)]
            store.append_table(events_to_arrow(rows, T0))
            sent.extend(rows)
        if len(group) >= 3 or kind == "bulk":
            store.write_events(group)
            sent.extend(group)
            group = []
    store.write_events(group)


def _violations(store: EventStore) -> dict[str, int]:
    cur = store.cursor()
    checks = {
        "event without a mapped distinct_id": """
            SELECT count(*) FROM events e ANTI JOIN person_distinct_ids m
            ON m.workspace_id = e.workspace_id AND m.distinct_id = e.distinct_id""",
        "distinct_id mapped twice": """
            SELECT count(*) FROM (SELECT workspace_id, distinct_id FROM person_distinct_ids
            GROUP BY ALL HAVING count(*) > 1)""",
        "mapped person missing": """
            SELECT count(*) FROM person_distinct_ids m ANTI JOIN persons p
            ON p.workspace_id = m.workspace_id AND p.id = m.person_id""",
        "person stored twice": """
            SELECT count(*) FROM (SELECT workspace_id, id FROM persons
            GROUP BY ALL HAVING count(*) > 1)""",
        "event stored twice": """
            SELECT count(*) FROM (SELECT workspace_id, uuid FROM events
            GROUP BY ALL HAVING count(*) > 1)""",
    }
    found = {}
    for name, sql in checks.items():
        row = cur.execute(sql).fetchone()
        found[name] = row[0] if row else -1
    return found


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=1, max_size=25), cached=st.booleans())
def test_the_map_holds_every_events_id_once(
    tmp_path_factory: object, steps: list[tuple[str, int, str, str, int]], cached: bool
) -> None:
    path = Path(tmp_path_factory.mktemp("store")) / "events.duckdb"  # type: ignore[attr-defined]
    store = open_event_store(path)
    try:
        if not cached:
            # The writer's copy of the map given up: SQL finds the new ids of every group.
            store._person_map = PersonMapCache(max_ids=0)
        _apply(store, steps)
        assert _violations(store) == dict.fromkeys(_violations(store), 0)
    finally:
        store.close()
