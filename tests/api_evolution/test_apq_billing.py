"""A persisted-query answer that only asks the client to resend (not found, not supported)
is not billed, yet counts against the rate limit (issue 12, "APQ-off tenants pay twice")."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from conftest import Harness, TenantHandle

TEXT = "query Typename { __typename }"
HASH_ONLY = {
    "extensions": {
        "persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(TEXT.encode()).hexdigest()}
    }
}


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    return module_harness


def tenant_with_apq(harness: Harness, *, allows_apq: bool) -> TenantHandle:
    tenant = harness.new_tenant()
    response = harness.client.put(
        f"/v1/admin/tenants/{tenant.slug}/api-settings",
        json={"allowsApq": allows_apq},
        headers=harness.operator_headers,
    )
    assert response.status_code == 200, response.text
    return tenant


def post(harness: Harness, tenant: TenantHandle, body: dict[str, Any]) -> Any:
    return harness.client.post("/graphql", json=body, headers=tenant.headers)


def metered(harness: Harness, tenant: TenantHandle) -> tuple[float, float]:
    metrics = harness.services.metrics
    return (
        metrics.api_calls.labels(tenant.id)._value.get(),
        metrics.egress_bytes.labels(tenant.id)._value.get(),
    )


def test_a_hash_only_request_to_a_tenant_with_apq_off_is_answered_not_supported(
    harness: Harness,
) -> None:
    tenant = tenant_with_apq(harness, allows_apq=False)
    response = post(harness, tenant, HASH_ONLY)
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["message"] == "PersistedQueryNotSupported"  # urql matches the message
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"
    assert error["extensions"]["allowsApq"] is False
    assert "query text" in error["extensions"]["hint"]


def test_a_hash_only_request_to_a_tenant_with_apq_on_is_answered_not_found(
    harness: Harness,
) -> None:
    tenant = tenant_with_apq(harness, allows_apq=True)
    response = post(harness, tenant, HASH_ONLY)
    assert response.status_code == 404, response.text
    error = response.json()["errors"][0]
    assert error["message"] == "PersistedQueryNotFound"  # urql matches the message
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize("allows_apq", [False, True], ids=["not-supported", "not-found"])
def test_a_resend_answer_is_not_metered_but_counts_against_the_rate_limit(
    harness: Harness, allows_apq: bool
) -> None:
    tenant = tenant_with_apq(harness, allows_apq=allows_apq)
    override = harness.client.post(
        f"/v1/admin/tenants/{tenant.slug}/overrides",
        json={"limit": "api_rpm", "value": 3, "reason": "APQ billing test"},
        headers=harness.operator_headers,
    )
    assert override.status_code == 201, override.text
    harness.services.limits.invalidate(tenant.id)
    before = metered(harness, tenant)
    statuses = [post(harness, tenant, HASH_ONLY).status_code for _ in range(3)]
    assert statuses == [400 if not allows_apq else 404] * 3
    assert metered(harness, tenant) == before  # neither an api_call nor egress
    assert post(harness, tenant, {"query": TEXT}).status_code == 429  # the 3 were counted


def test_the_resent_query_is_metered_once(harness: Harness) -> None:
    tenant = tenant_with_apq(harness, allows_apq=False)
    calls_before, _ = metered(harness, tenant)
    assert post(harness, tenant, HASH_ONLY).status_code == 400
    assert post(harness, tenant, {"query": TEXT}).status_code == 200
    calls_after, _ = metered(harness, tenant)
    assert calls_after - calls_before == 1
