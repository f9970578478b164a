"""`opsloop serve` refuses to start with a clear message, not a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsloop.cli.main import app

runner = CliRunner()


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = runner.invoke(app, ["serve", "--port", str(port), "--data-dir", str(tmp_path)])
    assert r.exit_code == 2
    assert f"port {port} on 127.0.0.1 is already in use" in r.output


def test_data_folder_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    r = runner.invoke(app, ["serve", "--data-dir", str(f / "sub")])
    assert r.exit_code == 2
    assert "cannot create the data folder" in r.output


def test_invalid_settings_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSLOOP_WAREHOUSE_URL", "clickhouse://x")
    r = runner.invoke(app, ["workspace", "list", "--data-dir", str(tmp_path)])
    assert r.exit_code == 2
    assert "invalid settings: warehouse_url" in r.output
