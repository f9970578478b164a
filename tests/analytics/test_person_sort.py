"""person_sort: the packed-key sort equals Python's sort of (person, value) pairs — with one
bucket and with many, values near the ends of their range, any number of threads — and the
parts it cuts never split a person."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsloop.analytics.queries.person_sort import in_threads, person_parts, sort_by_person


@st.composite
def items(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    """Person numbers and values. A wide value range leaves few bits for the person number in a
    key, so that many persons force the bucketed path; ties and repeated persons are common."""
    n = draw(st.integers(0, 300))
    persons = draw(st.sampled_from([1, 3, 50, 5000, 2**20]))
    span_bits = draw(st.sampled_from([0, 1, 8, 40, 52, 55]))
    base = draw(st.sampled_from([0, -(2**40), 1_700_000_000_000_000 * 16]))
    pn = draw(st.lists(st.integers(0, persons - 1), min_size=n, max_size=n))
    edge = st.sampled_from([0, (1 << span_bits) - 1])  # the range's ends, often
    offset = st.one_of(edge, st.integers(0, (1 << span_bits) - 1))
    x = [base + v for v in draw(st.lists(offset, min_size=n, max_size=n))]
    return pn, x


@settings(max_examples=300, deadline=None)
@given(data=items(), threads=st.integers(1, 4))
def test_the_sort_equals_sorting_the_pairs(data: tuple[list[int], list[int]], threads: int) -> None:
    pn, x = data
    out_pn, out_x = sort_by_person(np.array(pn, dtype=np.int64), np.array(x), threads)
    assert out_pn.dtype == np.int64 and out_x.dtype == np.int64
    assert list(zip(out_pn.tolist(), out_x.tolist(), strict=True)) == sorted(
        zip(pn, x, strict=True)
    )


def test_many_buckets_and_input_that_cannot_be_reused() -> None:
    rng = np.random.default_rng(7)
    pn = rng.integers(0, 300_000, 20_000)
    x = rng.integers(0, 2**50, 20_000) + 2**54  # 51-bit span: 13 bits of person per key
    expected = sorted(zip(pn.tolist(), x.tolist(), strict=True))
    frozen_pn, frozen_x = pn.astype(np.int32), x.copy()
    frozen_x.flags.writeable = False
    out_pn, out_x = sort_by_person(frozen_pn, frozen_x, 2)
    assert list(zip(out_pn.tolist(), out_x.tolist(), strict=True)) == expected
    assert frozen_x.tolist() == x.tolist()  # a read-only input is copied, not written


def test_a_range_too_wide_to_pack_is_refused() -> None:
    with pytest.raises(ValueError):
        sort_by_person(np.array([0, 1]), np.array([0, 2**57]))


@settings(max_examples=200, deadline=None)
@given(
    pn=st.lists(st.integers(0, 6), max_size=40).map(sorted),
    parts=st.integers(1, 6),
)
def test_parts_hold_whole_persons(pn: list[int], parts: int) -> None:
    arr = np.array(pn, dtype=np.int64)
    runs = person_parts(arr, parts)
    assert len(runs) <= parts
    assert [i for r in runs for i in range(r.start, r.stop)] == list(range(len(pn)))
    assert all(r.stop > r.start for r in runs)
    owners = [set(pn[r]) for r in runs]
    for a in range(len(owners)):
        for b in range(a + 1, len(owners)):
            assert not owners[a] & owners[b]
    if len(set(pn)) == len(pn):  # one item per person: every part is used
        assert len(runs) == min(parts, len(pn))


def test_in_threads_keeps_the_order_of_the_calls() -> None:
    calls: list[Any] = [lambda i=i: i * i for i in range(7)]
    assert in_threads(calls, 3) == [i * i for i in range(7)]
    assert in_threads(calls, 1) == [i * i for i in range(7)]
    assert in_threads([], 2) == []
