"""The explorer pages over HTTP: a funnel with a breakdown shown, exported (CSV and typed Excel)
and drawn on the server with the numbers of a hand-worked example and of the REST answer; the
in-place fragment; the "view as API" body; bad input as a 400 naming the parameter."""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape
from typing import Any
from urllib.parse import urlencode

import httpx
import openpyxl
import pytest

from tests.conftest import LiveServer
from tests.web.conftest import Login, send_events, sign_in

# Five persons on 2026-11-01 (Asia/Shanghai): who views, adds to cart and pays, on which platform.
JOURNEYS = {
    "u1": ("iOS", ["view_item", "add_to_cart", "pay"]),
    "u2": ("Android", ["view_item", "pay"]),
    "u3": ("iOS", ["view_item", "add_to_cart"]),
    "u4": ("Android", ["view_item"]),
    "u5": ("iOS", ["add_to_cart", "pay"]),
}
FUNNEL = [
    ("step", "view_item"),
    ("step", "add_to_cart"),
    ("step", "pay"),
    ("breakdown", "platform"),
    ("from", "2026-11-01"),
    ("to", "2026-11-01"),
]
# By hand: iOS u1 and u3 view and add to cart, u1 pays; Android u2 and u4 only view.
# Breakdown values with as many persons at step 1 come in alphabetical order.
EXPECTED = [
    ["Android", "1. view_item", 2, 1.0, 1.0, None],
    ["Android", "2. add_to_cart", 0, 0.0, 0.0, None],
    ["Android", "3. pay", 0, 0.0, 0.0, None],  # 0 of 0 counts as 0
    ["iOS", "1. view_item", 2, 1.0, 1.0, None],
    ["iOS", "2. add_to_cart", 2, 1.0, 1.0, 300.0],
    ["iOS", "3. pay", 1, 0.5, 0.5, 300.0],
]


def _events() -> list[dict[str, Any]]:
    out = []
    for n, (person, (platform, steps)) in enumerate(JOURNEYS.items()):
        for k, event in enumerate(steps):
            out.append(
                {
                    "event": event,
                    "distinct_id": person,
                    "timestamp": f"2026-11-01T0{n}:{5 * k:02d}:00Z",
                    "properties": {"platform": platform, "amount": 10 * (k + 1)},
                }
            )
    return out


@pytest.fixture
def signed_in(live_server: LiveServer, login: Login, client: httpx.Client) -> httpx.Client:
    send_events(live_server, _events())
    assert sign_in(client, login).status_code in (200, 303)
    return client


def _table(html: str, testid: str) -> list[list[str]]:
    block = re.search(
        rf'<table class="data-table" data-testid="{testid}">(.*?)</table>', html, re.S
    )
    assert block, testid
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", block.group(1), re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return rows


def _rest(server: LiveServer, body: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(
        server.url + "/api/v1/query",
        json=body,
        headers={"Authorization": f"Bearer {server.workspace.api_token}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_funnel_page_shows_the_hand_worked_numbers(
    signed_in: httpx.Client, live_server: LiveServer
) -> None:
    r = signed_in.get("/analysis/funnel?" + urlencode(FUNNEL) + "&lang=en")
    assert r.status_code == 200
    rows = _table(r.text, "results-table")
    assert rows[0] == [
        "Breakdown",
        "Step",
        "Persons",
        "Conversion from first step",
        "Conversion from previous step",
        "Median seconds to convert",
    ]
    shown = [[b, s, int(n), a, p, m] for b, s, n, a, p, m in rows[1:]]
    assert shown == [
        ["Android", "1. view_item", 2, "100.0%", "100.0%", "–"],
        ["Android", "2. add_to_cart", 0, "0.0%", "0.0%", "–"],
        ["Android", "3. pay", 0, "0.0%", "0.0%", "–"],
        ["iOS", "1. view_item", 2, "100.0%", "100.0%", "–"],
        ["iOS", "2. add_to_cart", 2, "100.0%", "100.0%", "5m"],
        ["iOS", "3. pay", 1, "50.0%", "50.0%", "5m"],
    ]
    # "View as API" holds the body; the REST answer to it has the same numbers.
    body_text = re.search(r'<code id="api-body" data-testid="api-body">(.*?)</code>', r.text, re.S)
    assert body_text
    body = json.loads(unescape(body_text.group(1)))
    assert body == {
        "kind": "funnel",
        "steps": [{"event": "view_item"}, {"event": "add_to_cart"}, {"event": "pay"}],
        "window_seconds": 86400,
        "date_from": "2026-11-01",
        "date_to": "2026-11-01",
        "breakdown": "platform",
    }
    answer = _rest(live_server, body)
    assert [
        [res["breakdown_value"], st["count"]] for res in answer["results"] for st in res["steps"]
    ] == [[e[0], e[2]] for e in EXPECTED]
    assert "opsloop query funnel --workspace test --body" in unescape(r.text)


def test_funnel_table_downloads_as_typed_excel_and_csv(
    signed_in: httpx.Client, tmp_path: Any
) -> None:
    r = signed_in.get("/analysis/funnel/export.xlsx?" + urlencode(FUNNEL))
    assert r.status_code == 200
    assert "funnel-test-2026-11-01-2026-11-01.xlsx" in r.headers["content-disposition"]
    path = tmp_path / "funnel.xlsx"
    path.write_bytes(r.content)
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    values = [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert values == EXPECTED
    assert sheet.cell(2, 4).number_format == "0.0%"
    assert sheet.title == "漏斗"
    r = signed_in.get("/analysis/funnel/export.csv?" + urlencode(FUNNEL))
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0][:3] == ["维度拆分", "步骤", "人数"]
    assert [line[2] for line in lines[1:]] == [str(e[2]) for e in EXPECTED]


def test_chart_renders_on_the_server_and_fragment_swaps_in(signed_in: httpx.Client) -> None:
    svg = signed_in.get("/analysis/funnel/chart.svg?" + urlencode(FUNNEL))
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    texts = set(re.findall(r"<text[^>]*>([^<]*)</text>", svg.text))
    assert {"1. view_item", "2. add_to_cart", "3. pay", "iOS", "Android", "50.0%"} <= texts
    png = signed_in.get("/analysis/funnel/chart.png?" + urlencode(FUNNEL))
    assert png.content[:4] == b"\x89PNG"
    fragment = signed_in.get("/analysis/funnel?" + urlencode(FUNNEL) + "&partial=1")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'data-testid="explorer-chart"' in fragment.text
    assert fragment.headers["content-security-policy"].startswith("default-src 'self'")


def test_a_step_added_by_the_button_shows_an_empty_row(signed_in: httpx.Client) -> None:
    r = signed_in.get("/analysis/funnel?" + urlencode([*FUNNEL, ("add", "step")]))
    steps = re.findall(r'name="step" list="event-names" value="([^"]*)"', r.text)
    assert steps == ["view_item", "add_to_cart", "pay", ""]
    # The page's own links carry the query without the button.
    assert "add=step" not in re.search(r'data-explorer-url="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]


def test_bad_input_is_a_400_naming_the_parameter(signed_in: httpx.Client) -> None:
    page = signed_in.get("/analysis/retention?periods=lots&lang=en")
    assert page.status_code == 400
    assert 'data-testid="explorer-error"' in page.text and "<code>periods</code>" in page.text
    download = signed_in.get("/analysis/retention/export.xlsx?periods=lots")
    assert download.status_code == 400
    assert download.json()["error"]["field"] == "periods"
    reversed_days = signed_in.get("/analysis/trends/export.csv?from=2026-11-05&to=2026-11-01")
    assert reversed_days.status_code == 400
    assert reversed_days.json()["error"]["field"] == "date_to"
    one_step = signed_in.get("/analysis/funnel?step=pay&from=2026-11-01&to=2026-11-01")
    assert one_step.status_code == 200 and 'data-testid="explorer-missing"' in one_step.text
    assert signed_in.get("/analysis/funnel/export.csv?step=pay").status_code == 400
    assert signed_in.get("/analysis/nothing").status_code == 404
    assert signed_in.get("/analysis/funnel/export.pdf?" + urlencode(FUNNEL)).status_code == 404


def test_every_explorer_answers_with_its_numbers(
    signed_in: httpx.Client, live_server: LiveServer
) -> None:
    days = "from=2026-11-01&to=2026-11-01&lang=en"
    trends = _table(signed_in.get(f"/analysis/trends?se=pay&sm=total&{days}").text, "results-table")
    assert trends[1][:3] == ["pay · Total events", "3", "3"]  # u1, u2, u5 paid
    lifecycle = _table(signed_in.get(f"/analysis/lifecycle?{days}").text, "results-table")
    assert lifecycle[1] == ["Nov 1", "5", "0", "0", "0"]  # five new persons
    paths = signed_in.get(f"/analysis/paths?anchor=start&anchor_event=view_item&depth=2&{days}")
    assert sorted(_table(paths.text, "results-table")[1:]) == [
        ["1", "view_item", "add_to_cart", "2"],
        ["1", "view_item", "pay", "1"],
    ]
    retention = _table(signed_in.get(f"/analysis/retention?periods=1&{days}").text, "results-table")
    assert retention[1] == ["Nov 1", "5", "100.0%", "–"]
    rfm = signed_in.get("/analysis/rfm?from=2026-10-01&to=2026-11-01&lang=en")
    members = _table(rfm.text, "members-table")
    paid = {"u1": 30, "u2": 20, "u5": 20}  # amount of each pay event: 10 × its position
    assert sorted((m[0], m[4]) for m in members[1:]) == sorted(
        (p, f"CN¥{a}.00") for p, a in paid.items()
    )
    assert '<a href="/users/u1">u1</a>' in rfm.text  # each person opens their profile
    summary = _table(rfm.text, "results-table")
    assert sum(int(row[1]) for row in summary[1:]) == 3


def test_signed_out_visitors_are_sent_to_sign_in(live_server: LiveServer) -> None:
    r = httpx.get(live_server.url + "/analysis/funnel?step=a", follow_redirects=False, timeout=30)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")
