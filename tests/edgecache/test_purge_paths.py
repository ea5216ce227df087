"""Every way the graph changes purges what it must: read through the cache, change, read
again, and compare with the same read around the cache (a stale body fails)."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import Harness, TenantHandle, edge, person
from edgecache.support import GET_ENTITY, PAGERANK_TOP, V1_1, auth, cached_read, truth


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    return module_harness


def seeded(harness: Harness) -> tuple[TenantHandle, str, str]:
    tenant = harness.new_tenant()
    response = harness.ingest(tenant.admin_key, [person("ada", "Ada"), person("bob", "Bob")])
    assert response.status_code == 200, response.text
    ids = response.json()["ids"]
    return tenant, ids["ada"], ids["bob"]


def read_fresh(
    harness: Harness,
    key: str,
    operation_id: str,
    variables: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The cached read after a change; fails when it differs from the read around the cache."""
    for method in ("GET", "POST"):
        response = cached_read(
            harness, key, operation_id, variables, method=method, headers=headers
        )
        assert response.status_code == 200, response.text
        assert response.json() == truth(harness, key, operation_id, variables, headers), method
    body: dict[str, Any] = response.json()
    return body


def warm(
    harness: Harness,
    key: str,
    operation_id: str,
    variables: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> None:
    for method in ("GET", "POST"):
        cached_read(harness, key, operation_id, variables, method=method, headers=headers)
        again = cached_read(harness, key, operation_id, variables, method=method, headers=headers)
        assert again.headers["x-ig-cache"] == "HIT"


def test_ndjson_ingest_of_an_entity_purges_its_reads(harness: Harness) -> None:
    tenant, ada, _ = seeded(harness)
    for headers in ({}, V1_1):
        warm(harness, tenant.admin_key, GET_ENTITY, {"id": ada}, headers)
    harness.ingest(tenant.admin_key, [person("ada", "Ada King")])
    for headers in ({}, V1_1):
        body = read_fresh(harness, tenant.admin_key, GET_ENTITY, {"id": ada}, headers)
        assert body["data"]["entity"]["label"] == "Ada King"


def test_ndjson_ingest_of_a_relationship_purges_both_ends(harness: Harness) -> None:
    tenant, ada, bob = seeded(harness)
    for entity in (ada, bob):
        warm(harness, tenant.admin_key, GET_ENTITY, {"id": entity})
    harness.ingest(tenant.admin_key, [edge("WORKS_FOR", "ada", "bob")])
    for entity in (ada, bob):
        body = read_fresh(harness, tenant.admin_key, GET_ENTITY, {"id": entity})
        assert body["data"]["entity"]["degree"] == 1


@pytest.mark.parametrize("version", [{}, V1_1])
def test_graphql_ingest_mutation_purges_entities_and_relationship_ends(
    harness: Harness, version: dict[str, str]
) -> None:
    tenant, ada, bob = seeded(harness)
    for entity in (ada, bob):
        warm(harness, tenant.admin_key, GET_ENTITY, {"id": entity}, version)
    mutation = harness.client.post(
        "/graphql",
        json={
            "query": "mutation { ingest("
            'entities: [{externalId: "ada", type: PERSON, label: "Ada B"}], '
            'relationships: [{type: CONNECTED_TO, from: "ada", to: "bob"}]) { rejected } }'
        },
        headers=auth(tenant.admin_key) | version,
    )
    assert mutation.json() == {"data": {"ingest": {"rejected": 0}}}
    ada_body = read_fresh(harness, tenant.admin_key, GET_ENTITY, {"id": ada}, version)
    bob_body = read_fresh(harness, tenant.admin_key, GET_ENTITY, {"id": bob}, version)
    assert ada_body["data"]["entity"]["label"] == "Ada B"
    assert ada_body["data"]["entity"]["degree"] == bob_body["data"]["entity"]["degree"] == 1


def test_pagerank_recompute_purges_the_tenants_pagerank_reads(harness: Harness) -> None:
    tenant, _, _ = seeded(harness)
    harness.services.graph.recompute_pagerank(tenant.id)
    warm(harness, tenant.admin_key, PAGERANK_TOP, {"limit": 5})
    before = cached_read(harness, tenant.admin_key, PAGERANK_TOP, {"limit": 5}).json()
    harness.ingest(
        tenant.admin_key,
        [person("cy", "Cy"), edge("CONNECTED_TO", "ada", "bob"), edge("CONNECTED_TO", "cy", "bob")],
    )
    harness.services.graph.recompute_pagerank(tenant.id)  # what the debouncer and CLI call
    after = read_fresh(harness, tenant.admin_key, PAGERANK_TOP, {"limit": 5})
    assert after != before
    assert after["data"]["pagerankTop"][0]["entity"]["label"] == "Bob"


def test_a_label_change_purges_pagerank_reads_that_show_the_entity(harness: Harness) -> None:
    tenant, _, _ = seeded(harness)
    harness.services.graph.recompute_pagerank(tenant.id)
    warm(harness, tenant.admin_key, PAGERANK_TOP, {"limit": 5})
    harness.ingest(tenant.admin_key, [person("bob", "Robert")])
    body = read_fresh(harness, tenant.admin_key, PAGERANK_TOP, {"limit": 5})
    assert "Robert" in {score["entity"]["label"] for score in body["data"]["pagerankTop"]}


def test_purge_cache_mutation_removes_the_entry(harness: Harness) -> None:
    tenant, ada, _ = seeded(harness)
    warm(harness, tenant.admin_key, GET_ENTITY, {"id": ada})
    vars_hash = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada}).headers[
        "x-ig-cache-vars-hash"
    ]
    purge = harness.client.post(
        "/graphql",
        json={
            "query": "mutation($op: String!, $h: String!) { purgeCache(opId: $op, varsHash: $h) }",
            "variables": {"op": GET_ENTITY, "h": vars_hash},
        },
        headers=auth(tenant.admin_key) | V1_1,
    )
    assert purge.json() == {"data": {"purgeCache": True}}
    again = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada})
    assert again.headers["x-ig-cache"] == "MISS"
    read_fresh(harness, tenant.admin_key, GET_ENTITY, {"id": ada})


def test_purge_cache_needs_admin_write(harness: Harness) -> None:
    tenant, ada, _ = seeded(harness)
    viewer = harness.new_key(tenant, "viewer")
    warm(harness, tenant.admin_key, GET_ENTITY, {"id": ada})
    refused = harness.client.post(
        "/graphql",
        json={"query": f'mutation {{ purgeCache(opId: "{GET_ENTITY}", varsHash: "*") }}'},
        headers=auth(viewer) | V1_1,
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "POLICY_DENIED"
    still = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada})
    assert still.headers["x-ig-cache"] == "HIT"


def test_rest_purge_by_the_operator_and_by_a_tenant_admin(harness: Harness) -> None:
    tenant, ada, bob = seeded(harness)
    for entity in (ada, bob):
        warm(harness, tenant.admin_key, GET_ENTITY, {"id": entity})
    by_operator = harness.client.post(
        "/v1/admin/cache/purge",
        json={"tenant": tenant.slug, "opId": GET_ENTITY, "variables": {"id": ada}, "reason": "t"},
        headers=harness.operator_headers,
    )
    assert by_operator.status_code == 200, by_operator.text
    assert by_operator.json()["purged"] == 1  # GET and POST of one read share one entry
    assert (
        cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada}).headers["x-ig-cache"]
        == "MISS"
    )
    assert (
        cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": bob}).headers["x-ig-cache"]
        == "HIT"
    )
    by_admin = harness.client.post(
        "/v1/admin/cache/purge",
        json={"opId": GET_ENTITY, "varsHash": "*"},
        headers=auth(tenant.admin_key),
    )
    assert by_admin.status_code == 200, by_admin.text
    assert (
        cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": bob}).headers["x-ig-cache"]
        == "MISS"
    )
    audit = harness.client.get(
        f"/v1/admin/audit?tenant={tenant.slug}", headers=harness.operator_headers
    ).json()["records"]
    assert [r["action"] for r in audit].count("edge_cache.purge") == 2


def test_entity_resolution_merges_and_splits_do_not_change_cached_responses(
    harness: Harness,
) -> None:
    from er_service.support import resolved_tenant

    resolved = resolved_tenant(harness)
    first, second = resolved.duplicate_pair()
    for headers in ({}, V1_1):
        for entity in (first, second):
            warm(harness, resolved.key, GET_ENTITY, {"id": entity}, headers)
    event = harness.services.er.clustering.split(
        resolved.principal(), [second], reason="cache test"
    )
    harness.services.er.clustering.revert(resolved.principal(), event.id, reason="cache test")
    for headers in ({}, V1_1):
        for entity in (first, second):
            read_fresh(harness, resolved.key, GET_ENTITY, {"id": entity}, headers)
