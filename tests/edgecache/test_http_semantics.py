"""What a client sees on the cache path: validators, 304s, and what is never cached."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from conftest import Harness, TenantHandle, person
from edgecache.support import GET_ENTITY, PAGERANK_TOP, V1_1, auth, cached_read


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    return module_harness


def seeded(harness: Harness) -> tuple[TenantHandle, str]:
    tenant = harness.new_tenant()
    response = harness.ingest(tenant.admin_key, [person("ada", "Ada Lovelace")])
    assert response.status_code == 200, response.text
    return tenant, response.json()["ids"]["ada"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_repeated_read_is_a_hit_with_the_same_body_and_validators(
    harness: Harness, method: str
) -> None:
    tenant, ada = seeded(harness)
    first = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada}, method=method)
    second = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada}, method=method)
    assert (first.headers["x-ig-cache"], second.headers["x-ig-cache"]) == ("MISS", "HIT")
    assert first.content == second.content
    assert first.json()["data"]["entity"]["label"] == "Ada Lovelace"
    for response in (first, second):
        assert response.headers["etag"].startswith('"') and response.headers["etag"].endswith('"')
        assert response.headers["vary"] == "Authorization, X-IG-Api-Version"
        directive, max_age = response.headers["cache-control"].split(", max-age=")
        assert directive == "private" and 0 < int(max_age) <= 30
        assert int(response.headers["age"]) >= 0
    assert first.headers["etag"] == second.headers["etag"]


def test_get_with_a_matching_if_none_match_gets_304_with_validators_and_no_body(
    harness: Harness,
) -> None:
    tenant, ada = seeded(harness)
    first = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada})
    etag = first.headers["etag"]
    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = cached_read(
            harness, tenant.admin_key, GET_ENTITY, {"id": ada}, headers={"If-None-Match": sent}
        )
        assert again.status_code == 304, sent
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["vary"] == "Authorization, X-IG-Api-Version"
        assert again.headers["cache-control"].startswith("private, max-age=")
        assert again.headers["x-ig-cache"] == "HIT"
    other = cached_read(
        harness, tenant.admin_key, GET_ENTITY, {"id": ada}, headers={"If-None-Match": '"nope"'}
    )
    assert other.status_code == 200 and other.content == first.content


def test_post_never_gets_304(harness: Harness) -> None:
    tenant, ada = seeded(harness)
    first = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada}, method="POST")
    again = cached_read(
        harness,
        tenant.admin_key,
        GET_ENTITY,
        {"id": ada},
        method="POST",
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 200
    assert again.headers["x-ig-cache"] == "HIT"
    assert again.content == first.content


def test_an_etag_from_before_a_purge_gets_200_with_the_new_body(harness: Harness) -> None:
    tenant, ada = seeded(harness)
    old = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada})
    harness.ingest(tenant.admin_key, [person("ada", "Ada King")])
    new = cached_read(
        harness,
        tenant.admin_key,
        GET_ENTITY,
        {"id": ada},
        headers={"If-None-Match": old.headers["etag"]},
    )
    assert new.status_code == 200
    assert new.json()["data"]["entity"]["label"] == "Ada King"
    assert new.headers["etag"] != old.headers["etag"]


def test_reads_that_are_not_safelisted_persisted_queries_bypass_the_cache(
    harness: Harness,
) -> None:
    tenant, ada = seeded(harness)
    key = tenant.admin_key
    raw = harness.graphql(key, "query($id: ID!) { entity(id: $id) { id } }", {"id": ada})
    search = harness.client.post(
        "/graphql",
        json={"operationId": "searchEntities:v1", "variables": {"q": "ada"}},
        headers=auth(key),
    )
    mutation = harness.graphql(
        key,
        'mutation { ingest(entities: [{externalId: "x", type: PERSON, label: "X"}]) { rejected } }',
    )
    for response in (raw, search, mutation):
        assert response.status_code == 200, response.text
        assert response.headers["x-ig-cache"] == "BYPASS"
        assert "etag" not in response.headers


def test_the_manifest_text_and_document_id_share_the_operation_entry(harness: Harness) -> None:
    import hashlib

    from edgecache.support import MANIFEST

    tenant, ada = seeded(harness)
    first = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada}, method="POST")
    sha = hashlib.sha256(MANIFEST[GET_ENTITY].encode()).hexdigest()
    by_document = harness.client.post(
        "/graphql",
        json={"documentId": f"sha256:{sha}", "variables": {"id": ada}},
        headers=auth(tenant.admin_key),
    )
    by_text = harness.graphql(tenant.admin_key, MANIFEST[GET_ENTITY], {"id": ada})
    assert first.headers["x-ig-cache"] == "MISS"
    assert by_document.headers["x-ig-cache"] == "HIT"
    assert by_text.headers["x-ig-cache"] == "HIT"
    assert by_document.content == by_text.content == first.content


def test_errors_are_answered_but_never_cached(harness: Harness) -> None:
    tenant, _ = seeded(harness)
    for _ in range(2):
        response = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": None})
        assert response.status_code == 400
        assert response.headers["x-ig-cache"] == "MISS"
        assert "no-store" in response.headers["cache-control"]


def test_hits_and_304s_are_metered_and_charged_against_the_quota(harness: Harness) -> None:
    tenant, ada = seeded(harness)
    metrics = harness.services.metrics
    calls = metrics.api_calls.labels(tenant.id)
    egress = metrics.egress_bytes.labels(tenant.id)
    calls_before, egress_before = calls._value.get(), egress._value.get()
    miss = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada})
    hit = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada})
    not_modified = cached_read(
        harness,
        tenant.admin_key,
        GET_ENTITY,
        {"id": ada},
        headers={"If-None-Match": miss.headers["etag"]},
    )
    assert (miss.status_code, hit.status_code, not_modified.status_code) == (200, 200, 304)
    assert calls._value.get() - calls_before == 3
    assert egress._value.get() - egress_before == len(miss.content) + len(hit.content)
    for response in (hit, not_modified):
        assert "ratelimit" in response.headers and "ratelimit-policy" in response.headers

    override = harness.client.post(
        f"/v1/admin/tenants/{tenant.slug}/overrides",
        json={"limit": "api_rpm", "value": 7, "reason": "edge cache test"},
        headers=harness.operator_headers,
    )
    assert override.status_code == 201, override.text
    harness.services.limits.invalidate(tenant.id)
    statuses = [
        cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada}).status_code
        for _ in range(6)
    ]
    assert statuses[-1] == 429  # 4 counted before (ingest + 3 reads), then 3 hits admitted


def test_a_hit_touches_no_graph_or_registry_table(harness: Harness) -> None:
    tenant, ada = seeded(harness)
    cached_read(harness, tenant.admin_key, PAGERANK_TOP, {"limit": 5})
    cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada}, headers=V1_1)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.lower())

    engine = harness.services.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        hit = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada}, headers=V1_1)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert hit.headers["x-ig-cache"] == "HIT"
    touched = [
        s
        for s in statements
        for table in ("entities", "relationships", "pagerank", "persisted_queries", "edge_cache")
        if table in s
    ]
    assert touched == []
