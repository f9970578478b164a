"""The metric catalog pages over HTTP: the list in both languages with its search, a metric's
page with its trend, defining / editing / deleting a workspace metric through the forms (the
stored definition, the audit log and the computed values checked against the pandas reference),
validation errors naming the field in both languages, the viewer's refusals, and the trends
explorer charting a catalog metric."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any
from urllib.parse import urlencode

import httpx
import openpyxl
import orjson
import pandas as pd
import pytest
from sqlalchemy import select

from opsloop.analytics.catalog.models import WorkspaceMetric
from opsloop.analytics.catalog.service import list_metrics
from opsloop.audit.models import AuditEntry
from tests.analytics.metric_reference import NONE, World, numeric, ratio, users
from tests.conftest import LiveServer
from tests.web.conftest import csrf_of, make_login, send_events, sign_in

DAYS = ("2026-11-01", "2026-11-02", "2026-11-03")
# (person, day index, amount): a pays twice on day 0, b once on days 0 and 2, c never pays.
PAYS = [("a", 0, 30.0), ("a", 0, 10.0), ("b", 0, 5.0), ("b", 2, 7.5)]
SUM_FORM = {
    "key": "pay_amount",
    "kind": "sum",
    "name_zh": "支付金额",
    "name_en": "Amount paid",
    "description_zh": "支付事件 amount 之和",
    "description_en": "Sum of the pay events' amount",
    "unit_zh": "元",
    "unit_en": "CNY",
    "event": "pay",
    "property": "amount",
    "format": "currency",
    "decimals": "2",
}
PAYERS_FORM = SUM_FORM | {
    "key": "payers",
    "kind": "unique_users",
    "name_zh": "付款人数",
    "name_en": "Payers",
    "description_zh": "有支付事件的去重人数",
    "description_en": "Distinct persons with a pay event",
    "unit_zh": "人",
    "unit_en": "persons",
    "property": "",
    "format": "number",
    "decimals": "0",
}
RATIO_FORM = SUM_FORM | {
    "key": "amount_per_payer",
    "kind": "formula",
    "name_zh": "人均支付金额",
    "name_en": "Amount per payer",
    "description_zh": "支付金额 ÷ 付款人数",
    "description_en": "Amount paid ÷ payers",
    "event": "",
    "property": "",
    "formula": "pay_amount / payers",
}


def _events() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"event": "app_open", "distinct_id": p, "timestamp": f"{DAYS[d]}T01:00:00Z"}
        for p in "abc"
        for d in range(3)
    ]
    out += [
        {"event": "pay", "distinct_id": p, "properties": {"amount": amount},
         "timestamp": f"{DAYS[d]}T02:{i:02d}:00Z"}
        for i, (p, d, amount) in enumerate(PAYS)
    ]  # fmt: skip
    return out


def _reference_world() -> World:
    rows = []
    for e in _events():
        ts = pd.Timestamp(e["timestamp"])
        local = ts.tz_convert("Asia/Shanghai").tz_localize(None)
        rows.append((e["distinct_id"], e["event"], ts, local, e.get("properties", {})))
    frame = pd.DataFrame(rows, columns=["person_id", "event", "ts", "local", "props"])
    return World(frame, date(2026, 11, 1), date(2026, 11, 3), "day")


@pytest.fixture
def analyst(live_server: LiveServer, client: httpx.Client) -> httpx.Client:
    send_events(live_server, _events())
    sign_in(client, make_login(live_server, "analyst@example.com", role="analyst"))
    return client


def _post(client: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
    page = client.get(path)
    return client.post(path, data={**data, "csrf_token": csrf_of(page.text)})


def _stored(server: LiveServer) -> dict[str, dict[str, Any]]:
    with server.app_state.db.session() as s:
        rows = s.scalars(
            select(WorkspaceMetric).where(WorkspaceMetric.workspace_id == server.workspace.id)
        )
        return {r.key: r.definition for r in rows}


def _audit(server: LiveServer) -> list[tuple[str, str | None, str]]:
    with server.app_state.db.session() as s:
        rows = s.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == "metric").order_by(AuditEntry.id)
        )
        return [(r.action, r.entity_id, r.actor) for r in rows]


def _values(client: httpx.Client, csrf: str, keys: list[str]) -> dict[str, Any]:
    body = {"kind": "metrics", "metrics": keys, "interval": "day"}
    body |= {"date_from": DAYS[0], "date_to": DAYS[-1]}
    r = client.post("/api/v1/query", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    return {line["metric"]: (line["values"], line["total"]) for line in r.json()["results"]}


def _expected(ref: Any) -> tuple[list[float | None], float | None]:
    return [ref.value(NONE, d) for d in DAYS], ref.total(NONE)


def test_define_edit_and_delete_through_the_forms(
    analyst: httpx.Client, live_server: LiveServer
) -> None:
    for form in (SUM_FORM, PAYERS_FORM, RATIO_FORM):
        r = _post(analyst, "/metrics/new", form)
        assert (r.status_code, r.headers.get("location")) == (
            303,
            f"/metrics/{form['key']}?done=created",
        )
    stored = _stored(live_server)
    assert stored["pay_amount"]["kind"] == "sum"
    assert (stored["pay_amount"]["event"], stored["pay_amount"]["property"]) == (["pay"], "amount")
    assert stored["pay_amount"]["name"] == {"zh-CN": "支付金额", "en": "Amount paid"}
    assert (stored["pay_amount"]["format"], stored["pay_amount"]["currency"]) == ("currency", "CNY")
    assert stored["amount_per_payer"]["formula"] == "pay_amount / payers"

    w = _reference_world()
    amount, payers = numeric(w, ("pay",), "amount", "sum"), users(w, ("pay",))
    csrf = csrf_of(analyst.get("/metrics/new").text)
    got = _values(analyst, csrf, ["pay_amount", "payers", "amount_per_payer"])
    assert got == {
        "pay_amount": _expected(amount),
        "payers": _expected(payers),
        "amount_per_payer": _expected(ratio(amount, payers)),
    }
    assert got["amount_per_payer"] == ([45.0 / 2, None, 7.5], 52.5 / 2)  # by hand

    page = analyst.get("/metrics/amount_per_payer?done=created&lang=en")
    assert page.status_code == 200
    assert 'data-testid="metric-chart"' in page.text
    assert "Amount per payer" in page.text and "pay_amount / payers" in page.text
    assert "/analysis/trends?" in page.text and "sk=amount_per_payer" in page.text

    # Edit: the formula becomes amount per payer, doubled; the key stays.
    edit = RATIO_FORM | {"formula": "2 * pay_amount / payers", "key": "ignored"}
    r = _post(analyst, "/metrics/amount_per_payer/edit", edit)
    assert (r.status_code, r.headers["location"]) == (303, "/metrics/amount_per_payer?done=changed")
    assert _stored(live_server)["amount_per_payer"]["formula"] == "2 * pay_amount / payers"
    got = _values(analyst, csrf, ["amount_per_payer"])
    doubled = ratio(numeric(w, ("pay",), "amount", "sum"), users(w, ("pay",)))
    values, total = _expected(doubled)
    assert got["amount_per_payer"] == ([None if v is None else 2 * v for v in values], 2 * total)

    # A metric another formula uses cannot go; once the formula is gone, it can.
    r = analyst.post("/metrics/payers/delete", data={"csrf_token": csrf})
    assert r.status_code == 409 and 'data-field="key"' in r.text
    assert "formulas use this metric: change them first" in r.text  # the page is in English now
    for key in ("amount_per_payer", "payers"):
        r = analyst.post(f"/metrics/{key}/delete", data={"csrf_token": csrf})
        assert (r.status_code, r.headers["location"]) == (303, "/metrics?done=deleted")
    assert set(_stored(live_server)) == {"pay_amount"}
    assert _audit(live_server) == [
        ("metric.created", "pay_amount", "analyst@example.com"),
        ("metric.created", "payers", "analyst@example.com"),
        ("metric.created", "amount_per_payer", "analyst@example.com"),
        ("metric.changed", "amount_per_payer", "analyst@example.com"),
        ("metric.deleted", "amount_per_payer", "analyst@example.com"),
        ("metric.deleted", "payers", "analyst@example.com"),
    ]


def _names(html: str) -> list[str]:
    table = re.search(r'data-testid="metrics-table">(.*?)</table>', html, re.S)
    assert table
    return re.findall(r'data-metric="([a-z0-9_]+)"', table.group(1))


def test_the_list_in_both_languages_with_search(
    analyst: httpx.Client, live_server: LiveServer
) -> None:
    _post(analyst, "/metrics/new", SUM_FORM)
    zh = analyst.get("/metrics?lang=zh-CN")
    assert zh.status_code == 200
    assert "指标目录" in zh.text and "支付金额" in zh.text and "付费转化率" in zh.text
    en = analyst.get("/metrics?lang=en")
    assert "The metric catalog" in en.text and "Amount paid" in en.text
    assert "Paid conversion rate" in en.text or "Paid conversion" in en.text
    everything = _names(en.text)
    assert everything[-1] == "pay_amount"  # built-in first, then the workspace's
    formulas = _names(analyst.get("/metrics?" + urlencode({"kind": "formula"})).text)
    with live_server.app_state.db.session() as s:
        infos = list_metrics(s, live_server.workspace.id)
    assert formulas == [i.metric.key for i in infos if i.metric.kind == "formula"]
    assert _names(analyst.get("/metrics?q=AMOUNT+PAID").text) == ["pay_amount"]
    assert _names(analyst.get("/metrics?source=workspace").text) == ["pay_amount"]
    assert _names(analyst.get("/metrics?q=nothing-like-this").text) == []


@pytest.mark.parametrize(
    ("change", "field", "zh", "en", "status"),
    [
        ({"formula": "pay_amount /"}, "formula", "公式无效", "The formula is not valid", 400),
        ({"formula": "no_such_metric * 2"}, "formula", "公式无效", "The formula is not valid", 400),
        ({"kind": "count", "key": "gmv"}, "key", "此键名已被", "This key is taken", 409),
        ({"kind": "count", "key": "new"}, "key", "此键名已被", "This key is taken", 409),
        ({"kind": "count", "key": "Bad Key"}, "key", "键名为", "The key is 1–63", 400),
        (
            {"kind": "count", "name_zh": ""},
            "name_zh",
            "“名称（中文）”为必填项",
            "“Name (Chinese)” is required",
            400,
        ),
        ({"kind": "sum", "property": ""}, "property", "“属性”", "“Property”", 400),
        ({"kind": "percentile", "p": "lots"}, "p", "“分位数（0–1）”", "“Percentile (0–1)”", 400),
    ],
)
def test_validation_names_the_field_in_both_languages(
    analyst: httpx.Client,
    live_server: LiveServer,
    change: dict[str, str],
    field: str,
    zh: str,
    en: str,
    status: int,
) -> None:
    form = RATIO_FORM | {"event": "pay"} | change
    for lang, message in (("zh-CN", zh), ("en", en)):
        analyst.get(f"/metrics?lang={lang}")
        r = _post(analyst, "/metrics/new", form)
        assert r.status_code == status
        assert f'data-field="{field}"' in r.text
        assert message in r.text
        assert f'name="{field}"' not in r.text or "aria-invalid" in r.text
    assert _stored(live_server) == {}


def test_a_viewer_reads_but_may_not_define(
    live_server: LiveServer, client: httpx.Client, analyst: httpx.Client
) -> None:
    _post(analyst, "/metrics/new", SUM_FORM)
    with httpx.Client(base_url=live_server.url, timeout=30) as viewer:
        sign_in(viewer, make_login(live_server, "viewer@example.com", role="viewer"))
        listing = viewer.get("/metrics?lang=en")
        assert listing.status_code == 200 and "pay_amount" in listing.text
        assert 'data-testid="new-metric"' not in listing.text
        detail = viewer.get("/metrics/pay_amount")
        assert detail.status_code == 200 and 'data-testid="edit-metric"' not in detail.text
        csrf = csrf_of(listing.text)
        assert viewer.get("/metrics/new").status_code == 403
        assert viewer.get("/metrics/pay_amount/edit").status_code == 403
        for path in ("/metrics/new", "/metrics/pay_amount/edit", "/metrics/pay_amount/delete"):
            r = viewer.post(path, data={**SUM_FORM, "key": "mine", "csrf_token": csrf})
            assert r.status_code == 403
    assert list(_stored(live_server)) == ["pay_amount"]


def test_the_trends_explorer_charts_a_catalog_metric(analyst: httpx.Client) -> None:
    _post(analyst, "/metrics/new", SUM_FORM)
    params = [("from", DAYS[0]), ("to", DAYS[-1]), ("interval", "day")]
    params += [("se", "$any"), ("sm", "total"), ("sp", ""), ("sk", "pay_amount")]
    params += [("se", "pay"), ("sm", "total"), ("sp", ""), ("sk", "")]
    page = analyst.get("/analysis/trends?lang=en&" + urlencode(params))
    assert page.status_code == 200
    table = re.search(r'data-testid="results-table">(.*?)</table>', page.text, re.S)
    assert table
    text = re.sub(r"<[^>]+>", " ", table.group(1))
    assert "Amount paid" in text and "pay · Total events" in text
    assert '<option value="pay_amount" selected>' in page.text
    # Amount paid: 45 on the 1st, 7.5 on the 3rd, 52.5 in all; pay events: 3, 0, 1 and 4.
    rows = [r.split() for r in text.strip().splitlines()[1:] if r.strip()]
    assert rows[-2][-4:] == ["52.50", "45.00", "0.00", "7.50"]
    assert rows[-1][-4:] == ["4.00", "3.00", "0.00", "1.00"]
    # An unknown metric is a 400 naming the series.
    bad = analyst.get(
        "/analysis/trends?" + urlencode([*params[:3], ("se", "$any"), ("sk", "nope")])
    )
    assert bad.status_code == 400 and "nope" in bad.text


def test_a_dashboard_tile_names_a_workspace_metric_series(analyst: httpx.Client) -> None:
    _post(analyst, "/metrics/new", SUM_FORM)
    csrf = csrf_of(analyst.get("/metrics?lang=en").text)
    headers = {"X-CSRF-Token": csrf}
    query = {"kind": "trends", "series": [{"metric": "pay_amount"}], "interval": "day"}
    query |= {"date_from": DAYS[0], "date_to": DAYS[-1]}
    insight = analyst.post(
        "/api/v1/insights", json={"name": "支付", "query": query}, headers=headers
    )
    assert insight.status_code == 201, insight.text
    board = analyst.post("/api/v1/dashboards", json={"name": "日报"}, headers=headers)
    assert board.status_code == 201, board.text
    board_id, insight_id = board.json()["id"], insight.json()["id"]
    pinned = analyst.post(
        f"/api/v1/dashboards/{board_id}/tiles", json={"insight_id": insight_id}, headers=headers
    )
    assert pinned.status_code == 200, pinned.text
    tile = analyst.get(f"/dashboards/{board_id}/tiles/{insight_id}")
    assert tile.status_code == 200
    spec = re.search(r'class="chart-spec">(.*?)</script>', tile.text, re.S)
    assert spec
    rows = _chart_rows(orjson.loads(spec.group(1)))
    assert {r["series"] for r in rows} == {"Amount paid"}
    assert [r["value"] for r in rows] == [45.0, 0.0, 7.5]


def _chart_rows(spec: Any) -> list[dict[str, Any]]:
    """The data rows of a chart spec (wherever the spec keeps them)."""
    if isinstance(spec, list):
        if spec and all(isinstance(r, dict) and "series" in r for r in spec):
            return spec
        return [r for item in spec for r in _chart_rows(item)]
    if isinstance(spec, dict):
        return [r for value in spec.values() for r in _chart_rows(value)]
    return []


def test_the_catalog_exports_as_the_list_shows_it(
    analyst: httpx.Client, live_server: LiveServer
) -> None:
    _post(analyst, "/metrics/new", SUM_FORM)
    with live_server.app_state.db.session() as s:
        infos = list_metrics(s, live_server.workspace.id)
    analyst.get("/metrics?lang=en")
    got = analyst.get("/metrics/export.csv")
    assert got.status_code == 200
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0] == ["Key", "Name", "Kind", "Unit", "Format", "Formula", "Parameters",
                       "Description", "Source"]  # fmt: skip
    assert [r[0] for r in rows[1:]] == [i.metric.key for i in infos]
    mine = rows[-1]
    assert mine == ["pay_amount", "Amount paid", "Sum of a property", "CNY", "Currency", "", "",
                    "Sum of the pay events' amount", "Workspace"]  # fmt: skip
    feature = next(r for r in rows if r[0] == "feature_users")
    assert feature[6] == "feature"
    analyst.get("/metrics?lang=zh-CN")
    xlsx = analyst.get("/metrics/export.xlsx?" + urlencode({"kind": "formula"}))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.title == "指标"
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0][:3] == ["键名", "名称", "类型"]
    formulas = [i for i in infos if i.metric.kind == "formula"]
    assert [(r[0], r[5]) for r in cells[1:]] == [
        (i.metric.key, getattr(i.metric, "formula", None)) for i in formulas
    ]
    assert 'href="/metrics/export.xlsx?kind=formula"' in analyst.get("/metrics?kind=formula").text
