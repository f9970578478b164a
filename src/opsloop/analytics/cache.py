"""Answers of repeated queries, keyed by the query (its defaults resolved: `as_of` is a date) and
the data's version (a write invalidates); an answer that used saved segments also keeps their
versions, and is served only while they are unchanged."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from opsloop.errors import InvalidInput

CacheKey = tuple[int, int, str, bytes]


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    answer: dict[str, Any]
    segments: Mapping[int, str] = field(default_factory=dict)  # saved segment id -> version


class QueryCache:
    """A small LRU of answers. The key holds the event store's data version, so an answer is
    never served after a write that could change it."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[CacheKey, CachedAnswer] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(workspace_id: int, version: int, engine: str, query: Any) -> CacheKey:
        try:
            text = orjson.dumps(query, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            # A number past 64 bits (JSON allows it; no engine column holds it).
            raise InvalidInput(
                "a number in the query is out of range (at most 64-bit integers)", None
            ) from None
        return (workspace_id, version, engine, text)

    def get(
        self, key: CacheKey, still_valid: Callable[[CachedAnswer], bool] | None = None
    ) -> CachedAnswer | None:
        """The answer kept under `key`, unless `still_valid` finds it stale (then forgotten)."""
        with self._lock:
            entry = self._items.get(key)
        if entry is not None and still_valid is not None and not still_valid(entry):
            with self._lock:
                if self._items.get(key) is entry:
                    del self._items[key]
            entry = None
        with self._lock:
            if entry is None:
                self.misses += 1
                return None
            if key in self._items:
                self._items.move_to_end(key)
            self.hits += 1
            return entry

    def put(
        self, key: CacheKey, answer: dict[str, Any], segments: Mapping[int, str] | None = None
    ) -> None:
        with self._lock:
            self._items[key] = CachedAnswer(answer, dict(segments or {}))
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
