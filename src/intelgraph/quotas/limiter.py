"""The quota engine: charges requests, ingests and egress against a tenant's limits.

One engine per process, built by :func:`redis_quota_engine` or :func:`memory_quota_engine`
(``app.py`` chooses: Redis when a URL is set, else memory). When the shared backend cannot
answer, the engine admits (fail-open), counts
``intelgraph_quota_backend_errors_total`` and logs a warning at most every few seconds, and
rests the backend for a second so a dead Redis costs requests nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NamedTuple

import redis

from intelgraph.kernel.clock import Clock, epoch_seconds_of
from intelgraph.obs.metrics import Metrics
from intelgraph.quotas.decisions import GIGABYTE, QuotaDecision
from intelgraph.quotas.egress import EgressTally, MemoryEgressTally, RedisEgressTally
from intelgraph.quotas.windows import BACKEND_ERRORS, MemoryWindows, MovingWindows, RedisWindows
from intelgraph.tenants.plans import EffectiveLimits, LimitName

log = logging.getLogger(__name__)

WARN_INTERVAL_SECONDS = 5.0
BACKEND_REST_SECONDS = 1.0
DAY_SECONDS = 86_400
# Enum members looked up once: attribute access on an Enum class costs on every request.
_API_RPM = LimitName.API_RPM
_INGEST_EPS = LimitName.INGEST_EPS
_EGRESS = LimitName.EGRESS_GB_DAY


class QuotaEngine:
    """api_rpm, ingest_eps and egress_gb_day for every tenant, on one storage backend."""

    def __init__(
        self,
        windows: MovingWindows,
        egress: EgressTally | None,
        clock: Clock,
        metrics: Metrics,
        *,
        backend_rest_seconds: float = BACKEND_REST_SECONDS,
        warn_interval_seconds: float = WARN_INTERVAL_SECONDS,
    ) -> None:
        self._windows = windows
        self._egress: EgressTally = egress if egress is not None else MemoryEgressTally()
        self._clock = clock
        self._epoch_seconds = epoch_seconds_of(clock)
        self._monotonic = clock.monotonic
        self._metrics = metrics
        self._rest_seconds = backend_rest_seconds
        self._warn_interval = warn_interval_seconds
        self._resting_until = float("-inf")
        self._last_warning = float("-inf")

    @property
    def backend_name(self) -> str:
        """``memory`` or ``redis``."""
        return self._windows.name

    # --- api_rpm ----------------------------------------------------------------------------

    async def charge_request(self, tenant_id: str, limits: EffectiveLimits) -> QuotaDecision:
        """Charge one API request against api_rpm (60 s moving window); never raises."""
        quota = limits.limits[_API_RPM].value
        if self._is_resting():
            return _admitted_unchecked(_API_RPM, quota, 1)
        try:
            state = await self._windows.acquire_async(_API_RPM, tenant_id, quota, 1)
        except BACKEND_ERRORS as exc:
            self.report_backend_error("api_rpm", exc)
            return _admitted_unchecked(_API_RPM, quota, 1)
        decision = QuotaDecision(
            _API_RPM,
            state.is_acquired,
            quota,
            state.remaining,
            state.reset_seconds(),
        )
        if not decision.is_allowed:
            self._count(tenant_id, decision)
        return decision

    # --- ingest_eps -------------------------------------------------------------------------

    def charge_ingest(self, tenant_id: str, records: int, limit: int) -> QuotaDecision:
        """Charge an ingest of ``records`` records against ingest_eps = ``limit`` per second.

        A batch larger than one second's allowance is admitted only if the tenant's window is
        empty, and then fills it. Synchronous and thread-safe (call it from the ingest's
        worker thread or a resolver); never raises — check ``is_allowed`` or call
        ``raise_if_refused()`` (INGEST_RATE_EXCEEDED).
        """
        if records > 0 and limit <= 0:  # an override of 0 stops ingest altogether
            decision = QuotaDecision(_INGEST_EPS, False, limit, 0, 1, cost=records)
            self._count(tenant_id, decision)
            return decision
        cost = max(0, min(records, limit))
        if self._is_resting():
            return _admitted_unchecked(_INGEST_EPS, limit, records)
        try:
            state = self._windows.acquire(_INGEST_EPS, tenant_id, limit, cost)
        except BACKEND_ERRORS as exc:
            self.report_backend_error("ingest_eps", exc)
            return _admitted_unchecked(_INGEST_EPS, limit, records)
        decision = QuotaDecision(
            _INGEST_EPS,
            state.is_acquired,
            limit,
            state.remaining,
            state.reset_seconds(),
            cost=records,
            charged_at=state.charged_at if state.is_acquired and cost else None,
        )
        self._count(tenant_id, decision)
        return decision

    def refund_ingest(self, tenant_id: str, charge: QuotaDecision, stored: int) -> QuotaDecision:
        """Give back the part of an admitted ingest charge that ``stored`` records did not use.

        The charge's window then holds what a charge of ``stored`` records would have (a batch
        over the allowance still fills it when it stored that much), never less than zero,
        and nothing once it has left the window. Returns the decision as it reads after the
        refund (for the RateLimit header). Synchronous; never raises.
        """
        if charge.charged_at is None or not charge.is_allowed:
            return charge  # nothing logged: refused, degraded, or a batch of no records
        logged = max(0, min(charge.cost, charge.quota))
        amount = logged - max(0, min(stored, charge.quota))
        if amount <= 0 or self._is_resting():
            return charge
        try:
            refunded = self._windows.refund(_INGEST_EPS, tenant_id, charge.charged_at, amount)
        except BACKEND_ERRORS as exc:
            self.report_backend_error("ingest_refund", exc)
            return charge
        remaining = min(charge.quota, charge.remaining + refunded)
        # An empty window frees nothing later; otherwise its oldest charge is unchanged.
        reset_seconds = 0 if remaining == charge.quota else charge.reset_seconds
        return charge._replace(remaining=remaining, reset_seconds=reset_seconds)

    # --- egress_gb_day ----------------------------------------------------------------------

    def check_egress(self, tenant_id: str, limits: EffectiveLimits) -> QuotaDecision:
        """Refuse once the tenant's response bytes of this UTC day reached egress_gb_day.

        Reads a local tally (no I/O); never raises.
        """
        quota = limits.limits[_EGRESS].value * GIGABYTE
        epoch = self._epoch_seconds()
        used = self._egress.used(tenant_id, int(epoch // DAY_SECONDS))
        decision = QuotaDecision(
            _EGRESS,
            used < quota,
            quota,
            quota - used if used < quota else 0,
            DAY_SECONDS - int(epoch % DAY_SECONDS),
            0,
        )
        if used >= quota:
            self._count(tenant_id, decision)
        return decision

    def add_egress(self, tenant_id: str, nbytes: int) -> None:
        """Count response body bytes sent to the tenant today (after the response)."""
        if nbytes > 0:
            day = int(self._epoch_seconds() // DAY_SECONDS)
            self._egress.add(tenant_id, day, nbytes)

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start background work (the Redis egress sync); call once the app starts."""
        self._egress.start()

    def stop(self) -> None:
        """Stop background work after sending the last egress bytes; call on shutdown."""
        self._egress.stop()

    # --- failures ---------------------------------------------------------------------------

    def _is_resting(self) -> bool:
        return self._monotonic() < self._resting_until

    def report_backend_error(
        self, operation: str, exc: BaseException, *, rest_backend: bool = True
    ) -> None:
        """Count a failed quota check (the request is admitted), rest the backend for a
        moment, and warn at most every few seconds."""
        self._metrics.quota_backend_errors.labels(operation).inc()
        now = self._clock.monotonic()
        if rest_backend:
            self._resting_until = now + self._rest_seconds
        if now - self._last_warning >= self._warn_interval:
            self._last_warning = now
            log.warning(
                "quota check %s failed on the %s backend (%s: %s); admitting requests "
                "without counting them until it answers",
                operation,
                self._windows.name,
                type(exc).__name__,
                exc,
                extra={"operation": operation},
            )

    def _count(self, tenant_id: str, decision: QuotaDecision) -> None:
        if not decision.is_allowed:
            self._metrics.quota_rejections.labels(tenant_id, decision.limit.value).inc()


class IngestCharge(NamedTuple):
    """An admitted ingest charge of a tenant, ready to give back what the store did not keep."""

    engine: QuotaEngine
    tenant_id: str
    decision: QuotaDecision

    def refund_unstored(self, stored: int) -> QuotaDecision:
        """Refund the records of this charge beyond ``stored``; the decision after it."""
        return self.engine.refund_ingest(self.tenant_id, self.decision, stored)


def memory_quota_engine(clock: Clock, metrics: Metrics) -> QuotaEngine:
    """An engine whose windows and egress tally live in this process (one server)."""
    return QuotaEngine(MemoryWindows(clock), MemoryEgressTally(), clock, metrics)


def redis_quota_engine(
    clock: Clock,
    metrics: Metrics,
    redis_url: str,
    *,
    key_prefix: str = "intelgraph",
    timeout_seconds: float = 1.0,
    egress_sync_seconds: float = 0.25,
) -> QuotaEngine:
    """An engine on Redis, so replicas share budgets.

    Nothing connects here: a Redis that is down shows up as fail-open admissions.
    """
    windows = RedisWindows(redis_url, key_prefix, timeout_seconds)
    client = redis.Redis.from_url(
        redis_url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
    )
    engine: QuotaEngine

    def egress_failed(exc: Exception) -> None:
        engine.report_backend_error("egress", exc)

    egress = RedisEgressTally(client, key_prefix, clock, egress_failed, egress_sync_seconds)
    engine = QuotaEngine(windows, egress, clock, metrics)
    return engine


def seconds_to_utc_midnight(now: datetime) -> int:
    """Whole seconds from ``now`` to the next 00:00 UTC, rounded up (1..86400)."""
    return DAY_SECONDS - int(now.timestamp() % DAY_SECONDS)


def _admitted_unchecked(limit: LimitName, quota: int, cost: int) -> QuotaDecision:
    return QuotaDecision(limit, True, quota, quota, 0, cost=cost, is_degraded=True)
