"""The storage port of the edge cache: entries, their tag and operation indexes, and a
per-tenant purge generation.

The generation is what keeps a purge from being undone by a read that was already in
flight: a miss notes the tenant's generation before it resolves, and its store is refused
if any purge of that tenant happened meanwhile (the read may have seen pre-purge data).
The generation lives with the entries (in Redis); the tenant's cache *epoch* lives in the
database (``epochs``) and is what still holds when a purge could not reach Redis.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from intelgraph.edgecache.entries import CacheEntry
from intelgraph.edgecache.keys import CacheKey


@dataclass(frozen=True, slots=True)
class Lookup:
    entry: CacheEntry | None
    generation: int
    epoch: int = 0  # the tenant's cache epoch (set by the service; backends leave it 0)


class CacheBackend(Protocol):
    """Raises one of ``BACKEND_ERRORS`` (see ``redis_backend``) when storage is unreachable."""

    name: str

    async def lookup(self, key: CacheKey) -> Lookup:
        """The entry under ``key`` (fresh, or expired but still kept for STALE) and the
        tenant's purge generation."""
        ...

    async def store(
        self, key: CacheKey, entry: CacheEntry, tags: Iterable[str], generation: int, keep: float
    ) -> bool:
        """Keep ``entry`` for ``keep`` seconds, indexed by ``tags`` and its operation, unless
        the tenant's generation moved past ``generation``; whether it was stored."""
        ...

    def purge_tags(self, tenant_id: str, tags: Iterable[str]) -> int:
        """Remove the tenant's entries tagged with any of ``tags``; bump its generation."""
        ...

    def purge_operation(self, tenant_id: str, operation_id: str, vars_hash: str | None) -> int:
        """Remove the tenant's entries of an operation (one variables hash, or all when
        None); bump its generation."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
