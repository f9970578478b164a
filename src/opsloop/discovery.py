"""Finding the server that serves a data folder (it writes `<data_dir>/server.json` while it
runs), so CLI commands send their work through it instead of opening the event store."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import httpx

from opsloop.settings import Settings

HEALTH_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ServerAddress:
    url: str
    pid: int


def running_server(settings: Settings) -> ServerAddress | None:
    """The server serving this data folder, if its server.json is fresh and it answers."""
    try:
        info = json.loads(settings.server_file.read_text())
        host, port, pid = str(info["host"]), int(info["port"]), int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _process_alive(pid):
        return None
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    try:
        answer = httpx.get(f"{url}/healthz", timeout=HEALTH_TIMEOUT_SECONDS)
    except httpx.HTTPError:
        return None
    return ServerAddress(url, pid) if answer.status_code == 200 else None


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
