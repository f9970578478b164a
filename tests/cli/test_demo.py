"""`opsloop demo` as a person runs it: it builds a small world, serves it, and prints the URL and
the login; that login signs in to the console, whose overview shows the world's numbers."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

import httpx
import pytest

from opsloop.cli.demo import DEMO_EMAIL, DEMO_PASSWORD
from opsloop.demo.spend import ORGANIC, demo_spend
from tests.web.conftest import csrf_of

DEADLINE_S = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _read_until(proc: subprocess.Popen[str], pattern: str) -> str:
    """The process's output up to the line matching `pattern` (within the deadline)."""
    assert proc.stdout is not None
    seen = ""
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        ready, _, _ = select.select([proc.stdout], [], [], 1)
        if not ready:
            assert proc.poll() is None, seen
            continue
        line = proc.stdout.readline()
        seen += line
        if re.search(pattern, line):
            return seen
        assert line or proc.poll() is None, seen
    raise AssertionError(f"no {pattern!r} within {DEADLINE_S} s:\n{seen}")


def _check_spend(client: httpx.Client, csrf: str) -> None:
    """The demo's spend table is stored, and CAC by channel is its spend ÷ its new users."""
    headers = {"X-CSRF-Token": csrf}
    stored = client.get("/api/v1/spend", headers=headers).json()["results"]
    days = sorted({r["date"] for r in stored})
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    assert (last - first).days == 27
    expected = demo_spend(first, last, 42)
    got = sorted((r["channel"], r["date"], r["spend"]) for r in stored)
    assert got == sorted((c, d.isoformat(), v) for c, d, v in expected)
    body = {
        "kind": "metrics",
        "metrics": ["cac", "new_users"],
        "interval": "month",
        "date_from": days[0],
        "date_to": days[-1],
        "breakdown": "$first_touch_channel",
    }
    answer = client.post("/api/v1/query", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    lines = {(r["metric"], r["breakdown_value"]): r["total"] for r in answer.json()["results"]}
    spend_by: dict[str, float] = defaultdict(float)
    for channel, _, value in expected:
        spend_by[channel] += value
    for channel, spend in spend_by.items():
        assert lines[("cac", channel)] == pytest.approx(spend / lines[("new_users", channel)])
    assert lines.get(("cac", ORGANIC)) is None


@pytest.mark.slow
def test_the_demo_prints_its_url_and_login_which_sign_in(tmp_path: Path) -> None:
    port = _free_port()
    cmd = [sys.executable, "-m", "opsloop.cli.main", "demo", "--data-dir", str(tmp_path),
           "--port", str(port), "--users", "200", "--days", "28"]  # fmt: skip
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("OPSLOOP_DATA_DIR", None)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)  # fmt: skip
    try:
        out = _read_until(proc, r"sign in as")
        url = f"http://127.0.0.1:{port}/"
        assert url in out
        assert f"sign in as {DEMO_EMAIL} / {DEMO_PASSWORD}" in out
        with httpx.Client(base_url=url, timeout=30) as client:
            end = time.monotonic() + DEADLINE_S
            while True:  # the server may print before it listens
                try:
                    login = client.get("/login")
                    break
                except httpx.ConnectError:
                    assert time.monotonic() < end and proc.poll() is None
                    select.select([], [], [], 0.2)
            r = client.post("/login", data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD,
                                            "csrf_token": csrf_of(login.text)})  # fmt: skip
            assert (r.status_code, r.headers["location"]) == (303, "/overview")
            overview = client.get("/overview?lang=en")
            assert overview.status_code == 200
            dau = re.search(r'data-testid="kpi-dau".*?data-testid="kpi-value">([^<]+)<',
                            overview.text, re.S)  # fmt: skip
            assert dau and int(dau.group(1).replace(",", "")) > 0
            _check_spend(client, csrf_of(overview.text))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        if proc.stdout is not None:
            proc.stdout.close()


def test_the_days_option_starts_where_the_simulator_does(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from opsloop.cli.demo import MIN_DAYS
    from opsloop.cli.main import app
    from opsloop.demo.calendar import MIN_DAYS as SIMULATOR_MIN_DAYS

    assert MIN_DAYS == SIMULATOR_MIN_DAYS
    runner = CliRunner()
    for command in ("demo", "demo-data"):
        r = runner.invoke(app, [command, "--data-dir", str(tmp_path), "--days", str(MIN_DAYS - 1)])
        assert r.exit_code == 2
        assert "greaterthanorequalto28" in r.output.replace(" ", "").replace("\n", "")
    assert not (tmp_path / "events.duckdb").exists()
