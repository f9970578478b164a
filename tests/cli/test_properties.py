"""`opsloop property ...` on the event store itself and through a running server (REST), with
the same answers; bad input and roles give 4xx errors naming the field."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from opsloop.cli.main import app
from opsloop.db import open_database
from opsloop.events import IncomingEvent, open_event_store
from opsloop.settings import Settings
from opsloop.workspaces.service import CreatedWorkspace, create_api_token, create_workspace
from tests.cli.test_query import serving

runner = CliRunner()
T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def data(tmp_path: Path) -> tuple[Settings, CreatedWorkspace]:
    settings = Settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir()
    db = open_database(settings.resolved_database_url)
    with db.session() as s:
        ws = create_workspace(s, "shop", "Asia/Shanghai")
    db.close()
    store = open_event_store(settings.event_store_path)
    store.write_events(
        [
            IncomingEvent(
                ws.id,
                str(uuid.uuid4()),
                "pay",
                f"u{i}",
                T0 + timedelta(hours=i),
                {"amount": i + 0.5, "channel": "小红书" if i % 2 else "应用商店", "商品 id": i},
                "test",
            )
            for i in range(6)
        ]
    )
    store.close()
    return settings, ws


def cli(settings: Settings, *args: str) -> Any:
    r = runner.invoke(
        app, ["property", *args, "-w", "shop", "--data-dir", str(settings.data_dir), "--json"]
    )
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _stable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "created_at"} for r in rows]


def _column_values(settings: Settings, column: str) -> list[Any]:
    store = open_event_store(settings.event_store_path, read_only=True)
    try:
        rows = store.cursor().execute(f'SELECT "{column}" FROM events ORDER BY timestamp')
        return [v for (v,) in rows.fetchall()]
    finally:
        store.close()


def test_materialize_list_drop_on_the_store_itself(data: tuple[Settings, CreatedWorkspace]) -> None:
    settings, _ = data
    made = cli(settings, "materialize", "amount")
    assert _stable([made]) == [
        {
            "key": "amount",
            "type": "number",
            "column": "mp_amount__num",
            "origin": "manual",
            "ready": True,
        }
    ]
    assert cli(settings, "materialize", "channel")["type"] == "text"
    odd = cli(settings, "materialize", "商品 id", "--type", "text")
    assert odd["column"].startswith("mp_id_")
    assert [r["key"] for r in cli(settings, "list")] == ["amount", "channel", "商品 id"]
    assert _column_values(settings, "mp_amount__num") == [i + 0.5 for i in range(6)]
    assert _column_values(settings, odd["column"]) == [str(i) for i in range(6)]
    dropped = cli(settings, "drop", "商品 id")
    assert [r["key"] for r in dropped] == ["商品 id"]
    assert [r["key"] for r in cli(settings, "list")] == ["amount", "channel"]


def test_the_same_through_a_running_server_and_over_rest(
    data: tuple[Settings, CreatedWorkspace],
) -> None:
    settings, ws = data
    with serving(settings) as url:
        made = cli(settings, "materialize", "channel")
        assert (made["key"], made["type"], made["ready"]) == ("channel", "text", True)
        auth = {"Authorization": f"Bearer {ws.api_token}"}
        with httpx.Client(base_url=url, headers=auth, timeout=60) as c:
            listed = c.get("/api/v1/properties/materialized").json()
            assert listed == cli(settings, "list") == [made]
            # Queries read channel and amount: usage shows them. A query answered from the
            # cache compiles nothing and counts no use, so each asks for other dates.
            for day in (2, 3, 4, 4):
                q = {
                    "kind": "trends",
                    "series": [{"event": "pay", "math": "sum", "property": "amount"}],
                    "date_from": "2026-06-01",
                    "date_to": f"2026-06-0{day}",
                    "breakdown": "channel",
                }
                assert c.post("/api/v1/query", json=q).status_code == 200
            usage = c.get("/api/v1/properties/usage").json()
            assert [(u["key"], u["type"], u["uses"], u["materialized"]) for u in usage] == [
                ("amount", "number", 3, False),
                ("channel", "text", 3, True),
            ]
            auto = cli(settings, "auto", "--min-uses", "3")
            assert [(r["key"], r["type"], r["origin"]) for r in auto] == [
                ("amount", "number", "auto")
            ]
            dropped = c.delete("/api/v1/properties/materialized/amount", params={"type": "number"})
            assert [r["key"] for r in dropped.json()] == ["amount"]
            assert cli(settings, "drop", "channel")[0]["key"] == "channel"
            assert c.get("/api/v1/properties/materialized").json() == []


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["materialize", 'a"b'], "key"),
        (["materialize", "amount", "--type", "date"], "--type"),
        (["drop", "never"], "key"),
        (["drop", "amount", "--type", "date"], "--type"),
        (["auto", "--limit", "0"], "--limit"),
        (["usage", "--days", "0"], "--days"),
    ],
)
def test_bad_input_names_the_field(
    data: tuple[Settings, CreatedWorkspace], args: list[str], field: str
) -> None:
    settings, _ = data
    r = runner.invoke(app, ["property", *args, "-w", "shop", "--data-dir", str(settings.data_dir)])
    assert r.exit_code == 2
    assert f"({field})" in r.output


def test_rest_errors_are_4xx_naming_the_field_and_roles_are_enforced(
    data: tuple[Settings, CreatedWorkspace],
) -> None:
    settings, ws = data
    db = open_database(settings.resolved_database_url)
    with db.session() as s:
        viewer = create_api_token(s, ws.id, user_id=None, name="viewer", role="viewer")
    db.close()
    with serving(settings) as url, httpx.Client(base_url=url, timeout=60) as c:
        owner = {"Authorization": f"Bearer {ws.api_token}"}
        bad = c.post("/api/v1/properties/materialized", json={"key": "x\\y"}, headers=owner)
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "key"
        missing = c.delete("/api/v1/properties/materialized/nope", headers=owner)
        assert missing.status_code == 404 and missing.json()["error"]["field"] == "key"
        wrong = c.post(
            "/api/v1/properties/materialized", json={"key": "a", "type": "date"}, headers=owner
        )
        assert wrong.status_code in (400, 422) and "type" in wrong.text
        seen = {"Authorization": f"Bearer {viewer}"}
        denied = c.post("/api/v1/properties/materialized", json={"key": "amount"}, headers=seen)
        assert denied.status_code == 403
        assert c.get("/api/v1/properties/materialized", headers=seen).json() == []
