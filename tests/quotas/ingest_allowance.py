"""A tenant whose ingest_eps allowance is a few records a second, and people to spend it on:
for the tests of what an ingest over HTTP is charged."""

from __future__ import annotations

from typing import Any

from conftest import Harness, TenantHandle, person

ALLOWANCE = 3  # records per second


def tenant_with_small_allowance(harness: Harness) -> TenantHandle:
    """A new tenant with an ingest_eps override of ``ALLOWANCE``."""
    tenant = harness.new_tenant()
    response = harness.client.post(
        f"/v1/admin/tenants/{tenant.slug}/overrides",
        json={"limit": "ingest_eps", "value": ALLOWANCE, "reason": "test"},
        headers=harness.operator_headers,
    )
    assert response.status_code == 201, response.text
    return tenant


def people(prefix: str, n: int) -> list[dict[str, Any]]:
    return [person(f"{prefix}-{i}", f"Person {i}") for i in range(n)]
