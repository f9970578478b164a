"""The console's insight pages over HTTP: save an explorer's query onto a new dashboard, see it
drawn there, reorder and unpin it, list and delete insights; forms need their CSRF token."""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import urlencode

import httpx
import pytest

from tests.conftest import LiveServer
from tests.explorers.test_pages import FUNNEL, _events
from tests.web.conftest import Login, csrf_of, make_login, send_events, sign_in


@pytest.fixture
def analyst(live_server: LiveServer, client: httpx.Client) -> httpx.Client:
    send_events(live_server, _events())
    login = make_login(live_server, "analyst@example.com", role="analyst")
    assert sign_in(client, login).status_code in (200, 303)
    return client


def _save_form(html: str) -> dict[str, str]:
    form = re.search(r'<form method="post" action="/insights".*?</form>', html, re.S)
    assert form, "the explorer has no save form"
    fields = dict(re.findall(r'name="(csrf_token|query|next)" value="([^"]*)"', form.group(0)))
    return {k: unescape(v) for k, v in fields.items()}


def test_save_onto_a_new_dashboard_and_manage_it(analyst: httpx.Client) -> None:
    page = analyst.get("/analysis/funnel?" + urlencode(FUNNEL))
    fields = _save_form(page.text)
    assert json.loads(fields["query"])["breakdown"] == "platform"
    r = analyst.post(
        "/insights",
        data={**fields, "name": "下单漏斗", "dashboard": "new", "new_dashboard": "运营日报"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    board_url = r.headers["location"].split("?")[0]
    board = analyst.get(board_url)
    assert board.status_code == 200
    assert re.search(r'data-testid="dashboard-name">运营日报<', board.text)
    titles = re.findall(r'data-testid="tile-title">([^<]+)<', board.text)
    assert titles == ["下单漏斗"]
    # The page shows at once; each tile's chart comes from its own address.
    assert 'class="chart-spec"' not in board.text
    [tile_src] = re.findall(r'data-tile-src="([^"]+)"', board.text)
    tile = analyst.get(tile_src)
    assert tile.status_code == 200 and "<html" not in tile.text
    spec = re.search(
        r'<script type="application/json" class="chart-spec">(.*?)</script>', tile.text
    )
    assert spec
    data = json.loads(spec.group(1))
    values = (data.get("data") or data["layer"][0]["data"])["values"]
    assert [(v["group"], v["count"]) for v in values] == [
        ("Android", 2), ("Android", 0), ("Android", 0), ("iOS", 2), ("iOS", 2), ("iOS", 1),
    ]  # fmt: skip

    svg = analyst.get(tile_src + "/chart.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert {"1. view_item", "iOS", "Android"} <= set(
        re.findall(r"<text[^>]*>([^<]*)</text>", svg.text)
    )
    assert analyst.get(tile_src.rsplit("/", 1)[0] + "/999").status_code == 404

    # A second insight, saved to the same dashboard, then moved first and the first unpinned.
    trends = analyst.get("/analysis/trends?se=pay&sm=total&from=2026-11-01&to=2026-11-01")
    board_id = board_url.rsplit("/", 1)[1]
    fields = _save_form(trends.text)
    analyst.post("/insights", data={**fields, "name": "支付次数", "dashboard": board_id})
    tiles = re.findall(r'data-testid="tile" data-insight="(\d+)"', analyst.get(board_url).text)
    assert len(tiles) == 2
    csrf = csrf_of(analyst.get(board_url).text)
    analyst.post(
        f"{board_url}/move", data={"csrf_token": csrf, "insight_id": tiles[1], "position": "0"}
    )
    moved = analyst.get(board_url).text
    assert re.findall(r'data-testid="tile-title">([^<]+)<', moved) == ["支付次数", "下单漏斗"]
    analyst.post(f"{board_url}/unpin", data={"csrf_token": csrf, "insight_id": tiles[0]})
    assert re.findall(r'data-testid="tile-title">([^<]+)<', analyst.get(board_url).text) == [
        "支付次数"
    ]
    listed = analyst.get("/insights").text
    assert re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', listed) == [
        "支付次数",
        "下单漏斗",
    ]
    opened = analyst.get(f"/insights/{tiles[0]}", follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["location"].startswith("/analysis/funnel?")
    assert "breakdown=platform" in opened.headers["location"]


def test_saving_without_a_dashboard_returns_to_the_explorer(analyst: httpx.Client) -> None:
    fields = _save_form(analyst.get("/analysis/funnel?" + urlencode(FUNNEL)).text)
    r = analyst.post("/insights", data={**fields, "name": "漏斗"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/analysis/funnel?")
    assert 'data-testid="saved-note"' in analyst.get(r.headers["location"]).text


def test_forms_need_their_csrf_token(analyst: httpx.Client) -> None:
    fields = _save_form(analyst.get("/analysis/funnel?" + urlencode(FUNNEL)).text)
    r = analyst.post("/insights", data={**fields, "csrf_token": "forged", "name": "x"})
    assert r.status_code == 403
    assert analyst.get("/insights/export.csv").text.count("\n") == 1  # nothing was saved


def test_viewers_see_no_save_button(
    live_server: LiveServer, client: httpx.Client, login: Login
) -> None:
    send_events(live_server, _events())
    sign_in(client, login)  # the default login is a viewer
    page = client.get("/analysis/funnel?" + urlencode(FUNNEL))
    assert 'data-testid="save-insight"' not in page.text
    csrf = csrf_of(page.text)
    r = client.post("/insights", data={"csrf_token": csrf, "name": "x", "query": "{}"})
    assert r.status_code == 403
