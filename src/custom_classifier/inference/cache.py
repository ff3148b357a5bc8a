"""A thread-safe LRU cache of loaded models, with hit and miss counters for monitoring."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    size: int
    capacity: int


class ModelCache(Generic[T]):
    """Keeps the `capacity` most recently used values; loads one value at a time."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"cache capacity must be at least 1, not {capacity}")
        self.capacity = capacity
        self._items: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()  # two requests for a cold model load it once
        self._hits = 0
        self._misses = 0

    def get(self, key: str, load: Callable[[], T]) -> T:
        """The cached value of `key`, or `load()` stored as the most recent one."""
        if (value := self._lookup(key)) is not None:
            return value
        with self._load_lock:
            if (value := self._lookup(key)) is not None:
                return value
            value = load()
            with self._lock:
                self._misses += 1
                self._items[key] = value
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
            return value

    def _lookup(self, key: str) -> T | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
                self._hits += 1
            return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, len(self._items), self.capacity)
