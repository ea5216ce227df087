"""The tenants area decides who may change tenants, keys, plans, overrides and platform
switches itself: a caller that skips the REST routes (a script, another area, a future
route) meets the same refusals, and every change it makes is audited under its principal."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from sqlalchemy import Connection

from conftest import Harness, person
from intelgraph.audit import service as audit
from intelgraph.kernel.errors import IntelGraphError
from intelgraph.kernel.tenancy import OperatorRole, Principal, Role, local_operator
from intelgraph.tenants.model import TenantStatus
from intelgraph.tenants.platform_settings import FORCE_API_V1_DEFAULT
from intelgraph.tenants.service import TenantService

LEAD = local_operator("lead")  # the platform-admin at the terminal


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    """One app per backend for this module; every test makes its own tenants."""
    return module_harness


def new_slug() -> str:
    return f"t-{secrets.token_hex(5)}"


def tenant_admin(tenant_id: str) -> Principal:
    """A tenant admin's key, as authentication would hand it to a service."""
    return Principal(
        tenant_id=tenant_id, key_id=f"key_{secrets.token_hex(4)}", name="admin", roles=("admin",)
    )


def operator(role: OperatorRole, name: str = "alice") -> Principal:
    """A named operator with one role, as authentication would hand it to a service."""
    return Principal(
        tenant_id=None,
        key_id=f"opk_{secrets.token_hex(4)}",
        name=name,
        roles=(role.value,),
        is_operator=True,
    )


def refused(attempt: Any, *args: Any, **kwargs: Any) -> IntelGraphError:
    with pytest.raises(IntelGraphError) as caught:
        attempt(*args, **kwargs)
    return caught.value


def test_a_tenant_admin_calling_the_service_directly_cannot_create_a_tenant(
    harness: Harness,
) -> None:
    mine = harness.new_tenant()
    slug = new_slug()

    error = refused(
        harness.services.tenants.create_tenant,
        name="Sneaky",
        slug=slug,
        principal=tenant_admin(mine.id),
    )

    assert error.code == "POLICY_DENIED"
    assert "tenant.admin" in error.message
    assert slug not in {t.slug for t in harness.services.tenants.list_tenants()}


def test_a_tenant_admin_calling_the_service_directly_cannot_override_its_own_limits(
    harness: Harness,
) -> None:
    mine = harness.new_tenant()
    entitlements = harness.services.entitlements
    before = entitlements.effective_limits(mine.id).limits

    override = refused(
        entitlements.set_override, tenant_admin(mine.id), mine.id, "api_rpm", 10**9, reason="me"
    )
    plan = refused(
        entitlements.change_plan, tenant_admin(mine.id), mine.id, "enterprise", reason=""
    )

    assert override.code == plan.code == "POLICY_DENIED"
    assert entitlements.effective_limits(mine.id).limits == before


def test_a_tenant_admin_asking_for_another_tenants_keys_is_refused_alike_whether_it_exists(
    harness: Harness,
) -> None:
    mine, theirs = harness.new_tenant(), harness.new_tenant()
    tenants = harness.services.tenants

    existing = refused(tenants.list_keys, tenant_admin(mine.id), theirs.slug)
    missing = refused(tenants.list_keys, tenant_admin(mine.id), new_slug())

    assert existing.code == missing.code == "POLICY_DENIED"
    assert existing.message == missing.message
    assert [k.tenant_id for k in tenants.list_keys(tenant_admin(mine.id), mine.slug)] == [mine.id]


def test_a_billing_admin_operator_may_neither_suspend_a_tenant_nor_flip_a_platform_switch(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    billing = operator(OperatorRole.BILLING_ADMIN)
    forced_before = harness.services.platform.get(FORCE_API_V1_DEFAULT, False)

    suspend = refused(
        harness.services.tenants.set_status, billing, tenant.slug, TenantStatus.SUSPENDED
    )
    switch = refused(harness.services.platform.set, billing, FORCE_API_V1_DEFAULT, True)

    assert suspend.code == switch.code == "POLICY_DENIED"
    assert harness.services.tenants.get_tenant(tenant.id).status == "active"
    assert harness.services.platform.get(FORCE_API_V1_DEFAULT, False) == forced_before


def test_a_suspension_through_the_service_is_audited_under_the_operator_who_made_it(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    alice = operator(OperatorRole.PLATFORM_ADMIN, name=f"alice-{secrets.token_hex(3)}")

    harness.services.tenants.set_status(alice, tenant.slug, TenantStatus.SUSPENDED, reason="unpaid")

    (record,) = [
        r
        for r in audit.list_records(harness.services.engine, tenant.id, 100)
        if r.action == "tenant.suspend"
    ]
    assert record.actor == f"operator:{alice.name}"
    assert record.reason == "unpaid"
    assert record.new_value == {"status": "suspended"}


def test_an_override_made_over_rest_is_audited_and_stored_under_the_callers_key(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    issued = harness.services.operators.create(
        LEAD, name=f"bob-{secrets.token_hex(3)}", role=OperatorRole.PLATFORM_ADMIN.value
    )

    response = harness.client.post(
        f"/v1/admin/tenants/{tenant.slug}/overrides",
        json={"limit": "api_rpm", "value": 1234, "reason": "launch week"},
        headers={"Authorization": f"Bearer {issued.plaintext}"},
    )

    assert response.status_code == 201, response.text
    (record,) = [
        r
        for r in audit.list_records(harness.services.engine, tenant.id, 100)
        if r.action == "quota.override"
    ]
    assert record.actor == f"operator:{issued.operator.name}"
    assert record.reason == "launch week"
    assert response.json()["limits"]["api_rpm"]["value"] == 1234


def test_a_tenant_whose_created_hook_fails_is_not_created(harness: Harness) -> None:
    services = harness.services
    seen: list[str] = []

    def failing_hook(conn: Connection, tenant_id: str) -> None:
        seen.append(tenant_id)
        raise RuntimeError("the graph could not start its chain")

    tenants = TenantService(
        services.engine,
        services.clock,
        services.operator_key,
        services.entitlements,
        services.policy,
        on_tenant_created=[failing_hook],
    )
    slug = new_slug()

    with pytest.raises(RuntimeError):
        tenants.create_tenant(LEAD, name="Half made", slug=slug)

    assert len(seen) == 1
    assert slug not in {t.slug for t in services.tenants.list_tenants()}
    assert [r for r in audit.list_records(services.engine, seen[0], 10)] == []


def test_a_new_tenant_keys_first_admin_can_ingest_at_once(harness: Harness) -> None:
    """The graph's provenance chain is started by the hook app.py registers."""
    tenant, issued = harness.services.tenants.create_tenant(LEAD, name="Fresh", slug=new_slug())

    response = harness.ingest(issued.plaintext, [person("p-1", "Ada")])

    assert response.status_code == 200, response.text
    assert issued.key.roles == [Role.ADMIN.value]
    assert harness.services.graph.counts(tenant.id)["entities"] == 1
