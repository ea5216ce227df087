"""Meters at the gateway: api_calls and egress_bytes per tenant, quota rejections excluded."""

from __future__ import annotations

from quotas.stack import build_stack, limits, running


def test_api_calls_count_every_tenant_request_except_quota_rejections() -> None:
    stack = build_stack(limits(api_rpm=4))
    tenant = stack.tenant()
    with running(stack) as client:
        statuses = [
            client.get("/v1/things", headers={"x-tenant": tenant}).status_code,
            client.get("/v1/fail", headers={"x-tenant": tenant}).status_code,
            client.get("/v1/nowhere", headers={"x-tenant": tenant}).status_code,
            client.get("/v1/stream", headers={"x-tenant": tenant}).status_code,
            client.get("/v1/things", headers={"x-tenant": tenant}).status_code,
            client.get("/v1/things", headers={"x-tenant": tenant}).status_code,
        ]

    assert statuses == [200, 400, 404, 200, 429, 429]
    assert stack.sample("intelgraph_api_calls_total", tenant=tenant) == 4
    rows = {row.meter: row.value for row in stack.meters.drain()}
    assert rows["api_calls"] == 4


def test_egress_bytes_equal_the_response_body_bytes_the_client_received() -> None:
    stack = build_stack(limits(api_rpm=100))
    tenant = stack.tenant()
    with running(stack) as client:
        responses = [
            client.get("/v1/things?size=0", headers={"x-tenant": tenant}),
            client.get("/v1/things?size=70000", headers={"x-tenant": tenant}),
            client.get("/v1/stream?chunks=50", headers={"x-tenant": tenant}),
            client.get("/v1/fail", headers={"x-tenant": tenant}),
        ]

    received = sum(len(r.content) for r in responses)
    assert stack.sample("intelgraph_egress_bytes_total", tenant=tenant) == received
    rows = {row.meter: row.value for row in stack.meters.drain()}
    assert rows["egress_bytes"] == received


def test_requests_without_a_tenant_are_not_metered() -> None:
    stack = build_stack(limits())
    with running(stack) as client:
        client.get("/v1/things", headers={"x-operator": "1"})
        client.get("/healthz")

    assert stack.meters.drain() == []
    assert stack.metrics.registry.get_sample_value("intelgraph_api_calls_total", {}) is None


def test_usage_is_bucketed_by_utc_minute() -> None:
    stack = build_stack(limits())
    tenant = stack.tenant()
    with running(stack) as client:
        client.get("/v1/things", headers={"x-tenant": tenant})
        stack.clock.advance(30)  # 12:00:30, same minute
        client.get("/v1/things", headers={"x-tenant": tenant})
        stack.clock.advance(30)  # 12:01:00, next minute
        client.get("/v1/things", headers={"x-tenant": tenant})

    calls = [
        (row.bucket_start.strftime("%H:%M"), row.value)
        for row in stack.meters.drain()
        if row.meter == "api_calls"
    ]
    assert calls == [("12:00", 2), ("12:01", 1)]
