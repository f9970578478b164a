"""`opsloop serve`: the server owns the event store and serves the API and the console."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from opsloop.cli.common import DataDirOpt, fail, settings_for
from opsloop.settings import Settings


def check_can_serve(settings: Settings, host: str, port: int) -> None:
    """Refuse to start with a clear message rather than a traceback."""
    data_dir = settings.data_dir
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(f"cannot create the data folder {data_dir}: {exc.strerror}") from None
    if not os.access(data_dir, os.W_OK):
        raise fail(f"the data folder {data_dir} is not writable") from None
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise fail(
                    f"port {port} on {host} is already in use; choose another with --port"
                ) from None
            raise fail(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def run_server(settings: Settings, host: str, port: int, banner: list[str] | None = None) -> None:
    from opsloop.web.app import create_app
    from opsloop.web.logging import configure_logging

    check_can_serve(settings, host, port)
    configure_logging(settings.log_level)
    app = create_app(settings, announce={"host": host, "port": port})
    for line in banner or []:
        typer.echo(line)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    data_dir: DataDirOpt = None,
) -> None:
    """Serve the API, the ingestion endpoints and the console."""
    settings = settings_for(data_dir)
    run_server(
        settings,
        host,
        port,
        [f"OpsLoop serving {Path(settings.data_dir).resolve()} on http://{host}:{port}"],
    )
