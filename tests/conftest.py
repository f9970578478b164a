"""Shared fixtures: a data folder, the operational store on SQLite and PostgreSQL, a live server."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
import uvicorn

from opsloop.db import open_database
from opsloop.settings import Settings
from opsloop.web.app import create_app
from opsloop.web.state import AppState
from opsloop.workspaces.service import CreatedWorkspace, create_workspace

if TYPE_CHECKING:
    from tests.web.access_world import World

PG_ADMIN_URL = os.environ.get("OPSLOOP_TEST_DATABASE_URL")


def _pg_url() -> str:
    if not PG_ADMIN_URL:
        pytest.fail(
            "OPSLOOP_TEST_DATABASE_URL is not set: run the suite with scripts/test, which starts"
            " a PostgreSQL on loopback"
        )
    return PG_ADMIN_URL


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    admin = _pg_url()
    name = "opsloop_t_" + secrets.token_hex(6)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The operational store's URL: each test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ops.sqlite3'}"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@dataclass
class LiveServer:
    url: str
    port: int
    settings: Settings
    app_state: AppState
    workspace: CreatedWorkspace


def _start(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, int]:
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()
    for _ in range(600):
        if server.started:
            started.set()
            break
        started.wait(0.01)
    if not server.started:
        raise RuntimeError("test server did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, port


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """OpsLoop serving on 127.0.0.1 (a free port), with one workspace created."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings.resolved_database_url)
    with db.session() as s:
        ws = create_workspace(s, "test")
    db.close()
    server, thread, port = _start(settings)
    app_state: AppState = server.config.app.state.opsloop  # type: ignore[attr-defined]
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", port, settings, app_state, ws)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    """Two workspaces served on 127.0.0.1, a signed-in member of every role with an API token
    (tests/web/access_world.py), on SQLite and on PostgreSQL."""
    from tests.web.access_world import access_world  # it starts servers with _start, above

    with access_world(tmp_path, database_url) as w:
        yield w
