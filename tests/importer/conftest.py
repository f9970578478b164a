"""Helpers for the import tests: a data folder with a workspace, the CLI, the stored events, and
an independent reference (plain Python) of what an import must store."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from typer.testing import CliRunner, Result

from opsloop.cli.main import app

runner = CliRunner()

INT = re.compile(r"-?(0|[1-9][0-9]{0,14})")
NUMBER = re.compile(r"-?(0|[1-9][0-9]{0,14})(\.[0-9]+)?([eE][+-]?[0-9]{1,3})?")


@dataclass(frozen=True)
class DataDir:
    path: Path
    workspace_id: int
    api_token: str

    def cli(self, *args: str) -> Result:
        return runner.invoke(app, [*args, "--data-dir", str(self.path)])

    def import_json(self, file: Path, *args: str, workspace: str = "shop") -> dict[str, Any]:
        r = self.cli("import", str(file), "--workspace", workspace, "--json", *args)
        assert r.exit_code == 0, r.output
        summary: dict[str, Any] = json.loads(r.stdout)
        assert summary["read"] == (
            summary["accepted"] + summary["quarantined"] + summary["duplicates"]
        )
        return summary


def make_data_dir(path: Path) -> DataDir:
    r = runner.invoke(app, ["workspace", "create", "shop", "--json", "--data-dir", str(path)])
    assert r.exit_code == 0, r.output
    created = json.loads(r.stdout)
    return DataDir(path, created["id"], created["api_token"])


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    return make_data_dir(tmp_path / "data")


Event = tuple[str, str, datetime, str]


def stored_events(path: Path, workspace_id: int) -> list[dict[str, Any]]:
    """Every stored event of the workspace (the store opened read-only, no server running)."""
    con = duckdb.connect(str(path / "events.duckdb"), read_only=True)
    try:
        return events_in(con, workspace_id)
    finally:
        con.close()


def events_in(con: duckdb.DuckDBPyConnection, workspace_id: int) -> list[dict[str, Any]]:
    con.execute("SET TimeZone = 'UTC'")
    rows = con.execute(
        "SELECT CAST(uuid AS VARCHAR), event, distinct_id, timestamp, properties, source,"
        " os FROM events WHERE workspace_id = ? ORDER BY timestamp, distinct_id, uuid",
        [workspace_id],
    ).fetchall()
    return [
        {
            "uuid": r[0],
            "event": r[1],
            "distinct_id": r[2],
            "timestamp": r[3],
            "properties": orjson.loads(r[4]),
            "source": r[5],
            "os": r[6],
        }
        for r in rows
    ]


def comparable(events: Sequence[dict[str, Any]]) -> list[Event]:
    """Events without their ids, as a sorted list (a multiset) for comparison."""
    return sorted(
        (e["event"], e["distinct_id"], e["timestamp"], json.dumps(e["properties"], sort_keys=True))
        for e in events
    )


# -- the reference: what an import stores, computed in plain Python ------------------------------


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 (naive = UTC) or epoch seconds / milliseconds (from 1e11 on)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
            value = float(text)
        else:
            try:
                ts = datetime.fromisoformat(text)
            except ValueError:
                return None
            return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    micros = round(value * 1000) if abs(value) >= 1e11 else round(value * 1_000_000)
    return datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)


def csv_value_kinds(header: Sequence[str], rows: Sequence[Sequence[str]]) -> dict[str, str]:
    kinds = {}
    for i, name in enumerate(header):
        cells = [r[i] for r in rows if i < len(r) and r[i] != ""]
        if all(c.lower() in ("true", "false") for c in cells) and not all(
            INT.fullmatch(c) for c in cells
        ):
            kinds[name] = "bool"
        elif all(INT.fullmatch(c) for c in cells):
            kinds[name] = "int"
        elif all(NUMBER.fullmatch(c) for c in cells):
            kinds[name] = "number"
        else:
            kinds[name] = "text"
    return kinds


def typed(cell: str, kind: str) -> Any:
    if kind == "int":
        return int(cell)
    if kind == "number":
        return float(cell)
    if kind == "bool":
        return cell.lower() == "true"
    return cell


def expected_from_csv(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    renames: dict[str, str] | None = None,
    now: datetime | None = None,
) -> list[Event]:
    """The events a CSV import stores (rows failing a check left out), ids aside."""
    renames = renames or {}
    fields = [renames.get(h, h) for h in header]
    kinds = csv_value_kinds(header, [r for r in rows if len(r) == len(header)])
    now = now or datetime.now(UTC)
    out: list[Event] = []
    for row in rows:
        if len(row) != len(header):
            continue
        values = dict(zip(fields, row, strict=True))
        ts = parse_time(values.get("timestamp", ""))
        if not values.get("event", "").strip() or not values.get("distinct_id", "").strip():
            continue
        if ts is None or ts.year < 1971 or (ts - now).total_seconds() > 86400:
            continue
        props = {
            f: typed(cell, kinds[h])
            for h, f, cell in zip(header, fields, row, strict=True)
            if f not in ("event", "distinct_id", "timestamp", "uuid") and cell != ""
        }
        out.append((values["event"], values["distinct_id"], ts, json.dumps(props, sort_keys=True)))
    return sorted(out)
