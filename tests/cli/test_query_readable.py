"""What the tables of `opsloop query` show: rates as percentages, durations in units, retention
as a rate per period, person ids left to --json; the numbers behind them unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from opsloop.cli import common
from opsloop.cli.query_output import csv_rows, plain_text, print_table
from opsloop.cli.query_readable import Duration, Fixed, readable

RETENTION: dict[str, Any] = {
    "kind": "retention",
    "period": "week",
    "results": [
        {"cohort": "2026-11-02", "size": 8, "values": [8, 3, 1], "rates": [1.0, 0.375, 0.125]},
        {"cohort": "2026-11-09", "size": 3, "values": [3, 1], "rates": [1.0, 1 / 3]},
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.25, "0.2s"),
        (9.96, "10.0s"),
        (42.4, "42s"),
        (75.6281, "1m 16s"),
        (3600, "1h"),
        (3720, "1h 2m"),
        (3 * 86_400 + 4 * 3600 + 59, "3d 4h"),
    ],
)
def test_durations_in_their_two_largest_units(seconds: float, text: str) -> None:
    assert plain_text(Duration(seconds)) == text
    assert Duration(seconds) == seconds


def test_fixed_numbers_and_percentages() -> None:
    assert plain_text(Fixed(8219.2, 2)) == "8,219.20"
    assert plain_text(Fixed(0.13274, 2, percent=True)) == "13.27%"
    assert plain_text(Fixed(0.2565, 2, percent=True, signed=True)) == "+25.65%"
    assert plain_text(Fixed(-0.0324, 2, percent=True, signed=True)) == "-3.24%"
    assert plain_text(Fixed(0.0, 2, percent=True, signed=True)) == "0.00%"


def test_funnel_steps_read_as_percentages_and_durations() -> None:
    median = "median_seconds_to_convert"
    rows = [
        {"step": 1, "count": 763, "conversion_from_start": 1.0, median: None},
        {"step": 2, "count": 111, "conversion_from_start": 0.14548, median: 83.3},
    ]
    shown, note = readable({"kind": "funnel"}, "results", rows)
    assert note is None
    assert [[plain_text(v) for v in r.values()] for r in shown] == [
        ["1", "763", "100.00%", ""],
        ["2", "111", "14.55%", "1m 23s"],
    ]
    assert shown[1]["conversion_from_start"] == 0.14548  # the number itself is kept


def test_retention_rows_get_a_column_per_period(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common.out_console, "width", 150)
    print_table(RETENTION)
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    ruled = [line.replace("┃", "│") for line in lines]
    cells = [[c.strip() for c in line.split("│")] for line in ruled if "│" in line]
    assert cells == [
        ["cohort", "size", "week 0", "week 1", "week 2"],
        ["2026-11-02", "8", "100.0%", "37.5%", "12.5%"],
        ["2026-11-09", "3", "100.0%", "33.3%", ""],
    ]
    assert "the share of each cohort back in each week; --csv gives the counts" in lines
    # --csv keeps the counts and the rates as answered.
    assert csv_rows(RETENTION)[1] == {
        "cohort": "2026-11-09", "size": 3, "values": [3, 1], "rates": [1.0, 1 / 3],
    }  # fmt: skip


def test_person_ids_give_way_to_distinct_ids_in_tables() -> None:
    rows = [{"person_id": "0b6c…", "distinct_id": "u1", "frequency": 3}]
    assert readable({}, "results", rows)[0] == [{"distinct_id": "u1", "frequency": 3}]
    alone = [{"person_id": "0b6c…", "frequency": 3}]
    assert readable({}, "results", alone)[0] == alone


def test_timeline_rows_show_the_local_time_to_the_second() -> None:
    rows = [
        {
            "uuid": "1dc4fbbb-d2d1-456a-8f77-3e0424c37ce8",
            "event": "pay",
            "distinct_id": "u1",
            "timestamp": "2026-11-14T04:05:45.5+00:00",
            "local_time": "2026-11-14T12:05:45.500000+08:00",
            "properties": {"amount": 12},
        }
    ]
    shown, _ = readable({"kind": "timeline"}, "results", rows)
    assert shown == [
        {
            "event": "pay",
            "distinct_id": "u1",
            "local_time": "2026-11-14 12:05:45 +08:00",
            "properties": {"amount": 12},
        }
    ]
