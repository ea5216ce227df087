"""CachedLimits: a tenant's limits for a few seconds, never past an override's expiry."""

from __future__ import annotations

from datetime import timedelta

from intelgraph.kernel.clock import ManualClock
from intelgraph.quotas.limits_cache import CachedLimits
from intelgraph.tenants.plans import EffectiveLimit, EffectiveLimits, LimitName
from quotas.stack import START, limits


def test_limits_are_read_once_per_ttl_and_afresh_after_invalidate() -> None:
    clock = ManualClock(START)
    reads: list[str] = []

    def source(tenant_id: str) -> EffectiveLimits:
        reads.append(tenant_id)
        return limits()(tenant_id)

    cached = CachedLimits(source, clock, ttl_seconds=5)
    cached("ten_a")
    cached("ten_a")
    clock.advance(4.9)
    cached("ten_a")
    assert reads == ["ten_a"]
    cached.invalidate("ten_a")  # what on_limits_changed calls
    cached("ten_a")
    clock.advance(5)
    cached("ten_a")
    assert reads == ["ten_a"] * 3


def test_an_expiring_override_stops_applying_when_it_expires_inside_the_ttl() -> None:
    clock = ManualClock(START)
    expires = START + timedelta(seconds=2)

    def source(tenant_id: str) -> EffectiveLimits:
        base = limits(api_rpm=100)(tenant_id)
        if clock.now() >= expires:
            return base
        override = EffectiveLimit(LimitName.API_RPM, 5000, "override:ovr_1", expires)
        return EffectiveLimits(tenant_id, base.plan, base.limits | {LimitName.API_RPM: override})

    cached = CachedLimits(source, clock, ttl_seconds=60)
    assert cached("ten_a").value(LimitName.API_RPM) == 5000
    clock.advance(2)
    assert cached("ten_a").value(LimitName.API_RPM) == 100
