"""`opsloop import --timezone`: timestamps written without an offset are read in the zone given;
those with an offset, and epochs, are instants whatever the zone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.importer.conftest import DataDir, stored_events
from tests.importer.orders import write_csv

# (cell as written, the instant it means when naive text is read in Asia/Shanghai)
CELLS = [
    ("2026-11-01 08:00:00", datetime(2026, 11, 1, 0, 0, tzinfo=UTC)),
    ("2026-11-01T08:00:00+00:00", datetime(2026, 11, 1, 8, 0, tzinfo=UTC)),
    ("2026-11-02T09:30:00-05:00", datetime(2026, 11, 2, 14, 30, tzinfo=UTC)),
    ("1793664000", datetime(2026, 11, 3, 0, 0, tzinfo=UTC)),  # epoch seconds
    ("1793664000000", datetime(2026, 11, 3, 0, 0, tzinfo=UTC)),  # epoch milliseconds
    ("2026-11-04", datetime(2026, 11, 3, 16, 0, tzinfo=UTC)),  # a date: its local midnight
]


def _times(data: DataDir) -> dict[str, datetime]:
    return {e["distinct_id"]: e["timestamp"] for e in stored_events(data.path, data.workspace_id)}


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_naive_text_is_read_in_the_zone(data: DataDir, tmp_path: Path, fmt: str) -> None:
    rows = [["pay", f"u{i}", cell] for i, (cell, _) in enumerate(CELLS)]
    if fmt == "csv":
        file = write_csv(tmp_path / "t.csv", ["event", "distinct_id", "timestamp"], rows)
    else:
        file = tmp_path / "t.jsonl"
        file.write_bytes(
            b"\n".join(
                orjson.dumps({"event": e, "distinct_id": d, "timestamp": t}) for e, d, t in rows
            )
        )
    summary = data.import_json(file, "--timezone", "Asia/Shanghai")
    assert summary["accepted"] == len(CELLS)
    assert _times(data) == {f"u{i}": instant for i, (_, instant) in enumerate(CELLS)}


def test_parquet_naive_timestamps_follow_the_zone_and_aware_ones_do_not(
    data: DataDir, tmp_path: Path
) -> None:
    local = datetime(2026, 11, 1, 8, 0)
    for name, kind in (("naive", pa.timestamp("us")), ("aware", pa.timestamp("us", tz="UTC"))):
        table = pa.table(
            {"event": ["pay"], "distinct_id": [name], "timestamp": pa.array([local], kind)}
        )
        pq.write_table(table, tmp_path / f"{name}.parquet")
    data.import_json(tmp_path / "naive.parquet", "--timezone", "Asia/Shanghai")
    data.import_json(tmp_path / "aware.parquet", "--timezone", "Asia/Shanghai")
    assert _times(data) == {
        "naive": datetime(2026, 11, 1, 0, 0, tzinfo=UTC),
        "aware": datetime(2026, 11, 1, 8, 0, tzinfo=UTC),
    }


def test_without_the_option_naive_text_is_utc(data: DataDir, tmp_path: Path) -> None:
    file = write_csv(
        tmp_path / "t.csv", ["event", "distinct_id", "timestamp"], [["pay", "u", CELLS[0][0]]]
    )
    data.import_json(file)
    assert _times(data) == {"u": datetime(2026, 11, 1, 8, 0, tzinfo=UTC)}


def test_a_refused_future_time_is_quoted_in_utc(data: DataDir, tmp_path: Path) -> None:
    file = write_csv(
        tmp_path / "t.csv",
        ["event", "distinct_id", "timestamp"],
        [["pay", "u", "2099-01-01 08:00:00"]],
    )
    summary = data.import_json(file, "--timezone", "Asia/Shanghai")
    assert summary["quarantined"] == 1
    (row,) = [
        json.loads(line) for line in Path(summary["quarantine_file"]).read_text().splitlines()
    ]
    assert "2099-01-01T00:00:00Z is more than" in row["reason"]


def test_an_unknown_zone_is_a_clear_error(data: DataDir, tmp_path: Path) -> None:
    file = write_csv(tmp_path / "t.csv", ["event", "distinct_id", "timestamp"], [["a", "b", "1"]])
    r = data.cli("import", str(file), "--workspace", "shop", "--timezone", "Mars/Olympus")
    assert r.exit_code == 2
    assert "unknown time zone 'Mars/Olympus'" in " ".join(r.output.split())
    assert "--timezone" in r.output
