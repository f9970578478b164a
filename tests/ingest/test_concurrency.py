"""Many clients at once, sending overlapping batches that share event ids: every event is stored
once, the answers' counts reconcile with what was sent and stored, and each distinct_id gets one
person (created once, whoever's request came first)."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from opsloop.events.schema import person_id_for
from tests.conftest import LiveServer

CLIENTS = 16
BATCHES_PER_CLIENT = 8
POOL = 300  # distinct events; every client draws its batches from all of them
DISTINCT_IDS = 40
T0 = datetime(2026, 11, 20, tzinfo=UTC)


def event_pool() -> list[dict[str, Any]]:
    rng = random.Random(7)
    pool = []
    for i in range(POOL):
        did = f"user-{rng.randrange(DISTINCT_IDS)}"
        event: dict[str, Any] = {
            "event": rng.choice(["view", "pay", "share"]),
            "distinct_id": did,
            "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "timestamp": (T0 + timedelta(seconds=i * 7)).isoformat(),
            "properties": {"i": i, "amount": rng.randrange(100)},
        }
        if i % 10 == 0:
            # Person changes that commute: whichever copy lands first, the outcome is the same.
            event["$set"] = {"tier": f"tier-{did}"}
        pool.append(event)
    return pool


def client_batches(client: int, pool: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Overlapping batches: random draws from the pool, some holding the same event twice."""
    rng = random.Random(client)
    batches = []
    for b in range(BATCHES_PER_CLIENT):
        batch = rng.sample(pool, rng.randrange(5, 40))
        if b % 3 == 0:
            batch.append(batch[0])
        batches.append(batch)
    return batches


def test_concurrent_overlapping_batches_store_each_event_once(live_server: LiveServer) -> None:
    pool = event_pool()
    plans = [client_batches(c, pool) for c in range(CLIENTS)]
    answers: list[list[dict[str, Any]]] = [[] for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)
    errors: list[BaseException] = []

    def client(c: int) -> None:
        try:
            headers = {
                "Authorization": f"Bearer {live_server.workspace.ingest_key}",
                "Content-Type": "application/json",
            }
            with httpx.Client(base_url=live_server.url, timeout=60, headers=headers) as http:
                http.get("/healthz")
                start.wait(timeout=60)
                for batch in plans[c]:
                    r = http.post("/api/v1/events", content=orjson.dumps(batch))
                    assert r.status_code == 200, r.text
                    answers[c].append(r.json())
        except BaseException as exc:
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert all(not t.is_alive() for t in threads)

    sent = [e for plan in plans for batch in plan for e in batch]
    flat = [a for per_client in answers for a in per_client]
    assert len(flat) == CLIENTS * BATCHES_PER_CLIENT
    used = {e["uuid"]: e for e in sent}
    # Counts reconcile: every event sent was either accepted or a duplicate, and exactly the
    # distinct events were accepted, once each.
    assert sum(a["accepted"] + a["duplicates"] for a in flat) == len(sent)
    assert sum(a["accepted"] for a in flat) == len(used)

    cur = live_server.app_state.store.cursor()
    try:
        rows = cur.execute(
            "SELECT CAST(uuid AS VARCHAR), event, distinct_id, timestamp, properties FROM events"
            " WHERE workspace_id = ?",
            [live_server.workspace.id],
        ).fetchall()
        persons = cur.execute(
            "SELECT m.distinct_id, CAST(p.id AS VARCHAR), p.properties, p.created_at"
            " FROM person_distinct_ids m JOIN persons p"
            "  ON p.workspace_id = m.workspace_id AND p.id = m.person_id"
            " WHERE m.workspace_id = ?",
            [live_server.workspace.id],
        ).fetchall()
        person_count = cur.execute(
            "SELECT count(*) FROM persons WHERE workspace_id = ?", [live_server.workspace.id]
        ).fetchone()
    finally:
        cur.close()

    # Exactly one stored copy of every event, as it was sent.
    stored = sorted(
        (u, name, did, ts.isoformat(), orjson.loads(props)) for u, name, did, ts, props in rows
    )
    expected = sorted(
        (u, e["event"], e["distinct_id"], e["timestamp"], e["properties"]) for u, e in used.items()
    )
    assert stored == expected

    # One person per distinct_id, with its derived id and the commuting $set; created at the
    # time of one of its events (the earliest of the group that first saw it).
    ws = live_server.workspace.id
    times: dict[str, set[str]] = {}
    tiers: dict[str, dict[str, str]] = {}
    for e in used.values():
        times.setdefault(e["distinct_id"], set()).add(e["timestamp"])
        if "$set" in e:
            tiers[e["distinct_id"]] = e["$set"]
    assert person_count == (len(times),)
    assert sorted((did, pid, orjson.loads(props)) for did, pid, props, _ in persons) == sorted(
        (did, person_id_for(ws, did), tiers.get(did, {})) for did in times
    )
    assert all(created.isoformat() in times[did] for did, _, _, created in persons)
