"""Build the edge cache for a process from Settings (memory, or Redis for replicas)."""

from __future__ import annotations

from sqlalchemy import Engine

from intelgraph.edgecache.backend import CacheBackend
from intelgraph.edgecache.epochs import TenantEpochs
from intelgraph.edgecache.hooks import PurgeHooks
from intelgraph.edgecache.memory import MemoryCacheBackend
from intelgraph.edgecache.redis_backend import RedisCacheBackend
from intelgraph.edgecache.service import EdgeCache
from intelgraph.kernel.clock import Clock
from intelgraph.obs.metrics import Metrics
from intelgraph.persisted.registry import PersistedQueryRegistry
from intelgraph.persisted.safelist import Safelist
from intelgraph.policy.engine import PolicyEngine
from intelgraph.settings import Settings


def create_edge_cache(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    registry: PersistedQueryRegistry,
    policy: PolicyEngine,
    metrics: Metrics,
) -> EdgeCache:
    """The edge cache on Redis when a cache (or shared) Redis URL is set, else in memory.

    Nothing connects here: a Redis that is down shows up as bypassed requests.
    """
    redis_url = settings.cache_redis_url or settings.redis_url
    backend: CacheBackend
    if redis_url:
        backend = RedisCacheBackend(redis_url, timeout_seconds=settings.cache_redis_timeout_seconds)
    else:
        backend = MemoryCacheBackend(
            settings.cache_tenant_max_bytes,
            clock,
            on_bytes=lambda tenant, held: metrics.cache_bytes.labels(tenant).set(held),
        )
    safelist = Safelist(engine, clock, registry)
    safelist.sync_shipped()
    hooks = PurgeHooks(
        [url.strip() for url in settings.cache_purge_hooks.split(",") if url.strip()],
        on_error=metrics.cache_purge_hook_errors.inc,
    )
    return EdgeCache(
        backend,
        safelist,
        registry,
        policy,
        engine,
        clock,
        metrics,
        hooks,
        TenantEpochs(engine, clock, settings.cache_epoch_seconds),
        is_enabled=settings.cache_enabled,
        stale_seconds=settings.cache_stale_seconds,
    )
