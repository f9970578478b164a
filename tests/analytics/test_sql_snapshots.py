"""The SQL each query kind compiles, for DuckDB and ClickHouse, kept under snapshots/ and compared
on every run: a compiler change shows in review as a diff of these files.

Each kind runs one representative request on a small fixed log through engines that note every
statement they execute (both engines' answers must also agree). To accept a change, regenerate:
`OPSLOOP_UPDATE_SNAPSHOTS=1 pytest tests/analytics/test_sql_snapshots.py`, and review the diff.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from opsloop.analytics.context import QueryContext
from opsloop.analytics.engine import ChdbEngine, DuckDbEngine, DuckDbSnapshot
from opsloop.analytics.queries.metrics import MetricsQuery, run_metrics
from opsloop.analytics.registry import KINDS
from opsloop.analytics.segments.compiler import Cohort
from opsloop.analytics.segments.rules import parse_rule
from tests.analytics.logs import ChdbPool, Loaded, Row, person_id
from tests.analytics.sql_format import format_sql
from tests.analytics.test_segment_rules import load_people

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("OPSLOOP_UPDATE_SNAPSHOTS") == "1"
WEEK = {"date_from": "2026-11-02", "date_to": "2026-11-08"}
DAY = datetime(2026, 11, 2, 9)
# A small fixed log (the SQL of some steps lists values read from the data: it stays put).
LOG = [
    Row("u1", "sign_up", DAY, {"platform": "iOS", "channel": "小红书"}),
    Row("u1", "app_open", DAY + timedelta(minutes=1), {"platform": "iOS"}),
    Row("u1", "view_item", DAY + timedelta(minutes=2), {"platform": "iOS", "channel": "小红书"}),
    Row("u1", "add_to_cart", DAY + timedelta(minutes=5), {"platform": "iOS"}),
    Row("u1", "pay", DAY + timedelta(minutes=9), {"platform": "iOS", "amount": 120}),
    Row("u1", "app_open", DAY + timedelta(days=7), {"platform": "iOS"}),
    Row("u1", "pay", DAY + timedelta(days=8), {"platform": "iOS", "amount": 30}),
    Row("u2", "sign_up", DAY + timedelta(days=1), {"platform": "Android", "channel": "抖音信息流"}),
    Row("u2", "app_open", DAY + timedelta(days=1, minutes=3), {"platform": "Android"}),
    Row(
        "u2", "view_item", DAY + timedelta(days=2), {"platform": "Android", "channel": "抖音信息流"}
    ),
    Row("u2", "share", DAY + timedelta(days=9), {"platform": "Android"}),
    Row("u3", "app_open", DAY + timedelta(days=3), {"platform": "小程序"}),
    Row("u3", "view_item", DAY + timedelta(days=3, minutes=1), {"platform": "小程序"}),
    Row("u3", "pay", DAY + timedelta(days=4), {"platform": "小程序", "amount": 99.5}),
]
PEOPLE = {"u1": {"channel": "小红书"}, "u2": {"channel": "抖音信息流"}, "u3": {"channel": "小红书"}}

# One representative request per kind: breakdowns, filters and options that exercise the
# compiler's main branches.
CASES: dict[str, dict[str, Any]] = {
    "trends": {
        "series": [
            # A sum of events with no person in it: no join to the distinct_id map.
            {"event": "pay", "math": "sum", "property": "amount"},
            {
                "event": "app_open",
                "math": "unique_users",
                "filters": [{"property": "person.channel", "op": "neq", "value": "百度搜索"}],
            },
            # Unique users with no person property: (distinct_id, bucket, bv) groups resolved.
            {"event": "pay", "math": "unique_users"},
        ],
        "interval": "day",
        "breakdown": "platform",
        **WEEK,
    },
    "retention": {
        "start_event": "sign_up",
        "return_event": "$any",
        "period": "day",
        "periods": 7,
        "breakdown": "person.channel",
        **WEEK,
    },
    # The first active day as the cohort: the pairs of every event and a window over them.
    "retention_first_active": {
        "kind": "retention",
        "start_event": "$any",
        "return_event": "pay",
        "period": "week",
        "periods": 2,
        "breakdown": "platform",
        **WEEK,
    },
    "lifecycle": {"event": "app_open", "interval": "week", **WEEK},
    "rfm": {"as_of": "2026-11-15", "scoring": "quintile"},
    "funnel": {
        "steps": [{"event": "view_item"}, {"event": "add_to_cart"}, {"event": "pay"}],
        "window_seconds": 3600,
        "breakdown": "channel",
        "breakdown_limit": 1,
        **WEEK,
    },
    "funnel_persons": {
        "steps": [
            {"event": "view_item"},
            {"event": "pay", "filters": [{"property": "amount", "op": "gte", "value": 100}]},
        ],
        "window_seconds": 86400,
        "step": 1,
        "dropped": True,
        "limit": 20,
        **WEEK,
    },
    "paths": {
        "start_event": "app_open",
        "depth": 4,
        "session_minutes": 30,
        "collapse_repeats": True,
        **WEEK,
    },
    "segment": {
        "rule": {
            "and": [
                {"did": "pay", "at_least": 1, "in_last_days": 30},
                {"person": "channel", "op": "eq", "value": "小红书"},
                {"not": {"cohort": 1}},
                {"or": [{"lifecycle": "returning", "interval": "week"}, {"cohort": 2}]},
            ]
        },
        "as_of": "2026-11-15",
        "limit": 10,
    },
    "timeline": {"distinct_id": "u1", "limit": 5},
    "metrics": {"metrics": ["dau", "paid_conversion", "gmv"], "interval": "week", **WEEK},
}
# Kinds not (yet) in the registry whose runner is still snapshotted.
RUNNERS: dict[str, tuple[type[Any], Callable[[QueryContext, Any], dict[str, Any]]]] = {
    "metrics": (MetricsQuery, run_metrics),
}


class Recorder:
    def __init__(self) -> None:
        self.statements: list[str] = []


class RecordingSnapshot(DuckDbSnapshot):
    def __init__(self, inner: DuckDbSnapshot, recorder: Recorder) -> None:
        super().__init__(inner.cur)
        self.recorder = recorder

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        self.recorder.statements.append(sql)
        return super().rows(sql)

    def columns(self, sql: str) -> dict[str, np.ndarray]:
        self.recorder.statements.append(sql)
        return super().columns(sql)


class RecordingDuckDb(DuckDbEngine):
    def __init__(self, engine: DuckDbEngine, recorder: Recorder) -> None:
        super().__init__(engine.store)
        self.recorder = recorder

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        self.recorder.statements.append(sql)
        return super().rows(sql)

    @contextmanager
    def snapshot(self) -> Iterator[DuckDbSnapshot]:
        with super().snapshot() as snap:
            yield RecordingSnapshot(snap, self.recorder)


class RecordingChdb(ChdbEngine):
    def __init__(self, engine: ChdbEngine, recorder: Recorder) -> None:
        super().__init__(engine.session, engine.database, engine.data_version)
        self.recorder = recorder

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        self.recorder.statements.append(sql)
        return super().rows(sql)


class FixedSegments:
    """Saved segment 1 (a static list) and 2 (a rule), as the segment case names them."""

    def __init__(self, static: tuple[str, ...]) -> None:
        self.saved = {
            1: Cohort(person_ids=static, version="1"),
            2: Cohort(rule=parse_rule({"did": "share", "in_last_days": 7}), version="1"),
        }

    def __call__(self, segment_id: int) -> Cohort | None:
        return self.saved.get(segment_id)

    def versions(self, segment_ids: Collection[int]) -> dict[int, str]:
        return {i: self.saved[i].version for i in segment_ids if i in self.saved}


def _kind(case: str) -> str:
    """The query kind of a case: its own name, or the "kind" it names (a second shape)."""
    return str(CASES[case].get("kind", case))


def _request(case: str) -> Any:
    kind = _kind(case)
    body = {k: v for k, v in CASES[case].items() if k != "kind"}
    model = KINDS[kind].model if kind in KINDS else RUNNERS[kind][0]
    return model.model_validate({"kind": kind, **body})


def _run(case: str, ctx: QueryContext, query: Any) -> dict[str, Any]:
    kind = _kind(case)
    run = KINDS[kind].run if kind in KINDS else RUNNERS[kind][1]
    return run(ctx, query)


@pytest.fixture(scope="module")
def log(chdb_pool: ChdbPool) -> Loaded:
    return load_people(LOG, PEOPLE, chdb_pool, database="snapshots")


def compiled(kind: str, log: Loaded, engine: str) -> tuple[str, dict[str, Any]]:
    """The statements one request executes on an engine (formatted), and its answer."""
    recorder = Recorder()
    base = log.duck if engine == "duckdb" else log.ch
    recording: DuckDbEngine | ChdbEngine
    if isinstance(base.engine, DuckDbEngine):
        recording = RecordingDuckDb(base.engine, recorder)
    else:
        assert isinstance(base.engine, ChdbEngine)
        recording = RecordingChdb(base.engine, recorder)
    static = (person_id(log.duck, "u3"), "00000000-0000-0000-0000-0000000000aa")
    ctx = dataclasses.replace(base, engine=recording, cohorts=FixedSegments(static))
    answer = _run(kind, ctx, _request(kind))
    text = ";\n\n".join(format_sql(sql) for sql in recorder.statements) + ";\n"
    return text, answer


def _rounded(value: Any) -> Any:
    """Floats to 9 significant digits (engines sum doubles in different orders)."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def test_every_registered_kind_has_a_snapshot_case() -> None:
    missing = sorted(set(KINDS) - set(CASES))
    assert missing == [], f"add a representative request to CASES for: {missing}"


@pytest.mark.parametrize("kind", sorted(CASES))
def test_compiled_sql_matches_the_snapshot(kind: str, log: Loaded) -> None:
    answers = {}
    for engine in ("duckdb", "clickhouse"):
        text, answers[engine] = compiled(kind, log, engine)
        path = SNAPSHOTS / f"{kind}.{engine}.sql"
        if UPDATE:
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"no snapshot {path.name}: run with OPSLOOP_UPDATE_SNAPSHOTS=1"
        assert text == path.read_text(encoding="utf-8"), (
            f"{kind} compiles to other {engine} SQL than {path.name}; if intended, regenerate"
            " with OPSLOOP_UPDATE_SNAPSHOTS=1 and review the diff"
        )
    stable = {
        k: _rounded({f: v for f, v in a.items() if f != "seconds"}) for k, a in answers.items()
    }
    assert stable["duckdb"] == stable["clickhouse"]
    assert any(isinstance(v, list) and v for v in answers["duckdb"].values()), "an empty answer"
