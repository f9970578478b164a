"""`opsloop workspace` through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from opsloop.cli.main import app

runner = CliRunner()


def test_create_and_list(tmp_path: Path) -> None:
    d = str(tmp_path / "data")
    r = runner.invoke(app, ["workspace", "create", "shop", "--json", "--data-dir", d])
    assert r.exit_code == 0, r.output
    created = json.loads(r.stdout)
    assert set(created) == {"id", "ingest_key", "api_token"}
    r = runner.invoke(
        app, ["workspace", "create", "blog", "--timezone", "UTC", "--json", "--data-dir", d]
    )
    assert r.exit_code == 0
    r = runner.invoke(app, ["workspace", "list", "--json", "--data-dir", d])
    assert json.loads(r.stdout) == [
        {"id": created["id"], "name": "shop", "timezone": "Asia/Shanghai"},
        {"id": created["id"] + 1, "name": "blog", "timezone": "UTC"},
    ]


def test_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    d = str(tmp_path / "data")
    runner.invoke(app, ["workspace", "create", "shop", "--data-dir", d])
    r = runner.invoke(app, ["workspace", "create", "shop", "--data-dir", d])
    assert r.exit_code == 2
    assert "already exists" in r.output
    r = runner.invoke(app, ["workspace", "create", "x", "--timezone", "Nowhere", "--data-dir", d])
    assert r.exit_code == 2 and "unknown time zone" in r.output
