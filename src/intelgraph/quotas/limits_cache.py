"""A tenant's effective limits, kept for a few seconds so quota checks do not query the store."""

from __future__ import annotations

import threading
from collections.abc import Callable

from intelgraph.kernel.clock import Clock
from intelgraph.tenants.plans import EffectiveLimits

LimitsFor = Callable[[str], EffectiveLimits]
"""``limits_for(tenant_id)``: the tenant's plan preset merged with its live overrides."""


class CachedLimits:
    """``limits_for`` behind a TTL cache; an entry never outlives the earliest override expiry.

    Call :meth:`invalidate` from ``on_limits_changed`` so a plan change or override applies
    at once on this replica; other replicas pick it up within ``ttl_seconds``.
    """

    def __init__(self, source: LimitsFor, clock: Clock, ttl_seconds: float = 5.0) -> None:
        self._source = source
        self._clock = clock
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[float, EffectiveLimits]] = {}
        self._lock = threading.Lock()

    def __call__(self, tenant_id: str) -> EffectiveLimits:
        """The tenant's effective limits; raises what ``source`` raises on a miss."""
        found = self._entries.get(tenant_id)
        now = self._clock.monotonic()
        if found is not None and found[0] > now:
            return found[1]
        limits = self._source(tenant_id)
        lifetime = self._ttl
        wall = self._clock.now()
        for limit in limits.limits.values():
            if limit.expires_at is not None:
                lifetime = min(lifetime, max(0.0, (limit.expires_at - wall).total_seconds()))
        with self._lock:
            self._entries[tenant_id] = (now + lifetime, limits)
        return limits

    def invalidate(self, tenant_id: str | None = None) -> None:
        """Forget one tenant's limits (or all of them) so the next call reads them afresh."""
        with self._lock:
            if tenant_id is None:
                self._entries.clear()
            else:
                self._entries.pop(tenant_id, None)
