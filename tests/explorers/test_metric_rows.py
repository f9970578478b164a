"""The metric form's filter and parameter rows over HTTP: a metric defined with a filter and a
parameter through the form (its stored definition, its values with and without the parameter
against a plain-Python count), the add / remove buttons (nothing saved), editing a stored
filter, and each row's errors naming the row's input in both languages."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select

from opsloop.analytics.catalog.models import WorkspaceMetric
from opsloop.explorers.forms import OPS
from tests.conftest import LiveServer
from tests.web.conftest import csrf_of, make_login, send_events, sign_in

DAYS = ("2026-11-01", "2026-11-02")
# (person, day index, feature, amount)
USES = [
    ("a", 0, "AI穿搭助手", 3),
    ("a", 1, "AI穿搭助手", 1),
    ("b", 0, "扫码购", 8),
    ("c", 1, "AI穿搭助手", 12),
    ("c", 1, "扫码购", 2),
]
BASE = [
    ("key", "feature_uses"),
    ("kind", "count"),
    ("name_zh", "功能使用次数"),
    ("name_en", "Feature uses"),
    ("description_zh", "use_feature 事件数"),
    ("description_en", "use_feature events"),
    ("unit_zh", "次"),
    ("unit_en", "uses"),
    ("event", "use_feature"),
    ("format", "number"),
    ("decimals", "0"),
]
FEATURE_FILTER = [("fp", "feature"), ("fo", "eq"), ("fv", "{feature}")]
BIG_FILTER = [("fp", "amount"), ("fo", "gte"), ("fv", "3")]
PROPERTY_ZH, PROPERTY_EN = "“筛选 1：属性”", "“Filter 1: property”"
FEATURE_PARAMETER = [("pn", "feature"), ("pz", "功能名称"), ("pe", "feature name")]


def _events() -> list[dict[str, Any]]:
    return [
        {"event": "use_feature", "distinct_id": p, "timestamp": f"{DAYS[d]}T03:{i:02d}:00Z",
         "properties": {"feature": f, "amount": n}}
        for i, (p, d, f, n) in enumerate(USES)
    ]  # fmt: skip


def _expected(feature: str | None, min_amount: int) -> list[int]:
    """Uses per day: the reference of the metric defined below."""
    return [
        sum(1 for _, d, f, n in USES if d == day and n >= min_amount and feature in (None, f))
        for day in range(len(DAYS))
    ]


@pytest.fixture
def analyst(live_server: LiveServer, client: httpx.Client) -> httpx.Client:
    send_events(live_server, _events())
    sign_in(client, make_login(live_server, "analyst@example.com", role="analyst"))
    return client


def _post(client: httpx.Client, path: str, pairs: list[tuple[str, str]]) -> httpx.Response:
    csrf = csrf_of(client.get(path).text)
    body = urlencode([*pairs, ("csrf_token", csrf)])
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return client.post(path, content=body, headers=headers)


def _stored(server: LiveServer) -> dict[str, dict[str, Any]]:
    with server.app_state.db.session() as s:
        rows = s.scalars(
            select(WorkspaceMetric).where(WorkspaceMetric.workspace_id == server.workspace.id)
        )
        return {r.key: r.definition for r in rows}


def _values(client: httpx.Client, ref: Any) -> list[int]:
    csrf = csrf_of(client.get("/metrics").text)
    body = {"kind": "metrics", "metrics": [ref], "interval": "day"}
    body |= {"date_from": DAYS[0], "date_to": DAYS[-1]}
    r = client.post("/api/v1/query", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    return [int(v) for v in r.json()["results"][0]["values"]]


def _rows(html: str, testid: str) -> list[list[str]]:
    """The values of each row's inputs and selected option, in order."""
    out = []
    for row in re.findall(rf'data-testid="{testid}">(.*?)</div>', html, re.S):
        fields = re.findall(r'<input[^>]*value="([^"]*)"|<option value="([^"]+)" selected', row)
        out.append([unescape(a or b) for a, b in fields])
    return out


def test_a_metric_with_a_filter_and_a_parameter(
    analyst: httpx.Client, live_server: LiveServer
) -> None:
    r = _post(analyst, "/metrics/new", [*BASE, *FEATURE_FILTER, *BIG_FILTER, *FEATURE_PARAMETER])
    assert (r.status_code, r.headers.get("location")) == (303, "/metrics/feature_uses?done=created")
    stored = _stored(live_server)["feature_uses"]
    assert stored["filters"] == [
        {"property": "feature", "op": "eq", "value": "{feature}", "type": "event"},
        {"property": "amount", "op": "gte", "value": 3, "type": "event"},
    ]
    assert stored["parameters"] == {"feature": {"zh-CN": "功能名称", "en": "feature name"}}
    # Without the parameter its filter is left out; with it, only that feature's uses count.
    assert _values(analyst, "feature_uses") == _expected(None, 3) == [2, 1]
    for feature in ("AI穿搭助手", "扫码购"):
        ref = {"metric": "feature_uses", "params": {"feature": feature}}
        assert _values(analyst, ref) == _expected(feature, 3)
    page = analyst.get("/metrics/feature_uses?lang=en")
    assert "<th>Parameters</th><td>feature</td>" in page.text

    # The edit form shows the stored rows; the second filter becomes amount in (1, 2).
    edit = analyst.get("/metrics/feature_uses/edit")
    assert _rows(edit.text, "metric-filter-row") == [
        ["feature", "eq", "{feature}"],
        ["amount", "gte", "3"],
    ]
    assert _rows(edit.text, "metric-parameter-row") == [["feature", "功能名称", "feature name"]]
    in_filter = [("fp", "amount"), ("fo", "in"), ("fv", "1，2")]
    r = _post(
        analyst, "/metrics/feature_uses/edit", [*BASE, *FEATURE_FILTER, *in_filter,
                                                *FEATURE_PARAMETER]
    )  # fmt: skip
    assert r.status_code == 303, r.text
    assert _stored(live_server)["feature_uses"]["filters"][1]["value"] == ["1", "2"]
    expected = [sum(1 for _, d, _, n in USES if d == day and n in (1, 2)) for day in (0, 1)]
    assert _values(analyst, "feature_uses") == expected == [0, 2]
    assert _rows(analyst.get("/metrics/feature_uses/edit").text, "metric-filter-row")[1] == [
        "amount",
        "in",
        "1, 2",
    ]


def test_a_comparison_filter_takes_a_numeric_parameter(analyst: httpx.Client) -> None:
    at_least = [("fp", "amount"), ("fo", "gte"), ("fv", "{min_amount}")]
    parameter = [("pn", "min_amount"), ("pz", "最低金额"), ("pe", "minimum amount")]
    r = _post(analyst, "/metrics/new", [*BASE, *at_least, *parameter])
    assert r.status_code == 303, r.text
    for least in (1, 3, 8, 13):
        ref = {"metric": "feature_uses", "params": {"min_amount": least}}
        assert _values(analyst, ref) == _expected(None, least)
    assert _values(analyst, "feature_uses") == _expected(None, 0)


def test_add_and_remove_buttons_change_the_rows_without_saving(
    analyst: httpx.Client, live_server: LiveServer
) -> None:
    r = _post(analyst, "/metrics/new", [*BASE, *FEATURE_FILTER, ("add", "filter")])
    assert r.status_code == 200
    assert _rows(r.text, "metric-filter-row") == [["feature", "eq", "{feature}"], ["", "eq", ""]]
    assert 'value="Feature uses"' in r.text  # the other fields are kept
    r = _post(analyst, "/metrics/new", [*BASE, *FEATURE_FILTER, ("add", "parameter")])
    assert _rows(r.text, "metric-parameter-row") == [["", "", ""]]
    # An empty row stays while other rows are added; a save leaves it out.
    blank = [("fp", ""), ("fo", "eq"), ("fv", "")]
    r = _post(analyst, "/metrics/new", [*BASE, *blank, ("add", "parameter")])
    assert _rows(r.text, "metric-filter-row") == [["", "eq", ""]]
    assert _rows(r.text, "metric-parameter-row") == [["", "", ""]]
    pairs = [*BASE, *FEATURE_FILTER, *BIG_FILTER, *FEATURE_PARAMETER, ("remove", "filter:0")]
    r = _post(analyst, "/metrics/new", pairs)
    assert _rows(r.text, "metric-filter-row") == [["amount", "gte", "3"]]
    assert _rows(r.text, "metric-parameter-row") == [["feature", "功能名称", "feature name"]]
    r = _post(analyst, "/metrics/new", [*BASE, *FEATURE_PARAMETER, ("remove", "parameter:0")])
    assert _rows(r.text, "metric-parameter-row") == []
    assert _stored(live_server) == {}


@pytest.mark.parametrize(
    ("rows", "field", "zh", "en"),
    [
        (FEATURE_FILTER, "fv-0", "引用了指标未声明的参数", "names a parameter the metric does not"),
        (
            [*BIG_FILTER, ("fp", "amount"), ("fo", "lt"), ("fv", "lots")],
            "fv-1",
            "“筛选 2：值”",
            "“Filter 2: value”",
        ),
        ([("fp", ""), ("fo", "eq"), ("fv", "x")], "fp-0", PROPERTY_ZH, PROPERTY_EN),
        ([("fp", "a"), ("fo", "like"), ("fv", "x")], "fo-0", "筛选 1：运算符", "Filter 1: oper"),
        ([("fp", 'say "hi"'), ("fo", "eq"), ("fv", "x")], "fp-0", PROPERTY_ZH, PROPERTY_EN),
        (
            [*FEATURE_FILTER, ("pn", "Feature"), ("pz", "功能"), ("pe", "feature")],
            "pn-0",
            "参数名为 1–63 个",
            "A parameter's name is 1–63",
        ),
        (
            [*FEATURE_FILTER, ("pn", "feature"), ("pz", ""), ("pe", "feature")],
            "pz-0",
            "“参数 1：说明（中文）”为必填项",
            "“Parameter 1: description (Chinese)” is required",
        ),
    ],
)  # fmt: skip
def test_row_errors_name_the_rows_input_in_both_languages(
    analyst: httpx.Client,
    live_server: LiveServer,
    rows: list[tuple[str, str]],
    field: str,
    zh: str,
    en: str,
) -> None:
    for lang, message in (("zh-CN", zh), ("en", en)):
        analyst.get(f"/metrics?lang={lang}")
        r = _post(analyst, "/metrics/new", [*BASE, *rows])
        assert r.status_code == 400
        assert f'data-field="{field}"' in r.text
        assert message in unescape(r.text)
        marked = re.search(rf'<(?:input|select) id="m-{field}"[^>]*>', r.text)
        assert marked and 'aria-invalid="true"' in marked.group(0)
        # The rows come back as they were typed (an unknown operator is no option).
        shown = [v for row in _rows(r.text, "metric-filter-row") for v in row]
        assert [v for v in shown if v not in OPS] == [v for k, v in rows if k in ("fp", "fv")]
    assert _stored(live_server) == {}


def test_a_save_leaves_empty_rows_out(analyst: httpx.Client, live_server: LiveServer) -> None:
    blank_filter = [("fp", ""), ("fo", "eq"), ("fv", "")]
    blank_parameter = [("pn", ""), ("pz", ""), ("pe", "")]
    r = _post(analyst, "/metrics/new", [*BASE, *blank_filter, *FEATURE_FILTER, *blank_parameter,
                                         *FEATURE_PARAMETER])  # fmt: skip
    assert r.status_code == 303, r.text
    stored = _stored(live_server)["feature_uses"]
    assert [f["property"] for f in stored["filters"]] == ["feature"]
    assert list(stored["parameters"]) == ["feature"]
