"""Vectorised text for the demo world: ids, UUIDs, amounts and JSON property objects built as
Arrow string arrays straight from numpy, without a Python object per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Part: TypeAlias = pa.Array | str

# The groups of a UUID's text form: (first text column, first hex digit, digits).
_UUID_GROUPS = ((0, 0, 8), (9, 8, 4), (14, 12, 4), (19, 16, 4), (24, 20, 12))


def fixed_width(chars: npt.NDArray[np.uint8]) -> pa.StringArray:
    """One string per row of an (n, width) array of ASCII codes."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars).tobytes()
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def uuid_strings(rng: np.random.Generator, n: int) -> pa.StringArray:
    """n random version-4 UUIDs drawn from `rng` (so they repeat exactly for a seed)."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    digits = np.empty((n, 32), dtype=np.uint8)
    digits[:, 0::2] = raw >> 4
    digits[:, 1::2] = raw & 0x0F
    # Nibble to hex digit by arithmetic ('0'..'9', then 'a'..'f'); faster than a lookup.
    digits += np.uint8(ord("0"))
    digits += (digits > ord("9")).view(np.uint8) * np.uint8(ord("a") - ord("9") - 1)
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    for col, digit, width in _UUID_GROUPS:
        text[:, col : col + width] = digits[:, digit : digit + width]
    return fixed_width(text)


def numbered(prefix: str, numbers: npt.NDArray[np.integer], width: int) -> pa.StringArray:
    """`prefix` followed by each number zero-padded to `width` digits (u0000042)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if len(numbers) and int(numbers.max()) >= 10**width:
        raise ValueError(f"number too wide for {width} digits")
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    chars = np.empty((len(numbers), len(head) + width), dtype=np.uint8)
    chars[:, : len(head)] = head
    rest = numbers.copy()
    for col in range(len(head) + width - 1, len(head) - 1, -1):
        chars[:, col] = rest % 10 + ord("0")
        rest //= 10
    return fixed_width(chars)


def vocab(words: Sequence[str], index: npt.NDArray[np.integer]) -> pa.Array:
    """The word at each index."""
    return pa.array(words, pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))


def integers(values: npt.NDArray[np.integer]) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def yuan(cents: npt.NDArray[np.integer]) -> pa.Array:
    """Amounts in cents as yuan with exactly two decimals (1290 -> "12.90")."""
    cents = np.asarray(cents, dtype=np.int64)
    return join([integers(cents // 100), ".", numbered("", cents % 100, 2)], len(cents))


def empty_strings(n: int) -> pa.StringArray:
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(np.zeros(n + 1, dtype=np.int32)), pa.py_buffer(b"")
    )


def join(parts: Sequence[Part], n: int) -> pa.Array:
    """Concatenate arrays and constant strings row by row."""
    merged: list[Part] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif not (isinstance(part, str) and part == ""):
            merged.append(part)
    if not merged:
        return empty_strings(n)
    if all(isinstance(p, str) for p in merged):
        return pa.repeat(pa.scalar(merged[0], pa.string()), n)
    if len(merged) == 1:
        only = merged[0]
        assert not isinstance(only, str)
        return only
    return pc.binary_join_element_wise(*merged, "")


class JsonFields:
    """The `,"key":value` text of some JSON object members for n rows.

    Values are arrays or constants; text values must not need JSON escaping (the demo's
    vocabulary has no quotes, backslashes or control characters).
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.parts: list[Part] = []

    def text(self, key: str, value: Part) -> JsonFields:
        self.parts += [f',"{key}":"', value, '"']
        return self

    def raw(self, key: str, value: Part) -> JsonFields:
        self.parts += [f',"{key}":', value]
        return self

    def build(self) -> pa.Array:
        return join(self.parts, self.n)


def optional(mask: npt.NDArray[np.bool_], part: Part) -> pa.Array:
    """`part` on the rows where `mask` holds, nothing elsewhere (an optional JSON member)."""
    value = pa.scalar(part, pa.string()) if isinstance(part, str) else part
    return pc.if_else(pa.array(mask, pa.bool_()), value, "")
