"""The profile's analytics over HTTP, for a small shop log, against plain pandas / Python
references from the same events: RFM scores and segment (the RFM explorer's default window),
lifecycle stage per day / week / month, first / last seen, first-touch channel and totals; the
links open the explorer and the segment builder holding the person; both languages; a person
without orders; an unknown distinct_id."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pandas as pd
import pytest

from tests.analytics.test_retention import period_key
from tests.analytics.test_rfm import rfm_reference
from tests.conftest import LiveServer
from tests.web.conftest import Login, send_events, sign_in

START = datetime(2026, 8, 1, 1, 0, tzinfo=UTC)
DAYS = 100
CHANNELS = ("应用商店", "抖音信息流", "小红书", "微信裂变", "百度搜索")
NO_ORDERS = "u07"  # never pays (every seventh person)
STAGE_NAMES = {
    "en": {"new": "New", "returning": "Returning", "resurrecting": "Resurrecting",
           "dormant": "Dormant"},
    "zh-CN": {"new": "新增", "returning": "持续活跃", "resurrecting": "回流", "dormant": "流失"},
}  # fmt: skip


def shop_log() -> list[dict[str, Any]]:
    """30 persons over 100 days: app_open on active days (the first one with a channel for most),
    view_item, and pay with an amount for all but every seventh person; three more on the last
    day."""
    rng = random.Random(5)
    out: list[dict[str, Any]] = []
    for n in range(1, 31):
        did = f"u{n:02d}"
        first = rng.randrange(0, DAYS - 10)
        days = sorted({first, *(rng.randrange(first, DAYS) for _ in range(rng.randrange(1, 12)))})
        for k, day in enumerate(days):
            at = START + timedelta(days=day, hours=rng.randrange(0, 23), minutes=rng.randrange(60))
            props: dict[str, Any] = {}
            if k == 0 and n % 5:
                props["channel"] = CHANNELS[n % len(CHANNELS)]
            if k == 1:
                props["utm_source"] = "later-touch"
            out.append(_event("app_open", did, at, props))
            out.append(_event("view_item", did, at + timedelta(minutes=2), {}))
            if n % 7 and rng.random() < 0.5:
                amount = round(rng.uniform(5, 500), 2)
                out.append(_event("pay", did, at + timedelta(minutes=5), {"amount": amount}))
    # On the last day: someone new, someone back after two months, someone there two days running.
    last = START + timedelta(days=DAYS - 1, hours=3)
    for did, days_before in (("u31", ()), ("u32", (70,)), ("u33", (1,))):
        for back in (*days_before, 0):
            out.append(_event("app_open", did, last - timedelta(days=back), {"$channel": "H5"}))
    out.append(_event("pay", "u32", last, {"amount": 99.9}))
    return out


def _event(name: str, did: str, at: datetime, props: dict[str, Any]) -> dict[str, Any]:
    return {"event": name, "distinct_id": did, "timestamp": at.isoformat(), "properties": props}


@pytest.fixture
def shop(live_server: LiveServer, client: httpx.Client, login: Login) -> Iterator[pd.DataFrame]:
    log = shop_log()
    send_events(live_server, log)
    sign_in(client, login)
    zone = ZoneInfo(live_server.workspace.timezone)
    frame = pd.DataFrame(
        {
            "person": [e["distinct_id"] for e in log],
            "event": [e["event"] for e in log],
            "ts": [datetime.fromisoformat(e["timestamp"]) for e in log],
            "props": [e["properties"] for e in log],
        }
    )
    frame["local"] = [t.astimezone(zone).replace(tzinfo=None) for t in frame["ts"]]
    yield frame


def stage(frame: pd.DataFrame, person: str, grain: str, as_of: date) -> str | None:
    """metrics.md's lifecycle for the period holding as_of, from the person's active days."""
    active = {period_key(grain, t.date()) for t in frame[frame["person"] == person]["local"]}
    now = period_key(grain, as_of)
    if now in active:
        if min(active) == now:
            return "new"
        return "returning" if now - 1 in active else "resurrecting"
    return "dormant" if now - 1 in active else None


def expected(frame: pd.DataFrame, person: str) -> dict[str, Any]:
    as_of = max(frame["local"]).date()
    rfm = rfm_reference(frame, {"as_of": as_of, "date_from": as_of - timedelta(days=364)})
    mine = rfm[rfm["person"] == person]
    own = frame[frame["person"] == person].sort_values("ts")
    pays = own[own["event"] == "pay"]
    # The first-touch channel: $channel, channel, utm_source, $utm_source, in that order.
    keys = ("$channel", "channel", "utm_source", "$utm_source")
    channels = [next(p[k] for k in keys if k in p) for p in own["props"] if set(keys) & set(p)]
    return {
        "rfm": None
        if mine.empty
        else (
            mine.iloc[0]["segment"],
            int(mine.iloc[0]["r_score"]),
            int(mine.iloc[0]["f_score"]),
            int(mine.iloc[0]["m_score"]),
        ),
        "stages": {g: stage(frame, person, g, as_of) for g in ("day", "week", "month")},
        "first": own["local"].iloc[0].date(),
        "last": own["local"].iloc[-1].date(),
        "events": len(own),
        "orders": len(pays),
        "paid": round(sum(p["amount"] for p in pays["props"]), 2),
        "channel": channels[0] if channels else None,
    }


def _testid(html: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}">([^<]*)<', html)
    assert match, name
    return unescape(match.group(1)).strip()


def _number(text: str) -> float:
    return float(re.sub(r"[^0-9.]", "", text) or "nan")


def shown(html: str) -> dict[str, Any]:
    scores = re.search(r'data-testid="profile-rfm-scores">(.*?)</table>', html, re.S)
    rfm, channel = None, _testid(html, "profile-channel")
    if scores:
        cells = re.findall(r"<td>(\d)</td><td>\d+\.\d\d</td></tr>", scores.group(1))
        rfm = (_testid(html, "profile-rfm-segment"), *(int(c) for c in cells))
    stages = dict(re.findall(r'<tr data-interval="(\w+)">.*?data-stage="(\w*)"', html, re.S))
    return {
        "rfm": rfm,
        "stages": {g: stages[g] or None for g in ("day", "week", "month")},
        "events": int(_number(_testid(html, "profile-events"))),
        "orders": int(_number(_testid(html, "profile-orders"))),
        "paid": _number(_testid(html, "profile-paid")),
        "channel": None if channel == "—" else channel,
    }


def test_every_profile_equals_the_reference_in_english(
    shop: pd.DataFrame, client: httpx.Client
) -> None:
    english = {zh: en for zh, en in zip(*_segment_names(), strict=True)}
    persons = sorted(shop["person"].unique())
    wanted = [expected(shop, p) for p in persons]
    # The log is one where the comparison means something: most segments and every stage occur.
    assert len({w["rfm"][0] for w in wanted if w["rfm"]}) >= 6
    assert {w["stages"][g] for w in wanted for g in ("day", "week", "month")} == {
        None,
        "new",
        "returning",
        "resurrecting",
        "dormant",
    }
    for person in persons:
        html = client.get(f"/users/{person}?lang=en").text
        want = expected(shop, person)
        got = shown(html)
        if want["rfm"] is not None:
            want["rfm"] = (english[want["rfm"][0]], *want["rfm"][1:])
        want_days = (want.pop("first"), want.pop("last"))
        assert got == want, person
        assert _testid(html, "profile-first-seen") == _en_day(want_days[0])
        assert _testid(html, "profile-last-seen") == _en_day(want_days[1])


def _segment_names() -> tuple[list[str], list[str]]:
    from opsloop.analytics.queries.rfm import SEGMENTS

    return [zh for zh, _, _ in SEGMENTS], [en.capitalize() for _, en, _ in SEGMENTS]


def _en_day(day: date) -> str:
    return f"{day.strftime('%b')} {day.day}, {day.year}"


def test_a_profile_in_chinese_links_to_the_explorer_and_builder_holding_the_person(
    shop: pd.DataFrame, client: httpx.Client
) -> None:
    payers = [p for p in sorted(shop["person"].unique()) if expected(shop, p)["rfm"]]
    person = payers[0]
    want = expected(shop, person)
    html = client.get(f"/users/{person}?lang=zh-CN").text
    assert '<html lang="zh-CN">' in html
    got = shown(html)
    assert got["rfm"] == want["rfm"]  # the zh-CN segment name, as metrics.md spells it
    day = want["first"]
    assert _testid(html, "profile-first-seen") == f"{day.year}年{day.month}月{day.day}日"
    for grain, name in got["stages"].items():
        if name:
            assert f'data-stage="{name}">{STAGE_NAMES["zh-CN"][name]}</a>' in html, grain
    link = re.search(r'class="rfm-segment" href="([^"]+)"', html)
    assert link and "segment=" in link.group(1)
    explorer = client.get(unescape(link.group(1))).text
    assert f'href="/users/{person}"' in explorer
    builders = re.findall(r'<a href="(/analysis/segments\?[^"]+)" data-stage="\w+">', html)
    assert builders and len(builders) == sum(1 for s in want["stages"].values() if s)
    for url in builders:
        members = client.get(unescape(url)).text
        assert f'href="/users/{person}"' in members, url


def test_a_person_without_orders_and_an_unknown_one(
    shop: pd.DataFrame, client: httpx.Client
) -> None:
    for lang, text in (("en", "Not scored"), ("zh-CN", "未评分")):
        html = client.get(f"/users/{NO_ORDERS}?lang={lang}").text
        assert text in _testid(html, "profile-rfm-none")
        got = shown(html)
        assert (got["rfm"], got["orders"], got["paid"]) == (None, 0, 0.0)
        assert got["events"] == expected(shop, NO_ORDERS)["events"]
    for lang, title in (("en", "User not found"), ("zh-CN", "未找到该用户")):
        missing = client.get(f"/users/nobody-here?lang={lang}", headers={"Accept": "text/html"})
        assert missing.status_code == 404
        assert 'data-testid="error-page" data-status="404"' in missing.text
        assert f"<h1>{title}</h1>" in missing.text
        assert _testid(missing.text, "error-detail") == "nobody-here"
    as_json = client.get("/users/nobody-here")
    assert as_json.status_code == 404
    assert as_json.json()["error"]["field"] == "distinct_id"
