"""The acquisition spend page over HTTP: an operator uploads a CSV file (the report's counts, the
stored rows as the REST API reads them back, ad_spend per day against a plain sum), uploads it
again changed (new / replaced / unchanged), a file with bad lines is refused whole with every
line's reason in both languages, the file-level problems, the table filtered and paged, its CSV
and Excel exports, deleting with confirmation, and who may do what."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import date, timedelta
from html import unescape

import httpx
import openpyxl
import pytest

from opsloop.audit.models import AuditEntry
from tests.conftest import LiveServer
from tests.web.conftest import csrf_of, make_login, send_events, sign_in

FIRST = date(2026, 11, 1)
CHANNELS = ("抖音信息流", "小红书", "百度搜索")
# 40 days × 3 channels: 120 rows, more than a page of the table.
ROWS = [
    (ch, FIRST + timedelta(days=d), round(1000 + 37.5 * d + 11 * i, 2))
    for d in range(40)
    for i, ch in enumerate(CHANNELS)
]


def _csv(rows: list[tuple[str, date, float]], header: str = "channel,date,spend") -> bytes:
    lines = [header, *(f"{ch},{day.isoformat()},{spend}" for ch, day, spend in rows)]
    return ("\ufeff" + "\n".join(lines) + "\n").encode()


@pytest.fixture
def operator(live_server: LiveServer, client: httpx.Client) -> httpx.Client:
    sign_in(client, make_login(live_server, "operator@example.com", role="operator"))
    return client


def _upload(client: httpx.Client, data: bytes, name: str = "spend.csv") -> httpx.Response:
    csrf = csrf_of(client.get("/metrics/spend").text)
    files = {"file": (name, data, "text/csv")}
    return client.post("/metrics/spend", data={"csrf_token": csrf}, files=files)


def _count(html: str, testid: str) -> int:
    m = re.search(rf'data-testid="{testid}">([^<]*)<', html)
    assert m, testid
    return int(m.group(1).replace(",", ""))


def _stored(client: httpx.Client) -> list[tuple[str, date, float]]:
    csrf = csrf_of(client.get("/metrics/spend").text)
    r = client.get("/api/v1/spend", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["currency"] == "CNY"
    return [(x["channel"], date.fromisoformat(x["date"]), x["spend"]) for x in r.json()["results"]]


def _key(row: tuple[str, date, float]) -> tuple[date, str]:
    return row[1], row[0]


def test_upload_then_upload_again_changed(operator: httpx.Client, live_server: LiveServer) -> None:
    r = _upload(operator, _csv(ROWS))
    assert r.status_code == 200
    assert 'data-outcome="stored"' in r.text
    counts = {k: _count(r.text, f"report-{k}") for k in ("read", "kept", "inserted", "updated")}
    assert counts == {"read": 120, "kept": 120, "inserted": 120, "updated": 0}
    assert _stored(operator) == sorted(ROWS, key=_key)

    # ad_spend per day is the day's sum over the channels.
    send_events(live_server, [{"event": "app_open", "distinct_id": "x",
                               "timestamp": "2026-11-01T01:00:00Z"}])  # fmt: skip
    csrf = csrf_of(operator.get("/metrics/spend").text)
    body = {"kind": "metrics", "metrics": ["ad_spend"], "interval": "day",
            "date_from": "2026-11-01", "date_to": "2026-11-10"}  # fmt: skip
    answer = operator.post("/api/v1/query", json=body, headers={"X-CSRF-Token": csrf}).json()
    per_day: dict[date, float] = defaultdict(float)
    for _, day, spend in ROWS:
        per_day[day] += spend
    want = [per_day[FIRST + timedelta(days=d)] for d in range(10)]
    assert answer["results"][0]["values"] == pytest.approx(want)

    # Again: one row changed, one new day, a duplicate of a line (the last one wins).
    changed = [*ROWS[:2], ("小红书", ROWS[1][1], 1.5), ("自然流量", FIRST, 0.0), ROWS[2]]
    r = _upload(operator, _csv(changed))
    counts = {k: _count(r.text, f"report-{k}") for k in ("read", "kept", "inserted", "updated",
                                                         "unchanged")}  # fmt: skip
    assert counts == {"read": 5, "kept": 4, "inserted": 1, "updated": 1, "unchanged": 2}
    expected = {(ch, day): spend for ch, day, spend in [*ROWS, *changed]}
    assert _stored(operator) == sorted(
        [(ch, day, s) for (ch, day), s in expected.items()], key=_key
    )
    with live_server.app_state.db.session() as s:
        actions = [e.action for e in s.query(AuditEntry).filter_by(entity_type="spend")]
    assert actions == ["spend.imported", "spend.imported"]


BAD = (
    b"channel,date,spend\n"
    b"\xe6\x8a\x96\xe9\x9f\xb3,2026-11-01,100\n"  # 抖音: good
    b",2026-11-01,5\n"  # no channel
    b"x,2026-13-01,5\n"  # no such date
    b"x,2026-11-02,lots\n"  # not a number
    b"x,2026-11-02,-3\n"  # negative
    b"x,2026-11-03,1,USD1\n"  # a cell past the header
)
REFUSED = [(3, "channel"), (4, "date"), (5, "spend"), (6, "spend"), (7, "columns")]


@pytest.mark.parametrize(
    ("lang", "reasons"),
    [
        ("zh-CN", ["1–200 个字符的渠道名称", "YYYY-MM-DD 格式的日期", "0 到 10 万亿之间的数字"]),
        ("en", ["a channel name of 1 to 200", "a date as YYYY-MM-DD", "a number from 0 to 10"]),
    ],
)
def test_bad_lines_are_listed_and_nothing_is_stored(
    operator: httpx.Client, lang: str, reasons: list[str]
) -> None:
    operator.get(f"/metrics/spend?lang={lang}")
    r = _upload(operator, BAD)
    assert r.status_code == 400 and 'data-outcome="refused"' in r.text
    table = re.search(r'data-testid="refused-table">(.*?)</table>', r.text, re.S)
    assert table
    lines = re.findall(r'<tr data-line="(\d+)"><td>\d+</td><td><code>(\w+)</code>', table.group(1))
    assert [(int(n), f) for n, f in lines] == REFUSED
    assert all(reason in unescape(table.group(1)) for reason in reasons)
    assert (_count(r.text, "report-read"), _count(r.text, "report-refused")) == (6, 5)
    assert _count(r.text, "report-kept") == 1
    assert _stored_count(operator) == 0


def _stored_count(client: httpx.Client) -> int:
    csrf = csrf_of(client.get("/metrics/spend").text)
    return len(client.get("/api/v1/spend", headers={"X-CSRF-Token": csrf}).json()["results"])


@pytest.mark.parametrize(
    ("data", "field", "en"),
    [
        (b"", "file", "Choose a CSV file or paste its text."),
        (b"channel,day,spend\nx,2026-11-01,1\n", "date", "must name the columns channel"),
        ("渠道,日期\n".encode("gbk"), "file", "is not UTF-8 text"),
        (b"channel,date,spend\n\n", "rows", "The file has no rows."),
        (
            b"channel,date,spend,currency\nx,2026-11-01,1,CNY\ny,2026-11-01,1,USD\n",
            "currency",
            "One currency per file",
        ),
    ],
)
def test_file_problems_name_their_field(
    operator: httpx.Client, data: bytes, field: str, en: str
) -> None:
    operator.get("/metrics/spend?lang=en")
    r = _upload(operator, data)
    assert r.status_code == 400
    assert f'data-field="{field}"' in r.text and en in unescape(r.text)
    assert _stored_count(operator) == 0


def test_another_currency_is_refused(operator: httpx.Client) -> None:
    assert _upload(operator, _csv(ROWS[:3])).status_code == 200
    r = _upload(operator, b"channel,date,spend,currency\nx,2026-11-01,1,USD\n")
    assert r.status_code == 400 and 'data-field="currency"' in r.text
    assert "工作区的投放花费以 CNY 计，此文件为 USD" in r.text
    assert _stored_count(operator) == 3


def test_pasted_text_filters_pages_and_exports(operator: httpx.Client) -> None:
    csrf = csrf_of(operator.get("/metrics/spend").text)
    pasted = _csv(ROWS).decode().lstrip("\ufeff")
    r = operator.post("/metrics/spend", data={"csrf_token": csrf, "text": pasted})
    assert r.status_code == 200 and _count(r.text, "report-kept") == 120

    page = operator.get("/metrics/spend?lang=en")
    summary = re.findall(r'<tr data-channel="([^"]+)">', page.text)
    totals = {ch: sum(s for c, _, s in ROWS if c == ch) for ch in CHANNELS}
    assert summary == sorted(CHANNELS, key=lambda c: -totals[c])
    assert _count(page.text, "spend-count") == 120
    body = re.search(r'data-testid="spend-table">(.*?)</table>', page.text, re.S)
    assert body and len(re.findall(r"<tr><td>", body.group(1))) == 100  # one page
    newest = max(day for _, day, _ in ROWS).isoformat()
    assert re.search(rf"<tr><td>{newest}</td>", body.group(1))
    older = operator.get("/metrics/spend?page=1")
    assert len(re.findall(r"<tr><td>\d{4}-", older.text)) == 20

    query = "channel=%E5%B0%8F%E7%BA%A2%E4%B9%A6&from=2026-11-05&to=2026-11-09"
    want = [(day, ch, s) for ch, day, s in ROWS
            if ch == "小红书" and date(2026, 11, 5) <= day <= date(2026, 11, 9)]  # fmt: skip
    assert _count(operator.get(f"/metrics/spend?{query}").text, "spend-count") == len(want) == 5
    got = operator.get(f"/metrics/spend/export.csv?{query}")
    assert got.status_code == 200
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0] == ["Date", "Channel", "Spend (CNY)"]
    assert [(date.fromisoformat(d), c, float(s)) for d, c, s in rows[1:]] == want
    xlsx = operator.get(f"/metrics/spend/export.xlsx?{query}")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    cells = [tuple(c.value for c in row) for row in sheet.iter_rows(min_row=2)]
    assert [(v[0].date(), v[1], v[2]) for v in cells] == want
    assert operator.get("/metrics/spend?from=2026-11-40").status_code == 400

    operator.get("/metrics/spend?lang=zh-CN")
    by_channel = operator.get("/metrics/spend/channels.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(by_channel.content)).active
    assert sheet is not None
    cells = [tuple(c.value for c in row) for row in sheet.iter_rows()]
    assert cells[0] == ("渠道", "天", "开始日期", "结束日期", "总花费 (CNY)")
    want_totals = sorted(
        ((ch, 40, FIRST, FIRST + timedelta(days=39), totals[ch]) for ch in CHANNELS),
        key=lambda r: -r[4],
    )
    got_totals = [(c[0], c[1], c[2].date(), c[3].date(), c[4]) for c in cells[1:]]
    assert got_totals == [(*w[:4], pytest.approx(w[4])) for w in want_totals]


def test_delete_needs_the_box_ticked(operator: httpx.Client, live_server: LiveServer) -> None:
    _upload(operator, _csv(ROWS))
    csrf = csrf_of(operator.get("/metrics/spend").text)
    form = {"csrf_token": csrf, "channel": "百度搜索", "from": "2026-11-01", "to": "2026-11-10"}
    r = operator.post("/metrics/spend/delete", data=form)
    assert r.status_code == 400 and 'data-field="confirm"' in r.text
    assert _stored_count(operator) == 120
    r = operator.post("/metrics/spend/delete", data={**form, "confirm": "1"})
    assert r.status_code == 200
    assert "已删除 10 行投放花费。" in r.text
    left = [(ch, day) for ch, day, _ in ROWS
            if not (ch == "百度搜索" and day <= date(2026, 11, 10))]  # fmt: skip
    assert [(ch, day) for ch, day, _ in _stored(operator)] == sorted(left, key=lambda x: x[::-1])


def test_who_may_read_upload_and_delete(live_server: LiveServer, operator: httpx.Client) -> None:
    _upload(operator, _csv(ROWS[:3]))
    for role in ("viewer", "analyst"):
        with httpx.Client(base_url=live_server.url, timeout=30) as other:
            sign_in(other, make_login(live_server, f"{role}@example.com", role=role))
            page = other.get("/metrics/spend")
            assert page.status_code == 200 and "抖音信息流" in page.text
            assert 'data-testid="spend-upload"' not in page.text
            assert 'data-testid="spend-delete"' not in page.text
            assert other.get("/metrics/spend/export.csv").status_code == 200
            csrf = csrf_of(page.text)
            files = {"file": ("s.csv", _csv(ROWS), "text/csv")}
            r = other.post("/metrics/spend", data={"csrf_token": csrf}, files=files)
            assert r.status_code == 403
            r = other.post("/metrics/spend/delete", data={"csrf_token": csrf, "confirm": "1"})
            assert r.status_code == 403
    assert _stored_count(operator) == 3
