"""The in-process cache backend: an LRU per tenant under a byte cap, with TTLs.

One process only (``serve`` with one worker, tests): replicas need the Redis backend.
Every operation takes one lock, because purges arrive from worker threads (ingest runs in
the thread pool) while reads run on the event loop.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from intelgraph.edgecache.backend import Lookup
from intelgraph.edgecache.entries import CacheEntry
from intelgraph.edgecache.keys import CacheKey, matches_purge
from intelgraph.kernel.clock import Clock

BytesListener = Callable[[str, int], None]
"""Told (tenant_id, bytes held) whenever a tenant's cached bytes change."""


@dataclass
class _Stored:
    entry: CacheEntry
    tags: frozenset[str]
    keep_until: float


@dataclass
class _TenantShelf:
    entries: OrderedDict[str, _Stored] = field(default_factory=OrderedDict)  # LRU first
    by_tag: dict[str, set[str]] = field(default_factory=dict)
    by_operation: dict[str, set[str]] = field(default_factory=dict)
    bytes: int = 0
    generation: int = 0


class MemoryCacheBackend:
    name = "memory"

    def __init__(
        self, tenant_max_bytes: int, clock: Clock, on_bytes: BytesListener | None = None
    ) -> None:
        self._max_bytes = tenant_max_bytes
        self._clock = clock
        self._on_bytes = on_bytes or (lambda _tenant, _bytes: None)
        self._shelves: dict[str, _TenantShelf] = {}
        self._lock = threading.Lock()

    async def lookup(self, key: CacheKey) -> Lookup:
        return self.lookup_now(key)

    def lookup_now(self, key: CacheKey) -> Lookup:
        now = self._clock.now().timestamp()
        with self._lock:
            shelf = self._shelves.get(key.tenant_id)
            if shelf is None:
                return Lookup(None, 0)
            stored = shelf.entries.get(key.text)
            if stored is None:
                return Lookup(None, shelf.generation)
            if stored.keep_until <= now:
                self._drop(key.tenant_id, shelf, key.text)
                return Lookup(None, shelf.generation)
            shelf.entries.move_to_end(key.text)
            return Lookup(stored.entry, shelf.generation)

    async def store(
        self, key: CacheKey, entry: CacheEntry, tags: Iterable[str], generation: int, keep: float
    ) -> bool:
        return self.store_now(key, entry, tags, generation, keep)

    def store_now(
        self, key: CacheKey, entry: CacheEntry, tags: Iterable[str], generation: int, keep: float
    ) -> bool:
        if entry.size > self._max_bytes:
            return False
        now = self._clock.now().timestamp()
        with self._lock:
            shelf = self._shelves.setdefault(key.tenant_id, _TenantShelf())
            if shelf.generation != generation:
                return False
            if key.text in shelf.entries:
                self._drop(key.tenant_id, shelf, key.text, report=False)
            stored = _Stored(entry, frozenset(tags), now + keep)
            shelf.entries[key.text] = stored
            shelf.bytes += entry.size
            for tag in stored.tags:
                shelf.by_tag.setdefault(tag, set()).add(key.text)
            shelf.by_operation.setdefault(key.operation_id, set()).add(key.text)
            while shelf.bytes > self._max_bytes:  # least recently used of this tenant first
                oldest = next(iter(shelf.entries))
                self._drop(key.tenant_id, shelf, oldest, report=False)
            self._on_bytes(key.tenant_id, shelf.bytes)
        return True

    def purge_tags(self, tenant_id: str, tags: Iterable[str]) -> int:
        with self._lock:
            shelf = self._shelves.setdefault(tenant_id, _TenantShelf())
            shelf.generation += 1
            doomed: set[str] = set()
            for tag in tags:
                doomed |= shelf.by_tag.get(tag, set())
            for key_text in doomed:
                self._drop(tenant_id, shelf, key_text, report=False)
            self._on_bytes(tenant_id, shelf.bytes)
            return len(doomed)

    def purge_operation(self, tenant_id: str, operation_id: str, vars_hash: str | None) -> int:
        with self._lock:
            shelf = self._shelves.setdefault(tenant_id, _TenantShelf())
            shelf.generation += 1
            doomed = [
                key_text
                for key_text in shelf.by_operation.get(operation_id, set())
                if matches_purge(key_text, operation_id, vars_hash)
            ]
            for key_text in doomed:
                self._drop(tenant_id, shelf, key_text, report=False)
            self._on_bytes(tenant_id, shelf.bytes)
            return len(doomed)

    def put_raw(self, key: CacheKey, entry: CacheEntry, keep: float) -> None:
        """Store without checks or indexes (tests use it to plant a corrupted entry)."""
        now = self._clock.now().timestamp()
        with self._lock:
            shelf = self._shelves.setdefault(key.tenant_id, _TenantShelf())
            shelf.entries[key.text] = _Stored(entry, frozenset(), now + keep)
            shelf.bytes += entry.size

    def bytes_of(self, tenant_id: str) -> int:
        with self._lock:
            shelf = self._shelves.get(tenant_id)
            return 0 if shelf is None else shelf.bytes

    def keys_of(self, tenant_id: str) -> list[str]:
        """The tenant's keys, least recently used first."""
        with self._lock:
            shelf = self._shelves.get(tenant_id)
            return [] if shelf is None else list(shelf.entries)

    def close(self) -> None:
        with self._lock:
            self._shelves.clear()

    def _drop(
        self, tenant_id: str, shelf: _TenantShelf, key_text: str, report: bool = True
    ) -> None:
        stored = shelf.entries.pop(key_text, None)
        if stored is None:
            return
        shelf.bytes -= stored.entry.size
        for tag in stored.tags:
            keys = shelf.by_tag.get(tag)
            if keys is not None:
                keys.discard(key_text)
                if not keys:
                    del shelf.by_tag[tag]
        keys = shelf.by_operation.get(stored.entry.operation_id)
        if keys is not None:
            keys.discard(key_text)
        if report:
            self._on_bytes(tenant_id, shelf.bytes)
