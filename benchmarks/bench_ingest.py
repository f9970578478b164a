"""Native ingestion throughput: events/s accepted and committed by a real `opsloop serve`.

Starts the server as a subprocess on loopback, drives it with concurrent keep-alive clients
(threads spread over a few processes, so the client is not the bottleneck) sending batches of
events to `POST /api/v1/events`, and measures events/s and the latency of each batch. The same run
measures the baseline: the same server with `OPSLOOP_WRITER_MODE=row`, which commits every event
in its own single-row INSERT instead of group commit with Arrow appends. After each server stops,
the DuckDB file is opened and the stored events are counted: they must equal the accepted ones.

    .venv/bin/python benchmarks/bench_ingest.py [--seconds 10] [--baseline-seconds 5]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import orjson

EVENT_NAMES = ["app_open", "view_item", "add_to_cart", "checkout", "pay", "share", "read_article"]
OS_NAMES = ["iOS", "Android", "小程序"]
# Pre-made bodies per client thread and second of the run: 60 batches a second from each of 8
# threads is 48,000 events/s of 100-event batches.
BODIES_PER_THREAD_SECOND = 60


@dataclass(frozen=True)
class LoadPlan:
    url: str
    ingest_key: str
    threads: int
    batch_size: int
    users: int
    seed: int
    # Request bodies each client thread lays out before the clock starts (fresh uuids each), so
    # that the clients, which share the machine with the server, spend their CPU on HTTP rather
    # than on making up events; a thread that runs out makes more as it goes.
    bodies: int


@dataclass
class Clock:
    """Shared by the parent and every client thread: all clients connect, wait at the barrier,
    then the parent sets the start and stop times and lets them go."""

    ready: Any  # multiprocessing Barrier
    go: Any  # multiprocessing Event
    times: Any  # multiprocessing Array("d", [start, stop]), wall clock


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _batch_body(rng: random.Random, plan: LoadPlan) -> bytes:
    now = datetime.now(UTC)
    batch = []
    for _ in range(plan.batch_size):
        user = rng.randrange(plan.users)
        batch.append(
            {
                "event": rng.choice(EVENT_NAMES),
                "distinct_id": f"user-{user}",
                "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "timestamp": (now - timedelta(seconds=rng.random() * 60)).isoformat(),
                "properties": {
                    "$lib": "bench",
                    "$os": OS_NAMES[user % 3],
                    "$session_id": f"s-{user}-{int(now.timestamp()) // 1800}",
                    "amount": round(rng.random() * 200, 2),
                    "item": f"sku-{rng.randrange(500)}",
                    "channel": "应用商店",
                },
            }
        )
    return orjson.dumps(batch)


def _client_thread(
    plan: LoadPlan, clock: Clock, seed: int, out: list[tuple[float, float, int, int]]
) -> None:
    """Appends (sent_at, latency_s, accepted, status) for every request it made."""
    rng = random.Random(seed)
    bodies = [_batch_body(rng, plan) for _ in range(plan.bodies)]
    bodies.reverse()
    headers = {"Authorization": f"Bearer {plan.ingest_key}", "Content-Type": "application/json"}
    with httpx.Client(base_url=plan.url, timeout=600, headers=headers) as client:
        client.get("/healthz")  # connect before the clock starts
        clock.ready.wait()
        clock.go.wait()
        stop_at = clock.times[1]
        while True:
            body = bodies.pop() if bodies else _batch_body(rng, plan)
            sent = time.time()
            if sent >= stop_at:
                return
            t0 = time.perf_counter()
            try:
                r = client.post("/api/v1/events", content=body)
            except httpx.TransportError:
                out.append((sent, time.perf_counter() - t0, 0, -1))
                continue
            latency = time.perf_counter() - t0
            accepted = r.json().get("accepted", 0) if r.status_code == 200 else 0
            out.append((sent, latency, accepted, r.status_code))


def _client_process(plan: LoadPlan, clock: Clock, queue: Any) -> None:
    results: list[list[tuple[float, float, int, int]]] = [[] for _ in range(plan.threads)]
    threads = [
        threading.Thread(
            target=_client_thread, args=(plan, clock, plan.seed * 1000 + i, results[i])
        )
        for i in range(plan.threads)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put([row for rows in results for row in rows])


class Server:
    """`opsloop serve` on a fresh data folder, in a subprocess."""

    def __init__(self, data_dir: Path, mode: str, materialize: tuple[str, ...] = ()) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "OPSLOOP_WRITER_MODE": mode, "OPSLOOP_LOG_LEVEL": "warning"}
        cli = [sys.executable, "-m", "opsloop.cli.main"]
        created = subprocess.run(
            [*cli, "workspace", "create", "bench", "--json", "--data-dir", str(data_dir)],
            check=True,
            capture_output=True,
            env=env,
        )
        self.ingest_key: str = json.loads(created.stdout)["ingest_key"]
        for spec in materialize:  # KEY:TYPE, materialized before the server owns the store
            key, _, kind = spec.partition(":")
            where = ["--workspace", "bench", "--data-dir", str(data_dir)]
            subprocess.run(
                [*cli, "property", "materialize", key, "--type", kind or "auto", *where],
                check=True,
                capture_output=True,
                env=env,
            )
        self.log = (data_dir / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [*cli, "serve", "--port", str(self.port), "--data-dir", str(data_dir)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError(f"the server did not start; see {data_dir / 'server.log'}")
        # One committed event before the clock starts: the writer has warmed up.
        ready = {"event": "bench_ready", "distinct_id": "bench", "uuid": str(uuid.uuid4())}
        r = httpx.post(
            f"{self.url}/api/v1/events",
            json=ready,
            headers={"Authorization": f"Bearer {self.ingest_key}"},
            timeout=300,
        )
        if r.status_code != 200:
            self.stop()
            raise RuntimeError(f"the server did not accept an event: {r.text}")
        self.ready_events = 1

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        self.log.close()

    def stored(self) -> tuple[int, int]:
        """(events, distinct uuids) in the DuckDB file; only after stop()."""
        con = duckdb.connect(str(self.data_dir / "events.duckdb"), read_only=True)
        try:
            row = con.execute("SELECT count(*), count(DISTINCT uuid) FROM events").fetchone()
        finally:
            con.close()
        assert row is not None
        return int(row[0]), int(row[1])


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    return _cpu_seconds_of(Path(f"/proc/{pid}/stat"))


def _thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds so far of each thread of a process."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[int(task.name)] = _cpu_seconds_of(task / "stat")
        except (FileNotFoundError, ProcessLookupError):
            continue
    return out


def _cpu_seconds_of(stat: Path) -> float:
    fields = stat.read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor()


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


def run_load(
    mode: str,
    seconds: float,
    warmup: float,
    clients: int,
    processes: int,
    batch_size: int,
    profile: list[str] | None = None,
    materialize: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Throughput counts the events of the requests answered between the end of the warm-up and
    the stop time; the clients send nothing new after the stop time."""
    with tempfile.TemporaryDirectory(prefix=f"opsloop-bench-{mode}-") as tmp:
        server = Server(Path(tmp), mode, materialize)
        try:
            ctx = mp.get_context("spawn")
            clock = Clock(ctx.Barrier(clients + 1), ctx.Event(), ctx.Array("d", [0.0, 0.0]))
            queue = ctx.Queue()
            procs = []
            for p in range(processes):
                threads = clients // processes + (1 if p < clients % processes else 0)
                plan = LoadPlan(
                    server.url,
                    server.ingest_key,
                    threads,
                    batch_size,
                    20_000,
                    p + 1,
                    math.ceil((warmup + seconds) * BODIES_PER_THREAD_SECOND),
                )
                proc = ctx.Process(target=_client_process, args=(plan, clock, queue))
                proc.start()
                procs.append(proc)
            clock.ready.wait(timeout=120)
            start = time.time() + warmup
            stop = start + seconds
            clock.times[0], clock.times[1] = start, stop
            clock.go.set()
            time.sleep(max(0.0, start - time.time()))
            cpu_start = _cpu_seconds(server.proc.pid), sum(_cpu_seconds(p.pid) for p in procs)
            threads_start = _thread_cpu(server.proc.pid)
            profiler = None
            if profile:
                profiler = subprocess.Popen(
                    [*profile, "--pid", str(server.proc.pid), "--duration", str(int(seconds))]
                )
            time.sleep(max(0.0, stop - time.time()))
            cpu_stop = _cpu_seconds(server.proc.pid), sum(_cpu_seconds(p.pid) for p in procs)
            threads_stop = _thread_cpu(server.proc.pid)
            rows = [row for _ in procs for row in queue.get()]
            for proc in procs:
                proc.join()
            if profiler is not None:
                profiler.wait()
        finally:
            server.stop()
        stored, distinct = server.stored()
    answered = [r for r in rows if start <= r[0] + r[1] < stop]
    latencies = sorted(r[1] for r in answered)
    accepted = sum(r[2] for r in answered)
    return {
        "events_per_s": round(accepted / seconds),
        "batches": len(answered),
        "events_accepted": accepted,
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "errors": sum(1 for r in rows if r[3] != 200),
        # CPU seconds per second of the window: 1.0 is one core busy (this machine has
        # os.cpu_count() of them, shared by the server, the clients and anything else running).
        "server_cpu_cores": round((cpu_stop[0] - cpu_start[0]) / seconds, 2),
        "client_cpu_cores": round((cpu_stop[1] - cpu_start[1]) / seconds, 2),
        # The busiest server threads: the main thread runs the event loop (HTTP, parsing), the
        # writer thread the commits, DuckDB's workers parts of the queries.
        "server_main_thread_cpu_cores": round(
            (threads_stop.get(server.proc.pid, 0.0) - threads_start.get(server.proc.pid, 0.0))
            / seconds,
            2,
        ),
        "server_busiest_threads_cpu_cores": sorted(
            (
                round((threads_stop[t] - threads_start.get(t, 0.0)) / seconds, 2)
                for t in threads_stop
            ),
            reverse=True,
        )[:4],
        "server_cpu_ms_per_1k_events": round(
            (cpu_stop[0] - cpu_start[0]) * 1000 / max(accepted, 1) * 1000, 1
        ),
        # Every accepted event of the run (warm-up included) is in the file, each once.
        "accepted_total": sum(r[2] for r in rows) + server.ready_events,
        "stored_total": stored,
        "stored_distinct_uuids": distinct,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--baseline-seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--no-baseline", action="store_true", help="skip the row-by-row run")
    parser.add_argument(
        "--materialize",
        default="",
        metavar="KEY:TYPE,...",
        help="materialized properties of the workspace, e.g. amount:number,channel:text,item:text"
        " (every write then fills their columns)",
    )
    parser.add_argument(
        "--profile",
        metavar="COMMAND",
        help="profile the group-commit server while measuring, e.g."
        " 'py-spy record --format speedscope -o ingest.json' (--pid and --duration are added)",
    )
    args = parser.parse_args()
    shape = (args.clients, args.client_processes, args.batch_size)
    profile = args.profile.split() if args.profile else None
    load_before = os.getloadavg()[0]
    materialize = tuple(m for m in args.materialize.split(",") if m)
    group = run_load(
        "group", args.seconds, args.warmup, *shape, profile=profile, materialize=materialize
    )
    row = (
        None
        if args.no_baseline
        else run_load("row", args.baseline_seconds, args.warmup, *shape, materialize=materialize)
    )
    print(
        json.dumps(
            {
                "benchmark": "ingest_native",
                "machine": {
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                    "duckdb": duckdb.__version__,
                    "cpu_model": _cpu_model(),
                    # The machine may be shared: other work running takes cores from the run.
                    "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                },
                "config": {
                    "clients": args.clients,
                    "client_processes": args.client_processes,
                    "batch_size": args.batch_size,
                    "seconds": args.seconds,
                    "baseline_seconds": args.baseline_seconds,
                    "materialized": list(materialize),
                },
                "group_commit": group,
                "baseline_row_by_row": row,
                "ratio": row and round(group["events_per_s"] / max(row["events_per_s"], 1), 1),
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
