"""Workspace metrics and the spend table on SQLite and PostgreSQL: define, read, replace, delete,
the refusals (built-in keys, taken keys, unknown references, cycles, metrics still in use), spend
uploads (CSV and JSON, field-level errors, replacement, one currency) and the definitions a
metrics query loads, whose version moves with every change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import orjson
import pytest
from sqlalchemy.orm import Session

from opsloop.analytics.catalog.catalog import builtin_catalog
from opsloop.analytics.catalog.service import (
    define_metric,
    delete_metric,
    get_metric,
    list_metrics,
    load_definitions,
    replace_metric,
)
from opsloop.analytics.catalog.spend import (
    delete_spend,
    import_spend,
    parse_spend_csv,
    parse_spend_json,
    spend_rows,
)
from opsloop.audit import Who, acting_as, list_entries
from opsloop.db import open_database
from opsloop.errors import Conflict, InvalidInput, NotFound
from opsloop.workspaces.service import create_workspace


def metric(key: str, **fields: Any) -> dict[str, Any]:
    body = {
        "key": key,
        "name": {"zh-CN": f"指标 {key}", "en": f"Metric {key}"},
        "description": {"zh-CN": "测试", "en": "a test"},
        "unit": {"zh-CN": "人", "en": "persons"},
    }
    return {**body, **fields}


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    db = open_database(database_url)
    try:
        with db.session() as s:
            yield s
    finally:
        db.close()


@pytest.fixture
def ws(session: Session) -> int:
    return create_workspace(session, "shop").id


def test_define_read_replace_delete(session: Session, ws: int) -> None:
    checkout = metric("checkout_users", kind="unique_users", event="checkout")
    info = define_metric(session, ws, checkout)
    assert info.source == "workspace" and info.metric.key == "checkout_users"
    rate = metric(
        "checkout_pay_rate",
        kind="formula",
        formula="paying_users / checkout_users",
        format="percent",
        decimals=1,
    )
    define_metric(session, ws, rate)
    keys = [(m.metric.key, m.source) for m in list_metrics(session, ws)]
    assert keys[-2:] == [("checkout_pay_rate", "workspace"), ("checkout_users", "workspace")]
    assert len(keys) == len(builtin_catalog().metrics) + 2
    shown = get_metric(session, ws, "checkout_pay_rate").to_dict()
    assert shown["definition"]["formula"] == "paying_users / checkout_users"
    assert shown["name"] == {"zh-CN": "指标 checkout_pay_rate", "en": "Metric checkout_pay_rate"}
    assert get_metric(session, ws, "gmv").to_dict()["source"] == "builtin"
    replaced = replace_metric(
        session, ws, "checkout_users", metric("checkout_users", kind="count", event="checkout")
    )
    assert replaced.metric.kind == "count"
    with pytest.raises(Conflict) as used:
        delete_metric(session, ws, "checkout_users")
    assert used.value.field == "key" and "checkout_pay_rate" in used.value.message
    delete_metric(session, ws, "checkout_pay_rate")
    delete_metric(session, ws, "checkout_users")
    assert [m.source for m in list_metrics(session, ws)] == ["builtin"] * len(
        builtin_catalog().metrics
    )
    other = create_workspace(session, "blog").id
    define_metric(session, other, checkout)
    with pytest.raises(NotFound):
        get_metric(session, ws, "checkout_users")  # workspaces do not see each other's


@pytest.mark.parametrize(
    ("definition", "error", "field"),
    [
        (metric("gmv", kind="count"), Conflict, "key"),
        (metric("x", kind="formula", formula="gmv / nothing"), InvalidInput, "formula"),
        (metric("x", kind="formula", formula="gmv // 2"), InvalidInput, "formula"),
        (metric("x", kind="sum", event="pay"), InvalidInput, "property"),
        (metric("x", kind="percentile", event="pay", property="amount", p=2), InvalidInput, "p"),
        (
            metric("x", kind="count", filters=[{"property": "a", "op": "maybe"}]),
            InvalidInput,
            "filters.0.op",
        ),
        (
            metric("x", kind="count", filters=[{"property": "a", "value": "{p}"}]),
            InvalidInput,
            "filters.0.value",
        ),
        (metric("x", kind="count", format="money"), InvalidInput, "format"),
        (metric("X-1", kind="count"), InvalidInput, "key"),
        ({**metric("x", kind="count"), "name": {"en": "only English"}}, InvalidInput, "name.zh-CN"),
        (metric("x", kind="nope"), InvalidInput, None),
        ("not a mapping", InvalidInput, None),
    ],
)
def test_refusals_name_their_field(
    session: Session, ws: int, definition: Any, error: type[Exception], field: str | None
) -> None:
    with pytest.raises(error) as caught:
        define_metric(session, ws, definition)
    assert getattr(caught.value, "field", None) == field


def test_no_key_twice_no_cycle_no_builtin_change(session: Session, ws: int) -> None:
    define_metric(session, ws, metric("a", kind="formula", formula="gmv * 2"))
    define_metric(session, ws, metric("b", kind="formula", formula="a + 1"))
    with pytest.raises(Conflict):
        define_metric(session, ws, metric("a", kind="count"))
    with pytest.raises(InvalidInput) as cycle:
        replace_metric(session, ws, "a", metric("a", kind="formula", formula="b - 1"))
    assert "refers to itself" in cycle.value.message and cycle.value.field == "formula"
    with pytest.raises(InvalidInput) as renamed:
        replace_metric(session, ws, "a", metric("c", kind="count"))
    assert renamed.value.field == "key"
    with pytest.raises(Conflict):
        replace_metric(session, ws, "gmv", metric("gmv", kind="count"))
    with pytest.raises(Conflict):
        delete_metric(session, ws, "gmv")
    with pytest.raises(NotFound):
        delete_metric(session, ws, "never_defined")
    assert get_metric(session, ws, "a").metric.formula == "gmv * 2"  # type: ignore[union-attr]


CSV = """channel,date,spend,currency
抖音信息流,2026-06-01,1200.50,CNY
小红书,2026-06-01,"1,000",
抖音信息流,2026-06-02,800,CNY

"""


def test_spend_uploads_replace_by_channel_and_day(session: Session, ws: int) -> None:
    first = import_spend(session, ws, parse_spend_csv(CSV))
    assert first.to_dict() == {
        "rows": 3,
        "inserted": 3,
        "updated": 0,
        "unchanged": 0,
        "currency": "CNY",
    }
    upload = {
        "rows": [
            {"channel": "小红书", "date": "2026-06-01", "spend": 900},
            {"channel": "百度", "date": "2026-06-03", "spend": "50"},
            {"channel": "抖音信息流", "date": "2026-06-02", "spend": 800},
        ]
    }
    again = import_spend(session, ws, parse_spend_json(orjson.dumps(upload)))
    assert (again.inserted, again.updated, again.unchanged) == (1, 1, 1)
    rows = [(r.channel, r.day.isoformat(), r.spend) for r in spend_rows(session, ws)]
    assert rows == [
        ("小红书", "2026-06-01", 900.0),
        ("抖音信息流", "2026-06-01", 1200.5),
        ("抖音信息流", "2026-06-02", 800.0),
        ("百度", "2026-06-03", 50.0),
    ]
    assert [r.spend for r in spend_rows(session, ws, date(2026, 6, 2), None, "抖音信息流")] == [800]
    with pytest.raises(InvalidInput) as currency:
        import_spend(
            session, ws, parse_spend_csv("channel,date,spend,currency\na,2026-06-01,1,USD\n")
        )
    assert currency.value.field == "currency"
    assert delete_spend(session, ws, date(2026, 6, 2), date(2026, 6, 3)) == 2
    assert len(spend_rows(session, ws)) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("channel,date\na,2026-06-01\n", "spend"),
        ("channel,date,spend\na,2026-6-1,3\n", "line 2.date"),
        ("channel,date,spend\na,2026-06-01,-3\n", "line 2.spend"),
        ("channel,date,spend\na,2026-06-01,lots\n", "line 2.spend"),
        ("channel,date,spend\n,2026-06-01,1\n", "line 2.channel"),
        ("channel,date,spend,currency\na,2026-06-01,1,yuan\n", "line 2.currency"),
        ("channel,date,spend,currency\na,2026-06-01,1,CNY\nb,2026-06-01,1,USD\n", "currency"),
        ("channel,date,spend\n", "rows"),
    ],
)
def test_csv_errors_name_the_line_and_column(body: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_spend_csv(body)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{", "body"),
        (b'{"rows": 3}', "rows"),
        (b'[{"channel": "a", "date": "2026-06-01", "spend": true}]', "rows[0].spend"),
        (b'[{"channel": "a", "date": "2026-06-01", "spend": 1, "cost": 2}]', "rows[0].cost"),
        (b'[{"channel": "a", "date": "2026-06-01", "spend": 1e400}]', "body"),
        (b'[{"channel": "a", "date": "2026-06-01", "spend": 1e14}]', "rows[0].spend"),
        (b'["a"]', "rows[0]"),
    ],
)
def test_json_errors_name_the_row_and_field(body: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_spend_json(body)
    assert caught.value.field == field


def test_definitions_change_version_with_every_change(session: Session, ws: int) -> None:
    versions = [load_definitions(session, ws).version]
    assert load_definitions(session, ws).spend is None
    define_metric(session, ws, metric("a", kind="formula", formula="gmv * 2"))
    versions.append(load_definitions(session, ws).version)
    replace_metric(session, ws, "a", metric("a", kind="formula", formula="gmv * 3"))
    versions.append(load_definitions(session, ws).version)
    import_spend(session, ws, parse_spend_csv("channel,date,spend\na,2026-06-01,5\n"))
    versions.append(load_definitions(session, ws).version)
    import_spend(session, ws, parse_spend_csv("channel,date,spend\na,2026-06-01,6\n"))
    versions.append(load_definitions(session, ws).version)
    delete_spend(session, ws)
    versions.append(load_definitions(session, ws).version)
    # Each change moves the version; deleting the spend again gives the state of versions[2].
    assert len(set(versions[:5])) == 5 and versions[5] == versions[2]
    loaded = load_definitions(session, ws)
    assert [m.key for m in loaded.metrics] == ["a"]
    assert load_definitions(session, ws).version == loaded.version  # stable while unchanged


def test_every_change_is_in_the_audit_log(session: Session, ws: int) -> None:
    acting_as(session, Who("ana@example.com", "api"))
    define_metric(session, ws, metric("a", kind="formula", formula="gmv * 2"))
    replace_metric(session, ws, "a", metric("a", kind="formula", formula="gmv * 3"))
    delete_metric(session, ws, "a")
    import_spend(session, ws, parse_spend_csv("channel,date,spend\nx,2026-06-01,5\n"))
    delete_spend(session, ws, channel="x")
    entries, _ = list_entries(session, ws)  # after the workspace's own creation
    got = [(e.action, e.entity_type, e.entity_id, e.actor) for e in reversed(entries)]
    assert got[1:] == [
        ("metric.created", "metric", "a", "ana@example.com"),
        ("metric.changed", "metric", "a", "ana@example.com"),
        ("metric.deleted", "metric", "a", "ana@example.com"),
        ("spend.imported", "spend", None, "ana@example.com"),
        ("spend.deleted", "spend", None, "ana@example.com"),
    ]
    changed = next(e for e in entries if e.action == "metric.changed")
    assert (changed.before["formula"], changed.after["formula"]) == ("gmv * 2", "gmv * 3")
    imported = next(e for e in entries if e.action == "spend.imported")
    assert imported.after == {
        "rows": 1,
        "inserted": 1,
        "updated": 0,
        "unchanged": 0,
        "currency": "CNY",
        "date_from": "2026-06-01",
        "date_to": "2026-06-01",
    }
