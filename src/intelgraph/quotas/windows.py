"""Moving windows with a cost, over the ``limits`` library: in memory or in Redis.

api_rpm is a 60 s window and ingest_eps a 1 s window; each admitted unit is one entry, so
"no more than q in any w seconds" holds exactly, across replicas when the storage is Redis
(the library's Lua script checks and records in one step). Window timestamps come from the
system clock (``time.time()``), as the library keeps them; the UTC day of egress is counted
elsewhere, on the service's Clock.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio
from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import RedisStorage as AsyncRedisStorage
from limits.aio.strategies import MovingWindowRateLimiter as AsyncMovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

from intelgraph.tenants.plans import LimitName

NAMESPACE = "quota"
BACKEND_ERRORS: tuple[type[BaseException], ...] = (StorageError, RedisError, OSError, TimeoutError)
"""What a storage raises when it cannot answer (the engine then fails open)."""


class _PerMinute(RateLimitItemPerMinute):
    """Keys leave the amount out, so a changed limit keeps counting the same window."""

    def key_for(self, *identifiers: bytes | str | int | float) -> str:
        return "/".join([self.namespace, *(str(part) for part in identifiers)])


class _PerSecond(RateLimitItemPerSecond):
    """Keys leave the amount out, so a changed limit keeps counting the same window."""

    def key_for(self, *identifiers: bytes | str | int | float) -> str:
        return "/".join([self.namespace, *(str(part) for part in identifiers)])


def window_item(limit: LimitName, quota: int) -> RateLimitItem:
    """The moving window of ``limit`` with ``quota`` entries (api_rpm: 60 s, ingest_eps: 1 s)."""
    if limit is LimitName.API_RPM:
        return _PerMinute(quota, namespace=NAMESPACE)
    if limit is LimitName.INGEST_EPS:
        return _PerSecond(quota, namespace=NAMESPACE)
    raise ValueError(f"{limit.value} is not a moving-window limit")


@dataclass(frozen=True, slots=True)
class WindowState:
    """The outcome of taking ``cost`` entries: taken or not, and the window after it."""

    is_acquired: bool
    remaining: int
    reset_at: float  # epoch seconds when the oldest entry leaves the window

    def reset_seconds(self, window_seconds: int) -> int:
        """Whole seconds until the oldest entry leaves the window (0..window)."""
        left = self.reset_at - time.time()
        return min(window_seconds, max(0, int(-(-left // 1))))


class MovingWindows(Protocol):
    """Per-tenant moving windows; raises one of BACKEND_ERRORS when the storage is down."""

    name: str

    def acquire(self, limit: LimitName, tenant_id: str, quota: int, cost: int) -> WindowState:
        """Take ``cost`` entries if they fit (sync; safe from worker threads)."""
        ...

    async def acquire_async(
        self, limit: LimitName, tenant_id: str, quota: int, cost: int
    ) -> WindowState:
        """Take ``cost`` entries if they fit, without blocking the event loop."""
        ...

    def clear(self, limit: LimitName, tenant_id: str) -> None:
        """Empty one tenant's window."""
        ...


class MemoryWindows:
    """Windows of one process (the default single-process deployment)."""

    name = "memory"

    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def acquire(self, limit: LimitName, tenant_id: str, quota: int, cost: int) -> WindowState:
        item = window_item(limit, quota)
        acquired = self._limiter.hit(item, tenant_id, limit.value, cost=cost) if cost else True
        stats = self._limiter.get_window_stats(item, tenant_id, limit.value)
        return WindowState(acquired, max(0, stats.remaining), stats.reset_time)

    async def acquire_async(
        self, limit: LimitName, tenant_id: str, quota: int, cost: int
    ) -> WindowState:
        # In-process work of a few microseconds: cheaper than any hand-off.
        return self.acquire(limit, tenant_id, quota, cost)

    def clear(self, limit: LimitName, tenant_id: str) -> None:
        self._limiter.clear(window_item(limit, 1), tenant_id, limit.value)


class RedisWindows:
    """Windows shared by every replica through one Redis.

    The request path uses the library's asyncio storage (redis-py's asyncio client), built
    once per event loop; ingest charges, which run in worker threads or synchronous
    resolvers, use the synchronous storage. Both address the same keys.
    """

    name = "redis"

    def __init__(
        self,
        url: str,
        key_prefix: str,
        timeout_seconds: float = 1.0,
        max_connections: int = 32,
    ) -> None:
        self._url = url
        self._prefix = key_prefix
        self._timeout = timeout_seconds
        self._max_connections = max_connections
        self._sync = MovingWindowRateLimiter(
            RedisStorage(
                url,
                wrap_exceptions=True,
                key_prefix=key_prefix,
                socket_timeout=timeout_seconds,
                socket_connect_timeout=timeout_seconds,
            )
        )
        self._async: tuple[asyncio.AbstractEventLoop, AsyncMovingWindowRateLimiter] | None = None

    def _async_limiter(self) -> AsyncMovingWindowRateLimiter:
        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            # redis-py's asyncio connections belong to the loop that opened them.
            # A bounded pool: a burst of requests waits for one of a few connections
            # instead of opening hundreds at once (a connect storm times out).
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self._url,
                max_connections=self._max_connections,
                timeout=self._timeout,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._timeout,
            )
            storage = AsyncRedisStorage(
                f"async+{self._url}",
                wrap_exceptions=True,
                implementation="redispy",
                key_prefix=self._prefix,
                connection_pool=pool,
            )
            self._async = (loop, AsyncMovingWindowRateLimiter(storage))
        return self._async[1]

    def acquire(self, limit: LimitName, tenant_id: str, quota: int, cost: int) -> WindowState:
        item = window_item(limit, quota)
        acquired = self._sync.hit(item, tenant_id, limit.value, cost=cost) if cost else True
        stats = self._sync.get_window_stats(item, tenant_id, limit.value)
        return WindowState(acquired, max(0, stats.remaining), stats.reset_time)

    async def acquire_async(
        self, limit: LimitName, tenant_id: str, quota: int, cost: int
    ) -> WindowState:
        limiter = self._async_limiter()
        item = window_item(limit, quota)
        acquired = await limiter.hit(item, tenant_id, limit.value, cost=cost) if cost else True
        stats = await limiter.get_window_stats(item, tenant_id, limit.value)
        return WindowState(acquired, max(0, stats.remaining), stats.reset_time)

    def clear(self, limit: LimitName, tenant_id: str) -> None:
        self._sync.clear(window_item(limit, 1), tenant_id, limit.value)
