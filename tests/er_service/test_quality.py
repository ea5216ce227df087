"""Nightly evaluation on golden sets, stored runs, gauges and drift alerts."""

from __future__ import annotations

import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import Harness
from intelgraph.er.engine.config import default_config
from intelgraph.er.engine.drift_checks import (
    DriftKind,
    DriftPolicy,
    check_cluster_sizes,
    check_link_share,
    check_weight_psi,
    live_weight_counts,
)
from intelgraph.er.engine.scoring import new_model

from .support import ResolvedTenant, golden_csv, headers, people, resolved_tenant


def _add_golden(harness: Harness, resolved: ResolvedTenant) -> dict:
    response = harness.client.post(
        "/v1/er/golden-sets?name=people.csv",
        content=golden_csv(people(60, 21)),
        headers=headers(resolved.key) | {"content-type": "text/csv"},
    )
    assert response.status_code == 201, response.text
    added: dict = response.json()["goldenSet"]
    return added


def _metric(harness: Harness, name: str, **labels: str) -> float | None:
    """The value of one exported sample, found by name and labels."""
    for family in text_string_to_metric_families(harness.client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def test_the_nightly_evaluation_stores_a_run_per_golden_set_and_exports_f1(
    harness: Harness,
) -> None:
    resolved = resolved_tenant(harness)
    golden = _add_golden(harness, resolved)

    report = harness.services.er.drift.run_nightly()

    mine = [r for r in report.runs if r.tenant_id == resolved.tenant.id]
    assert len(mine) == 1 and mine[0].golden_id == golden["id"]
    run = harness.client.get("/v1/er/runs", headers=headers(resolved.key)).json()["runs"][0]
    assert run["kind"] == "nightly" and run["modelSeq"] == 1 and run["thresholdsVersion"] == 1
    assert run["metrics"]["pairwise"]["f1"] >= 0.95
    assert run["metrics"]["bcubed"]["f1"] >= 0.95
    assert run["metrics"]["blockingRecall"] >= 0.95
    f1 = _metric(harness, "intelgraph_er_f1", tenant=resolved.tenant.id, type="PERSON")
    assert f1 == pytest.approx(run["f1"])
    live = harness.client.get("/v1/er/thresholds?type=PERSON", headers=headers(resolved.key))
    baseline = live.json()["thresholds"][0]["baselines"][golden["id"]]["f1"]
    assert baseline == pytest.approx(run["f1"])
    assert harness.client.get("/v1/er/alerts", headers=headers(resolved.key)).json()["alerts"] == []


def test_a_degraded_model_raises_a_stored_logged_and_exported_f1_drift_alert(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    resolved = resolved_tenant(harness)
    _add_golden(harness, resolved)
    harness.services.er.drift.run_nightly([resolved.tenant.id])  # records the baseline F1
    _, model = harness.services.er.training.live_model(resolved.tenant.id, "PERSON") or (0, None)
    assert model is not None
    # Agreement now counts against a match and disagreement for it.
    inverted = new_model(
        default_config("PERSON"),
        model.prior,
        [[level.u for level in c.levels] for c in model.comparisons],
        [[level.m for level in c.levels] for c in model.comparisons],
    )
    harness.services.er.training.store_model(
        resolved.principal(), inverted, reason="deliberately bad"
    )

    with caplog.at_level(logging.WARNING, logger="intelgraph.er.nightly"):
        report = harness.services.er.drift.run_nightly([resolved.tenant.id])

    assert [a.kind for a in report.alerts] == ["F1_DROP"]
    stored = harness.client.get("/v1/er/alerts", headers=headers(resolved.key)).json()["alerts"]
    assert stored[0]["kind"] == "F1_DROP" and stored[0]["value"] < stored[0]["threshold"]
    assert any("F1 fell by" in r.getMessage() for r in caplog.records)
    labels = {"tenant": resolved.tenant.id, "type": "PERSON", "kind": "F1_DROP"}
    assert _metric(harness, "intelgraph_er_drift_alert", **labels) == 1.0
    assert _metric(harness, "intelgraph_er_drift_alerts_total", **labels) == 1.0


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            "record_id,entity_type,given_name\np1,PERSON,Ada\n",
            "missing required column(s) cluster_id",
        ),
        ("", "the file is empty"),
        (
            "record_id,entity_type,cluster_id,given_name\np1,PERSON,c1,Ada\np1,PERSON,c1,Ada\n",
            "record_id 'p1' on line 3 duplicates line 2",
        ),
    ],
    ids=["missing-columns", "empty", "duplicate-record-id"],
)
def test_a_bad_golden_file_is_refused_with_a_message_naming_the_problem(
    harness: Harness, content: str, problem: str
) -> None:
    tenant = harness.new_tenant()

    refused = harness.client.post(
        "/v1/er/golden-sets?name=bad.csv",
        content=content,
        headers=headers(tenant.admin_key) | {"content-type": "text/csv"},
    )

    assert refused.status_code == 400
    assert problem in refused.json()["errors"][0]["message"]
    listed = harness.client.get("/v1/er/golden-sets", headers=headers(tenant.admin_key))
    assert listed.json()["goldenSets"] == []


def test_weight_psi_alerts_when_the_live_match_weights_shift() -> None:
    policy = DriftPolicy(min_window_pairs=100)
    baseline = live_weight_counts([-12.0] * 300 + [25.0] * 100)
    same = live_weight_counts([-12.0] * 310 + [25.0] * 95)
    shifted = live_weight_counts([-12.0] * 100 + [3.0] * 200 + [25.0] * 100)

    steady = check_weight_psi(baseline, same, policy)
    moved = check_weight_psi(baseline, shifted, policy)

    assert steady is not None and not steady.is_alert
    assert moved is not None and moved.is_alert and moved.kind is DriftKind.WEIGHT_PSI
    assert check_weight_psi(baseline, live_weight_counts([1.0] * 10), policy) is None


def test_link_share_and_cluster_size_checks_alert_past_their_bounds() -> None:
    policy = DriftPolicy(min_window_records=100, link_share_change=0.15, max_cluster_size=50)

    assert not check_link_share((30, 200), (35, 200), policy).is_alert  # type: ignore[union-attr]
    assert check_link_share((30, 200), (110, 200), policy).is_alert  # type: ignore[union-attr]
    assert check_link_share((30, 200), (10, 20), policy) is None
    assert check_cluster_sizes(51, 1, policy).is_alert
    assert not check_cluster_sizes(50, 0, policy).is_alert
