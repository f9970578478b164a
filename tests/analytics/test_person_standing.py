"""One person's RFM row, lifecycle stage and first-touch channel (what the profile shows) on the
demo world: the RFM row equals that person's row of the full RFM answer, the stage equals a
plain-Python reference from the person's active days and the lifecycle segment that holds the
person, the channel equals the engine's `$first_touch_channel` over everyone and a pandas
reference; DuckDB and ClickHouse agree."""

from __future__ import annotations

import random
from datetime import date, timedelta
from uuid import UUID

import pandas as pd

from opsloop.analytics.catalog.scope import first_touch_sql, person_first_touch
from opsloop.analytics.queries.rfm import RfmQuery, person_rfm, run_rfm
from opsloop.analytics.queries.segment import SegmentQuery, segment_person_ids
from opsloop.analytics.segments.stages import lifecycle_stage
from opsloop.events.schema import PERSON_ONLY_EVENTS
from tests.analytics.conftest import END, World
from tests.analytics.metric_reference import CHANNEL_KEYS
from tests.analytics.test_retention import period_key
from tests.analytics.test_rfm import rfm_reference

GRAINS = ("day", "week", "month")


def _sample(world: World, k: int) -> list[str]:
    persons = sorted(world.persons["person_id"])
    return random.Random(3).sample(persons, k)


def test_a_persons_rfm_row_is_their_row_of_the_whole_answer(world: World) -> None:
    query = RfmQuery(as_of=END, date_from=END - timedelta(days=364), limit=100_000)
    everyone = {r["person_id"]: r for r in run_rfm(world.duck, query)["results"]}
    reference = rfm_reference(
        world.events.rename(columns={"person_id": "person"}),
        {"as_of": END, "date_from": END - timedelta(days=364)},
    ).set_index("person")
    payers = sorted(everyone)
    assert len(payers) == len(reference) > 100
    for pid in [*random.Random(1).sample(payers, 25), *_sample(world, 25)]:
        duck, ch = person_rfm(world.duck, query, pid), person_rfm(world.ch, query, pid)
        assert duck == ch
        if pid not in everyone:
            assert duck is None and pid not in reference.index
            continue
        assert duck is not None
        row = {k: v for k, v in duck.items() if k not in ("count", "mean_scores")}
        assert row == {k: v for k, v in everyone[pid].items() if k != "distinct_id"}
        ref = reference.loc[pid]
        assert (duck["segment"], duck["r_score"], duck["f_score"], duck["m_score"]) == (
            ref["segment"],
            ref["r_score"],
            ref["f_score"],
            ref["m_score"],
        )
        assert duck["count"] == len(reference)
        assert duck["mean_scores"]["r"] == reference["r_score"].mean()
    # The id is compared as a UUID: its upper-case spelling is the same person, and text that is
    # no UUID names nobody (no error).
    pid = payers[0]
    for ctx in (world.duck, world.ch):
        upper = person_rfm(ctx, query, pid.upper())
        assert upper is not None and upper["person_id"] == pid
        assert upper == person_rfm(ctx, query, pid)
        assert person_rfm(ctx, query, "not-a-uuid'--") is None


def _reference_stage(days: set[date], grain: str, as_of: date) -> str | None:
    active = {period_key(grain, d) for d in days if d <= as_of}
    now = period_key(grain, as_of)
    if now in active:
        if min(active) == now:
            return "new"
        return "returning" if now - 1 in active else "resurrecting"
    return "dormant" if now - 1 in active else None


def test_a_persons_stage_equals_the_reference_and_the_stage_segment(world: World) -> None:
    events = world.events[~world.events["event"].isin(PERSON_ONLY_EVENTS)]
    days: dict[str, set[date]] = {}
    for pid, local in zip(events["person_id"], events["local"], strict=True):
        days.setdefault(pid, set()).add(local.date())
    seen: set[str | None] = set()
    for as_of in (END, END - timedelta(days=9)):
        members = {
            (grain, stage): set(
                segment_person_ids(
                    world.duck,
                    SegmentQuery(rule={"lifecycle": stage, "interval": grain}, as_of=as_of),
                )
            )
            for grain in GRAINS
            for stage in ("new", "returning", "resurrecting", "dormant")
        }
        for pid in _sample(world, 40):
            for grain in GRAINS:
                want = _reference_stage(days.get(pid, set()), grain, as_of)
                got = lifecycle_stage(world.duck, pid, as_of, grain)
                assert got == want == lifecycle_stage(world.ch, pid, as_of, grain), (pid, grain)
                holding = {s for (g, s), ids in members.items() if g == grain and pid in ids}
                assert holding == ({got} if got else set())
                seen.add(got)
    assert seen == {None, "new", "returning", "resurrecting", "dormant"}


def _reference_first_touch(world: World, as_of: date) -> dict[str, object]:
    e = world.events[~world.events["event"].isin(PERSON_ONLY_EVENTS)]
    e = e[e["local"] < pd.Timestamp(as_of) + pd.Timedelta(days=1)]
    channel = e["props"].map(
        lambda p: next((p[k] for k in CHANNEL_KEYS if p.get(k) is not None), None)
    )
    e = e.assign(channel=channel).dropna(subset=["channel"]).sort_values("ts", kind="stable")
    return e.groupby("person_id")["channel"].first().to_dict()


def test_a_persons_first_touch_channel_is_the_engines(world: World) -> None:
    for as_of in (END, END - timedelta(days=20)):
        everyone = dict(world.duck.engine.rows(first_touch_sql(world.duck, as_of)))
        everyone = {str(pid): channel for pid, channel in everyone.items()}
        reference = _reference_first_touch(world, as_of)
        assert everyone == reference
        # Persons first seen after as_of have no channel yet, nor has an unknown person.
        without = sorted(set(world.persons["person_id"]) - set(everyone))[:3]
        assert len(without) == (0 if as_of == END else 3)
        sample = [*random.Random(4).sample(sorted(everyone), 12), *without, str(UUID(int=0))]
        assert len({everyone.get(p) for p in sample}) > 3
        for pid in sample:
            got = person_first_touch(world.duck, pid, as_of)
            assert got == everyone.get(pid) == person_first_touch(world.ch, pid, as_of), pid
