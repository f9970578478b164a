"""`opsloop metric` and `opsloop spend` through Typer's runner, and catalog metrics through
`opsloop query metrics` (table, --json, --csv) on a small shop's data folder."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner, Result

from opsloop.analytics.catalog.catalog import builtin_catalog
from opsloop.cli.main import app
from opsloop.db import open_database
from opsloop.events import IncomingEvent, open_event_store
from opsloop.settings import Settings
from opsloop.workspaces.service import create_workspace

runner = CliRunner()
TZ = "Asia/Shanghai"
# (distinct_id, event, local time, properties)
LOG: list[tuple[str, str, str, dict[str, Any]]] = [
    ("u1", "sign_up", "2026-06-01 10:00", {"channel": "小红书"}),
    ("u1", "pay", "2026-06-01 11:00", {"channel": "小红书", "amount": 100}),
    ("u2", "sign_up", "2026-06-02 09:00", {"channel": "抖音信息流"}),
    ("u3", "sign_up", "2026-06-02 12:00", {"channel": "抖音信息流"}),
    ("u3", "pay", "2026-06-03 20:00", {"channel": "抖音信息流", "amount": 60}),
]
YAML = """
metrics:
  - key: signups_per_payer
    kind: formula
    formula: new_signups ÷ paying_users
    name: {zh-CN: 注册付费比, en: Sign-ups per payer}
    description: {zh-CN: 新注册 ÷ 付费人数, en: New sign-ups ÷ paying users}
    unit: {zh-CN: 比例, en: ratio}
    decimals: 2
  - key: big_orders
    kind: count
    event: pay
    filters: [{property: amount, op: gte, value: 80}]
    name: {zh-CN: 大额订单数, en: Big orders}
    description: {zh-CN: 金额不低于 80 元的订单数, en: Orders of 80 yuan or more}
    unit: {zh-CN: 单, en: orders}
"""


class Shop:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def run(self, *args: str, stdin: str | None = None) -> Result:
        return runner.invoke(
            app, [*args, "-w", "shop", "--data-dir", str(self.settings.data_dir)], input=stdin
        )

    def json(self, *args: str) -> Any:
        r = self.run(*args, "--json")
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    settings = Settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir()
    db = open_database(settings.resolved_database_url)
    with db.session() as s:
        ws = create_workspace(s, "shop", TZ)
    db.close()
    store = open_event_store(settings.event_store_path)
    events = [
        IncomingEvent(
            ws.id,
            f"00000000-0000-0000-0000-{i + 1:012d}",
            event,
            who,
            datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(TZ)).astimezone(UTC),
            props,
            "test",
        )
        for i, (who, event, local, props) in enumerate(LOG)
    ]
    store.write_events(events)
    store.close()
    return Shop(settings)


def test_define_list_show_replace_delete(shop: Shop, tmp_path: Path) -> None:
    listed = shop.json("metric", "list")
    assert [m["key"] for m in listed] == sorted(builtin_catalog().metrics)
    table = shop.run("metric", "list")
    assert (
        table.exit_code == 0 and "付费转化率" in table.stdout and "paid_conversion" in table.stdout
    )
    path = tmp_path / "mine.yaml"
    path.write_text(YAML, encoding="utf-8")
    assert shop.json("metric", "define", str(path)) == [
        {"key": "signups_per_payer", "replaced": False},
        {"key": "big_orders", "replaced": False},
    ]
    again = shop.run("metric", "define", str(path))
    assert again.exit_code == 2 and "already defines" in again.output
    assert shop.json("metric", "define", str(path), "--replace")[0]["replaced"] is True
    shown = shop.json("metric", "show", "big_orders")
    assert shown["source"] == "workspace" and shown["definition"]["filters"][0]["op"] == "gte"
    yaml_view = shop.run("metric", "show", "signups_per_payer")
    assert "formula: new_signups ÷ paying_users" in yaml_view.stdout
    answer = shop.json(
        "query",
        "metrics",
        "--metric",
        "signups_per_payer",
        "--metric",
        "big_orders",
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-03",
    )
    totals = {r["metric"]: r["total"] for r in answer["results"]}
    assert totals == {"signups_per_payer": 1.5, "big_orders": 1}
    assert shop.run("metric", "delete", "big_orders").exit_code == 0
    assert "big_orders" not in {m["key"] for m in shop.json("metric", "list")}
    refused = shop.run("metric", "delete", "gmv")
    assert refused.exit_code == 2 and "built-in" in refused.output


def test_a_bad_definition_saves_nothing(shop: Shop) -> None:
    bad = YAML.replace("formula: new_signups ÷ paying_users", "formula: new_signups ÷ nobody")
    r = shop.run("metric", "define", "-", stdin=bad)
    assert r.exit_code == 2 and "names no metric 'nobody'" in r.output and "[0].formula" in r.output
    assert {m["source"] for m in shop.json("metric", "list")} == {"builtin"}
    r = shop.run("metric", "define", "-", stdin="just text")
    assert r.exit_code == 2 and "no metric definitions" in r.output


def test_spend_import_list_delete_and_cac(shop: Shop, tmp_path: Path) -> None:
    path = tmp_path / "spend.csv"
    path.write_text("channel,date,spend\n小红书,2026-06-01,120\n抖音信息流,2026-06-02,300\n")
    summary = shop.json("spend", "import", str(path))
    assert summary == {"rows": 2, "inserted": 2, "updated": 0, "unchanged": 0, "currency": "CNY"}
    listed = shop.json("spend", "list", "--from", "2026-06-02")
    assert listed["results"] == [{"channel": "抖音信息流", "date": "2026-06-02", "spend": 300.0}]
    cac = shop.json(
        "query",
        "metrics",
        "--metric",
        "cac",
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-03",
        "--breakdown",
        "$first_touch_channel",
    )
    assert {r["breakdown_value"]: r["total"] for r in cac["results"]} == {
        "小红书": 120,
        "抖音信息流": 150,
    }
    out = shop.run(
        "query",
        "metrics",
        "--metric",
        "cac",
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-02",
        "--breakdown",
        "$first_touch_channel",
        "--csv",
    )
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [(r["breakdown_value"], r["date"], r["value"]) for r in rows] == [
        ("抖音信息流", "2026-06-01", ""),
        ("抖音信息流", "2026-06-02", "150"),
        ("小红书", "2026-06-01", "120"),
        ("小红书", "2026-06-02", ""),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("channel,date,spend\n小红书,2026-06-01,-5\n")
    r = shop.run("spend", "import", str(bad))
    assert r.exit_code == 2 and "line 2.spend" in r.output
    assert shop.json("spend", "delete", "--channel", "小红书") == {"deleted": 1}
    r = shop.run("spend", "list", "--from", "June")
    assert r.exit_code == 2 and "--from" in r.output


def test_metric_options_with_parameters_and_errors(shop: Shop) -> None:
    answer = shop.json(
        "query",
        "metrics",
        "--metric",
        "feature_usage_rate:feature=搜索",
        "--from",
        "2026-06-01",
        "--to",
        "2026-06-01",
    )
    assert answer["results"][0]["params"] == {"feature": "搜索"}
    assert answer["results"][0]["total"] == 0
    r = shop.run(
        "query", "metrics", "--metric", "gmv:oops", "--from", "2026-06-01", "--to", "2026-06-01"
    )
    assert r.exit_code == 2 and "--metric" in r.output
    r = shop.run(
        "query", "metrics", "--metric", "nope", "--from", "2026-06-01", "--to", "2026-06-01"
    )
    assert r.exit_code == 2 and "no metric 'nope'" in r.output
    r = shop.run("query", "funnel", "--metric", "gmv")
    assert r.exit_code == 2 and "takes no --metric" in r.output
    trends = shop.json(
        "query", "trends", "--metric", "gmv", "--from", "2026-06-01", "--to", "2026-06-03"
    )
    assert trends["results"][0]["values"] == [100, 0, 60]


def test_csv_of_a_comparison_has_a_row_per_date(shop: Shop) -> None:
    out = shop.run(
        "query",
        "metrics",
        "--metric",
        "gmv",
        "--from",
        "2026-06-02",
        "--to",
        "2026-06-03",
        "--set",
        "compare=previous_period",
        "--csv",
    )
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    # 2026-06-02..03 against 2026-05-31..06-01: GMV 0, 60 against 0, 100.
    assert [(r["date"], r["value"], r["previous_value"], r["change"]) for r in rows] == [
        ("2026-06-02", "0", "0", ""),
        ("2026-06-03", "60", "100", "-0.4"),
    ]
    assert {r["previous_total"] for r in rows} == {"100"} and {r["total"] for r in rows} == {"60"}
