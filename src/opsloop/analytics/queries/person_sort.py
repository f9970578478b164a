"""Items of many persons sorted by (person number, value) in numpy, on several threads, and cut
into parts at person boundaries — what an ordered pass per person needs, without DuckDB's sort.

DuckDB sorts two BIGINT keys (pn, x) slowly: at 105M events the funnel's `ORDER BY pn, x` over
42.5M items was more than half of its query's 26-29 s of CPU. numpy sorts one 64-bit key several
times faster (a SIMD sort of values, not `argsort`: 2.5 s of CPU for those items, grouping
included), so each item becomes one key: its person number's low bits above the value's offset
from the smallest value. When the person numbers do not fit beside the values (2M persons and 92
days of µs × 16 need 68 bits), the items are first grouped by the high bits of the person number
(a stable radix sort of a 16-bit bucket number: O(n)); each bucket is then sorted on its own,
buckets in order, so the whole array ends sorted by (pn, x) — exactly the order `ORDER BY pn, x`
gives, ties included (equal (pn, x) pairs are indistinguishable).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

import numpy as np

KEY_BITS = 64
T = TypeVar("T")


def in_threads(work: Sequence[Callable[[], T]], threads: int) -> list[T]:
    """Run the calls on up to `threads` threads (numpy's big operations release the GIL), in
    order; one call, or one thread, runs inline."""
    if threads <= 1 or len(work) <= 1:
        return [w() for w in work]
    with ThreadPoolExecutor(max_workers=min(threads, len(work))) as pool:
        return list(pool.map(lambda w: w(), work))


def _balanced(ends: np.ndarray, parts: int) -> list[int]:
    """Indices into `ends` (cumulative sizes of consecutive groups) that cut the groups into at
    most `parts` runs of about equal total size: run i is groups [cuts[i], cuts[i + 1])."""
    total = int(ends[-1]) if ends.size else 0
    targets = [total * i // parts for i in range(1, parts)]
    inner = np.searchsorted(ends, targets, side="left") + 1
    cuts = sorted({0, *(int(c) for c in inner if 0 < c < ends.size), int(ends.size)})
    return cuts


def _slices(n: int, parts: int) -> list[slice]:
    """0..n cut into `parts` consecutive slices of about equal size."""
    cuts = [n * i // max(1, parts) for i in range(max(1, parts) + 1)]
    return [slice(a, b) for a, b in itertools.pairwise(cuts)]


def sort_by_person(
    pn: np.ndarray, x: np.ndarray, threads: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """(pn, x) sorted by (pn, x), as int64 arrays. Person numbers are >= 0 and dense enough that
    a count per 2**8 of them fits in memory (dense ranks: one per person); values are any int64
    whose range (max - min) is below 2**56 (µs since the epoch × 16 over years).

    The arrays given are reused as working memory when they are writable int64 arrays (their
    content is undefined afterwards): at 42M items that keeps the peak at the input plus 45%."""
    pn, x = _owned(pn), _owned(x)
    n = pn.size
    if n == 0:
        return pn, x
    x0 = int(x.min())
    bx = (int(x.max()) - x0).bit_length()  # bits of a value's offset from the smallest
    low = KEY_BITS - bx  # bits of the person number beside it in a key
    if low < 8:
        raise ValueError("the values span too wide a range to sort packed")
    n_buckets = (int(pn.max()) >> low) + 1
    keys = x.view(np.uint64)  # x's memory becomes the keys
    bucket = np.empty(
        n if n_buckets > 1 else 0, dtype=np.uint16 if n_buckets <= 2**16 else np.uint32
    )

    def pack(rows: slice) -> np.ndarray | None:
        # key = pn's low bits << bx | (x - x0); pn's high bits are its bucket's number.
        k, p = keys[rows], pn[rows]
        np.subtract(x[rows], x0, out=x[rows])
        counts = None
        if n_buckets > 1:
            np.right_shift(p, low, out=bucket[rows], casting="unsafe")
            counts = np.bincount(bucket[rows], minlength=n_buckets)
        u = p.view(np.uint64)
        np.bitwise_and(u, np.uint64((1 << low) - 1), out=u)
        np.left_shift(u, np.uint64(bx), out=u)
        np.bitwise_or(k, u, out=k)
        return counts

    counts = in_threads([partial(pack, r) for r in _slices(n, threads)], threads)
    if n_buckets == 1:
        ends = np.array([n], dtype=np.int64)
        out_x = pn  # pn's memory (no longer needed) holds the values
    else:
        ends = np.cumsum(np.sum([c for c in counts if c is not None], axis=0), dtype=np.int64)
        order = np.argsort(bucket, kind="stable")  # radix sort: groups the buckets, in order
        del bucket
        grouped = pn.view(np.uint64)  # pn's memory holds the keys grouped by bucket

        def gather(rows: slice) -> None:
            np.take(keys, order[rows], out=grouped[rows])

        in_threads([partial(gather, r) for r in _slices(n, threads)], threads)
        keys, out_x = grouped, order  # the order's memory holds the values
    out_pn = keys.view(np.int64)  # each key becomes its person number, in place
    x_mask, shift = np.uint64((1 << bx) - 1), np.uint64(bx)

    def sort_buckets(first: int, last: int) -> None:
        for b in range(first, last):
            lo, hi = (int(ends[b - 1]) if b else 0), int(ends[b])
            if lo == hi:
                continue
            seg = keys[lo:hi]
            seg.sort()
            np.bitwise_and(seg, x_mask, out=out_x[lo:hi], casting="unsafe")
            out_x[lo:hi] += x0
            np.right_shift(seg, shift, out=seg)
            out_pn[lo:hi] += b << low

    cuts = _balanced(ends, max(1, threads))
    in_threads([partial(sort_buckets, a, b) for a, b in itertools.pairwise(cuts)], threads)
    return out_pn, out_x


def _owned(a: np.ndarray) -> np.ndarray:
    """`a` itself when it is a writable int64 array, else an int64 copy of it."""
    if (
        isinstance(a, np.ndarray)
        and a.dtype == np.int64
        and a.flags.writeable
        and a.flags.c_contiguous
    ):
        return a
    return np.array(a, dtype=np.int64)


def person_parts(pn: np.ndarray, parts: int) -> list[slice]:
    """`pn` (sorted) cut into at most `parts` slices of about equal size, each holding whole
    persons: no person straddles two slices. Every slice is non-empty (none for an empty
    array)."""
    n = pn.size
    if n == 0:
        return []
    cuts = {0, n}
    for i in range(1, parts):
        at = n * i // parts
        # Move the cut back to where the person at `at` starts.
        cuts.add(int(np.searchsorted(pn, pn[at], side="left")))
    ordered = sorted(cuts)
    return [slice(a, b) for a, b in itertools.pairwise(ordered) if b > a]
