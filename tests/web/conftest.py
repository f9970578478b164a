"""Console fixtures: a user in the live server's workspace, and signing in over HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from html import unescape
from typing import Any

import httpx
import pytest

from opsloop.accounts.service import create_user
from tests.conftest import LiveServer

PASSWORD = "correct horse battery"


@dataclass
class Login:
    email: str
    password: str
    user_id: int


def make_login(server: LiveServer, email: str, role: str = "viewer", **kw: Any) -> Login:
    with server.app_state.db.session() as s:
        user, _ = create_user(
            s,
            email,
            workspace_id=kw.get("workspace_id", server.workspace.id),
            role=role,
            password=PASSWORD,
        )
        return Login(user.email, PASSWORD, user.id)


@pytest.fixture
def login(live_server: LiveServer) -> Login:
    return make_login(live_server, "li.lei@example.com")


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        yield c


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def sign_in(client: httpx.Client, login: Login, next_path: str | None = None) -> httpx.Response:
    page = client.get("/login")
    data = {"email": login.email, "password": login.password, "csrf_token": csrf_of(page.text)}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/login", data=data)


def html_lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)">', html)
    assert match
    return match.group(1)


def send_events(server: LiveServer, events: list[dict[str, Any]]) -> None:
    r = httpx.post(
        f"{server.url}/api/v1/events",
        headers={"Authorization": f"Bearer {server.workspace.ingest_key}"},
        json=events,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == len(events)


def iso(ts: datetime) -> str:
    return ts.isoformat()


def _text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def event_table(html: str) -> list[dict[str, Any]]:
    """The live events table of a page (or a feed's rows): one dict per event, in page order."""
    events = []
    for block in re.split(r'(?=<tbody class="event")', html)[1:]:
        block = block[: block.index("</table>")] if "</table>" in block else block
        uuid = re.match(r'<tbody class="event" data-uuid="([^"]+)"', block)
        row = re.search(r'<tr class="event-row".*?</tr>', block, re.S)
        assert uuid and row
        cells = [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)]
        props = {
            unescape(k): unescape(v)
            for k, v in re.findall(
                r'<tr><td><code>(.*?)</code></td><td class="prop-value">(.*?)</td></tr>',
                block,
                re.S,
            )
        }
        events.append(
            {
                "uuid": uuid.group(1),
                "time": cells[0],
                "event": cells[1],
                "distinct_id": cells[2],
                "key_properties": cells[3],
                "source": cells[4],
                "properties": props,
            }
        )
    return events
