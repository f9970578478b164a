"""`opsloop import` through Typer's runner, without a server: what is stored, quarantined and
counted, for CSV, JSON Lines and Parquet."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from opsloop.db import open_database
from opsloop.events import open_event_store
from opsloop.events.schema import person_id_for
from opsloop.importer import reader, shapes
from opsloop.importer.models import ImportRun
from opsloop.ingest.common import event_uuid
from tests.importer.conftest import (
    DataDir,
    comparable,
    expected_from_csv,
    make_data_dir,
    parse_time,
    stored_events,
)
from tests.importer.orders import (
    COLUMNS,
    MESSY_CSV,
    ORDERS,
    csv_cell,
    expected_orders,
    orders_csv,
    orders_jsonl,
    orders_parquet,
    write_csv,
)


def check_ids(events: list[dict[str, Any]]) -> None:
    """Given UUIDs kept (canonical form), other ids mapped as live ingestion maps them, and
    the rows without id all distinct."""
    by_user = {(e["distinct_id"], e["event"]): e["uuid"] for e in events}
    assert by_user[("u2", "view_item")] == "7c9e6679-7425-40de-944b-e07fc1f09000"
    assert by_user[("u3", "pay")] == event_uuid("order-42", "uuid", namespace_hint="native")
    assert len({e["uuid"] for e in events}) == len(events) == len(ORDERS)


@pytest.mark.parametrize(
    "name",
    ["orders.csv", "orders.csv.gz", "orders.jsonl", "orders.ndjson.gz", "orders.parquet"],
)
def test_each_format_stores_the_typed_events(data: DataDir, tmp_path: Path, name: str) -> None:
    gz = name.endswith(".gz")
    if ".csv" in name:
        file = orders_csv(tmp_path / name, gz)
    elif name.endswith(".parquet"):
        file = orders_parquet(tmp_path / name)
    else:
        file = orders_jsonl(tmp_path / name, gz)
    summary = data.import_json(file)
    assert {k: v for k, v in summary.items() if k != "seconds"} == {
        "read": 6,
        "accepted": 6,
        "quarantined": 0,
        "duplicates": 0,
        "quarantine_file": None,
        "import_id": 1,
    }
    events = stored_events(data.path, data.workspace_id)
    assert comparable(events) == expected_orders()
    assert {e["source"] for e in events} == {"import"}
    check_ids(events)


def test_the_csv_reference_agrees_with_the_typed_orders() -> None:
    rows = [[csv_cell(o[c]) for c in COLUMNS] for o in ORDERS]
    assert expected_from_csv(COLUMNS, rows) == expected_orders()


def test_csv_columns_are_typed_on_every_cell_not_only_the_first_rows(
    data: DataDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first rows settle which columns are text; every other column is judged on all its
    cells, so a value further down still makes it text (or a number)."""
    monkeypatch.setattr(shapes, "KIND_SAMPLE_ROWS", 2)
    header = ["event", "distinct_id", "timestamp", "late_text", "late_number", "early_text",
              "late_mixed", "flag"]  # fmt: skip
    cells = [
        ["1", "", "x", "true", "true"],
        ["2", "", "1", "false", "false"],
        ["3", "5", "2", "1", "TRUE"],
        ["x", "6.5", "3", "true", "false"],
    ]
    rows = [["pay", f"u{i}", f"2024-03-0{i + 1}T10:00:00Z", *c] for i, c in enumerate(cells)]
    summary = data.import_json(write_csv(tmp_path / "kinds.csv", header, rows))
    assert summary["accepted"] == 4
    events = stored_events(data.path, data.workspace_id)
    assert comparable(events) == expected_from_csv(header, rows)
    by_user = {e["distinct_id"]: e["properties"] for e in events}
    assert by_user["u0"] == {"late_text": "1", "early_text": "x", "late_mixed": "true",
                             "flag": True}  # fmt: skip
    assert by_user["u3"]["late_number"] == 6.5


def test_importing_a_file_again_stores_nothing_twice(data: DataDir, tmp_path: Path) -> None:
    file = orders_csv(tmp_path / "orders.csv")
    first = data.import_json(file)
    before = stored_events(data.path, data.workspace_id)
    again = data.import_json(file)
    assert (first["accepted"], first["duplicates"]) == (6, 0)
    assert (again["read"], again["accepted"], again["duplicates"]) == (6, 0, 6)
    assert again["import_id"] == first["import_id"] + 1
    assert stored_events(data.path, data.workspace_id) == before


def test_identical_rows_are_distinct_events_and_stay_so(data: DataDir, tmp_path: Path) -> None:
    header = ["event", "distinct_id", "timestamp", "amount"]
    row = ["pay", "u1", "2024-03-01T10:00:00Z", "9.9"]
    three = data.import_json(write_csv(tmp_path / "a.csv", header, [row, row, row]))
    assert (three["accepted"], three["duplicates"]) == (3, 0)
    # A later export holding the same three orders and a fourth identical one: only it is new.
    four = data.import_json(write_csv(tmp_path / "b.csv", header, [row, row, row, row]))
    assert (four["read"], four["accepted"], four["duplicates"]) == (4, 1, 3)
    events = stored_events(data.path, data.workspace_id)
    assert comparable(events) == expected_from_csv(header, [row] * 4)
    assert len({e["uuid"] for e in events}) == 4


def test_a_repeated_given_id_is_a_duplicate(data: DataDir, tmp_path: Path) -> None:
    header = ["event", "distinct_id", "timestamp", "uuid"]
    rows = [
        ["pay", "u1", "2024-03-01T10:00:00Z", "o-1"],
        ["pay", "u1", "2024-03-01T10:05:00Z", "o-1"],
        ["pay", "u2", "2024-03-01T10:00:00Z", "o-2"],
    ]
    summary = data.import_json(write_csv(tmp_path / "ids.csv", header, rows))
    assert (summary["read"], summary["accepted"], summary["duplicates"]) == (3, 2, 1)
    events = stored_events(data.path, data.workspace_id)
    assert [(e["distinct_id"], e["timestamp"].minute, e["uuid"]) for e in events] == [
        ("u1", 0, event_uuid("o-1", "uuid", namespace_hint="native")),
        ("u2", 0, event_uuid("o-2", "uuid", namespace_hint="native")),
    ]


def test_map_renames_chinese_columns(data: DataDir, tmp_path: Path) -> None:
    header = ["用户", "事件", "时间", "金额", "城市", "备注"]
    rows = [
        ["张三", "支付", "2024-03-01 08:00:00", "88.8", "上海", "首单"],
        ["李四", "支付", "1709287200000", "12", "北京", ""],
        ["王五", "浏览", "2024-03-01T09:00:00+08:00", "", "深圳", '看了"爆款"'],
    ]
    file = write_csv(tmp_path / "订单.csv", header, rows)
    renames = {"用户": "distinct_id", "事件": "event", "时间": "timestamp", "金额": "amount"}
    args = [arg for col, field in renames.items() for arg in ("--map", f"{col}={field}")]
    summary = data.import_json(file, *args)
    assert (summary["read"], summary["accepted"], summary["quarantined"]) == (3, 3, 0)
    events = stored_events(data.path, data.workspace_id)
    assert comparable(events) == expected_from_csv(header, rows, renames)
    assert {e["distinct_id"]: e["properties"] for e in events} == {
        "张三": {"amount": 88.8, "城市": "上海", "备注": "首单"},
        "李四": {"amount": 12.0, "城市": "北京"},
        "王五": {"城市": "深圳", "备注": '看了"爆款"'},
    }


def test_every_new_distinct_id_gets_its_person(data: DataDir, tmp_path: Path) -> None:
    header = ["event", "distinct_id", "timestamp"]
    rows = [
        ["pay", "张三", "2024-03-01T10:00:00Z"],
        ["pay", "u:1", "2024-03-01T09:00:00Z"],
        ["view", "张三", "2024-03-01T08:00:00Z"],
    ]
    data.import_json(write_csv(tmp_path / "people.csv", header, rows))
    store = open_event_store(data.path / "events.duckdb", read_only=True)
    try:
        people = {d: store.get_person(data.workspace_id, d) for d in ("张三", "u:1")}
    finally:
        store.close()
    assert {d: (p["id"], p["distinct_ids"], p["created_at"]) for d, p in people.items() if p} == {
        "张三": (person_id_for(data.workspace_id, "张三"), ["张三"], parse_time(rows[2][2])),
        "u:1": (person_id_for(data.workspace_id, "u:1"), ["u:1"], parse_time(rows[1][2])),
    }


def test_promoted_properties_fill_their_columns(data: DataDir, tmp_path: Path) -> None:
    line = {"event": "app_open", "distinct_id": "u1", "timestamp": "2024-03-01T10:00:00Z",
            "properties": {"$os": "iOS", "plan": "free"}, "$lib": "web"}  # fmt: skip
    file = tmp_path / "opens.jsonl"
    file.write_text(json.dumps(line) + "\n")
    data.import_json(file)
    [event] = stored_events(data.path, data.workspace_id)
    assert (event["os"], event["properties"]) == (
        "iOS",
        {"$os": "iOS", "plan": "free", "$lib": "web"},
    )


def read_quarantine(summary: dict[str, Any]) -> list[dict[str, Any]]:
    path = Path(summary["quarantine_file"])
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_csv_rows_that_fail_are_quarantined_with_their_lines(data: DataDir, tmp_path: Path) -> None:
    file = tmp_path / "messy.csv"
    file.write_text(MESSY_CSV, encoding="utf-8")
    summary = data.import_json(file)
    assert (summary["read"], summary["accepted"], summary["quarantined"]) == (8, 2, 6)
    assert summary["quarantine_file"] == str(
        (data.path / "quarantine" / f"import-{summary['import_id']}.jsonl").resolve()
    )

    def row(event: str | None, did: str | None, ts: str | None, amount: str) -> dict[str, Any]:
        return {"event": event, "distinct_id": did, "timestamp": ts, "amount": amount}

    t = "2024-03-01T10:00:00Z"
    assert read_quarantine(summary) == [
        {"line": 3, "reason": "event is missing or empty", "field": "event",
         "row": row(None, "u2", t, "2")},
        {"line": 7, "reason": 'timestamp "not-a-time" is not ISO 8601 or epoch seconds/ms',
         "field": "timestamp", "row": row("pay", "u4", "not-a-time", "4")},
        {"line": 8, "reason": "the row has 2 fields, the header has 4", "field": "row",
         "row": "pay,u5"},
        {"line": 9, "reason": "timestamp 2999-01-01T00:00:00Z is more than a day in the future",
         "field": "timestamp", "row": row("pay", "u6", "2999-01-01T00:00:00Z", "5")},
        {"line": 10, "reason": "timestamp 1969-12-31T00:00:00Z is before 1971",
         "field": "timestamp", "row": row("pay", "u7", "1969-12-31T00:00:00Z", "6")},
        {"line": 11, "reason": "distinct_id is missing or empty; timestamp is missing or empty",
         "field": "distinct_id", "row": row("pay", None, None, "7")},
    ]  # fmt: skip
    events = stored_events(data.path, data.workspace_id)
    assert [(e["distinct_id"], e["properties"]) for e in events] == [
        ("multi\nline", {"amount": 3.0}),
        ("u1", {"amount": 1.5}),
    ]


@pytest.mark.parametrize("copied", [True, False], ids=["copied-first", "read-in-parallel"])
def test_parquet_rows_keep_their_numbers_whether_copied_or_read_in_place(
    data: DataDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, copied: bool
) -> None:
    """A file with few row groups is copied into a table before the checks, one with many is
    read in place: either way the refused rows keep their row numbers and the rest is stored."""
    monkeypatch.setattr(reader, "PARQUET_PARALLEL_GROUPS", 10**6 if copied else 0)
    rows = 30
    broken = {4, 17, 29}  # 0-based rows without a distinct_id
    dids = [None if i in broken else f"u{i}" for i in range(rows)]
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    table = pa.table(
        {
            "event": ["pay"] * rows,
            "distinct_id": pa.array(dids, pa.string()),
            "timestamp": pa.array(
                [t0 + timedelta(minutes=i) for i in range(rows)], pa.timestamp("us", tz="UTC")
            ),
            "amount": [float(i) for i in range(rows)],
        }
    )
    file = tmp_path / "orders.parquet"
    pq.write_table(table, file, row_group_size=4)  # 8 row groups
    summary = data.import_json(file)
    assert (summary["read"], summary["accepted"], summary["quarantined"]) == (30, 27, 3)
    assert [(q["line"], q["row"]["amount"]) for q in read_quarantine(summary)] == [
        (i + 1, float(i)) for i in sorted(broken)
    ]
    events = stored_events(data.path, data.workspace_id)
    assert sorted((e["distinct_id"], e["properties"]["amount"]) for e in events) == sorted(
        (f"u{i}", float(i)) for i in range(rows) if i not in broken
    )


def test_jsonl_lines_that_fail_are_quarantined_with_their_lines(
    data: DataDir, tmp_path: Path
) -> None:
    file = tmp_path / "messy.jsonl"
    good = {"event": "pay", "distinct_id": "u1", "timestamp": "2024-03-01T10:00:00Z"}
    file.write_bytes(
        b"\n".join(
            [
                json.dumps(good).encode(),  # 1
                b"",  # 2: blank, skipped
                b"[1, 2]",  # 3
                b'{"event": "pay", "distinct_id": "u2"',  # 4
                json.dumps({"event": 7, "distinct_id": "u3", "timestamp": 1709287200}).encode(),
                '{"event": "买", '.encode() + b'"distinct_id": "\xff"}',  # 6
                json.dumps({"event": "pay", "distinct_id": {"id": 1}, "timestamp": "x"}).encode(),
                json.dumps({**good, "distinct_id": 42, "uuid": 5}).encode(),  # 8
            ]
        )
    )
    summary = data.import_json(file)
    assert (summary["read"], summary["accepted"], summary["quarantined"]) == (7, 2, 5)
    assert read_quarantine(summary) == [
        {"line": 3, "reason": "the line is a JSON array, not an object", "field": "line",
         "row": [1, 2]},
        {"line": 4, "reason": "the line is not valid JSON", "field": "line",
         "row": '{"event": "pay", "distinct_id": "u2"'},
        {"line": 5, "reason": "event must be a string, not number", "field": "event",
         "row": {"event": 7, "distinct_id": "u3", "timestamp": 1709287200}},
        {"line": 6, "reason": "the line is not valid UTF-8 text", "field": "line",
         "row": '{"event": "\\xE4\\xB9\\xB0", "distinct_id": "\\xFF"}'},
        {"line": 7, "reason": "distinct_id must be a string or a number, not object;"
         ' timestamp "x" is not ISO 8601 or epoch seconds/ms', "field": "distinct_id",
         "row": {"event": "pay", "distinct_id": {"id": 1}, "timestamp": "x"}},
    ]  # fmt: skip
    events = stored_events(data.path, data.workspace_id)
    # A number as distinct_id or id is read as its text.
    assert {e["distinct_id"]: e["uuid"] for e in events}["42"] == event_uuid(
        "5", "uuid", namespace_hint="native"
    )
    assert sorted(e["distinct_id"] for e in events) == ["42", "u1"]


def test_csv_rows_that_are_not_utf8_are_quarantined(data: DataDir, tmp_path: Path) -> None:
    file = tmp_path / "gbk.csv"
    # An Excel export: a byte order mark, then one row saved in GBK by mistake.
    file.write_bytes(
        "\ufeffevent,distinct_id,timestamp\n支付,张三,2024-03-01T10:00:00Z\n".encode()
        + "支付,李四,2024-03-01T10:00:00Z\n".encode("gbk")
    )
    summary = data.import_json(file)
    assert (summary["read"], summary["accepted"], summary["quarantined"]) == (2, 1, 1)
    [entry] = read_quarantine(summary)
    assert {k: entry[k] for k in ("line", "reason")} == {
        "line": 3,
        "reason": "the row is not valid UTF-8 text (save the file as UTF-8)",
    }
    [event] = stored_events(data.path, data.workspace_id)
    assert (event["event"], event["distinct_id"]) == ("支付", "张三")


def test_format_option_overrides_the_extension(data: DataDir, tmp_path: Path) -> None:
    file = orders_jsonl(tmp_path / "export.txt")
    summary = data.import_json(file, "--format", "jsonl")
    assert (summary["read"], summary["accepted"]) == (6, 6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv", "--workspace", "shop"], "no such file"),
        (["orders.csv", "--workspace", "nowhere"], "no workspace has the id or name 'nowhere'"),
        (["orders.csv", "--workspace", "shop", "--format", "xml"], "unknown format 'xml'"),
        (["orders.xml", "--workspace", "shop"], "cannot tell the format of orders.xml"),
        (["orders.csv", "--workspace", "shop", "--map", "user"], "is not of the form"),
        (["orders.csv", "--workspace", "shop", "--map", "nope=x"], "has no such column"),
        (["nouser.csv", "--workspace", "shop"], "the file has no distinct_id column"),
    ],
)
def test_errors_are_one_clear_line_and_exit_2(
    data: DataDir, tmp_path: Path, args: list[str], message: str
) -> None:
    orders_csv(tmp_path / "orders.csv")
    (tmp_path / "orders.xml").write_text("<orders/>")
    write_csv(tmp_path / "nouser.csv", ["event", "user", "timestamp"], [["a", "b", "c"]])
    files = {"missing.csv", "orders.csv", "orders.xml", "nouser.csv"}
    args = [str(tmp_path / a) if a in files else a for a in args]
    r = data.cli("import", *args)
    assert r.exit_code == 2, r.output
    assert isinstance(r.exception, SystemExit)
    assert message in " ".join(r.output.split())
    assert "Traceback" not in r.output


def test_a_missing_column_suggests_the_map(data: DataDir, tmp_path: Path) -> None:
    file = write_csv(tmp_path / "t.csv", ["Event", "distinct_id", "timestamp"], [["a", "b", "1"]])
    r = data.cli("import", str(file), "--workspace", "shop")
    assert r.exit_code == 2
    assert "did you mean --map Event=event?" in " ".join(r.output.split())


def test_the_text_summary_reconciles(data: DataDir, tmp_path: Path) -> None:
    r = data.cli("import", str(orders_csv(tmp_path / "orders.csv")), "--workspace", "shop")
    assert r.exit_code == 0, r.output
    assert "read 6 = accepted 6 + quarantined 0 + duplicates 0" in r.stdout
    assert f"into {data.path / 'events.duckdb'}" in " ".join(r.stdout.split())


def test_each_run_is_recorded(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSLOOP_DATABASE_URL", database_url)
    data = make_data_dir(tmp_path / "data")
    file = orders_csv(tmp_path / "orders.csv")
    first = data.import_json(file)
    second = data.import_json(file, workspace=str(data.workspace_id))
    db = open_database(database_url)
    try:
        with db.session() as s:
            runs = s.scalars(select(ImportRun).order_by(ImportRun.id)).all()
            got = [
                (r.id, r.workspace_id, r.source, r.format, r.read, r.accepted, r.quarantined,
                 r.duplicates, r.quarantine_path, r.finished_at is not None)
                for r in runs
            ]  # fmt: skip
    finally:
        db.close()
    source = str(file.resolve())
    assert got == [
        (first["import_id"], data.workspace_id, source, "csv", 6, 6, 0, 0, None, True),
        (second["import_id"], data.workspace_id, source, "csv", 6, 0, 0, 6, None, True),
    ]
