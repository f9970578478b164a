"""The query benchmark through REST: the same cases sent to a real `opsloop serve` over HTTP
(JSON both ways, the API token checked), and the cache case.

The server runs on a copy of the dataset (the cache case writes an event, and the dataset is
shared), in a folder with a fresh operational store whose first workspace is the dataset's.
Each timed request carries `Cache-Control: no-cache`, so the query is computed every time; the
cache case then shows a repeated request answered from the cache, and a new event making the
next answer a fresh, different one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from query_cases import D1, TZ, WORKSPACE, Case

CLI = [sys.executable, "-m", "opsloop.cli.main"]
CACHE_TARGET_S = 0.050


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """`opsloop serve` on a copy of the dataset's event store."""

    def __init__(self, dataset: Path, scratch: Path) -> None:
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        started = time.perf_counter()
        shutil.copyfile(dataset / "events.duckdb", scratch / "events.duckdb")
        self.copy_s = time.perf_counter() - started
        self.scratch = scratch
        env = {**os.environ, "OPSLOOP_LOG_LEVEL": "warning"}
        create = ["workspace", "create", "bench", "--json", "--timezone", TZ]
        created = subprocess.run(
            [*CLI, *create, "--data-dir", str(scratch)],
            check=True,
            capture_output=True,
            env=env,
        )
        ws = json.loads(created.stdout)
        if ws["id"] != WORKSPACE:
            raise RuntimeError(f"the dataset's events belong to workspace {WORKSPACE}, not {ws}")
        self.token, self.ingest_key = ws["api_token"], ws["ingest_key"]
        self.url = f"http://127.0.0.1:{_free_port()}"
        self.log = (scratch / "server.log").open("wb")
        port = self.url.rsplit(":", 1)[1]
        self.proc = subprocess.Popen(
            [*CLI, "serve", "--port", port, "--data-dir", str(scratch)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not start; see {scratch / 'server.log'}")

    def peak_rss_mb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
        return -1

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=120)
        self.log.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def _post(
    c: httpx.Client, body: dict[str, Any], fresh: bool = True
) -> tuple[float, dict[str, Any]]:
    headers = {"Cache-Control": "no-cache"} if fresh else {}
    started = time.perf_counter()
    r = c.post("/api/v1/query", json=body, headers=headers)
    elapsed = time.perf_counter() - started
    if r.status_code != 200:
        raise RuntimeError(f"{body['kind']}: HTTP {r.status_code}: {r.text[:300]}")
    return elapsed, r.json()


def _time_case(c: httpx.Client, case: Case, want: Any, runs: int) -> dict[str, Any]:
    from bench_queries import first_difference, same

    _, answer = _post(c, case.request)
    got = case.canon_engine(answer)
    if not same(got, want):
        return {"rest_same_answer": False, "rest_difference": first_difference(got, want)}
    times = [_post(c, case.request)[0] for _ in range(runs)]
    return {
        "rest_same_answer": True,
        "rest": {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3)},
    }


def _gmv(answer: dict[str, Any]) -> float:
    row = answer["results"][0]
    return float(row["values"][row["dates"].index(str(D1))])


def cache_case(server: Server, c: httpx.Client, runs: int) -> dict[str, Any]:
    """A dashboard's GMV query repeated: answered from the cache; then one new pay event of the
    last day arrives and the next answer is computed afresh and holds it."""
    from query_cases import TRENDS

    body = next(case.request for case in TRENDS if case.name == "trends_gmv_by_day")
    computed_s, first = _post(c, body, fresh=False)
    hits = [_post(c, body, fresh=False) for _ in range(max(runs, 20))]
    hit_times = [t for t, _ in hits]
    all_cached = all(a["cached"] for _, a in hits)
    amount = 4321.5
    event = {
        "event": "pay",
        "distinct_id": "bench-cache-probe",
        "uuid": str(uuid.uuid4()),
        "timestamp": datetime(D1.year, D1.month, D1.day, 4, 0, tzinfo=UTC).isoformat(),
        "properties": {"amount": amount},
    }
    sent = c.post(
        "/api/v1/events", json=event, headers={"Authorization": f"Bearer {server.ingest_key}"}
    )
    if sent.status_code != 200:
        raise RuntimeError(f"the probe event was refused: {sent.text[:300]}")
    after_s, after = _post(c, body, fresh=False)
    again_s, again = _post(c, body, fresh=False)
    hit_s = statistics.median(hit_times)
    return {
        "query": "trends_gmv_by_day",
        "first_answer": {"seconds": round(computed_s, 3), "cached": first["cached"]},
        "repeated": {
            "requests": len(hit_times),
            "all_cached": all_cached,
            "median_ms": round(hit_s * 1000, 1),
            "max_ms": round(max(hit_times) * 1000, 1),
            "under_50_ms": hit_s < CACHE_TARGET_S,
        },
        "after_new_event": {
            "seconds": round(after_s, 3),
            "cached": after["cached"],
            "last_day_before": _gmv(first),
            "last_day_after": _gmv(after),
            "changed_by_the_event": abs(_gmv(after) - _gmv(first) - amount) < 1e-6,
        },
        "next_repeat": {"ms": round(again_s * 1000, 1), "cached": again["cached"]},
    }


def measure_rest(
    dataset: Path, cases: list[Case], answers: dict[str, Any], out: dict[str, Any], args: Any
) -> None:
    scratch = Path(args.rest_dir or f"{dataset}-rest")
    server = Server(dataset, scratch)
    out["rest_copy_s"] = round(server.copy_s, 1)
    try:
        auth = {"Authorization": f"Bearer {server.token}"}
        with httpx.Client(base_url=server.url, headers=auth, timeout=600) as c:
            for case in cases:
                row = out["cases"][case.name]
                if case.name not in answers or answers[case.name] is None:
                    continue
                row.update(_time_case(c, case, answers[case.name], max(args.runs, 1)))
                if "rest" in row and "handwritten_sql" in row:
                    sql = row["handwritten_sql"]["median_s"]
                    row["rest_over_sql"] = round(row["rest"]["median_s"] / sql, 2)
                print(f"{case.name}: REST {row.get('rest')}", file=sys.stderr, flush=True)
            if not args.no_cache_case:
                out["cache"] = cache_case(server, c, args.runs)
                print(json.dumps(out["cache"]), file=sys.stderr, flush=True)
        out["server_peak_rss_mb"] = server.peak_rss_mb()
    finally:
        server.stop()
