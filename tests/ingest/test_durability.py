"""A 2xx is a promise: events acknowledged by `opsloop serve` survive the server being killed
(SIGKILL, mid-stream, requests in flight), and a retried request never stores an event twice."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx
import orjson
import pytest
from typer.testing import CliRunner

from opsloop.cli.main import app as cli
from opsloop.events.schema import person_id_for

pytestmark = pytest.mark.slow

CLIENTS = 4
BATCH = 20
START_TIMEOUT = 180.0  # a cold `opsloop serve` on a busy 2-core machine


def wait_until(check: Callable[[], bool], what: str, timeout: float) -> None:
    """Poll `check` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        pause.wait(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


@contextmanager
def serving(data_dir: Path, round_no: int) -> Iterator[Server]:
    """`opsloop serve` on `data_dir`; whatever happens, the process is gone afterwards."""
    port = free_port()
    log = data_dir.parent / f"server-{round_no}.log"
    with log.open("wb") as out:
        command = ["serve", "--port", str(port), "--data-dir", str(data_dir)]
        proc = subprocess.Popen(
            [sys.executable, "-m", "opsloop.cli.main", *command],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(proc, f"http://127.0.0.1:{port}", log)

    def healthy() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            return httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(healthy, "the server to answer /healthz", START_TIMEOUT)
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)


def make_batch(seq: int) -> list[dict[str, Any]]:
    return [
        {
            "event": f"e{i % 3}",
            "distinct_id": f"user-{(seq * BATCH + i) % 37}",
            "uuid": str(uuid.uuid4()),
            "timestamp": f"2026-11-{1 + seq % 28:02d}T{i % 24:02d}:00:00Z",
            "properties": {"seq": seq, "i": i, "城市": "杭州"},
        }
        for i in range(BATCH)
    ]


@dataclass
class Ledger:
    """What the clients sent and what the server acknowledged, shared by the client threads."""

    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    acked: set[int] = field(default_factory=set)  # batch numbers that got a 2xx
    accepted: int = 0  # the sum of "accepted" over all 2xx answers
    late_duplicates: int = 0  # "duplicates" in the first 2xx of a batch (its commit lost its ack)
    unacked: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.done = threading.Condition(self.lock)

    def new_batch(self) -> int:
        with self.lock:
            self.batches.append(make_batch(len(self.batches)))
            return len(self.batches) - 1

    def record(self, seq: int, answer: dict[str, Any] | None) -> None:
        with self.done:
            if answer is None:
                if seq not in self.acked:
                    self.unacked.add(seq)
            else:
                if seq not in self.acked:
                    self.accepted += answer["accepted"]
                    self.late_duplicates += answer["duplicates"]
                else:
                    # A batch acknowledged before is all duplicates when sent again.
                    assert answer == {"status": "ok", "accepted": 0, "duplicates": BATCH}, answer
                self.acked.add(seq)
                self.unacked.discard(seq)
            self.done.notify_all()


def post(client: httpx.Client, key: str, batch: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The answer of a 2xx, None when the request failed (connection cut, 5xx)."""
    try:
        r = client.post(
            "/api/v1/events",
            content=orjson.dumps(batch),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
    except httpx.TransportError:
        return None
    if r.status_code >= 500:
        return None
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def run_clients(
    server: Server, key: str, ledger: Ledger, work: list[int] | None
) -> list[threading.Thread]:
    """CLIENTS threads sending batches until the server goes away. With `work`, they first send
    those batches again (retries), then new ones."""
    queue = list(work or [])
    queue_lock = threading.Lock()

    def next_seq() -> int:
        with queue_lock:
            if queue:
                return queue.pop(0)
        return ledger.new_batch()

    def client() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            while True:
                seq = next_seq()
                answer = post(c, key, ledger.batches[seq])
                ledger.record(seq, answer)
                if answer is None:
                    return  # the server is gone; the next round retries what was cut

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    return threads


def kill_after(server: Server, ledger: Ledger, acks: int, threads: list[threading.Thread]) -> None:
    """SIGKILL the server once `acks` batches are acknowledged, while the clients keep sending."""
    with ledger.done:
        assert ledger.done.wait_for(lambda: len(ledger.acked) >= acks, timeout=120), (
            f"only {len(ledger.acked)} batches acknowledged; log: {server.log.read_text()[-3000:]}"
        )
    server.kill()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()


def stored(data_dir: Path) -> tuple[list[tuple[str, str, str, str]], dict[str, str]]:
    """(uuid, event, distinct_id, properties) of every stored event, and the person map."""
    con = duckdb.connect(str(data_dir / "events.duckdb"), read_only=True)
    try:
        events = con.execute(
            "SELECT CAST(uuid AS VARCHAR), event, distinct_id, CAST(properties AS VARCHAR)"
            " FROM events ORDER BY 1"
        ).fetchall()
        persons = con.execute(
            "SELECT distinct_id, CAST(person_id AS VARCHAR) FROM person_distinct_ids"
        ).fetchall()
        person_rows = con.execute("SELECT count(*), count(DISTINCT id) FROM persons").fetchone()
    finally:
        con.close()
    mapping = dict(persons)
    assert len(mapping) == len(persons), "a distinct_id is mapped twice"
    assert person_rows == (len(mapping), len(mapping))
    return events, mapping


def test_acknowledged_events_survive_sigkill(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    created = CliRunner().invoke(
        cli, ["workspace", "create", "shop", "--json", "--data-dir", str(data_dir)]
    )
    assert created.exit_code == 0, created.output
    workspace = orjson.loads(created.stdout)
    key = workspace["ingest_key"]
    ledger = Ledger()

    # Round 1: kill mid-stream once a few dozen batches are acknowledged.
    with serving(data_dir, 1) as server:
        kill_after(server, ledger, 30, run_clients(server, key, ledger, None))
    assert ledger.unacked, "the kill cut no request"

    # Round 2: the clients retry what was cut and resend some acknowledged batches (all
    # duplicates now), with new batches; killed again soon after the restart.
    retry = sorted(ledger.unacked) + sorted(ledger.acked)[:8]
    acked_before = len(ledger.acked)
    with serving(data_dir, 2) as server:
        kill_after(server, ledger, acked_before + 12, run_clients(server, key, ledger, retry))

    # Round 3: retry what the second kill cut, then stop cleanly.
    with serving(data_dir, 3) as server:
        threads = run_clients(server, key, ledger, sorted(ledger.unacked))
        with ledger.done:
            assert ledger.done.wait_for(lambda: not ledger.unacked, timeout=120)
        server.stop()
        for t in threads:
            t.join(timeout=60)
    # Stopping cut the clients' last requests: those were never acknowledged and are not
    # promised, but they may have been committed. Everything else was acknowledged.
    sent = {e["uuid"]: e for seq in ledger.acked for e in ledger.batches[seq]}
    maybe = {e["uuid"]: e for seq in ledger.unacked for e in ledger.batches[seq]}

    events, mapping = stored(data_dir)
    stored_uuids = [u for u, *_ in events]
    assert len(stored_uuids) == len(set(stored_uuids)), "an event was stored twice"
    assert set(sent) <= set(stored_uuids), "an acknowledged event was lost"
    assert set(stored_uuids) <= set(sent) | set(maybe), "an event nobody sent was stored"
    # Every acknowledged event is stored as sent.
    expected = sorted((u, e["event"], e["distinct_id"], e["properties"]) for u, e in sent.items())
    got = sorted((u, name, did, orjson.loads(props)) for u, name, did, props in events if u in sent)
    assert got == expected
    # The answers reconcile: each stored event was counted once as accepted, or (its commit
    # having lost its answer to the kill) as a duplicate on the retry's first answer.
    late = len([u for u in stored_uuids if u in maybe])
    assert ledger.accepted + ledger.late_duplicates == len(stored_uuids) - late
    # One person per distinct_id, with the id every writer derives.
    ws = workspace["id"]
    dids = {did for _, _, did, _ in events}
    assert mapping == {did: person_id_for(ws, did) for did in dids}
