"""The online-resolution worker: the ingest listener hands it (tenant, touched ids) after
commit and returns at once; one background thread resolves everything pending with the
``OnlineResolver``, tenant by tenant (several ingests of a tenant that arrive meanwhile
are resolved as one batch). Tests and the CLI call ``drain()`` (through
``service.resolution``) instead of starting the thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence

from intelgraph.er.online import OnlineResolver
from intelgraph.kernel.clock import Clock

log = logging.getLogger(__name__)


class ResolutionWorker:
    """Resolves submitted ingests in one background thread, batching each tenant's work."""

    def __init__(self, resolver: OnlineResolver, clock: Clock) -> None:
        self._resolver = resolver
        self._clock = clock
        self._pending: dict[str, tuple[set[str], float]] = {}
        self._sweeps: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, tenant_id: str, entity_ids: Sequence[str]) -> None:
        """Queue a committed ingest's touched entities (the ingest listener)."""
        if not entity_ids:
            return
        with self._lock:
            ids, since = self._pending.get(tenant_id, (set(), self._clock.monotonic()))
            ids.update(entity_ids)
            self._pending[tenant_id] = (ids, since)
        self._wake.set()

    def sweep(self, tenant_id: str) -> None:
        """Queue a pass over every unresolved entity of a tenant (ingests made elsewhere)."""
        with self._lock:
            self._sweeps.add(tenant_id)
        self._wake.set()

    def pending(self) -> Mapping[str, int]:
        """Tenant id to the number of entities waiting."""
        with self._lock:
            return {tenant: len(ids) for tenant, (ids, _) in self._pending.items()}

    def drain(self) -> list[str]:
        """Resolve everything pending now, in this thread; returns the tenants done."""
        with self._lock:
            work = self._pending
            sweeps = self._sweeps
            self._pending = {}
            self._sweeps = set()
        for tenant_id, (ids, since) in sorted(work.items()):
            try:
                self._resolver.resolve(tenant_id, sorted(ids), since)
            except Exception:
                log.exception("online entity resolution failed", extra={"tenant_id": tenant_id})
        for tenant_id in sorted(sweeps):
            try:
                self._resolver.resolve(tenant_id, None, None)
            except Exception:
                log.exception("entity resolution sweep failed", extra={"tenant_id": tenant_id})
        return sorted(work.keys() | sweeps)

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="er-online", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            self.drain()
