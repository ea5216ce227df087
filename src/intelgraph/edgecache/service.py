"""The edge cache's face: what is cacheable, lookups and stores that never fail a request,
and purges (with their hooks) for the graph, the jobs and administrators.

Storage errors are never a client's problem: a lookup or store that fails is counted and
the request is served around the cache; after an error the backend rests a second, so a
dead Redis costs requests nothing. A hit is served only if it was filled under the
tenant's current cache epoch (``epochs``, read at most once per bound). A purge that cannot
reach Redis moves the tenant's epoch on instead, before the write is acknowledged, so no
replica serves pre-write entries past the bound; if the database does not take that
either, the write answers CACHE_PURGE_FAILED (it is stored) and this replica serves the
tenant around the cache while it retries the epoch every second.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from intelgraph.audit.unit_of_work import UnitOfWorkFactory
from intelgraph.edgecache.backend import CacheBackend, Lookup
from intelgraph.edgecache.entries import CacheEntry
from intelgraph.edgecache.epochs import EPOCH_ERRORS, TenantEpochs
from intelgraph.edgecache.hooks import PurgeHooks
from intelgraph.edgecache.keys import CacheKey
from intelgraph.edgecache.redis_backend import BACKEND_ERRORS
from intelgraph.edgecache.singleflight import SingleFlight
from intelgraph.kernel.clock import Clock
from intelgraph.kernel.errors import CACHE_PURGE_FAILED, VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.obs.metrics import Metrics
from intelgraph.persisted.registry import PersistedOperation, PersistedQueryRegistry
from intelgraph.persisted.safelist import Safelist, SafelistEntry
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine

log = logging.getLogger(__name__)

REST_SECONDS = 1.0
RETRY_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Purge:
    """One purge: the tenant, and either entity tags or an operation (one vars hash or all)."""

    tenant_id: str
    trigger: str  # ingest, analytics, admin
    entity_ids: tuple[str, ...] = ()
    operation_id: str | None = None
    vars_hash: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenantId": self.tenant_id,
            "trigger": self.trigger,
            "entityIds": list(self.entity_ids),
            "operationId": self.operation_id,
            "varsHash": self.vars_hash or ("*" if self.operation_id else None),
        }


class EdgeCache:
    def __init__(
        self,
        backend: CacheBackend,
        safelist: Safelist,
        registry: PersistedQueryRegistry,
        policy: PolicyEngine,
        engine: Any,
        clock: Clock,
        metrics: Metrics,
        hooks: PurgeHooks,
        epochs: TenantEpochs,
        *,
        is_enabled: bool = True,
        stale_seconds: float = 5.0,
    ) -> None:
        self.backend = backend
        self.safelist = safelist
        self.registry = registry
        self.policy = policy
        self.engine = engine
        self.clock = clock
        self._uow = UnitOfWorkFactory(engine, clock)
        self.metrics = metrics
        self.hooks = hooks
        self.epochs = epochs
        self.is_enabled = is_enabled
        self.stale_seconds = stale_seconds
        self.flights: SingleFlight[Any] = SingleFlight()
        self._resting_until = 0.0
        self._owed_epochs: set[str] = set()  # tenants whose epoch bump is still to retry
        self._lock = threading.Lock()
        self._retry_thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # --- what is cacheable ----------------------------------------------------------------

    def safelisted(self, operation: PersistedOperation | None) -> SafelistEntry | None:
        """The safelist entry serving a resolved persisted operation, if it is the platform's
        registration of a safelisted operation."""
        if operation is None or operation.operation_id is None:
            return None
        entry = self.safelist.for_operation(operation.operation_id)
        if entry is None or entry.sha256 != operation.sha256:
            return None  # a tenant's own operation under the same id is not cached
        return entry

    # --- request path ---------------------------------------------------------------------

    async def lookup(self, key: CacheKey) -> Lookup | None:
        """The stored entry if it was filled under the tenant's current epoch, the purge
        generation and that epoch; None when the cache must be bypassed."""
        if self.clock.monotonic() < self._resting_until or key.tenant_id in self._owed_epochs:
            return None
        try:
            epoch = self.epochs.current(key.tenant_id)
        except EPOCH_ERRORS as exc:  # unknown epoch: any entry could predate a write
            self._epoch_failed("read", key.tenant_id, exc)
            return None
        try:
            found = await self.backend.lookup(key)
        except BACKEND_ERRORS as exc:
            self._backend_failed("lookup", exc)
            return None
        entry = found.entry
        if entry is not None and entry.epoch != epoch:
            entry = None  # filled before a purge that could not reach the backend
        return Lookup(entry, found.generation, epoch)

    async def store(
        self, key: CacheKey, entry: CacheEntry, tags: Iterable[str], generation: int
    ) -> bool:
        """Keep an entry unless a purge of its tenant happened since ``generation``."""
        if self.clock.monotonic() < self._resting_until:
            return False
        try:
            return await self.backend.store(
                key, entry, tags, generation, entry.ttl + self.stale_seconds
            )
        except BACKEND_ERRORS as exc:
            self._backend_failed("store", exc)
            return False

    def report_leak(self, key: CacheKey, entry: CacheEntry) -> None:
        """An entry under this tenant's key holds another tenant's response: refuse it."""
        self.metrics.cache_leak_suspected.inc()
        log.error(
            "edge cache entry belongs to another tenant; refused",
            extra={
                "tenant_id": key.tenant_id,
                "entry_tenant_id": entry.tenant_id,
                "operation": key.operation_id,
            },
        )

    def _backend_failed(self, operation: str, exc: BaseException) -> None:
        self.metrics.cache_backend_errors.labels(operation).inc()
        self._resting_until = self.clock.monotonic() + REST_SECONDS
        log.warning(
            "edge cache backend unavailable; serving around the cache",
            extra={"backend": self.backend.name, "operation": operation, "error": str(exc)},
        )

    # --- purges ---------------------------------------------------------------------------

    def purge_entities(self, tenant_id: str, entity_ids: Iterable[str]) -> int:
        """Remove the tenant's entries whose response mentions any of these entities (or,
        when the backend cannot be reached, move the tenant's cache epoch on). Raises
        CACHE_PURGE_FAILED when neither happened."""
        ids = tuple(sorted(set(entity_ids)))
        if not ids:
            return 0
        return self._purge(Purge(tenant_id, "ingest", entity_ids=ids))

    def purge_graph_derived(self, tenant_id: str) -> int:
        """Remove the tenant's entries of graph-derived operations (analytics recomputed).
        Raises CACHE_PURGE_FAILED as ``purge_entities`` does."""
        removed = 0
        for operation_id in self.safelist.graph_derived_operations():
            removed += self._purge(Purge(tenant_id, "analytics", operation_id=operation_id))
        return removed

    def purge_operation(
        self, principal: Principal, tenant_id: str, operation_id: str, vars_hash: str, reason: str
    ) -> int:
        """An administrator's purge of one operation's entries (``vars_hash`` ``*`` = all its
        variable sets), audited. Raises POLICY_DENIED without admin.write on the tenant,
        VALIDATION for a malformed hash, CACHE_PURGE_FAILED as ``purge_entities`` does."""
        self.policy.authorize(principal, Action.ADMIN_WRITE, "edge_cache", tenant_id)
        if vars_hash != "*" and not (
            len(vars_hash) == 64 and all(c in "0123456789abcdef" for c in vars_hash)
        ):
            raise IntelGraphError(
                VALIDATION,
                "varsHash must be the 64 hex sha256 of the variables (X-IG-Cache-Vars-Hash of "
                "a cached response) or * for every variable set",
            )
        removed = self._purge(
            Purge(tenant_id, "admin", operation_id=operation_id, vars_hash=vars_hash)
        )
        with self._uow() as uow:
            uow.audit(
                principal,
                "edge_cache.purge",
                f"operation:{operation_id}",
                tenant_id=tenant_id,
                reason=reason or None,
                new_value={"varsHash": vars_hash, "removed": removed},
            )
            uow.commit()
        return removed

    def purge_all(self, principal: Principal, tenant_ids: Iterable[str], reason: str) -> int:
        """An operator's purge of every tenant's entries (the backout plan's "invalidate
        caches"), audited; returns the entries removed.

        Each tenant's cache epoch moves on first: every replica, and the in-memory cache of
        every `serve` process, stops serving what it held within INTELGRAPH_CACHE_EPOCH_SECONDS
        (this process at once), whichever process ran the purge. Then the entries of every
        operation ever safelisted are removed where this process's backend reaches them;
        after the backend's first error the rest is left to expire (the epochs already
        cover it). Raises POLICY_DENIED for anyone but the operator, CACHE_PURGE_FAILED when
        some tenant's epoch and its entries could not be reached (that epoch is retried)."""
        self.policy.authorize(principal, Action.TENANT_ADMIN, "edge_cache", None)
        operations = self.safelist.ever_listed_operations()
        tenants = list(tenant_ids)
        removed = 0
        unreached: list[str] = []
        is_backend_up = True
        for tenant_id in tenants:
            self.metrics.cache_purges.labels(tenant_id, "admin").inc()
            is_epoch_moved = self._bump_epoch(tenant_id)
            for operation_id in operations:
                if is_backend_up:
                    try:
                        removed_now = self.backend.purge_operation(tenant_id, operation_id, None)
                    except BACKEND_ERRORS as exc:
                        self._backend_failed("purge", exc)
                        is_backend_up = False
                    else:
                        removed += removed_now
                        self.metrics.cache_purged_entries.labels(tenant_id).inc(removed_now)
                self.hooks.notify(Purge(tenant_id, "admin", operation_id=operation_id).as_dict())
            if not is_epoch_moved and not is_backend_up:
                unreached.append(tenant_id)
        with self._uow() as uow:
            uow.audit(
                principal,
                "edge_cache.purge_all",
                "edge_cache:all",
                tenant_id=None,
                reason=reason or None,
                new_value={"tenants": len(tenants), "removed": removed, "unreached": unreached},
            )
            uow.commit()
        if unreached:
            raise self._purge_failed(Purge(unreached[0], "admin"))
        return removed

    def _purge(self, purge: Purge) -> int:
        """Raises CACHE_PURGE_FAILED when neither the backend nor the epoch could be moved."""
        self.metrics.cache_purges.labels(purge.tenant_id, purge.trigger).inc()
        is_epoch_owed = False
        try:
            removed = self._apply(purge)
        except BACKEND_ERRORS as exc:
            self.metrics.cache_backend_errors.labels("purge").inc()
            log.error(
                "edge cache purge failed; moving the tenant's cache epoch on instead",
                extra={"tenant_id": purge.tenant_id, "error": str(exc)},
            )
            removed = 0
            is_epoch_owed = not self._bump_epoch(purge.tenant_id)
        self.metrics.cache_purged_entries.labels(purge.tenant_id).inc(removed)
        self.hooks.notify(purge.as_dict())
        if is_epoch_owed:
            raise self._purge_failed(purge)
        return removed

    def _bump_epoch(self, tenant_id: str) -> bool:
        """Move the tenant's epoch on; whether it was (if not, it is owed and retried)."""
        try:
            self.epochs.bump(tenant_id)
            return True
        except EPOCH_ERRORS as exc:
            self._epoch_failed("bump", tenant_id, exc)
            with self._lock:
                self._owed_epochs.add(tenant_id)
            self._ensure_retrying()
            return False

    def _purge_failed(self, purge: Purge) -> IntelGraphError:
        what = (
            "the write is stored; retry is safe with the same Idempotency-Key. But the edge "
            "cache could not be invalidated"
            if purge.trigger == "ingest"
            else "the edge cache could not be purged; retry the purge"
        )
        return IntelGraphError(
            CACHE_PURGE_FAILED,
            f"{what}: neither the cache backend nor the database (the tenant's cache epoch) "
            "answered; this replica keeps retrying every second",
            details={
                "stored": purge.trigger == "ingest",
                "cacheEpochSeconds": self.epochs.bound_seconds,
            },
            headers={"Retry-After": str(int(RETRY_SECONDS))},
        )

    def _epoch_failed(self, operation: str, tenant_id: str, exc: BaseException) -> None:
        self.metrics.cache_backend_errors.labels(f"epoch-{operation}").inc()
        log.error(
            "edge cache epoch unavailable; serving the tenant around the cache",
            extra={"tenant_id": tenant_id, "operation": operation, "error": str(exc)},
        )

    def _apply(self, purge: Purge) -> int:
        if purge.operation_id is not None:
            return self.backend.purge_operation(
                purge.tenant_id, purge.operation_id, purge.vars_hash
            )
        return self.backend.purge_tags(purge.tenant_id, purge.entity_ids)

    def settle_owed_epochs(self) -> int:
        """Move on the epochs whose bump failed; returns how many tenants still owe one."""
        with self._lock:
            owed = sorted(self._owed_epochs)
        settled: set[str] = set()
        for tenant_id in owed:
            try:
                self.epochs.bump(tenant_id)
            except EPOCH_ERRORS:
                continue
            settled.add(tenant_id)
        with self._lock:
            self._owed_epochs -= settled
            return len(self._owed_epochs)

    def _ensure_retrying(self) -> None:
        with self._lock:
            if self._retry_thread is not None:
                return
            self._retry_thread = threading.Thread(
                target=self._retry_loop, name="cache-epoch-retry", daemon=True
            )
            self._retry_thread.start()

    def _retry_loop(self) -> None:
        while not self._stopping.wait(RETRY_SECONDS):
            if self.settle_owed_epochs() == 0:
                with self._lock:
                    if not self._owed_epochs:
                        self._retry_thread = None
                        return

    def stop(self) -> None:
        """Stop the hooks and retry threads and close the backend."""
        self._stopping.set()
        self.hooks.stop()
        self.backend.close()
