"""The segment builder over HTTP: the count and members of a composed rule (hand-worked, and as
the REST segment query answers), saving it as a saved segment and opening it again, exports,
and bad rules named."""

from __future__ import annotations

import csv
import io
import re
from html import unescape
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from opsloop.analytics.segments.service import list_segments
from tests.conftest import LiveServer
from tests.web.conftest import csrf_of, make_login, send_events, sign_in


def _events() -> list[dict[str, Any]]:
    people = {"a": "上海", "b": "北京", "c": "上海", "d": "广州"}
    out: list[dict[str, Any]] = [
        {"event": "app_open", "distinct_id": p, "properties": {"$set": {"city": city}},
         "timestamp": "2026-11-01T02:00:00Z"}
        for p, city in people.items()
    ]  # fmt: skip
    pays = {"a": 2, "b": 3, "c": 1}  # d never pays
    for p, n in pays.items():
        out += [
            {"event": "pay", "distinct_id": p, "properties": {"amount": 10},
             "timestamp": f"2026-11-0{k + 2}T02:00:00Z"}
            for k in range(n)
        ]  # fmt: skip
    return out


def _row(
    ct: str, ca: str, *, cn: str = "is", co: str = "eq", cv: str = "", cd: str = ""
) -> list[tuple[str, str]]:
    return [("ct", ct), ("cn", cn), ("ca", ca), ("co", co), ("cv", cv), ("cd", cd)]


# Paid at least twice, and not from 上海: only b.
NOT_SHANGHAI = {"not": {"person": "city", "op": "eq", "value": "上海"}}
PARAMS = [
    ("combine", "and"),
    *_row("did", "pay", cv="2"),
    *_row("person", "city", cn="not", cv="上海"),
    ("as_of", "2026-11-10"),
]


@pytest.fixture
def analyst(live_server: LiveServer, client: httpx.Client) -> httpx.Client:
    send_events(live_server, _events())
    sign_in(client, make_login(live_server, "analyst@example.com", role="analyst"))
    return client


def _members(html: str) -> list[str]:
    table = re.search(r'data-testid="members-table">(.*?)</table>', html, re.S)
    assert table
    return re.findall(r'<a href="/users/[^"]+">([^<]+)</a>', table.group(1))


def _count(html: str) -> int:
    match = re.search(r'data-testid="segment-count">([^<]+)<', html)
    assert match
    return int(match.group(1).replace(",", ""))


def test_compose_count_list_save_and_open(analyst: httpx.Client, live_server: LiveServer) -> None:
    page = analyst.get("/analysis/segments?" + urlencode(PARAMS))
    assert page.status_code == 200
    assert (_count(page.text), _members(page.text)) == (1, ["b"])
    either = [("combine", "or"), *PARAMS[1:]]
    page_or = analyst.get("/analysis/segments?" + urlencode(either))
    assert (_count(page_or.text), sorted(_members(page_or.text))) == (3, ["a", "b", "d"])
    rest = httpx.post(
        live_server.url + "/api/v1/query",
        headers={"Authorization": f"Bearer {live_server.workspace.api_token}"},
        json={
            "kind": "segment",
            "as_of": "2026-11-10",
            "rule": {"or": [{"did": "pay", "at_least": 2}, NOT_SHANGHAI]},
        },
        timeout=30,
    ).json()
    assert rest["count"] == 3 and sorted(r["distinct_id"] for r in rest["results"]) == [
        "a",
        "b",
        "d",
    ]

    rule = unescape(re.search(r'name="rule" value="([^"]*)"', page.text).group(1))  # type: ignore[union-attr]
    saved = analyst.post(
        "/analysis/segments",
        data={"csrf_token": csrf_of(page.text), "name": "多次付费的外地用户", "rule": rule},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with live_server.app_state.db.session() as s:
        [info] = list_segments(s, live_server.workspace.id)
    assert (info.name, info.rule) == (
        "多次付费的外地用户",
        {
            "and": [
                {"did": "pay", "at_least": 2},
                {"not": {"person": "city", "op": "eq", "value": "上海"}},
            ]
        },
    )
    opened = analyst.get(saved.headers["location"] + "&as_of=2026-11-10")
    assert 'data-testid="segment-saved"' in opened.text
    assert _members(opened.text) == ["b"]
    # A saved segment is a condition of others.
    cohort = analyst.get(
        "/analysis/segments?" + urlencode([*_row("cohort", str(info.id)), ("as_of", "2026-11-10")])
    )
    assert _members(cohort.text) == ["b"]

    export = analyst.get("/analysis/segments/export.csv?" + urlencode(either))
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert sorted((r["distinct_id"], r["city"]) for r in rows) == [
        ("a", "上海"),
        ("b", "北京"),
        ("d", "广州"),
    ]


def test_bad_rules_are_named(analyst: httpx.Client) -> None:
    page = analyst.get(
        "/analysis/segments?" + urlencode([("rule", '{"did": "pay", "at_least": -1}')])
    )
    assert page.status_code == 400 and "<code>rule.at_least</code>" in page.text
    assert analyst.get("/analysis/segments?rule=%7Bnope").status_code == 400
    assert analyst.get("/analysis/segments/export.csv?rule=%7Bnope").status_code == 400
    assert analyst.get("/analysis/segments?segment=999").status_code == 404
