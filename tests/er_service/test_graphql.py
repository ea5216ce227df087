"""The v1.1 GraphQL fields of entity resolution: canonicalId, resolution, explainMatch."""

from __future__ import annotations

import pytest

from conftest import Harness

from .support import V1_1, headers, resolved_tenant

EXPLAIN = """
query($a: ID!, $b: ID!) {
  explainMatch(a: $a, b: $b) {
    a b entityType modelVersion thresholdsVersion
    priorWeight matchWeight matchProbability decision
    comparisons { comparison level weight m u tfAdjustment }
  }
}
"""


def test_explain_match_gives_each_comparisons_level_and_weight(harness: Harness) -> None:
    resolved = resolved_tenant(harness)
    first, second = resolved.duplicate_pair()

    body = harness.client.post(
        "/graphql",
        json={"query": EXPLAIN, "variables": {"a": first, "b": second}},
        headers=headers(resolved.key) | V1_1,
    ).json()

    assert "errors" not in body, body
    found = body["data"]["explainMatch"]
    names = [c["comparison"] for c in found["comparisons"]]
    assert names == [
        "given_name", "surname", "dob", "street", "city", "postcode", "email", "phone",
        "national_id",
    ]  # fmt: skip
    assert all(c["level"] for c in found["comparisons"])
    total = found["priorWeight"] + sum(c["weight"] for c in found["comparisons"])
    assert total == pytest.approx(found["matchWeight"])
    assert found["decision"] == "AUTO_MERGE" and found["matchProbability"] >= 0.9
    assert found["entityType"] == "PERSON" and found["modelVersion"].startswith("fs1-")


def test_an_entity_shows_its_canonical_id_and_cluster_members(harness: Harness) -> None:
    resolved = resolved_tenant(harness)
    first, second = resolved.duplicate_pair()
    query = """query($id: ID!) { entity(id: $id) {
      canonicalId resolution { clusterId decision members { id } } } }"""

    body = harness.client.post(
        "/graphql",
        json={"query": query, "variables": {"id": first}},
        headers=headers(resolved.key) | V1_1,
    ).json()

    entity = body["data"]["entity"]
    assert entity["canonicalId"] == entity["resolution"]["clusterId"]
    assert entity["resolution"]["decision"] == "AUTO_MERGE"
    assert {first, second} <= {m["id"] for m in entity["resolution"]["members"]}


def test_version_1_0_does_not_know_the_resolution_fields(harness: Harness) -> None:
    resolved = resolved_tenant(harness)
    first, _ = resolved.duplicate_pair()

    response = harness.graphql(
        resolved.key, "query($id: ID!) { entity(id: $id) { canonicalId } }", {"id": first}
    )

    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION"


def test_explaining_entities_before_any_model_is_trained_says_what_to_do(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    lines = [
        {"kind": "entity", "external_id": x, "type": "PERSON", "label": "Ada Lovelace"}
        for x in ("a", "b")
    ]
    ids = harness.ingest(tenant.admin_key, lines).json()["ids"]

    body = harness.client.post(
        "/graphql",
        json={"query": EXPLAIN, "variables": {"a": ids["a"], "b": ids["b"]}},
        headers=headers(tenant.admin_key) | V1_1,
    ).json()

    assert body["errors"][0]["extensions"]["code"] == "ER_NO_MODEL"
    assert "intelgraph er train" in body["errors"][0]["message"]


def test_a_viewer_may_read_resolution_but_not_split_clusters(harness: Harness) -> None:
    resolved = resolved_tenant(harness)
    viewer = harness.new_key(resolved.tenant, "viewer")
    first, second = resolved.duplicate_pair()

    read = harness.client.get(f"/v1/er/entities/{first}/resolution", headers=headers(viewer))
    split = harness.client.post(
        "/v1/er/splits", json={"entityIds": [second]}, headers=headers(viewer)
    )

    assert read.status_code == 200
    assert split.status_code == 403
    assert split.json()["errors"][0]["extensions"]["code"] == "POLICY_DENIED"
