"""Threshold governance: proposals change nothing until another admin approves them,
suggestions can be switched off, and a rollback restores the previous version at once."""

from __future__ import annotations

from typing import Any

from conftest import Harness
from intelgraph.audit import service as audit
from intelgraph.er.governance import SUGGESTIONS_SETTING
from intelgraph.kernel.tenancy import local_operator

from .support import (
    V1_1,
    ResolvedTenant,
    entity_line,
    golden_csv,
    headers,
    people,
    resolved_tenant,
)

EXPLAIN = "query($a: ID!, $b: ID!) { explainMatch(a: $a, b: $b) { decision thresholdsVersion } }"


def _propose(harness: Harness, key: str, auto_merge: float, review: float) -> dict[str, Any]:
    response = harness.client.post(
        "/v1/er/thresholds",
        json={"type": "PERSON", "autoMerge": auto_merge, "review": review, "reason": "tighter"},
        headers=headers(key),
    )
    assert response.status_code == 201, response.text
    proposal: dict[str, Any] = response.json()["thresholds"]
    return proposal


def _live(harness: Harness, key: str) -> dict[str, Any]:
    records = harness.client.get("/v1/er/thresholds?type=PERSON", headers=headers(key)).json()
    return next(r for r in records["thresholds"] if r["status"] == "ACTIVE")


def _explain(harness: Harness, resolved: ResolvedTenant, a: str, b: str) -> dict[str, Any]:
    body = harness.client.post(
        "/graphql",
        json={"query": EXPLAIN, "variables": {"a": a, "b": b}},
        headers=headers(resolved.key) | V1_1,
    ).json()
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["explainMatch"]
    return found


def _weak_copy(resolved: ResolvedTenant, record_id: str, external_id: str) -> dict[str, Any]:
    original = next(r for r in resolved.records if r.record_id == record_id)
    line = entity_line(original, external_id=external_id)
    line["attributes"] = {k: original.attributes[k] for k in ("given_name", "surname", "dob")}
    return line


def test_an_unapproved_proposal_changes_no_decision(harness: Harness) -> None:
    resolved = resolved_tenant(harness)
    first, second = resolved.duplicate_pair()
    _propose(harness, resolved.key, 1.0, 1.0)

    assert _live(harness, resolved.key)["version"] == 1
    assert _explain(harness, resolved, first, second) == {
        "decision": "AUTO_MERGE",
        "thresholdsVersion": 1,
    }
    record_id = next(r for r, e in resolved.ids.items() if e == first)
    copy = harness.ingest(resolved.key, [_weak_copy(resolved, record_id, "weak-copy")])
    harness.services.er.resolution.drain()
    copy_id = copy.json()["ids"]["weak-copy"]
    joined = harness.client.get(
        f"/v1/er/entities/{copy_id}/resolution", headers=headers(resolved.key)
    ).json()["resolution"]
    assert first in joined["members"]


def test_the_proposer_cannot_approve_their_own_proposal(harness: Harness) -> None:
    resolved = resolved_tenant(harness)
    proposal = _propose(harness, resolved.key, 0.95, 0.7)

    refused = harness.client.post(
        f"/v1/er/thresholds/{proposal['id']}/approve",
        json={"reason": "looks fine to me"},
        headers=headers(resolved.key),
    )

    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "ER_SELF_APPROVAL"
    assert _live(harness, resolved.key)["version"] == 1
    actions = [r.action for r in audit.list_records(harness.services.engine, resolved.tenant.id)]
    assert "er.thresholds.approve_refused" in actions


def test_approved_thresholds_decide_from_then_on_and_a_rollback_restores_the_previous(
    harness: Harness,
) -> None:
    resolved = resolved_tenant(harness)
    approver = harness.new_key(resolved.tenant, "admin")
    first, second = resolved.duplicate_pair()
    proposal = _propose(harness, resolved.key, 1.0, 1.0)

    approved = harness.client.post(
        f"/v1/er/thresholds/{proposal['id']}/approve",
        json={"reason": "second pair of eyes"},
        headers=headers(approver),
    )

    assert approved.status_code == 200, approved.text
    assert approved.json()["thresholds"]["status"] == "ACTIVE"
    assert _explain(harness, resolved, first, second)["thresholdsVersion"] == 2
    record_id = next(r for r, e in resolved.ids.items() if e == first)
    copy = harness.ingest(resolved.key, [_weak_copy(resolved, record_id, "weak-copy")])
    harness.services.er.resolution.drain()
    copy_id = copy.json()["ids"]["weak-copy"]
    alone = harness.client.get(
        f"/v1/er/entities/{copy_id}/resolution", headers=headers(resolved.key)
    ).json()["resolution"]
    assert alone["members"] == [copy_id]

    rollback = harness.client.post(
        "/v1/er/thresholds/rollback",
        json={"type": "PERSON", "reason": "too strict"},
        headers=headers(resolved.key),
    )

    assert rollback.status_code == 200, rollback.text
    body = rollback.json()
    assert body["restored"]["version"] == 1 and body["undone"]["status"] == "ROLLED_BACK"
    assert isinstance(body["seconds"], float)
    assert _live(harness, resolved.key)["version"] == 1
    assert _explain(harness, resolved, first, second)["thresholdsVersion"] == 1
    records = audit.list_records(harness.services.engine, resolved.tenant.id)
    rolled = next(r for r in records if r.action == "er.thresholds.rollback")
    assert rolled.reason == "too strict" and rolled.old_value["version"] == 2


def test_a_rollback_without_an_earlier_approved_version_is_refused(harness: Harness) -> None:
    resolved = resolved_tenant(harness)

    refused = harness.client.post(
        "/v1/er/thresholds/rollback", json={"type": "PERSON"}, headers=headers(resolved.key)
    )

    assert refused.status_code == 409
    assert "no earlier approved" in refused.json()["errors"][0]["message"]


def test_a_suggestion_is_a_proposal_with_expected_metrics_that_needs_approval(
    harness: Harness,
) -> None:
    resolved = resolved_tenant(harness)
    golden = harness.client.post(
        "/v1/er/golden-sets?name=people.csv",
        content=golden_csv(people(60, 21)),
        headers=headers(resolved.key) | {"content-type": "text/csv"},
    )
    assert golden.status_code == 201, golden.text
    harness.services.er.drift.run_nightly([resolved.tenant.id])

    suggested = harness.client.post(
        "/v1/er/thresholds/suggest",
        json={"type": "PERSON", "precisionFloor": 0.985},
        headers=headers(resolved.key),
    )

    assert suggested.status_code == 201, suggested.text
    proposal = suggested.json()["thresholds"]
    assert proposal["status"] == "PROPOSED" and proposal["origin"] == "suggested"
    assert proposal["expected"]["precision"] >= 0.985
    assert 0.5 <= proposal["autoMerge"] <= 0.99
    assert _live(harness, resolved.key)["version"] == 1


def test_suggestions_are_refused_while_the_feature_flag_is_off(harness: Harness) -> None:
    resolved = resolved_tenant(harness)
    harness.services.platform.set(local_operator("test"), SUGGESTIONS_SETTING, False)

    refused = harness.client.post(
        "/v1/er/thresholds/suggest", json={"type": "PERSON"}, headers=headers(resolved.key)
    )

    assert refused.status_code == 409
    assert refused.json()["errors"][0]["extensions"]["code"] == "ER_FEATURE_DISABLED"
