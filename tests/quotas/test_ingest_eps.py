"""ingest_eps: an ingest of N records costs N in a 1 s moving window."""

from __future__ import annotations

from quotas.conftest import StackFactory
from quotas.stack import build_stack, limits, running


def test_ingests_within_a_second_allowance_are_admitted_until_it_is_used(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(limits(ingest_eps=10))
    tenant = stack.tenant()
    first = stack.engine.charge_ingest(tenant, 4, 10)
    second = stack.engine.charge_ingest(tenant, 6, 10)
    third = stack.engine.charge_ingest(tenant, 1, 10)

    assert (first.is_allowed, first.remaining) == (True, 6)
    assert (second.is_allowed, second.remaining) == (True, 0)
    assert not third.is_allowed
    assert third.retry_after_seconds == 1
    error = third.to_error()
    assert error.code == "INGEST_RATE_EXCEEDED" and error.status == 429
    assert "10 records per second" in error.message
    assert error.headers["Retry-After"] == "1"
    assert (
        stack.sample("intelgraph_quota_rejections_total", tenant=tenant, reason="ingest_eps") == 1
    )


def test_a_batch_larger_than_a_second_is_admitted_on_an_empty_window_and_fills_it(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(limits(ingest_eps=10))
    tenant = stack.tenant()
    big = stack.engine.charge_ingest(tenant, 25, 10)
    after = stack.engine.charge_ingest(tenant, 1, 10)

    assert big.is_allowed and big.remaining == 0
    assert not after.is_allowed


def test_a_batch_larger_than_a_second_is_refused_after_another_ingest_with_the_wait(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(limits(ingest_eps=10))
    tenant = stack.tenant()
    assert stack.engine.charge_ingest(tenant, 1, 10).is_allowed
    big = stack.engine.charge_ingest(tenant, 25, 10)

    assert not big.is_allowed
    error = big.to_error()
    assert error.code == "INGEST_RATE_EXCEEDED"
    assert "25 records" in error.message and "10 per second" in error.message
    assert "retry in 1 s" in error.message
    assert error.details["retryAfter"] == 1


def test_a_refused_batch_is_admitted_after_waiting_retry_after(make_stack: StackFactory) -> None:
    stack = make_stack(limits(ingest_eps=10))
    tenant = stack.tenant()
    stack.engine.charge_ingest(tenant, 10, 10)
    refused = stack.engine.charge_ingest(tenant, 5, 10)
    assert not refused.is_allowed

    stack.let_time_pass(refused.retry_after_seconds + 0.05)

    assert stack.engine.charge_ingest(tenant, 5, 10).is_allowed


def test_in_memory_a_refused_batch_is_admitted_exactly_when_retry_after_has_passed() -> None:
    stack = build_stack(limits(ingest_eps=10))  # memory: the windows run on the stack's clock
    tenant = stack.tenant()
    stack.engine.charge_ingest(tenant, 10, 10)
    refused = stack.engine.charge_ingest(tenant, 5, 10)
    assert refused.retry_after_seconds == 1

    stack.clock.advance(0.999)
    assert not stack.engine.charge_ingest(tenant, 5, 10).is_allowed
    stack.clock.advance(0.001)
    assert stack.engine.charge_ingest(tenant, 5, 10).is_allowed


def test_an_ingest_refusal_over_http_is_429_with_both_policies_listed(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(limits(ingest_eps=10, api_rpm=50))
    tenant = stack.tenant()
    with running(stack) as client:
        admitted = client.post("/v1/ingest?records=8", headers={"x-tenant": tenant})
        refused = client.post("/v1/ingest?records=8", headers={"x-tenant": tenant})

    assert admitted.status_code == 200
    assert admitted.headers["ratelimit"].startswith('"ingest_eps";r=2;t=')
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"]["code"] == "INGEST_RATE_EXCEEDED"
    assert refused.headers["retry-after"] == "1"
    policy = refused.headers["ratelimit-policy"]
    assert '"ingest_eps";q=10;w=1' in policy and '"api_rpm";q=50;w=60' in policy


def test_an_ingest_limit_of_zero_refuses_every_batch(make_stack: StackFactory) -> None:
    stack = make_stack(limits())
    decision = stack.engine.charge_ingest(stack.tenant(), 1, 0)

    assert not decision.is_allowed
    assert decision.to_error().code == "INGEST_RATE_EXCEEDED"
