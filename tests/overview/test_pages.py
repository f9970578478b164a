"""The overview page over HTTP: the report day's key metrics with their changes, and the recent
activity (an import, new event types, a shared insight, a member added)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import httpx

from opsloop.accounts.members import add_member
from opsloop.audit import Who, acting_as
from opsloop.importer.models import ImportRun
from opsloop.insights.access import Viewer
from opsloop.insights.service import create_insight
from tests.conftest import LiveServer
from tests.overview.test_kpis import WEEK
from tests.web.conftest import Login, send_events, sign_in

QUERY = {"kind": "trends", "series": [{"event": "pay"}], "date_from": "2026-11-01",
         "date_to": "2026-11-08"}  # fmt: skip


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _card(html: str, key: str) -> str:
    match = re.search(rf'data-testid="kpi-{key}">(.*?)</a>', html, re.S)
    assert match, key
    return _text(
        re.sub(r'<script type="application/json".*?</script>', "", match.group(1), flags=re.S)
    )


def test_overview_shows_key_metrics_and_activity(
    live_server: LiveServer, client: httpx.Client, login: Login
) -> None:
    send_events(live_server, WEEK)
    ws = live_server.workspace
    with live_server.app_state.db.session() as s:
        acting_as(s, Who("boss@example.com", "console"))
        add_member(s, ws.id, "new.analyst@example.com", "analyst", acting_role="owner")
        s.add(
            ImportRun(
                workspace_id=ws.id,
                source="orders.csv",
                format="csv",
                read=12,
                accepted=10,
                quarantined=2,
                finished_at=datetime.now(UTC),
            )
        )
        owner = Viewer(None, "owner")
        create_insight(s, ws.id, owner, "每日支付", QUERY, shared=True)
    sign_in(client, login)
    page = client.get("/overview?lang=en")
    assert page.status_code == 200
    html = page.text
    assert _card(html, "dau") == "Daily active users 3 Day over day +50.0% Week over week +50.0%"
    assert _card(html, "new_users") == "New users 1 Day over day – Week over week −50.0%"
    assert _card(html, "paid_conversion") == (
        "Paid conversion 66.67% Day over day +33.3% Week over week –"
    )
    assert _card(html, "gmv") == "GMV CN¥150.00 Day over day +400.0% Week over week –"
    assert (
        _card(html, "aov") == "Average order value CN¥75.00 Day over day +150.0% Week over week –"
    )
    assert html.count('data-testid="sparkline"') == 6
    activity = _text(re.search(r'data-testid="activity">(.*?)</ul>', html, re.S).group(1))  # type: ignore[union-attr]
    assert "Imported orders.csv: 10 events accepted, 2 quarantined" in activity
    assert "boss@example.com added new.analyst@example.com as Analyst" in activity
    assert "saved the insight 每日支付" in activity
    for event in ("app_open", "pay"):
        assert f"New event type seen: {event}" in activity
