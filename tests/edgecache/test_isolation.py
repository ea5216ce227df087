"""Two tenants, versions, scopes or variable sets never share an entry; a planted entry of
another tenant under a tenant's key is refused, logged and counted."""

from __future__ import annotations

import logging

import pytest

from conftest import Harness, TenantHandle, person
from edgecache.support import GET_ENTITY, V1_1, cached_read
from intelgraph.edgecache.entries import CacheEntry, strong_etag
from intelgraph.edgecache.keys import CacheKey
from intelgraph.kernel.tenancy import Principal


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    return module_harness


def seeded(harness: Harness, label: str = "Ada Lovelace") -> tuple[TenantHandle, str]:
    tenant = harness.new_tenant()
    response = harness.ingest(tenant.admin_key, [person("ada", label)])
    assert response.status_code == 200, response.text
    return tenant, response.json()["ids"]["ada"]


def test_another_tenant_asking_for_the_same_id_never_gets_the_first_tenants_entry(
    harness: Harness,
) -> None:
    owner, ada = seeded(harness)
    other = harness.new_tenant()
    first = cached_read(harness, owner.admin_key, GET_ENTITY, {"id": ada})
    assert first.json()["data"]["entity"]["id"] == ada
    for _ in range(2):
        stranger = cached_read(harness, other.admin_key, GET_ENTITY, {"id": ada})
        assert stranger.json() == {"data": {"entity": None}}
        assert stranger.headers["etag"] != first.headers["etag"]


def test_versions_scopes_and_variables_get_entries_of_their_own(harness: Harness) -> None:
    tenant, ada = seeded(harness)
    viewer = harness.new_key(tenant, "viewer")
    bob = harness.ingest(tenant.admin_key, [person("bob", "Bob")]).json()["ids"]["bob"]
    variants = [
        (tenant.admin_key, {"id": ada}, {}),
        (tenant.admin_key, {"id": ada}, V1_1),
        (viewer, {"id": ada}, {}),
        (tenant.admin_key, {"id": bob}, {}),
    ]
    outcomes = [
        cached_read(harness, key, GET_ENTITY, variables, headers=headers).headers["x-ig-cache"]
        for key, variables, headers in variants
    ]
    assert outcomes == ["MISS"] * 4
    again = [
        cached_read(harness, key, GET_ENTITY, variables, headers=headers).headers["x-ig-cache"]
        for key, variables, headers in variants
    ]
    assert again == ["HIT"] * 4


def test_variable_order_does_not_split_entries(harness: Harness) -> None:
    tenant, _ = seeded(harness)
    first = harness.client.post(
        "/graphql",
        content=b'{"operationId": "pagerankTop:v1", "variables": {"limit": 3, "type": "PERSON"}}',
        headers={"Authorization": f"Bearer {tenant.admin_key}", "content-type": "application/json"},
    )
    second = harness.client.post(
        "/graphql",
        content=b'{"operationId": "pagerankTop:v1", "variables": {"type": "PERSON", "limit": 3}}',
        headers={"Authorization": f"Bearer {tenant.admin_key}", "content-type": "application/json"},
    )
    assert (first.headers["x-ig-cache"], second.headers["x-ig-cache"]) == ("MISS", "HIT")


def test_an_entry_of_another_tenant_under_this_tenants_key_is_refused_and_counted(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    victim, ada = seeded(harness)
    intruder, _ = seeded(harness, label="Intruder Secret")
    principal = Principal(victim.id, "k", "n", ("admin",))
    key = CacheKey.for_request(principal, GET_ENTITY, "1.0", {"id": ada})
    leaked = b'{"data":{"entity":{"label":"Intruder Secret"}}}'
    entry = CacheEntry(intruder.id, GET_ENTITY, "entity", leaked, strong_etag(leaked), 4e9 - 10, 30)
    cache = harness.services.edge_cache
    cache.backend.put_raw(key, entry, keep=60)  # type: ignore[attr-defined]
    leaks = cache.metrics.cache_leak_suspected
    before = leaks._value.get()
    with caplog.at_level(logging.ERROR, logger="intelgraph.edgecache.service"):
        response = cached_read(harness, victim.admin_key, GET_ENTITY, {"id": ada})
    assert response.status_code == 200
    assert b"Intruder" not in response.content
    assert response.json()["data"]["entity"]["label"] == "Ada Lovelace"
    assert response.headers["x-ig-cache"] == "MISS"
    assert leaks._value.get() == before + 1
    assert any(
        r.levelno == logging.ERROR and "another tenant" in r.getMessage() for r in caplog.records
    )
