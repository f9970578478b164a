"""One shop's orders as CSV, JSON Lines and Parquet files, and the events they must become."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tests.importer.conftest import parse_time

# One shop's orders, typed as a Parquet or JSON file holds them; CSV writes them as text.
COLUMNS = ["event", "distinct_id", "timestamp", "amount", "category", "qty", "first_order", "uuid"]
ORDERS: list[dict[str, Any]] = [
    {"event": "pay", "distinct_id": "u1", "timestamp": "2024-03-01T10:00:00Z", "amount": 12.5,
     "category": "服装", "qty": 2, "first_order": True, "uuid": None},
    # The same purchase again: two orders, both kept.
    {"event": "pay", "distinct_id": "u1", "timestamp": "2024-03-01T10:00:00Z", "amount": 12.5,
     "category": "服装", "qty": 2, "first_order": True, "uuid": None},
    {"event": "view_item", "distinct_id": "u2", "timestamp": "2024-03-01 11:30:00+08:00",
     "amount": None, "category": "数码, \"新品\"", "qty": 1, "first_order": False,
     "uuid": "7C9E6679-7425-40DE-944B-E07FC1F09000"},
    # Epoch seconds and a shop's own order number as the id.
    {"event": "pay", "distinct_id": "u3", "timestamp": 1709287200, "amount": 99.0,
     "category": "食品", "qty": 3, "first_order": False, "uuid": "order-42"},
    # Epoch milliseconds.
    {"event": "pay", "distinct_id": "u4", "timestamp": 1709287200123, "amount": 0.5,
     "category": "美妆\n礼盒", "qty": 10, "first_order": True, "uuid": None},
    {"event": "share", "distinct_id": "u5", "timestamp": "2024-03-02", "amount": None,
     "category": None, "qty": None, "first_order": None, "uuid": None},
]  # fmt: skip


def expected_orders() -> list[tuple[str, str, datetime, str]]:
    """The reference: core fields out, absent values dropped, every other value as typed."""
    out = []
    for o in ORDERS:
        props = {
            k: v
            for k, v in o.items()
            if k not in ("event", "distinct_id", "timestamp", "uuid") and v is not None
        }
        ts = parse_time(o["timestamp"])
        assert ts is not None
        out.append((o["event"], o["distinct_id"], ts, json.dumps(props, sort_keys=True)))
    return sorted(out)


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_csv(path: Path, header: list[str], rows: list[list[str]], gz: bool = False) -> Path:
    opener = gzip.open if gz else open
    with opener(path, "wt", encoding="utf-8", newline="") as f:  # type: ignore[operator]
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def orders_csv(path: Path, gz: bool = False) -> Path:
    return write_csv(path, COLUMNS, [[csv_cell(o[c]) for c in COLUMNS] for o in ORDERS], gz)


def orders_jsonl(path: Path, gz: bool = False) -> Path:
    lines = [json.dumps({k: v for k, v in o.items()}, ensure_ascii=False) for o in ORDERS]
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def orders_parquet(path: Path) -> Path:
    columns: dict[str, Any] = {c: [o[c] for o in ORDERS] for c in COLUMNS}
    columns["timestamp"] = pa.array(
        [parse_time(o["timestamp"]) for o in ORDERS], pa.timestamp("us", tz="UTC")
    )
    columns["uuid"] = pa.array([o["uuid"] for o in ORDERS], pa.string())
    pq.write_table(pa.table(columns), path)
    return path


MESSY_CSV = (
    "event,distinct_id,timestamp,amount\n"  # 1
    "pay,u1,2024-03-01T10:00:00Z,1.5\n"  # 2
    ",u2,2024-03-01T10:00:00Z,2\n"  # 3
    "\n"  # 4: blank, skipped
    'pay,"multi\n'  # 5
    'line",2024-03-01T10:00:00Z,3\n'  # 6
    "pay,u4,not-a-time,4\n"  # 7
    "pay,u5\n"  # 8
    "pay,u6,2999-01-01T00:00:00Z,5\n"  # 9
    "pay,u7,1969-12-31T00:00:00Z,6\n"  # 10
    "pay,,,7\n"  # 11
)
