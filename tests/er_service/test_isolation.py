"""Tenant isolation: one tenant's models, golden sets, clusters, review items and
thresholds are never visible to, nor usable by, another."""

from __future__ import annotations

from conftest import Harness

from .support import V1_1, entity_line, golden_csv, headers, people, resolved_tenant


def _code(response: object) -> str:
    body = response.json()  # type: ignore[attr-defined]
    code: str = body["errors"][0]["extensions"]["code"]
    return code


def test_one_tenants_models_golden_sets_and_clusters_are_invisible_to_another(
    harness: Harness,
) -> None:
    owner = resolved_tenant(harness)
    harness.client.post(
        "/v1/er/golden-sets?name=secret.csv",
        content=golden_csv(people(60, 21)),
        headers=headers(owner.key) | {"content-type": "text/csv"},
    )
    harness.services.er.drift.run_nightly([owner.tenant.id])
    proposal = harness.client.post(
        "/v1/er/thresholds",
        json={"type": "PERSON", "autoMerge": 0.95, "review": 0.7},
        headers=headers(owner.key),
    ).json()["thresholds"]
    first, second = owner.duplicate_pair()
    cluster_id = harness.client.get(
        f"/v1/er/entities/{first}/resolution", headers=headers(owner.key)
    ).json()["resolution"]["clusterId"]
    other = harness.new_tenant()
    them = headers(other.admin_key)

    assert harness.client.get("/v1/er/models", headers=them).json()["models"] == []
    assert harness.client.get("/v1/er/golden-sets", headers=them).json()["goldenSets"] == []
    assert harness.client.get("/v1/er/runs", headers=them).json()["runs"] == []
    assert harness.services.er.training.live_model(other.id, "PERSON") is None
    assert harness.services.er.drift.run_nightly([other.id]).runs == []
    assert (
        _code(harness.client.get(f"/v1/er/clusters/{cluster_id}", headers=them)) == "ER_NOT_FOUND"
    )
    resolution = harness.client.get(f"/v1/er/entities/{first}/resolution", headers=them)
    assert _code(resolution) == "ENTITY_NOT_FOUND"
    split = harness.client.post("/v1/er/splits", json={"entityIds": [second]}, headers=them)
    assert _code(split) == "ER_NOT_FOUND"
    approve = harness.client.post(f"/v1/er/thresholds/{proposal['id']}/approve", headers=them)
    assert _code(approve) == "ER_NOT_FOUND"
    explained = harness.client.post(
        "/graphql",
        json={
            "query": "query($a: ID!, $b: ID!) { explainMatch(a: $a, b: $b) { matchWeight } }",
            "variables": {"a": first, "b": second},
        },
        headers=them | V1_1,
    ).json()
    assert explained["errors"][0]["extensions"]["code"] == "ENTITY_NOT_FOUND"
    thresholds = harness.client.get("/v1/er/thresholds", headers=them).json()["thresholds"]
    assert {t["id"] for t in thresholds}.isdisjoint({proposal["id"]})


def test_one_tenants_review_items_are_invisible_to_another(harness: Harness) -> None:
    tenant = harness.new_tenant()
    reviewer = harness.new_key(tenant, "admin")
    records = people()
    harness.ingest(tenant.admin_key, [entity_line(r) for r in records[:60]])
    harness.client.post(
        "/v1/er/models/train", json={"type": "PERSON"}, headers=headers(tenant.admin_key)
    )
    harness.services.er.resolution.drain()
    proposal = harness.client.post(
        "/v1/er/thresholds",
        json={"type": "PERSON", "autoMerge": 1.0, "review": 0.5},
        headers=headers(tenant.admin_key),
    ).json()["thresholds"]
    harness.client.post(f"/v1/er/thresholds/{proposal['id']}/approve", headers=headers(reviewer))
    harness.ingest(tenant.admin_key, [entity_line(r) for r in records[60:]])
    harness.services.er.resolution.drain()
    items = harness.client.get("/v1/er/review", headers=headers(tenant.admin_key)).json()["items"]
    assert items
    other = harness.new_tenant()

    assert harness.client.get("/v1/er/review", headers=headers(other.admin_key)).json() == {
        "items": []
    }
    stolen = harness.client.post(
        f"/v1/er/review/{items[0]['id']}/approve", headers=headers(other.admin_key)
    )
    assert _code(stolen) == "ER_NOT_FOUND"
