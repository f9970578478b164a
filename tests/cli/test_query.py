"""`opsloop query` through Typer's runner: every registered kind, run on the event store itself and
through a live server, against the REST answer, the Python API and plain-Python references."""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import DuckDbEngine
from opsloop.analytics.registry import KINDS
from opsloop.analytics.service import run_query
from opsloop.cli import common
from opsloop.cli.main import app
from opsloop.cli.query import EXAMPLES, Options, build_request, parse_request
from opsloop.db import open_database
from opsloop.events import IncomingEvent, open_event_store
from opsloop.events.schema import PersonOp
from opsloop.settings import Settings
from opsloop.workspaces.models import ApiToken
from opsloop.workspaces.service import CreatedWorkspace, create_workspace
from tests.conftest import _start

runner = CliRunner()
TZ = "Asia/Shanghai"
DAYS = [date(2026, 6, 1) + timedelta(days=i) for i in range(7)]
CHANNEL = {"u1": "小红书", "u2": "抖音信息流", "u3": "小红书", "u4": "应用商店"}
# (distinct_id, event, local time, amount)
LOG: list[tuple[str, str, str, float | None]] = [
    ("u1", "sign_up", "2026-06-01 10:00", None),
    ("u1", "app_open", "2026-06-01 10:05", None),
    ("u1", "pay", "2026-06-01 11:00", 100),
    ("u1", "app_open", "2026-06-02 09:00", None),
    ("u1", "pay", "2026-06-03 20:00", 50.5),
    ("u2", "sign_up", "2026-06-01 12:00", None),
    ("u2", "app_open", "2026-06-03 08:00", None),
    ("u2", "pay", "2026-06-03 09:00", 30),
    ("u3", "sign_up", "2026-06-02 18:00", None),
    ("u3", "app_open", "2026-06-02 18:01", None),
    ("u3", "app_open", "2026-06-04 10:00", None),
    ("u4", "sign_up", "2026-06-03 23:30", None),
    ("u4", "pay", "2026-06-04 00:10", 200),
    ("u4", "pay", "2026-06-05 15:00", 20),
    ("u4", "app_open", "2026-06-06 12:00", None),
]
UNSTABLE = ("seconds", "cached")  # timing, and whether the server's cache answered


@dataclass(frozen=True)
class Shop:
    settings: Settings
    workspace: CreatedWorkspace

    def cli(self, *args: str) -> Result:
        data = str(self.settings.data_dir)
        return runner.invoke(app, ["query", *args, "-w", "shop", "--data-dir", data])

    def answer(self, *args: str) -> dict[str, Any]:
        r = self.cli(*args, "--json")
        assert r.exit_code == 0, r.output
        value: dict[str, Any] = json.loads(r.stdout)
        return value


def _events(workspace_id: int) -> list[IncomingEvent]:
    zone = ZoneInfo(TZ)
    out = []
    for i, (who, event, local, amount) in enumerate(LOG):
        props: dict[str, Any] = {"channel": CHANNEL[who]}
        if amount is not None:
            props["amount"] = amount
        ops = [PersonOp("set", {"channel": CHANNEL[who]})] if event == "sign_up" else []
        ts = datetime.fromisoformat(local).replace(tzinfo=zone).astimezone(UTC)
        uid = f"00000000-0000-0000-0000-{i + 1:012d}"
        out.append(IncomingEvent(workspace_id, uid, event, who, ts, props, "test", ops))
    return out


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    settings = Settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir()
    db = open_database(settings.resolved_database_url)
    with db.session() as s:
        ws = create_workspace(s, "shop", TZ)
    db.close()
    store = open_event_store(settings.event_store_path)
    store.write_events(_events(ws.id))
    store.close()
    return Shop(settings, ws)


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """OpsLoop serving the data folder in this process, announced in server.json as `opsloop
    serve` does; it owns the event store until the block ends."""
    server, thread, port = _start(settings)
    settings.server_file.write_text(
        json.dumps({"host": "127.0.0.1", "port": port, "pid": os.getpid()})
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        settings.server_file.unlink(missing_ok=True)
        server.should_exit = True
        thread.join(timeout=30)


def stable(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in UNSTABLE}


def example(kind: str) -> list[str]:
    return shlex.split(EXAMPLES[kind])


def request_of(kind: str, args: list[str]) -> dict[str, Any]:
    """The request the CLI sends for these arguments (as the REST door receives it)."""
    opts: dict[str, Any] = defaultdict(list)
    names = {"--from": "date_from", "--to": "date_to", "--interval": "interval"}
    names |= {"--math": "math", "--property": "property", "--breakdown": "breakdown"}
    lists = {"--event": "events", "--filter": "filters", "--set": "sets", "--metric": "metrics"}
    body = None
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag == "--body":
            body = value
        elif flag in lists:
            opts[lists[flag]].append(value)
        else:
            opts[names[flag]] = value
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in opts.items()}
    return parse_request(build_request(kind, body, Options(**fields))).model_dump(mode="json")


# -- every kind, three doors ------------------------------------------------------------------


def test_every_registered_kind_has_an_example_in_the_help() -> None:
    missing = sorted(set(KINDS) - set(EXAMPLES))
    assert missing == [], f"add an example to cli/query.py EXAMPLES for: {missing}"
    r = runner.invoke(app, ["query", "--help"], env={"COLUMNS": "400"})
    assert r.exit_code == 0
    for kind in KINDS:
        assert f"opsloop query {kind} -w shop {EXAMPLES[kind]}" in r.stdout


def test_each_kind_answers_alike_locally_through_the_server_and_over_rest(shop: Shop) -> None:
    local = {kind: shop.answer(kind, *example(kind)) for kind in KINDS}
    # The Python API on the same store gives the same answers (no cache: never `cached`).
    store = open_event_store(shop.settings.event_store_path, read_only=True)
    ctx = QueryContext(shop.workspace.id, TZ, DuckDbEngine(store))
    try:
        for kind in KINDS:
            direct = run_query(
                ctx, KINDS[kind].model.model_validate(request_of(kind, example(kind)))
            )
            assert stable(local[kind]) == stable(direct), kind
            assert local[kind]["cached"] is False and list(local[kind]) == list(direct)
    finally:
        store.close()
    token = {"Authorization": f"Bearer {shop.workspace.api_token}"}
    with serving(shop.settings) as url:
        for kind in KINDS:
            served = shop.answer(kind, *example(kind))
            rest = httpx.post(
                f"{url}/api/v1/query", json=request_of(kind, example(kind)), headers=token
            )
            assert rest.status_code == 200, rest.text
            assert list(served) == list(rest.json()), kind  # same keys, seconds and cached too
            assert stable(served) == stable(rest.json()) == stable(local[kind]), kind
    db = open_database(shop.settings.resolved_database_url)
    with db.session() as s:  # the tokens the command made for itself are gone
        assert s.scalars(select(ApiToken.name)).all() == ["workspace"]
    db.close()


# -- plain-Python references over LOG ----------------------------------------------------------


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def reference_pay_by_channel() -> list[tuple[str, list[int | float], int | float]]:
    """(channel, pay amount per day of DAYS, total), by total, largest first."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(DAYS))
    for who, event, local, amount in LOG:
        day = datetime.fromisoformat(local).date()
        if event == "pay" and amount is not None and day in DAYS:
            sums[CHANNEL[who]][DAYS.index(day)] += amount
    lines = [(ch, [_number(v) for v in vs], _number(sum(vs))) for ch, vs in sums.items()]
    return sorted(lines, key=lambda line: -line[2])


def reference_retention(periods: int) -> list[tuple[str, int, list[int | None]]]:
    """(cohort day, size, persons active on cohort day + k) for sign_up cohorts, any activity
    counting as a return; periods ending after the last day with events are unknown (None)."""
    day_of = [(who, event, datetime.fromisoformat(local).date()) for who, event, local, _ in LOG]
    last = max(d for _, _, d in day_of)
    cohort = {}
    for who, event, d in sorted(day_of, key=lambda r: r[2]):
        if event == "sign_up":
            cohort.setdefault(who, d)
    active = {(who, d) for who, _, d in day_of}
    out = []
    for c in sorted(set(cohort.values())):
        people = [p for p, d in cohort.items() if d == c]
        values: list[int | None] = []
        for k in range(periods + 1):
            day = c + timedelta(days=k)
            values.append(None if day > last else sum((p, day) in active for p in people))
        out.append((c.isoformat(), len(people), values))
    return out


def _csv(value: float | None) -> str:
    return "" if value is None else str(value)


def test_trends_answer_matches_the_reference(shop: Shop) -> None:
    answer = shop.answer("trends", *example("trends"))
    got = [(r["breakdown_value"], r["values"], r["total"]) for r in answer["results"]]
    assert got == [(ch, values, total) for ch, values, total in reference_pay_by_channel()]
    assert {r["label"] for r in answer["results"]} == {"pay sum"}
    assert all(r["dates"] == [d.isoformat() for d in DAYS] for r in answer["results"])


def test_csv_of_trends_has_a_row_per_series_breakdown_and_date(shop: Shop) -> None:
    r = shop.cli("trends", *example("trends"), "--csv")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    line = {"series": "0", "label": "pay sum", "event": "pay", "math": "sum", "compare": "false"}
    assert rows == [
        {**line, "breakdown_value": ch, "total": str(total), "date": d.isoformat(), "value": str(v)}
        for ch, values, total in reference_pay_by_channel()
        for d, v in zip(DAYS, values, strict=True)
    ]
    assert "小红书" in r.stdout  # Chinese as is, not escaped


def test_csv_of_retention_has_a_column_per_period(shop: Shop) -> None:
    r = shop.cli("retention", *example("retention"), "--csv")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    expected = reference_retention(3)
    assert [row["cohort"] for row in rows] == [c for c, _, _ in expected]
    for row, (_, size, values) in zip(rows, expected, strict=True):
        assert row["size"] == str(size)
        assert [row[f"values_{k}"] for k in range(4)] == [
            "" if v is None else str(v) for v in values
        ]
        rates = [None if v is None else v / size for v in values]
        assert [row[f"rates_{k}"] for k in range(4)] == ["" if v is None else str(v) for v in rates]


def test_table_shows_a_line_per_breakdown_with_the_dates_as_columns(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common.out_console, "width", 200)
    r = shop.cli("trends", *example("trends"))
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    header = next(line for line in lines if "┃" in line)
    assert [c.strip() for c in header.split("┃")] == [
        "label", "breakdown_value", "total", *(d.isoformat()[5:] for d in DAYS)
    ]  # fmt: skip
    body = [[c.strip() for c in line.split("│")] for line in lines if "│" in line]
    assert body == [
        ["pay sum", ch, f"{total:,}", *(f"{v:,}" for v in values)]
        for ch, values, total in reference_pay_by_channel()
    ]
    assert "dates in 2026" in r.stdout


def test_a_narrow_table_keeps_the_latest_dates(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common.out_console, "width", 60)
    r = shop.cli("lifecycle", *example("lifecycle"))
    assert r.exit_code == 0, r.output
    header = next(line for line in r.stdout.splitlines() if "┃" in line)
    columns = [c.strip() for c in header.split("┃")]
    shown = len(columns) - 1
    assert 1 <= shown < len(DAYS)
    assert columns == ["status", *(d.isoformat()[5:] for d in DAYS[-shown:])]
    assert f"the last {shown} of {len(DAYS)} dates" in " ".join(r.stdout.split())


# -- building requests -------------------------------------------------------------------------


def test_options_fill_the_fields_of_each_kind(tmp_path: Path) -> None:
    trends = Options(
        date_from="2026-06-01",
        date_to="2026-06-07",
        events=("pay", "app_open"),
        math="unique_users",
        interval="week",
        filters=(
            "channel = 小红书",
            "amount >= 50",
            "person.channel in 小红书,应用商店",
            "$os is_set",
        ),
        sets=("series.1.label=opens", "breakdown_limit=5", "series.2:={}", "compare=previous_week"),
    )
    assert build_request("trends", None, trends) == {
        "kind": "trends",
        "date_from": "2026-06-01",
        "date_to": "2026-06-07",
        "interval": "week",
        "series": [
            {"event": "pay", "math": "unique_users"},
            {"event": "app_open", "math": "unique_users", "label": "opens"},
            {},
        ],
        "filters": [
            {"property": "channel", "op": "eq", "value": "小红书"},
            {"property": "amount", "op": "gte", "value": 50},
            {"property": "person.channel", "op": "in", "value": ["小红书", "应用商店"]},
            {"property": "$os", "op": "is_set", "value": None},
        ],
        "breakdown_limit": "5",
        "compare": "previous_week",
    }
    retention = Options(events=("sign_up", "pay"), interval="week", sets=("periods=8",))
    assert build_request("retention", None, retention) == {
        "kind": "retention",
        "period": "week",
        "start_event": "sign_up",
        "return_event": "pay",
        "periods": "8",
    }
    body = tmp_path / "rfm.json"
    body.write_text('{"kind": "rfm", "event": "下单", "as_of": "2026-01-01"}', encoding="utf-8")
    rfm = Options(date_to="2026-06-07", sets=("thresholds.recency=[7, 30, 90, 180]",))
    assert build_request("rfm", f"@{body}", rfm) == {
        "kind": "rfm",
        "event": "下单",
        "as_of": "2026-06-07",
        "thresholds": {"recency": [7, 30, 90, 180]},
    }
    parsed = parse_request(build_request("lifecycle", '{"date_from": "2026-06-01"}', Options(
        date_to="2026-06-07", events=("app_open",), sets=("interval=week",)
    )))  # fmt: skip
    assert parsed.model_dump(mode="json") == {
        "kind": "lifecycle",
        "event": "app_open",
        "interval": "week",
        "date_from": "2026-06-01",
        "date_to": "2026-06-07",
        "filters": [],
    }


# -- errors: one line, exit code 2, the field named --------------------------------------------


def _error(r: Result) -> str:
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and r.stdout == ""
    return " ".join(r.output.split())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["trends", "--event", "pay", "--from", "2026-13-01", "--to", "2026-06-07"],
         "month value is outside expected range of 1-12; set it with --from (date_from)"),
        (["trends", "--from", "2026-06-01", "--to", "2026-06-07"],
         "Field required; set it with --event (series)"),
        (["trends", "--event", "pay", "--math", "median", "--from", "2026-06-01",
          "--to", "2026-06-07"], "(series.0.math)"),
        (["lifecycle", "--math", "sum"], "lifecycle takes no --math/--property; its fields: event"),
        (["lifecycle", "--event", "a", "--event", "b"],
         "lifecycle takes at most 1 --event (--event)"),
        (["rfm", "--from", "2026-01-01", "--interval", "day"], "rfm takes no --interval"),
        (["trends", "--filter", "amount > lots"], "'amount > lots': gt needs a number (--filter)"),
        (["trends", "--filter", "amount"], "write 'property op value' (--filter)"),
        (["trends", "--body", "{nope"], "not valid JSON"),
        (["trends", "--body", "[1]"], "must be a JSON object (--body)"),
        (["trends", "--body", '{"kind": "rfm"}'], "--body is a 'rfm' request, not 'trends' (kind)"),
        (["trends", "--body", "@/nonexistent.json"], "cannot read /nonexistent.json"),
        (["rfm", "--set", "thresholds"], "'thresholds': write field=value (--set)"),
        (["rfm", "--set", "thresholds:=[1,"], "'[1,' is not valid JSON (--set)"),
        (["trends", "--set", "series.3.event=x"], "series.3.event: no item 3 in that list (--set)"),
        (["rfm", "--set", "event=pay", "--set", "event.x=1"],
         "event.x: event holds no fields (--set)"),
        (["rfm", "--json", "--csv"], "give --json or --csv, not both"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field(shop: Shop, args: list[str], expected: str) -> None:
    assert expected in _error(shop.cli(*args))


def test_an_unknown_kind_lists_the_known_ones(shop: Shop) -> None:
    text = _error(shop.cli("nope"))
    assert f"unknown query kind 'nope'; known: {', '.join(sorted(KINDS))} (KIND)" in text


def test_an_unknown_workspace_or_data_folder(shop: Shop, tmp_path: Path) -> None:
    d = str(shop.settings.data_dir)
    r = runner.invoke(app, ["query", "rfm", "-w", "blog", "--data-dir", d])
    assert "no workspace has the id or name 'blog' (--workspace)" in _error(r)
    r = runner.invoke(app, ["query", "rfm", "-w", "shop", "--data-dir", str(tmp_path / "none")])
    assert f"no data folder at {tmp_path / 'none'} (--data-dir)" in _error(r)


def test_errors_of_the_engine_are_alike_locally_and_through_the_server(shop: Shop) -> None:
    args = ("trends", "--event", "pay", "--from", "2026-06-01", "--to", "2026-06-07")
    alone = _error(shop.cli(*args, "--breakdown", 'bad"name'))
    assert alone == """error: invalid property name 'bad"name' (property)"""
    with serving(shop.settings):
        served = _error(shop.cli(*args, "--breakdown", 'bad"name'))
    assert (
        served == """error: the server answered 400: invalid property name 'bad"name' (property)"""
    )


def test_a_store_held_by_another_process_is_a_clear_error(shop: Shop) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, duckdb; c = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
         " sys.stdin.read()", str(shop.settings.event_store_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"ready"
        text = _error(shop.cli("rfm"))
        assert "is held by another OpsLoop process, and no server answers" in text
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    assert shop.answer("rfm", "--to", "2026-06-07")["count"] == 3  # free again


# -- filters and empty stores ------------------------------------------------------------------


def test_filters_apply_alike_locally_and_through_the_server(shop: Shop) -> None:
    args = ("trends", "--event", "pay", "--math", "sum", "--property", "amount")
    args += ("--from", "2026-06-01", "--to", "2026-06-07", "--filter", "person.channel = 小红书")
    args += ("--filter", "amount >= 60")
    alone = shop.answer(*args)
    with serving(shop.settings):
        served = shop.answer(*args)
    assert stable(alone) == stable(served)
    (line,) = alone["results"]
    assert (line["values"], line["total"]) == ([100, 0, 0, 0, 0, 0, 0], 100)


def test_a_data_folder_without_events_answers_zeros(tmp_path: Path) -> None:
    d = str(tmp_path / "data")
    assert runner.invoke(app, ["workspace", "create", "shop", "--data-dir", d]).exit_code == 0
    assert not (tmp_path / "data" / "events.duckdb").exists()
    r = runner.invoke(app, ["query", "lifecycle", "-w", "shop", "--data-dir", d, "--json",
                            "--from", "2026-06-01", "--to", "2026-06-02"])  # fmt: skip
    assert r.exit_code == 0, r.output
    answer = json.loads(r.stdout)
    assert stable(answer) == {
        "kind": "lifecycle",
        "interval": "day",
        "results": [
            {"status": s, "dates": ["2026-06-01", "2026-06-02"], "values": [0, 0]}
            for s in ("new", "returning", "resurrecting", "dormant")
        ],
    }


def test_a_body_from_stdin_and_a_stale_server_file(shop: Shop) -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    shop.settings.server_file.write_text(
        json.dumps({"host": "127.0.0.1", "port": 9, "pid": int(done.stdout)})
    )  # a server that has exited: the query reads the store itself
    d = str(shop.settings.data_dir)
    r = runner.invoke(
        app,
        ["query", "rfm", "-w", "shop", "--data-dir", d, "--json", "--body", "@-"],
        input='{"as_of": "2026-06-07", "high_score": 4}',
    )
    assert r.exit_code == 0, r.output
    from_stdin = json.loads(r.stdout)
    same = shop.answer("rfm", "--to", "2026-06-07", "--set", "high_score=4")
    assert stable(from_stdin) == stable(same)
    assert [(p["distinct_id"], p["frequency"], p["monetary"]) for p in same["results"]] == [
        ("u4", 2, 220), ("u1", 2, 150.5), ("u2", 1, 30)
    ]  # fmt: skip
