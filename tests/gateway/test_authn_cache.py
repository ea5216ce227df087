"""The principal cache: a replica trusts a checked key for a bounded time, never longer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from conftest import Harness
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.gateway.authn import PrincipalCache
from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.tenancy import Principal, local_operator
from intelgraph.settings import Settings
from intelgraph.tenants.model import TenantStatus

SEARCH = "query($q: String!) { searchEntities(q: $q) { total } }"
BOUND = 5.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def cached(settings: Settings, clock: ManualClock) -> Iterator[Harness]:
    """An app whose principal cache runs on a clock the test moves."""
    services = start_services(
        settings.model_copy(update={"authn_cache_seconds": BOUND}), clock=clock
    )
    with TestClient(create_app(services=services)) as client:
        yield Harness(client, services, {"Authorization": f"Bearer {settings.operator_key}"})


def key_id_of(harness: Harness, slug: str, key: str) -> str:
    listed = harness.client.get(f"/v1/admin/tenants/{slug}/keys", headers=harness.operator_headers)
    return str(next(k["id"] for k in listed.json()["keys"] if key.startswith(k["prefix"])))


def status_of(harness: Harness, key: str) -> int:
    return int(harness.graphql(key, SEARCH, {"q": "x"}).status_code)


def test_a_key_revoked_elsewhere_is_refused_once_the_bound_has_passed(
    cached: Harness, clock: ManualClock
) -> None:
    tenant = cached.new_tenant()
    key = cached.new_key(tenant, "viewer")
    assert status_of(cached, key) == 200  # checked, now trusted for BOUND seconds
    # Revoked as another replica or the CLI would: not through this app's admin API.
    cached.services.tenants.revoke_key(
        local_operator("t"), tenant.slug, key_id_of(cached, tenant.slug, key)
    )
    clock.advance(BOUND - 0.5)
    within_bound = status_of(cached, key)
    clock.advance(1.0)
    after_bound = cached.graphql(key, SEARCH, {"q": "x"})

    assert within_bound == 200
    assert after_bound.status_code == 401
    assert after_bound.json()["errors"][0]["extensions"]["code"] == "AUTH_INVALID_KEY"


def test_a_key_revoked_through_this_replica_is_refused_at_once(cached: Harness) -> None:
    tenant = cached.new_tenant()
    key = cached.new_key(tenant, "viewer")
    assert status_of(cached, key) == 200
    key_id = key_id_of(cached, tenant.slug, key)

    revoked = cached.client.delete(
        f"/v1/admin/tenants/{tenant.slug}/keys/{key_id}", headers=cached.operator_headers
    )

    assert revoked.status_code == 204
    assert status_of(cached, key) == 401


def test_a_suspension_is_never_cached_so_reactivation_applies_at_once(
    cached: Harness, clock: ManualClock
) -> None:
    tenant = cached.new_tenant()
    cached.services.tenants.set_status(
        local_operator("t"), tenant.slug, TenantStatus.SUSPENDED, reason="unpaid"
    )
    clock.advance(BOUND + 1)
    assert status_of(cached, tenant.admin_key) == 403

    cached.services.tenants.set_status(
        local_operator("t"), tenant.slug, TenantStatus.ACTIVE, reason="paid"
    )

    assert status_of(cached, tenant.admin_key) == 200


def test_zero_seconds_checks_every_request(settings: Settings) -> None:
    services = start_services(settings.model_copy(update={"authn_cache_seconds": 0}))
    with TestClient(create_app(services=services)) as client:
        harness = Harness(client, services, {"Authorization": f"Bearer {settings.operator_key}"})
        tenant = harness.new_tenant()
        key = harness.new_key(tenant, "viewer")
        assert status_of(harness, key) == 200
        services.tenants.revoke_key(
            local_operator("t"), tenant.slug, key_id_of(harness, tenant.slug, key)
        )

        assert status_of(harness, key) == 401


def principal(name: str) -> Principal:
    return Principal(tenant_id="ten_1", key_id=name, name=name, roles=("viewer",))


def test_the_cache_forgets_its_oldest_entry_when_full() -> None:
    cache = PrincipalCache(ManualClock(), ttl_seconds=60, max_entries=2)
    cache.put("a", principal("a"))
    cache.put("b", principal("b"))
    cache.put("c", principal("c"))

    assert cache.get("a") is None
    assert cache.get("b") == principal("b")
    assert cache.get("c") == principal("c")
