"""How many GraphQL requests of one tenant may use worker threads at once.

The worker threads are shared by every tenant; without a bound, one tenant sending slow
queries could hold all of them while the others wait. A tenant's requests beyond its bound
wait for its own earlier ones (within their time budget) instead of being refused: a busy
tenant's ordinary bursts are not errors, and the other tenants still find threads free.
Used on the event loop only; a free place is taken without awaiting anything.
"""

from __future__ import annotations

import asyncio
from collections import deque


class TenantConcurrency:
    """At most ``limit`` requests of each tenant hold a place at once (0 = no bound)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: dict[str, int] = {}
        self._waiters: dict[str, deque[asyncio.Future[None]]] = {}

    async def acquire(self, tenant: str, timeout: float) -> bool:
        """Take one of ``tenant``'s places, waiting at most ``timeout`` seconds for one.
        False when none came free in time."""
        if not self.limit:
            return True
        held = self._held.get(tenant, 0)
        if held < self.limit and not self._waiters.get(tenant):
            self._held[tenant] = held + 1
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._waiters.setdefault(tenant, deque())
        waiters.append(waiter)
        try:
            await asyncio.wait({waiter}, timeout=timeout)
        except BaseException:  # the request itself was cancelled
            if waiter.done():
                self.release(tenant)  # handed over just now: pass it on
            else:
                self._forget(tenant, waiter)
            raise
        if not waiter.done():  # timed out
            self._forget(tenant, waiter)
            return False
        return True  # release() handed its place over

    def release(self, tenant: str) -> None:
        """Give back one of ``tenant``'s places: to its next waiter, if one still waits."""
        if not self.limit:
            return
        waiters = self._waiters.get(tenant)
        if waiters:
            waiters.popleft().set_result(None)  # the place passes on; the count is unchanged
            if not waiters:
                del self._waiters[tenant]
            return
        held = self._held.get(tenant, 0) - 1
        if held > 0:
            self._held[tenant] = held
        else:
            self._held.pop(tenant, None)

    def waiting(self, tenant: str) -> int:
        """How many of ``tenant``'s requests wait for a place."""
        return len(self._waiters.get(tenant, ()))

    def _forget(self, tenant: str, waiter: asyncio.Future[None]) -> None:
        waiter.cancel()
        waiters = self._waiters.get(tenant)
        if waiters is not None:
            waiters.remove(waiter)
            if not waiters:
                del self._waiters[tenant]
