"""`opsloop query` through Typer's runner: every registered kind, run on the event store itself and
through a live server, against the REST answer, the Python API and plain-Python references."""

from __future__ import annotations

import json
import os
import shlex
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from typer.testing import CliRunner, Result

from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import DuckDbEngine
from opsloop.analytics.registry import KINDS
from opsloop.analytics.service import run_query
from opsloop.cli.main import app
from opsloop.cli.query import EXAMPLES, Options, build_request, parse_request
from opsloop.db import open_database
from opsloop.events import IncomingEvent, open_event_store
from opsloop.events.schema import PersonOp
from opsloop.settings import Settings
from opsloop.workspaces.service import CreatedWorkspace, create_workspace
from tests.conftest import _start

runner = CliRunner()
TZ = "Asia/Shanghai"
DAYS = [date(2026, 6, 1) + timedelta(days=i) for i in range(7)]
CHANNEL = {"u1": "小红书", "u2": "抖音信息流", "u3": "小红书", "u4": "应用商店"}
# (distinct_id, event, local time, amount)
LOG: list[tuple[str, str, str, float | None]] = [
    ("u1", "sign_up", "2026-06-01 10:00", None),
    ("u1", "app_open", "2026-06-01 10:05", None),
    ("u1", "pay", "2026-06-01 11:00", 100),
    ("u1", "app_open", "2026-06-02 09:00", None),
    ("u1", "pay", "2026-06-03 20:00", 50.5),
    ("u2", "sign_up", "2026-06-01 12:00", None),
    ("u2", "app_open", "2026-06-03 08:00", None),
    ("u2", "pay", "2026-06-03 09:00", 30),
    ("u3", "sign_up", "2026-06-02 18:00", None),
    ("u3", "app_open", "2026-06-02 18:01", None),
    ("u3", "app_open", "2026-06-04 10:00", None),
    ("u4", "sign_up", "2026-06-03 23:30", None),
    ("u4", "pay", "2026-06-04 00:10", 200),
    ("u4", "pay", "2026-06-05 15:00", 20),
    ("u4", "app_open", "2026-06-06 12:00", None),
]
UNSTABLE = ("seconds", "cached")  # timing, and whether the server's cache answered


@dataclass(frozen=True)
class Shop:
    settings: Settings
    workspace: CreatedWorkspace

    def cli(self, *args: str) -> Result:
        data = str(self.settings.data_dir)
        return runner.invoke(app, ["query", *args, "-w", "shop", "--data-dir", data])

    def answer(self, *args: str) -> dict[str, Any]:
        r = self.cli(*args, "--json")
        assert r.exit_code == 0, r.output
        value: dict[str, Any] = json.loads(r.stdout)
        return value


def _events(workspace_id: int) -> list[IncomingEvent]:
    zone = ZoneInfo(TZ)
    out = []
    for i, (who, event, local, amount) in enumerate(LOG):
        props: dict[str, Any] = {"channel": CHANNEL[who]}
        if amount is not None:
            props["amount"] = amount
        ops = [PersonOp("set", {"channel": CHANNEL[who]})] if event == "sign_up" else []
        ts = datetime.fromisoformat(local).replace(tzinfo=zone).astimezone(UTC)
        uid = f"00000000-0000-0000-0000-{i + 1:012d}"
        out.append(IncomingEvent(workspace_id, uid, event, who, ts, props, "test", ops))
    return out


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    settings = Settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir()
    db = open_database(settings.resolved_database_url)
    with db.session() as s:
        ws = create_workspace(s, "shop", TZ)
    db.close()
    store = open_event_store(settings.event_store_path)
    store.write_events(_events(ws.id))
    store.close()
    return Shop(settings, ws)


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """OpsLoop serving the data folder in this process, announced in server.json as `opsloop
    serve` does; it owns the event store until the block ends."""
    server, thread, port = _start(settings)
    settings.server_file.write_text(
        json.dumps({"host": "127.0.0.1", "port": port, "pid": os.getpid()})
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        settings.server_file.unlink(missing_ok=True)
        server.should_exit = True
        thread.join(timeout=30)


def stable(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in UNSTABLE}


def example(kind: str) -> list[str]:
    return shlex.split(EXAMPLES[kind])


def request_of(kind: str, args: list[str]) -> dict[str, Any]:
    """The request the CLI sends for these arguments (as the REST door receives it)."""
    opts: dict[str, Any] = defaultdict(list)
    names = {"--from": "date_from", "--to": "date_to", "--interval": "interval"}
    names |= {"--math": "math", "--property": "property", "--breakdown": "breakdown"}
    lists = {"--event": "events", "--filter": "filters", "--set": "sets"}
    body = None
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag == "--body":
            body = value
        elif flag in lists:
            opts[lists[flag]].append(value)
        else:
            opts[names[flag]] = value
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in opts.items()}
    return parse_request(build_request(kind, body, Options(**fields))).model_dump(mode="json")


# -- every kind, three doors ------------------------------------------------------------------


def test_every_registered_kind_has_an_example_in_the_help() -> None:
    missing = sorted(set(KINDS) - set(EXAMPLES))
    assert missing == [], f"add an example to cli/query.py EXAMPLES for: {missing}"
    r = runner.invoke(app, ["query", "--help"], env={"COLUMNS": "400"})
    assert r.exit_code == 0
    for kind in KINDS:
        assert f"opsloop query {kind} -w shop {EXAMPLES[kind]}" in r.stdout


def test_each_kind_answers_alike_locally_through_the_server_and_over_rest(shop: Shop) -> None:
    local = {kind: shop.answer(kind, *example(kind)) for kind in KINDS}
    # The Python API on the same store gives the same answers (no cache: never `cached`).
    store = open_event_store(shop.settings.event_store_path, read_only=True)
    ctx = QueryContext(shop.workspace.id, TZ, DuckDbEngine(store))
    try:
        for kind in KINDS:
            direct = run_query(
                ctx, KINDS[kind].model.model_validate(request_of(kind, example(kind)))
            )
            assert stable(local[kind]) == stable(direct), kind
            assert local[kind]["cached"] is False and list(local[kind]) == list(direct)
    finally:
        store.close()
    token = {"Authorization": f"Bearer {shop.workspace.api_token}"}
    with serving(shop.settings) as url:
        for kind in KINDS:
            served = shop.answer(kind, *example(kind))
            rest = httpx.post(
                f"{url}/api/v1/query", json=request_of(kind, example(kind)), headers=token
            )
            assert rest.status_code == 200, rest.text
            assert list(served) == list(rest.json()), kind  # same keys, seconds and cached too
            assert stable(served) == stable(rest.json()) == stable(local[kind]), kind
