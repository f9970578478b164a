"""Answers of repeated queries, keyed by the query and the data's version (a write invalidates)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import orjson


class QueryCache:
    """A small LRU of answers. The key holds the event store's data version, so an answer is
    never served after a write that could change it."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[tuple[int, int, str, bytes], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(
        workspace_id: int, version: int, engine: str, query: Any
    ) -> tuple[int, int, str, bytes]:
        return (workspace_id, version, engine, orjson.dumps(query, option=orjson.OPT_SORT_KEYS))

    def get(self, key: tuple[int, int, str, bytes]) -> dict[str, Any] | None:
        with self._lock:
            answer = self._items.get(key)
            if answer is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return answer

    def put(self, key: tuple[int, int, str, bytes], answer: dict[str, Any]) -> None:
        with self._lock:
            self._items[key] = answer
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
