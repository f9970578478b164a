"""One person's RFM row and lifecycle stage (what the profile shows) on the demo world: the RFM row
equals that person's row of the full RFM answer, the stage equals a plain-Python reference from
the person's active days and the lifecycle segment that holds the person; DuckDB and ClickHouse
agree."""

from __future__ import annotations

import random
from datetime import date, timedelta

from opsloop.analytics.queries.rfm import RfmQuery, person_rfm, run_rfm
from opsloop.analytics.queries.segment import SegmentQuery, segment_person_ids
from opsloop.analytics.segments.stages import lifecycle_stage
from opsloop.events.schema import PERSON_ONLY_EVENTS
from tests.analytics.conftest import END, World
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
