"""Online resolution: each ingest's people resolved against the tenant's existing ones."""

from __future__ import annotations

import time

from conftest import Harness
from intelgraph.bootstrap import start_services
from intelgraph.er.engine.evaluation import pairwise_metrics
from intelgraph.graph.ingest import IngestBatch, add_document

from .support import (
    V1_1,
    canonical_ids,
    entity_line,
    headers,
    ingest,
    people,
    resolved_tenant,
)


def test_ingested_people_are_resolved_into_clusters_that_match_the_truth(
    harness: Harness,
) -> None:
    resolved = resolved_tenant(harness)

    clusters = canonical_ids(harness, resolved.key, list(resolved.ids.values()))
    truth = {resolved.entity(r.record_id): r.cluster_id for r in resolved.records}
    predicted = {entity_id: clusters[entity_id] or entity_id for entity_id in truth}
    assert all(clusters.values())
    assert pairwise_metrics(predicted, truth).f1 >= 0.95
    status = harness.client.get("/v1/er/status", headers=headers(resolved.key)).json()
    person = next(t for t in status["types"] if t["entityType"] == "PERSON")
    assert person["unresolved"] == 0 and person["modelSeq"] == 1


def test_cluster_ids_do_not_change_when_members_are_added(harness: Harness) -> None:
    records = people()
    first, later = records[: len(records) // 2], records[len(records) // 2 :]
    resolved = resolved_tenant(harness, first)
    before = canonical_ids(harness, resolved.key, list(resolved.ids.values()))

    later_ids = ingest(harness, resolved.key, later)
    harness.services.er.resolution.drain()

    after = canonical_ids(harness, resolved.key, list(resolved.ids.values()))
    for entity_id, cluster_id in before.items():
        if after[entity_id] != cluster_id:  # only a merge may retire an id: the older survives
            retired = harness.client.get(
                f"/v1/er/clusters/{cluster_id}", headers=headers(resolved.key)
            ).json()
            assert retired["mergedInto"] == after[entity_id]
    joined = canonical_ids(harness, resolved.key, list(later_ids.values()))
    first_clusters = set(before.values())
    truth_first = {r.cluster_id for r in first}
    expected_joins = [r for r in later if r.cluster_id in truth_first]
    assert expected_joins, "the generated data should have duplicates across the two batches"
    assert sum(1 for c in joined.values() if c in first_clusters) >= 0.9 * len(expected_joins)


def test_people_wait_unresolved_until_there_are_enough_to_train_a_model(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    ids = ingest(harness, tenant.admin_key, people()[:5])
    harness.services.er.resolution.drain()

    query = "query($id: ID!) { entity(id: $id) { canonicalId resolution { clusterId decision } } }"
    body = harness.client.post(
        "/graphql",
        json={"query": query, "variables": {"id": ids["p1"]}},
        headers=headers(tenant.admin_key) | V1_1,
    ).json()
    assert body["data"]["entity"] == {
        "canonicalId": None,
        "resolution": {"clusterId": None, "decision": "UNRESOLVED"},
    }
    status = harness.client.get("/v1/er/status", headers=headers(tenant.admin_key)).json()
    person = next(t for t in status["types"] if t["entityType"] == "PERSON")
    assert person["state"].startswith("waiting: 5 of 100 records")


def test_the_background_worker_resolves_an_ingest_shortly_after_it_is_acknowledged(
    harness: Harness,
) -> None:
    records = people()
    resolved = resolved_tenant(harness, records[:-10])
    harness.services.er.start()
    try:
        started = time.monotonic()
        ids = ingest(harness, resolved.key, records[-10:])
        while time.monotonic() - started < 20:
            clusters = canonical_ids(harness, resolved.key, list(ids.values()))
            if all(clusters.values()):
                break
            time.sleep(0.05)
    finally:
        harness.services.er.stop()
    assert all(clusters.values())


def test_people_ingested_by_another_process_are_picked_up_by_the_periodic_sweep(
    harness: Harness,
) -> None:
    records = people()
    resolved = resolved_tenant(harness, records[:-10])
    elsewhere = start_services(harness.services.settings)  # e.g. `intelgraph ingest` at a shell
    try:
        batch = IngestBatch()
        for number, record in enumerate(records[-10:], start=1):
            add_document(batch, number, entity_line(record))
        ingested = elsewhere.graph.ingest(resolved.principal(), batch)
    finally:
        elsewhere.engine.dispose()
    ids = list(ingested.body["ids"].values())
    assert not any(canonical_ids(harness, resolved.key, ids).values())

    swept = harness.services.er.resolution.sweep_unresolved()
    harness.services.er.resolution.drain()

    assert resolved.tenant.id in swept
    assert all(canonical_ids(harness, resolved.key, ids).values())
