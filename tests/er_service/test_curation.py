"""Merges, splits and reverts of clusters, and the review queue — audited and reversible."""

from __future__ import annotations

from typing import Any

from conftest import Harness
from intelgraph.audit import service as audit

from .support import canonical_ids, entity_line, headers, people, resolved_tenant


def _cluster_of(harness: Harness, key: str, entity_id: str) -> dict:
    response = harness.client.get(f"/v1/er/entities/{entity_id}/resolution", headers=headers(key))
    assert response.status_code == 200, response.text
    resolution: dict = response.json()["resolution"]
    return resolution


def test_a_split_detaches_records_into_a_new_cluster_and_a_revert_puts_them_back(
    harness: Harness,
) -> None:
    resolved = resolved_tenant(harness)
    first, second = resolved.duplicate_pair()
    cluster = _cluster_of(harness, resolved.key, first)
    assert second in cluster["members"]

    split = harness.client.post(
        "/v1/er/splits",
        json={"entityIds": [second], "reason": "different people after all"},
        headers=headers(resolved.key),
    )
    assert split.status_code == 201, split.text
    event = split.json()["event"]
    detached = _cluster_of(harness, resolved.key, second)
    assert detached["clusterId"] == event["clusterId"] != cluster["clusterId"]
    assert detached["decision"] == "SPLIT"
    assert _cluster_of(harness, resolved.key, first)["clusterId"] == cluster["clusterId"]

    revert = harness.client.post(
        f"/v1/er/merge-events/{event['id']}/revert",
        json={"reason": "the split was wrong"},
        headers=headers(resolved.key),
    )
    assert revert.status_code == 201, revert.text
    assert _cluster_of(harness, resolved.key, second)["clusterId"] == cluster["clusterId"]
    actions = [r.action for r in audit.list_records(harness.services.engine, resolved.tenant.id)]
    assert "er.split" in actions and "er.revert" in actions


def test_an_event_cannot_be_reverted_twice(harness: Harness) -> None:
    resolved = resolved_tenant(harness)
    _, second = resolved.duplicate_pair()
    event = harness.client.post(
        "/v1/er/splits", json={"entityIds": [second]}, headers=headers(resolved.key)
    ).json()["event"]
    path = f"/v1/er/merge-events/{event['id']}/revert"
    assert harness.client.post(path, headers=headers(resolved.key)).status_code == 201

    again = harness.client.post(path, headers=headers(resolved.key))

    assert again.status_code == 409
    assert again.json()["errors"][0]["extensions"]["code"] == "ER_STATE_CONFLICT"


def test_a_reverted_auto_merge_stays_apart_when_more_records_of_that_person_arrive(
    harness: Harness,
) -> None:
    resolved = resolved_tenant(harness)
    first, second = resolved.duplicate_pair()
    cluster_id = _cluster_of(harness, resolved.key, first)["clusterId"]
    history = harness.client.get(
        f"/v1/er/clusters/{cluster_id}", headers=headers(resolved.key)
    ).json()["history"]
    merge = next(e for e in history if e["kind"] == "MERGE")
    assert merge["evidence"]["pairs"], "a merge records the scored pairs that caused it"
    reverted = harness.client.post(
        f"/v1/er/merge-events/{merge['id']}/revert",
        json={"reason": "not the same person"},
        headers=headers(resolved.key),
    )
    assert reverted.status_code == 201, reverted.text
    apart = canonical_ids(harness, resolved.key, [first, second])
    assert apart[first] != apart[second]

    original = next(r for r in resolved.records if resolved.entity(r.record_id) == first)
    copy = harness.ingest(resolved.key, [entity_line(original, external_id="copy-of-first")])
    harness.services.er.resolution.drain()

    again = canonical_ids(
        harness, resolved.key, [first, second, copy.json()["ids"]["copy-of-first"]]
    )
    assert again[first] != again[second]


def test_review_approval_merges_the_pair_and_rejection_keeps_it_apart(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    reviewer_key = harness.new_key(tenant, "admin")
    records = people()
    first, later = records[:60], records[60:]
    for part in (first, later):
        response = harness.ingest(tenant.admin_key, [entity_line(r) for r in part])
        assert response.status_code == 200, response.text
        if part is first:
            harness.client.post(
                "/v1/er/models/train", json={"type": "PERSON"}, headers=headers(tenant.admin_key)
            )
            harness.services.er.resolution.drain()
            # Every pair short of certainty goes to a person from now on.
            proposal = harness.client.post(
                "/v1/er/thresholds",
                json={"type": "PERSON", "autoMerge": 1.0, "review": 0.5, "reason": "review all"},
                headers=headers(tenant.admin_key),
            ).json()["thresholds"]
            approved = harness.client.post(
                f"/v1/er/thresholds/{proposal['id']}/approve",
                json={"reason": "ok"},
                headers=headers(reviewer_key),
            )
            assert approved.status_code == 200, approved.text
    harness.services.er.resolution.drain()
    items = harness.client.get(
        "/v1/er/review?type=PERSON", headers=headers(tenant.admin_key)
    ).json()["items"]
    pairs = [i for i in items if i["kind"] == "PAIR"]
    assert len(pairs) >= 2, items
    # Two pairs that touch four different clusters, so merging one cannot join the other.
    members = sorted({m for pair in pairs for m in pair["members"]})
    cluster_of = canonical_ids(harness, tenant.admin_key, members)

    def clusters(pair: dict[str, Any]) -> set[str | None]:
        return {cluster_of[m] for m in pair["members"]}

    candidates = [
        (a, b)
        for a in pairs
        for b in pairs
        if len(clusters(a)) == 2 and len(clusters(b)) == 2 and not clusters(a) & clusters(b)
    ]
    assert candidates, items
    to_merge, to_keep_apart = candidates[0]

    merged = harness.client.post(
        f"/v1/er/review/{to_merge['id']}/approve",
        json={"reason": "same passport"},
        headers=headers(tenant.admin_key),
    )
    rejected = harness.client.post(
        f"/v1/er/review/{to_keep_apart['id']}/reject",
        json={"reason": "twins"},
        headers=headers(tenant.admin_key),
    )

    assert merged.json()["item"]["status"] == "APPROVED"
    assert rejected.json()["item"]["status"] == "REJECTED"
    together = canonical_ids(harness, tenant.admin_key, to_merge["members"])
    assert len(set(together.values())) == 1
    cluster_id = next(iter(together.values()))
    history = harness.client.get(
        f"/v1/er/clusters/{cluster_id}", headers=headers(tenant.admin_key)
    ).json()["history"]
    assert any(e["evidence"].get("reviewItem") == to_merge["id"] for e in history)
    apart = canonical_ids(harness, tenant.admin_key, to_keep_apart["members"])
    assert len(set(apart.values())) == 2
    again = harness.client.post(
        f"/v1/er/review/{to_merge['id']}/approve", headers=headers(tenant.admin_key)
    )
    assert again.status_code == 409
    actions = [r.action for r in audit.list_records(harness.services.engine, tenant.id)]
    assert {"er.review.approve", "er.review.reject", "er.merge"} <= set(actions)
