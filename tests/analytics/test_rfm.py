"""RFM against a pandas reference (scores with ties, segments, paging), and DuckDB against
ClickHouse on the same data."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsloop.analytics.queries.rfm import SEGMENTS, RfmQuery, run_rfm
from opsloop.errors import InvalidInput
from tests.analytics.conftest import END, World
from tests.analytics.logs import ChdbPool, Row, load_log, person_id

AS_OF = date(2026, 3, 10)
NAMES = [zh for zh, _, _ in SEGMENTS]
# The segment of each (R high, F high, M high), straight from metrics.md's table.
SEGMENT_OF = {
    (True, True, True): "重要价值客户",
    (True, False, True): "重要发展客户",
    (False, True, True): "重要保持客户",
    (False, False, True): "重要挽留客户",
    (True, True, False): "一般价值客户",
    (True, False, False): "一般发展客户",
    (False, True, False): "一般保持客户",
    (False, False, False): "一般挽留客户",
}


def _quintile(values: pd.Series, better_is_larger: bool) -> pd.Series:
    """1 + floor(5 × (rank − 1) / n), ties sharing the lowest rank, worst value ranked first."""
    ranks = (values if better_is_larger else -values).rank(method="min")
    n = len(values)
    return ranks.map(lambda r: 1 + math.floor(5 * (int(r) - 1) / n))


def _by_cuts(values: pd.Series, cuts: list[float], smaller_is_better: bool) -> pd.Series:
    if smaller_is_better:
        return values.map(lambda v: 5 - sum(v > c for c in cuts))
    return values.map(lambda v: 1 + sum(v >= c for c in cuts))


def rfm_reference(frame: pd.DataFrame, q: dict[str, Any]) -> pd.DataFrame:
    """One row per scored person (column `person` = the frame's person key): recency_days,
    frequency, monetary, r/f/m scores and segment, ordered as the engine pages them."""
    as_of = q["as_of"]
    date_from = q.get("date_from", as_of - timedelta(days=364))  # 365 local days with as_of
    amount = q.get("amount_property", "amount")
    day = frame["local"].dt.date
    e = frame[(frame["event"] == q.get("event", "pay")) & (day >= date_from) & (day <= as_of)]
    e = e.assign(day=e["local"].dt.date)

    def micros(p: dict[str, Any]) -> int:
        v = p.get(amount)
        ok = isinstance(v, int | float) and not isinstance(v, bool)
        return math.floor(v * 1_000_000 + 0.5) if ok else 0

    e = e.assign(micros=e["props"].map(micros))
    g = e.groupby("person").agg(
        last=("day", "max"), frequency=("event", "size"), micros=("micros", "sum")
    )
    out = pd.DataFrame(
        {
            "person": g.index,
            "recency_days": [(as_of - d).days for d in g["last"]],
            "frequency": g["frequency"].to_numpy(),
            "micros": g["micros"].to_numpy(),
        }
    )
    if q.get("scoring", "quintile") == "quintile":
        out["r_score"] = _quintile(out["recency_days"], better_is_larger=False)
        out["f_score"] = _quintile(out["frequency"], better_is_larger=True)
        out["m_score"] = _quintile(out["micros"] / 1e6, better_is_larger=True)
    else:
        t = q["thresholds"]
        out["r_score"] = _by_cuts(out["recency_days"], t["recency"], smaller_is_better=True)
        out["f_score"] = _by_cuts(out["frequency"], t["frequency"], smaller_is_better=False)
        out["m_score"] = _by_cuts(out["micros"] / 1e6, t["monetary"], smaller_is_better=False)
    highs = {}
    for dim in ("r_score", "f_score", "m_score"):
        if q.get("high", "mean") == "mean":
            highs[dim] = out[dim] > out[dim].mean() if len(out) else out[dim] > 0
        else:
            highs[dim] = out[dim] >= q.get("high_score", 3)
    out["segment"] = [
        SEGMENT_OF[(bool(r), bool(f), bool(m))]
        for r, f, m in zip(highs["r_score"], highs["f_score"], highs["m_score"], strict=True)
    ]
    return out


def expected_answer(
    frame: pd.DataFrame, q: dict[str, Any], ids: dict[str, str]
) -> tuple[list[dict[str, Any]], list[tuple[str, int]]]:
    ref = rfm_reference(frame, q)
    ref["person_id"] = ref["person"].map(ids)
    ref = ref.sort_values(
        ["micros", "frequency", "recency_days", "person_id"], ascending=[False, False, True, True]
    )
    results = [
        {
            "person_id": r.person_id,
            "recency_days": int(r.recency_days),
            "frequency": int(r.frequency),
            "monetary": r.micros / 1e6,
            "r_score": int(r.r_score),
            "f_score": int(r.f_score),
            "m_score": int(r.m_score),
            "segment": r.segment,
        }
        for r in ref.itertuples()
    ]
    counts = ref["segment"].value_counts()
    return results, [(name, int(counts.get(name, 0))) for name in NAMES]


def engine_answer(answer: dict[str, Any]) -> tuple[list[dict[str, Any]], list[tuple[str, int]]]:
    keys = ("person_id", "recency_days", "frequency", "r_score", "f_score", "m_score", "segment")
    results = [
        {**{k: r[k] for k in keys}, "monetary": float(r["monetary"])} for r in answer["results"]
    ]
    return results, [(s["segment"], s["users"]) for s in answer["summary"]]


def check(loaded: Any, q: dict[str, Any]) -> dict[str, Any]:
    ids = {p: person_id(loaded.duck, p) for p in loaded.frame["person"].unique()}
    expected = expected_answer(loaded.frame, q, ids)
    query = RfmQuery.model_validate({**q, "limit": 100_000})
    duck = run_rfm(loaded.duck, query)
    assert engine_answer(duck) == expected
    assert run_rfm(loaded.ch, query) == duck
    return duck


def test_a_small_log_scores_by_hand(chdb_pool: ChdbPool) -> None:
    rows = [
        Row("a", "pay", datetime(2026, 3, 1, 10), {"amount": 10.1}),
        Row("a", "pay", datetime(2026, 3, 5, 10), {"amount": 0.2}),
        # 23:59 local on 3 March is still 3 March: recency 7.
        Row("b", "pay", datetime(2026, 3, 3, 23, 59), {"amount": 5}),
        Row("c", "pay", datetime(2026, 3, 4), {}),  # no amount: counts for F, adds 0 to M
        Row("d", "app_open", datetime(2026, 3, 4)),
        Row("e", "pay", datetime(2026, 3, 11), {"amount": 99}),  # after as_of
    ]
    answer = check(load_log(rows, chdb_pool), {"as_of": AS_OF})
    got = [
        tuple(r[k] for k in ("distinct_id", "recency_days", "frequency", "monetary"))
        + tuple(r[k] for k in ("r_score", "f_score", "m_score", "segment_en"))
        for r in answer["results"]
    ]
    # n = 3; R ranks by recency desc: b(7) 1, c(6) 2, a(5) 3 -> 1, 2, 4; F: b, c tie at rank 1.
    assert got == [
        ("a", 5, 2, 10.3, 4, 4, 4, "important value"),
        ("b", 7, 1, 5, 1, 1, 2, "general retain"),
        ("c", 6, 1, 0, 2, 1, 1, "general retain"),
    ]
    # The default window: the 365 local days ending on as_of.
    assert answer["count"] == 3 and answer["date_from"] == "2025-03-11"
    assert answer["mean_scores"] == {"r": 7 / 3, "f": 2.0, "m": 7 / 3}


PEOPLE = [f"u{i}" for i in range(14)]
log_rows = st.lists(
    st.tuples(
        st.sampled_from(PEOPLE),
        st.sampled_from(["pay", "pay", "pay", "app_open"]),
        st.integers(min_value=-2, max_value=8),  # days before AS_OF (few values: many ties)
        st.sampled_from([10, 20, 20.5, 0.29, None, "x"]),
    ),
    min_size=0,
    max_size=40,
)
cuts = st.lists(st.integers(0, 12), min_size=4, max_size=4, unique=True).map(sorted)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=log_rows,
    scoring=st.sampled_from(["quintile", "thresholds"]),
    high=st.sampled_from(["mean", "threshold"]),
    high_score=st.integers(1, 5),
    window=st.sampled_from([None, 3]),
    thresholds=st.tuples(cuts, cuts, cuts),
)
def test_random_logs_with_many_ties_equal_the_reference(
    chdb_pool: ChdbPool,
    raw: list[tuple[str, str, int, Any]],
    scoring: str,
    high: str,
    high_score: int,
    window: int | None,
    thresholds: tuple[list[int], list[int], list[int]],
) -> None:
    rows = [
        Row(
            p,
            ev,
            datetime.combine(AS_OF - timedelta(days=ago), datetime.min.time()).replace(
                hour=(i * 7) % 24
            ),
            {} if amount is None else {"amount": amount},
        )
        for i, (p, ev, ago, amount) in enumerate(raw)
    ]
    q: dict[str, Any] = {"as_of": AS_OF, "scoring": scoring, "high": high, "high_score": high_score}
    if window is not None:
        q["date_from"] = AS_OF - timedelta(days=window)
    if scoring == "thresholds":
        r, f, m = thresholds
        q["thresholds"] = {"recency": r, "frequency": f, "monetary": [c * 5 for c in m]}
    check(load_log(rows, chdb_pool), q)


def test_pages_and_segment_pages_partition_the_results(chdb_pool: ChdbPool) -> None:
    rows = [
        Row(f"p{i}", "pay", datetime(2026, 3, 1 + i % 9, 12), {"amount": (i * 37) % 11})
        for i in range(30)
        for _ in range(1 + i % 3)
    ]
    loaded = load_log(rows, chdb_pool)
    full = run_rfm(loaded.duck, RfmQuery(as_of=AS_OF, limit=1000))
    pages = []
    for offset in range(0, 30, 7):
        page = run_rfm(loaded.duck, RfmQuery(as_of=AS_OF, limit=7, offset=offset))
        assert page["summary"] == full["summary"] and page["count"] == 30
        pages += page["results"]
    assert pages == full["results"]
    assert run_rfm(loaded.ch, RfmQuery(as_of=AS_OF, limit=7, offset=14)) == run_rfm(
        loaded.duck, RfmQuery(as_of=AS_OF, limit=7, offset=14)
    )
    for zh, en, _ in SEGMENTS:
        q = RfmQuery(as_of=AS_OF, segment=en, limit=3, offset=1)
        page = run_rfm(loaded.duck, q)
        assert page["results"] == [r for r in full["results"] if r["segment"] == zh][1:4]
        if zh == "重要价值客户":
            assert run_rfm(loaded.ch, q) == page
    beyond = run_rfm(loaded.duck, RfmQuery(as_of=AS_OF, limit=5, offset=500))
    assert beyond["results"] == [] and beyond["summary"] == full["summary"]


def test_bad_requests_name_their_field(chdb_pool: ChdbPool) -> None:
    loaded = load_log([Row("a", "pay", datetime(2026, 3, 1), {"amount": 1})], chdb_pool)
    with pytest.raises(InvalidInput) as err:
        run_rfm(loaded.duck, RfmQuery(as_of=AS_OF, segment="VIP"))
    assert err.value.field == "segment"
    with pytest.raises(InvalidInput) as err:
        run_rfm(loaded.duck, RfmQuery(as_of=AS_OF, date_from=date(2026, 3, 11)))
    assert err.value.field == "as_of"
    with pytest.raises(ValueError, match="needs thresholds"):
        RfmQuery(as_of=AS_OF, scoring="thresholds")
    with pytest.raises(ValueError, match="strictly ascending"):
        RfmQuery.model_validate(
            {"scoring": "thresholds", "thresholds": {"recency": [1, 2, 2, 3]} | _CUTS}
        )


_CUTS = {"frequency": [1, 2, 3, 4], "monetary": [1, 2, 3, 4]}


def test_demo_world_summary_covers_every_payer(world: World) -> None:
    q = {"as_of": END, "date_from": END - timedelta(days=29)}
    frame = world.events.rename(columns={"person_id": "person"})
    ids = {p: p for p in frame["person"].unique()}
    expected = expected_answer(frame, q, ids)
    query = RfmQuery.model_validate({**q, "limit": 100_000})
    duck = run_rfm(world.duck, query)
    assert engine_answer(duck) == expected
    assert run_rfm(world.ch, query) == duck
    e = world.events
    days = e["local"].dt.date
    payers = e[(e["event"] == "pay") & (days >= q["date_from"]) & (days <= END)]["person_id"]
    assert sum(s["users"] for s in duck["summary"]) == payers.nunique() == duck["count"] > 100
    # The demo world has repeat buyers and one-off buyers: every layer of value is populated.
    assert all(s["users"] > 0 for s in duck["summary"][:1] + duck["summary"][-1:])
