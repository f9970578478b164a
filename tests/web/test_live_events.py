"""The live events page: what was sent through POST /api/v1/events, newest first, filtered,
paged, refreshed through its feed, and nothing of other workspaces."""

from __future__ import annotations

import csv
import io
import re
import uuid as uuidlib
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx
import openpyxl

from opsloop.accounts.service import create_user
from opsloop.web.export import XLSX_MEDIA_TYPE
from opsloop.workspaces.service import create_workspace
from tests.conftest import LiveServer
from tests.web.conftest import Login, csrf_of, event_table, send_events, sign_in

BASE = datetime(2026, 11, 1, tzinfo=UTC)


def _uuid(n: int) -> str:
    return str(uuidlib.UUID(int=n + 1))


SENT = [
    {
        "event": "pay",
        "distinct_id": "u1",
        "uuid": _uuid(1),
        "timestamp": "2026-11-01T00:00:00Z",
        "properties": {"amount": 99.5, "城市": "杭州", "$os": "iOS", "tags": ["a", "b"]},
    },
    {
        "event": "view_item",
        "distinct_id": "u2",
        "uuid": _uuid(2),
        "timestamp": "2026-11-01T00:05:00Z",
        "properties": {"$current_url": "https://shop.example/item/1", "$lib": "web"},
    },
    {
        "event": "sign_up",
        "distinct_id": "u1",
        "uuid": _uuid(3),
        "timestamp": "2026-10-31T23:59:00Z",
    },
]
# Newest first, as the page shows them (times in Asia/Shanghai, the workspace's zone).
EXPECTED = [
    {
        "uuid": _uuid(2),
        "time": "2026年11月1日 08:05:00",
        "event": "view_item",
        "distinct_id": "u2",
        "key_properties": "$current_url https://shop.example/item/1",
        "source": "原生 API web",
        "properties": {"$current_url": "https://shop.example/item/1", "$lib": "web"},
    },
    {
        "uuid": _uuid(1),
        "time": "2026年11月1日 08:00:00",
        "event": "pay",
        "distinct_id": "u1",
        "key_properties": 'amount 99.5 tags ["a","b"] 城市 杭州',
        "source": "原生 API",
        "properties": {"$os": "iOS", "amount": "99.5", "tags": '["a","b"]', "城市": "杭州"},
    },
    {
        "uuid": _uuid(3),
        "time": "2026年11月1日 07:59:00",
        "event": "sign_up",
        "distinct_id": "u1",
        "key_properties": "",
        "source": "原生 API",
        "properties": {},
    },
]


def _event_options(html: str) -> list[str]:
    select = re.search(r'<select id="filter-event".*?</select>', html, re.S)
    assert select
    return [unescape(v) for v in re.findall(r'<option value="([^"]*)"', select.group(0))]


def test_the_page_shows_what_was_sent(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    send_events(live_server, SENT)
    sign_in(client, login)
    page = client.get("/events")
    assert page.status_code == 200
    assert event_table(page.text) == EXPECTED
    assert _event_options(page.text) == ["", "pay", "sign_up", "view_item"]
    assert 'data-testid="older"' not in page.text


def test_english_times_and_labels(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    send_events(live_server, SENT[:1])
    sign_in(client, login)
    rows = event_table(client.get("/events?lang=en").text)
    assert [(r["time"], r["source"]) for r in rows] == [("Nov 1, 2026, 8:00:00 AM", "Native API")]


def test_filters_by_event_and_distinct_id(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    send_events(live_server, SENT)
    sign_in(client, login)

    def shown(**params: str) -> list[str]:
        return [r["uuid"] for r in event_table(client.get("/events", params=params).text)]

    assert shown(event="pay") == [_uuid(1)]
    assert shown(distinct_id="u1") == [_uuid(1), _uuid(3)]
    assert shown(event="sign_up", distinct_id="u1") == [_uuid(3)]
    assert shown(event="pay", distinct_id="u2") == []
    assert shown(event="", distinct_id=" ") == [_uuid(2), _uuid(1), _uuid(3)]
    page = client.get("/events", params={"event": "pay", "distinct_id": "u2"})
    assert "没有符合筛选条件的事件。" in page.text
    assert '<option value="pay" selected>' in page.text


def test_paging_to_older_events(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    batch = [
        {
            "event": f"e{i % 3}",
            "distinct_id": f"u{i}",
            "uuid": _uuid(100 + i),
            "timestamp": (BASE + timedelta(minutes=i)).isoformat(),
        }
        for i in range(57)
    ]
    send_events(live_server, batch)
    sign_in(client, login)
    first = client.get("/events")
    older = re.search(r'href="([^"]+)" data-testid="older"', first.text)
    assert older
    second = client.get(unescape(older.group(1)))
    assert 'data-testid="older"' not in second.text
    shown = [r["uuid"] for r in event_table(first.text) + event_table(second.text)]
    assert shown == [_uuid(100 + i) for i in reversed(range(57))]
    assert len(event_table(first.text)) == 50
    # Paging keeps the filter.
    e1 = [b["uuid"] for b in reversed(batch) if b["event"] == "e1"]
    assert [r["uuid"] for r in event_table(client.get("/events?event=e1").text)] == e1


def test_the_feed_brings_new_rows(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    send_events(live_server, SENT)
    sign_in(client, login)
    page = client.get("/events")
    newest = re.search(r'data-newest="([^"]+)"', page.text)
    feed = re.search(r'data-feed="([^"]+)"', page.text)
    assert newest and feed
    assert unescape(feed.group(1)) == "/events/feed?after="
    answer = client.get("/events/feed", params={"after": newest.group(1)}).json()
    assert [r["uuid"] for r in event_table(answer["html"])] == [_uuid(2)]
    assert (answer["count"], answer["newest"], answer["more"]) == (1, newest.group(1), False)
    later = {
        "event": "pay",
        "distinct_id": "u3",
        "uuid": _uuid(4),
        "timestamp": "2026-11-01T00:10:00Z",
        "properties": {"amount": 5},
    }
    send_events(live_server, [later])
    answer = client.get("/events/feed", params={"after": newest.group(1), "event": "pay"}).json()
    rows = event_table(answer["html"])
    assert [(r["uuid"], r["time"], r["key_properties"]) for r in rows] == [
        (_uuid(4), "2026年11月1日 08:10:00", "amount 5")
    ]
    assert answer["newest"] == "2026-11-01T00:10:00+00:00"


def test_only_the_current_workspace_is_shown_and_members_can_switch(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    with live_server.app_state.db.session() as s:
        other = create_workspace(s, "blog", "UTC")
        hidden = create_workspace(s, "secret")
    send_events(live_server, SENT[:1])
    r = httpx.post(
        f"{live_server.url}/api/v1/events",
        headers={"Authorization": f"Bearer {other.ingest_key}"},
        json={
            "event": "read_article",
            "distinct_id": "r1",
            "uuid": _uuid(9),
            "timestamp": "2026-11-01T00:00:00Z",
        },
    )
    assert r.status_code == 200
    sign_in(client, login)
    page = client.get("/events")
    assert [r["uuid"] for r in event_table(page.text)] == [_uuid(1)]
    assert 'id="workspace-switch"' not in page.text  # one workspace: nothing to switch
    # A member of a second workspace can switch to it.
    with live_server.app_state.db.session() as s:
        create_user(s, login.email, workspace_id=other.id, role="analyst")
    page = client.get("/events")
    assert 'id="workspace-switch"' in page.text
    token = csrf_of(page.text)
    refused = client.post("/workspace", data={"workspace_id": str(hidden.id), "csrf_token": token})
    assert refused.status_code == 404
    r = client.post(
        "/workspace",
        data={"workspace_id": str(other.id), "csrf_token": token, "next": "/events"},
    )
    assert (r.status_code, r.headers["location"]) == (303, "/events")
    rows = event_table(client.get("/events").text)
    # The blog workspace keeps its days in UTC.
    assert [(r["uuid"], r["time"]) for r in rows] == [(_uuid(9), "2026年11月1日 00:00:00")]
    assert other.ingest_key in client.get("/setup").text
    assert csrf_of(page.text) == token
    forged = client.post("/workspace", data={"workspace_id": str(live_server.workspace.id)})
    assert forged.status_code == 403


def test_the_filtered_list_exports_to_csv(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    send_events(live_server, SENT)
    sign_in(client, login)
    page = client.get("/events?distinct_id=u1")
    links = dict(re.findall(r'href="([^"]+)" download data-testid="(export[^"]*)"', page.text))
    assert links == {
        "/events/export.csv?distinct_id=u1": "export",
        "/events/export.xlsx?distinct_id=u1": "export-xlsx",
    }
    link = re.search(r'href="([^"]+)" download data-testid="export"', page.text)
    assert link
    r = client.get(unescape(link.group(1)))
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == "attachment; filename*=UTF-8''events-test.csv"
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows == [
        ["timestamp", "event", "distinct_id", "source", "uuid", "properties"],
        [
            "2026-11-01T08:00:00+08:00",
            "pay",
            "u1",
            "native",
            _uuid(1),
            '{"amount":99.5,"城市":"杭州","$os":"iOS","tags":["a","b"]}',
        ],
        ["2026-11-01T07:59:00+08:00", "sign_up", "u1", "native", _uuid(3), "{}"],
    ]


def test_the_filtered_list_exports_to_excel(
    client: httpx.Client, live_server: LiveServer, login: Login
) -> None:
    send_events(live_server, SENT)
    sign_in(client, login)
    r = client.get("/events/export.xlsx", params={"distinct_id": "u1", "lang": "en"})
    assert r.status_code == 200
    assert r.headers["content-type"] == XLSX_MEDIA_TYPE
    assert r.headers["content-disposition"] == "attachment; filename*=UTF-8''events-test.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    sheet = book.active
    assert sheet is not None
    # Times are Excel datetimes in the workspace's zone (Asia/Shanghai), text stays text.
    assert list(sheet.iter_rows(values_only=True)) == [
        ("timestamp", "event", "distinct_id", "source", "uuid", "properties"),
        (
            datetime(2026, 11, 1, 8, 0, 0),
            "pay",
            "u1",
            "native",
            _uuid(1),
            '{"amount":99.5,"城市":"杭州","$os":"iOS","tags":["a","b"]}',
        ),
        (datetime(2026, 11, 1, 7, 59, 0), "sign_up", "u1", "native", _uuid(3), "{}"),
    ]
    assert [c.number_format for c in sheet[2]] == ["yyyy-mm-dd hh:mm:ss", *["@"] * 5]
    assert (book.sheetnames, sheet.freeze_panes, sheet["A1"].font.b) == (
        ["Live events"],
        "A2",
        True,
    )
    # Only .csv and .xlsx exist.
    missing = client.get("/events/export.xls")
    assert missing.status_code == 404
    assert missing.json()["error"]["field"] == "format"


def test_a_bad_cursor_is_a_page_not_a_crash(client: httpx.Client, login: Login) -> None:
    sign_in(client, login)
    page = client.get("/events?cursor=not-a-cursor", headers={"Accept": "text/html"})
    assert (page.status_code, page.headers["content-type"]) == (400, "text/html; charset=utf-8")
    assert 'data-testid="error-page" data-status="400"' in page.text
    assert [unescape(d) for d in re.findall(r'data-testid="error-detail">([^<]+)<', page.text)] == [
        "“cursor”的值无效。",
        "the cursor is not one this server issued",
    ]
