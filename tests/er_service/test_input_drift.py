"""Input drift end to end: thresholds approved (the baseline), a day of ordinary ingests
(the baseline window), then two days later a batch whose records shift the match-weight
distribution. The nightly check stores an alert, exports it, logs it at WARNING and
`intelgraph er drift` shows it; an ordinary batch raises nothing."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient
from typer.testing import CliRunner

from conftest import Harness, TenantHandle
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.cli.context import services as cli_services
from intelgraph.cli.main import app as cli
from intelgraph.demo.records import SyntheticRecord, generate_people
from intelgraph.kernel.clock import ManualClock
from intelgraph.settings import Settings

from .support import entity_line, headers

BASELINE_SEEDS = (101, 102, 103, 104)
# Placeholders a broken source sends for every person: strangers then agree on every
# contact field and disagree on their names.
PLACEHOLDERS = {
    "phone": "000-000-0000",
    "email": "unknown@example.com",
    "dob": "1900-01-01",
    "street": "1 Main Street",
    "postcode": "00000",
    "city": "Springfield",
}
INPUT_DRIFT = {"WEIGHT_PSI", "LINK_SHARE", "OVERSIZED_CLUSTER"}


@dataclass
class Scene:
    """A tenant with approved thresholds and a day of ordinary ingests behind it, two and a
    half days ago; the clock stands half a day before the wall clock (which `er drift`,
    a separate process, reads)."""

    harness: Harness
    clock: ManualClock
    tenant: TenantHandle
    settings: Settings

    def ingest(self, records: list[SyntheticRecord], tag: str) -> None:
        lines = [entity_line(r, f"{tag}-{r.record_id}") for r in records]
        response = self.harness.ingest(self.tenant.admin_key, lines)
        assert response.status_code == 200, response.text
        self.harness.services.er.resolution.drain()

    def metric(self, name: str, **labels: str) -> float | None:
        wanted = {"tenant": self.tenant.id, "type": "PERSON"} | labels
        text = self.harness.client.get("/metrics").text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and sample.labels == wanted:
                    return float(sample.value)
        return None

    def er_drift_output(self) -> str:
        env = {
            "INTELGRAPH_DATABASE_URL": self.settings.database_url,
            "INTELGRAPH_DATA_DIR": str(self.settings.data_dir),
            "INTELGRAPH_OPERATOR_KEY": "igo_test_operator_key",
            "INTELGRAPH_RUN_BACKGROUND_JOBS": "false",
            "COLUMNS": "240",
        }
        cli_services.cache_clear()
        try:
            result = CliRunner().invoke(cli, ["er", "drift", self.tenant.slug], env=env)
        finally:
            cli_services.cache_clear()
        assert result.exit_code == 0, result.output
        return str(result.output)


@pytest.fixture
def scene(settings: Settings) -> Iterator[Scene]:
    clock = ManualClock(datetime.now(UTC) - timedelta(days=3))
    services = start_services(settings, clock=clock)
    operator = {"Authorization": f"Bearer {settings.operator_key}"}
    with TestClient(create_app(services=services)) as client:
        harness = Harness(client, services, operator)
        tenant = harness.new_tenant(plan="enterprise")  # batches back to back
        scene = Scene(harness, clock, tenant, settings)
        scene.ingest(generate_people(80, 7), "start")
        trained = client.post(
            "/v1/er/models/train", json={"type": "PERSON"}, headers=tenant.headers
        )
        assert trained.status_code == 201, trained.text
        services.er.resolution.drain()
        clock.advance(60)
        _approve_baseline(harness, tenant)
        for seed in BASELINE_SEEDS:
            clock.advance(600)
            scene.ingest(generate_people(100, seed), f"base{seed}")
        clock.advance(timedelta(days=2, hours=12).total_seconds())
        yield scene


def _approve_baseline(harness: Harness, tenant: TenantHandle) -> None:
    """Thresholds proposed by one admin and approved by another: the drift baseline."""
    proposed = harness.client.post(
        "/v1/er/thresholds",
        json={"type": "PERSON", "autoMerge": 0.9, "review": 0.6, "reason": "baseline"},
        headers=tenant.headers,
    )
    assert proposed.status_code == 201, proposed.text
    other_admin = harness.new_key(tenant, "admin")
    approved = harness.client.post(
        f"/v1/er/thresholds/{proposed.json()['thresholds']['id']}/approve",
        json={"reason": "second pair of eyes"},
        headers=headers(other_admin),
    )
    assert approved.status_code == 200, approved.text


def _placeholder_batch() -> list[SyntheticRecord]:
    return [
        dataclasses.replace(r, attributes=dict(r.attributes) | PLACEHOLDERS)
        for r in generate_people(120, 301)
    ]


def test_a_batch_that_shifts_the_match_weights_raises_a_stored_exported_and_logged_alert(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    scene.ingest(_placeholder_batch(), "placeholder")
    scene.clock.advance(3600)  # the nightly check runs after the day's ingests

    with caplog.at_level(logging.WARNING, logger="intelgraph.er.nightly"):
        report = scene.harness.services.er.drift.run_nightly([scene.tenant.id])

    assert {a.kind for a in report.alerts} == {"WEIGHT_PSI", "LINK_SHARE"}
    stored = scene.harness.client.get("/v1/er/alerts", headers=scene.tenant.headers).json()
    by_kind = {a["kind"]: a for a in stored["alerts"]}
    psi = by_kind["WEIGHT_PSI"]
    assert psi["value"] >= psi["threshold"] == 0.25
    assert "against the baseline window" in psi["message"]
    assert by_kind["LINK_SHARE"]["value"] == 0.0  # strangers sharing placeholders stay apart
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("entity resolution drift: match-weight PSI" in m for m in warnings), warnings
    assert any("entity resolution drift: 0.0% of ingested records linked" in m for m in warnings)
    assert scene.metric("intelgraph_er_drift_alert", kind="WEIGHT_PSI") == 1.0
    assert scene.metric("intelgraph_er_drift_alerts_total", kind="WEIGHT_PSI") == 1.0
    assert scene.metric("intelgraph_er_drift_alert", kind="OVERSIZED_CLUSTER") == 0.0
    assert (scene.metric("intelgraph_er_weight_psi") or 0.0) >= 0.25
    assert scene.metric("intelgraph_er_link_share") == 0.0

    shown = " ".join(scene.er_drift_output().split())

    assert "WEIGHT_PSI" in shown and "ALERT" in shown
    assert "recent alerts" in shown and "match-weight PSI" in shown


def test_an_ordinary_batch_raises_no_input_drift_alert(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    for seed in (201, 202, 203, 204):
        scene.clock.advance(600)
        scene.ingest(generate_people(100, seed), f"day3-{seed}")
    scene.clock.advance(3600)

    with caplog.at_level(logging.WARNING, logger="intelgraph.er.nightly"):
        report = scene.harness.services.er.drift.run_nightly([scene.tenant.id])

    assert report.alerts == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    stored = scene.harness.client.get("/v1/er/alerts", headers=scene.tenant.headers).json()
    assert stored["alerts"] == []
    measured = scene.metric("intelgraph_er_weight_psi")
    assert measured is not None and measured < 0.25  # measured, and within bounds
    for kind in INPUT_DRIFT:
        assert scene.metric("intelgraph_er_drift_alert", kind=kind) == 0.0
    shown = " ".join(scene.er_drift_output().split())
    assert "WEIGHT_PSI" in shown and "ALERT" not in shown
