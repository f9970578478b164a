"""`opsloop import` while a server owns the event store: the rows go through it (Arrow batches
to POST /api/v1/import/batches) and come out exactly as without a server."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from sqlalchemy import func, select

from opsloop.cli.main import app
from opsloop.importer import sink
from opsloop.importer.models import ImportRun
from opsloop.workspaces.models import ApiToken
from tests.conftest import LiveServer
from tests.importer.conftest import (
    DataDir,
    comparable,
    events_in,
    expected_from_csv,
    make_data_dir,
    runner,
)
from tests.importer.orders import (
    MESSY_CSV,
    expected_orders,
    orders_csv,
    orders_parquet,
    write_csv,
)

STARTUP_SECONDS = 120


def announce(live_server: LiveServer) -> None:
    """What `opsloop serve` writes while serving (the in-process test server does not)."""
    live_server.settings.server_file.write_text(
        json.dumps({"host": "127.0.0.1", "port": live_server.port, "pid": os.getpid()})
    )


def import_into(data_dir: Path, file: Path, workspace: str) -> dict[str, Any]:
    r = runner.invoke(
        app, ["import", str(file), "--workspace", workspace, "--json", "--data-dir", str(data_dir)]
    )
    assert r.exit_code == 0, r.output
    summary: dict[str, Any] = json.loads(r.stdout)
    return summary


def without_timing(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in summary.items() if k not in ("seconds", "quarantine_file", "import_id")
    }


def test_through_the_server_and_alone_store_the_same(
    live_server: LiveServer, tmp_path: Path
) -> None:
    announce(live_server)
    server_dir = live_server.settings.data_dir
    ws = str(live_server.workspace.id)
    alone = make_data_dir(tmp_path / "alone")
    orders = orders_parquet(tmp_path / "orders.parquet")
    messy = tmp_path / "messy.csv"
    messy.write_text(MESSY_CSV, encoding="utf-8")
    store = live_server.app_state.store
    version = store.data_version

    through = [import_into(server_dir, f, ws) for f in (orders, messy, orders)]
    assert store.data_version > version  # the server's own store took the rows
    local = [import_into(alone.path, f, "shop") for f in (orders, messy, orders)]

    assert [without_timing(s) for s in through] == [without_timing(s) for s in local]
    assert [(s["read"], s["accepted"], s["duplicates"]) for s in through] == [
        (6, 6, 0),
        (8, 2, 0),
        (6, 0, 6),
    ]
    quarantined = [Path(s["quarantine_file"]).read_text() for s in (through[1], local[1])]
    assert quarantined[0] == quarantined[1]

    cur = store.cursor()
    try:
        served = events_in(cur, live_server.workspace.id)
    finally:
        cur.close()
    con = duckdb.connect(str(alone.path / "events.duckdb"), read_only=True)
    try:
        stored = events_in(con, alone.workspace_id)
    finally:
        con.close()
    assert served == stored  # ids included
    messy_rows = [r for r in csv.reader(io.StringIO(MESSY_CSV)) if r]
    expected = expected_orders() + expected_from_csv(messy_rows[0], messy_rows[1:])
    assert comparable(served) == sorted(expected)
    # The token the CLI made for itself is gone; the runs are recorded in the server's store.
    with live_server.app_state.db.session() as s:
        tokens = s.scalar(select(func.count()).select_from(ApiToken))
        runs = s.scalars(select(ImportRun.read).order_by(ImportRun.id)).all()
    assert (tokens, list(runs)) == (1, [6, 8, 6])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[DataDir, str]]:
    """A real `opsloop serve` process for a data folder (it holds the event store)."""
    data = make_data_dir(tmp_path / "data")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsloop.cli.main", "serve", "--port", str(port),
         "--data-dir", str(data.path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = datetime.now().timestamp() + STARTUP_SECONDS
        while not _ready(url, data.path):
            try:
                proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                pass
            else:
                raise AssertionError(f"the server exited: {proc.stderr.read().decode()[-2000:]}")
            assert datetime.now().timestamp() < deadline, "the server did not start"
        yield data, url
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _ready(url: str, data_dir: Path) -> bool:
    if not (data_dir / "server.json").exists():
        return False
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_through_a_real_server_process(served: tuple[DataDir, str], tmp_path: Path) -> None:
    data, url = served
    file = orders_csv(tmp_path / "orders.csv")
    r = runner.invoke(
        app, ["import", str(file), "--workspace", "shop", "--data-dir", str(data.path)]
    )
    assert r.exit_code == 0, r.output
    assert f"stored through the server at {url}" in r.stdout
    assert "read 6 = accepted 6 + quarantined 0 + duplicates 0" in r.stdout
    answer = httpx.get(
        f"{url}/api/v1/events",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {data.api_token}"},
    ).json()
    events = [{**e, "timestamp": datetime.fromisoformat(e["timestamp"])} for e in answer["results"]]
    assert comparable(events) == expected_orders()
    imports = httpx.get(
        f"{url}/api/v1/imports", headers={"Authorization": f"Bearer {data.api_token}"}
    ).json()
    assert [(i["read"], i["accepted"], i["format"]) for i in imports] == [(6, 6, "csv")]


def test_a_store_held_elsewhere_is_a_clear_error(data: DataDir, tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, duckdb; c = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
         " sys.stdin.read()", str(data.path / "events.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"ready"
        file = orders_csv(tmp_path / "orders.csv")
        r = data.cli("import", str(file), "--workspace", "shop")
        assert r.exit_code == 2
        assert "is held by another OpsLoop process" in " ".join(r.output.split())
        assert "Traceback" not in r.output
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)


def test_a_big_file_goes_in_several_batches(
    live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    announce(live_server)
    monkeypatch.setattr(sink, "SERVER_BATCH_BYTES", 1)  # the floor: 1,000 rows a batch
    header = ["event", "distinct_id", "timestamp", "n"]
    rows = [["pay", f"u{i % 7}", f"2024-03-01T10:{i % 60:02d}:00Z", str(i)] for i in range(2500)]
    file = write_csv(tmp_path / "many.csv", header, rows)
    store = live_server.app_state.store
    version = store.data_version
    summary = import_into(live_server.settings.data_dir, file, str(live_server.workspace.id))
    assert (summary["read"], summary["accepted"]) == (2500, 2500)
    assert store.data_version - version == 3
    cur = store.cursor()
    try:
        served = events_in(cur, live_server.workspace.id)
    finally:
        cur.close()
    assert comparable(served) == expected_from_csv(header, rows)
