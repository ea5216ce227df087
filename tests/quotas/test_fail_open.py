"""An unreachable Redis: requests are admitted, a metric and one warning say so."""

from __future__ import annotations

import logging

import pytest

from intelgraph.tenants.plans import LimitName
from quotas.stack import build_stack, limits, running

CLOSED_PORT = "redis://127.0.0.1:1/0"


def test_requests_are_admitted_and_counted_when_redis_is_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stack = build_stack(limits(api_rpm=2), CLOSED_PORT, "igtest-closed")
    tenant = stack.tenant()
    with caplog.at_level(logging.WARNING, logger="intelgraph.quotas"), running(stack) as client:
        responses = [client.get("/v1/things", headers={"x-tenant": tenant}) for _ in range(10)]

    assert [r.status_code for r in responses] == [200] * 10
    assert stack.sample("intelgraph_quota_backend_errors_total", operation="api_rpm") >= 1
    warnings = [r for r in caplog.records if "admitting requests" in r.getMessage()]
    assert len(warnings) == 1  # not one per request
    assert '"api_rpm"' not in responses[-1].headers["ratelimit"]  # nothing known to report
    assert stack.sample("intelgraph_api_calls_total", tenant=tenant) == 10  # metering goes on


def test_ingest_is_admitted_when_redis_is_unreachable() -> None:
    stack = build_stack(limits(), CLOSED_PORT, "igtest-closed")
    decision = stack.engine.charge_ingest(stack.tenant(), 50, 10)

    assert decision.is_allowed and decision.is_degraded
    assert decision.limit is LimitName.INGEST_EPS
    assert stack.sample("intelgraph_quota_backend_errors_total", operation="ingest_eps") == 1


def test_egress_bytes_that_cannot_reach_redis_still_count_on_this_replica() -> None:
    stack = build_stack(limits(egress_gb_day=1), CLOSED_PORT, "igtest-closed")
    tenant = stack.tenant()
    with running(stack) as client:
        client.get("/v1/things?size=100", headers={"x-tenant": tenant})
    # stop() tried a last sync, which failed and was counted; the bytes stay known here
    assert stack.sample("intelgraph_quota_backend_errors_total", operation="egress") >= 1
    limits_now = stack.limits_for(tenant)
    assert stack.engine.check_egress(tenant, limits_now).remaining < 10**9
