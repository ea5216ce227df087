"""Tenant cache epochs: the database's word on which edge cache entries may still be served.

Every entry records the epoch of its tenant it was filled under, and a hit is served only
while that is still the tenant's epoch. A write whose Redis purge failed moves the epoch on
(one row per tenant in ``edge_cache_epochs``; no row = epoch 0) before it is acknowledged,
so every replica stops serving what was cached before it. A process reads a tenant's epoch
at most once per ``bound_seconds``: that is the staleness bound across replicas, and why a
hit costs no database query (docs/adr/013-edge-cache-epochs.md).
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from intelgraph.edgecache import repository
from intelgraph.kernel.clock import Clock

EPOCH_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError)
"""What reading or moving an epoch raises when the database cannot answer."""

MAX_REMEMBERED_TENANTS = 100_000  # past it the oldest reading is forgotten (read again)


class TenantEpochs:
    """The tenants' epochs: moved in the database, read through a per-process memory."""

    def __init__(self, engine: Engine, clock: Clock, bound_seconds: float) -> None:
        self._engine = engine
        self._clock = clock
        self.bound_seconds = bound_seconds
        self._seen: dict[str, tuple[float, int]] = {}  # tenant -> (read at, epoch)
        self._lock = threading.Lock()

    def current(self, tenant_id: str) -> int:
        """The tenant's epoch as the database said at most ``bound_seconds`` ago.

        Within the bound this is a dict lookup (the hit path); past it, one primary-key
        read, on the calling thread: like the safelist snapshot's reload, it is not worth a
        thread hop, and reading inline keeps concurrent misses in one single flight.
        Raises one of ``EPOCH_ERRORS`` when it had to be read and the database did not answer.
        """
        seen = self._seen.get(tenant_id)
        now = self._clock.monotonic()
        if seen is not None and now - seen[0] < self.bound_seconds:
            return seen[1]
        # Remembered as read at ``now``, before the query: the bound counts from there.
        return self._remember(tenant_id, self.read(tenant_id), now)

    def read(self, tenant_id: str) -> int:
        """The tenant's epoch in the database now. Raises one of ``EPOCH_ERRORS``."""
        with self._engine.connect() as conn:
            return repository.epoch_of(conn, tenant_id)

    def bump(self, tenant_id: str) -> int:
        """Move the tenant's epoch on, so no entry filled before is served; the new epoch.

        This process sees it at once, the others within ``bound_seconds``. Raises one of
        ``EPOCH_ERRORS`` when the database did not take it.
        """
        now = self._clock.now()
        with self._engine.begin() as conn:
            epoch = repository.bump_epoch(conn, tenant_id, now)
        return self._remember(tenant_id, epoch, self._clock.monotonic())

    def _remember(self, tenant_id: str, epoch: int, read_at: float) -> int:
        """Keep a reading; epochs only grow, so an older reading never replaces a newer one
        (a read that started before this process's own bump finished after it)."""
        with self._lock:
            known = self._seen.pop(tenant_id, None)
            if known is not None and known[1] > epoch:
                read_at, epoch = known
            elif len(self._seen) >= MAX_REMEMBERED_TENANTS:
                del self._seen[next(iter(self._seen))]
            self._seen[tenant_id] = (read_at, epoch)  # last: insertion order is age order
        return epoch
