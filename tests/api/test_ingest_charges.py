"""ingest_eps is charged for what an ingest can store: a batch refused whole costs nothing."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import Harness, person
from quotas.ingest_allowance import ALLOWANCE, people, tenant_with_small_allowance


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    """One app per backend for this module; every test makes its own tenants."""
    return module_harness


def test_a_batch_refused_for_a_bad_line_does_not_use_the_ingest_allowance(
    harness: Harness,
) -> None:
    tenant = tenant_with_small_allowance(harness)
    bad = {**person("bad", "Bad"), "confidence": 2.0}

    refused = harness.ingest(tenant.admin_key, [*people("a", ALLOWANCE), bad])
    stored = harness.ingest(tenant.admin_key, people("b", ALLOWANCE))
    over = harness.ingest(tenant.admin_key, people("c", 1))

    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["extensions"]["code"] == "INGEST_INVALID"
    assert stored.status_code == 200, stored.text
    # What was stored did use the allowance.
    assert over.status_code == 429, over.text
    assert over.json()["errors"][0]["extensions"]["code"] == "INGEST_RATE_EXCEEDED"
    assert harness.services.graph.counts(tenant.id)["entities"] == ALLOWANCE


def test_a_refused_ingest_mutation_does_not_use_the_ingest_allowance(harness: Harness) -> None:
    tenant = tenant_with_small_allowance(harness)
    entities: list[dict[str, Any]] = [
        {"externalId": f"a-{i}", "type": "PERSON", "label": f"Person {i}"} for i in range(ALLOWANCE)
    ]
    entities.append({"externalId": "bad", "type": "PERSON", "label": "Bad", "confidence": 2.0})

    refused = harness.graphql(
        tenant.admin_key,
        "mutation($e: [EntityInput!]) { ingest(entities: $e) { acceptedEntities } }",
        {"e": entities},
    )
    stored = harness.ingest(tenant.admin_key, people("b", ALLOWANCE))

    codes = [e["extensions"]["code"] for e in refused.json()["errors"]]
    assert codes == ["INGEST_INVALID"], refused.text
    assert stored.status_code == 200, stored.text
    assert harness.services.graph.counts(tenant.id)["entities"] == ALLOWANCE
