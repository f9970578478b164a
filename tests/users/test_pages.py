"""The users pages over HTTP: search by distinct_id (an exact id opens the profile), by person
properties and recent activity, exports; a profile with its properties, ids, saved segments and
a timeline paged newest first."""

from __future__ import annotations

import csv
import io
import re
from html import unescape
from typing import Any

import httpx
import pytest

from opsloop.analytics.segments.service import create_segment
from tests.conftest import LiveServer
from tests.web.conftest import Login, send_events, sign_in

PEOPLE = {
    "alice-01": {"city": "上海", "channel": "小红书", "name": "Alice"},
    "alice-02": {"city": "北京", "channel": "小红书"},
    "bob": {"city": "上海", "channel": "应用商店"},
}


def _events() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n, (person, props) in enumerate(PEOPLE.items()):
        out.append(
            {"event": "app_open", "distinct_id": person, "properties": {"$set": props},
             "timestamp": f"2026-11-0{n + 1}T02:00:00Z"}
        )  # fmt: skip
    # alice-01 has 60 more events: more than a page of the timeline.
    out += [
        {"event": "view_item", "distinct_id": "alice-01", "properties": {"item": k},
         "timestamp": f"2026-11-03T03:{k:02d}:00Z"}
        for k in range(60)
    ]  # fmt: skip
    return out


@pytest.fixture
def signed_in(live_server: LiveServer, client: httpx.Client, login: Login) -> httpx.Client:
    send_events(live_server, _events())
    sign_in(client, login)
    return client


def _ids(html: str) -> list[str]:
    table = re.search(r'data-testid="users-table">(.*?)</table>', html, re.S)
    assert table
    return re.findall(r'<th scope="row" class="sticky"><a href="[^"]+">([^<]+)</a>', table.group(1))


def test_search_by_distinct_id_and_properties(signed_in: httpx.Client) -> None:
    assert _ids(signed_in.get("/users?q=ALICE&active=0").text) == ["alice-01", "alice-02"]
    exact = signed_in.get("/users?q=bob", follow_redirects=False)
    assert (exact.status_code, exact.headers["location"]) == (303, "/users/bob")
    shanghai = signed_in.get("/users?fp=city&fo=eq&fv=上海&active=0")
    assert sorted(_ids(shanghai.text)) == ["alice-01", "bob"]
    listed = signed_in.get(
        "/users?fp=channel&fo=in&fv=小红书,应用商店&fp=city&fo=neq&fv=北京&active=0"
    )
    assert sorted(_ids(listed.text)) == ["alice-01", "bob"]
    # Active in the last day (up to the newest event's day, 2026-11-03): not alice-02.
    assert sorted(_ids(signed_in.get("/users?active=1").text)) == ["alice-01", "bob"]
    assert sorted(_ids(signed_in.get("/users?active=0").text)) == ["alice-01", "alice-02", "bob"]
    export = signed_in.get("/users/export.csv?fp=city&fo=eq&fv=上海&active=0")
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert sorted((r["distinct_id"], r["city"]) for r in rows) == [
        ("alice-01", "上海"),
        ("bob", "上海"),
    ]
    assert signed_in.get("/users?active=5").status_code == 400


def test_profile_shows_properties_segments_and_a_paged_timeline(
    signed_in: httpx.Client, live_server: LiveServer
) -> None:
    with live_server.app_state.db.session() as s:
        shanghai = create_segment(
            s,
            live_server.workspace.id,
            "上海用户",
            rule={"person": "city", "op": "eq", "value": "上海"},
        )
        create_segment(
            s,
            live_server.workspace.id,
            "北京用户",
            rule={"person": "city", "op": "eq", "value": "北京"},
        )
    page = signed_in.get("/users/alice-01?lang=en")
    assert page.status_code == 200
    html = page.text
    assert re.search(r'data-testid="profile-name">Alice<', html)
    props = dict(
        re.findall(r"<tr><td><code>([^<]+)</code></td><td class=\"prop-value\">([^<]*)</td>", html)
    )
    assert props == {"city": "上海", "channel": "小红书", "name": "Alice"}
    segments = re.search(r'data-testid="profile-segments">(.*?)</ul>', html, re.S)
    assert segments
    links = re.findall(r'<li><a href="([^"]+)">([^<]+)</a></li>', segments.group(1))
    assert links == [(f"/analysis/segments?segment={shanghai.id}", "上海用户")]
    events = re.findall(r'<span class="event-name">([^<]+)</span>', html)
    assert len(events) == 50 and set(events) == {"view_item"}
    older = re.search(r'href="([^"]+)" data-testid="timeline-older"', html)
    assert older
    rest = re.findall(
        r'<span class="event-name">([^<]+)</span>', signed_in.get(unescape(older.group(1))).text
    )
    assert rest == ["view_item"] * 10 + ["app_open"]
    export = signed_in.get("/users/alice-01/events.csv")
    lines = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert (
        len(lines) == 61 and lines[0]["event"] == "view_item" and lines[-1]["event"] == "app_open"
    )
    assert signed_in.get("/users/nobody").status_code == 404
