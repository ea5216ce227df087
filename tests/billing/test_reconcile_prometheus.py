"""Reconciliation against the real thing: `intelgraph serve`, scraped every second by a real
Prometheus, restarted once while traffic flows (its counters start again from zero).

The ledger (durable, per minute) and Prometheus' counter growth must agree within 1 % for
every meter over the minute-aligned period that holds the traffic, and over the whole day.
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import person
from intelgraph.billing.reconcile import PROMETHEUS_COUNTERS, CheckStatus
from intelgraph.bootstrap import start_services
from intelgraph.kernel.tenancy import local_operator
from intelgraph.settings import Settings
from live_servers import free_port, serve_env, start_serve, stop_process

from .prometheus_support import PrometheusServer, start_prometheus

pytestmark = pytest.mark.integration

OPERATOR_KEY = "igo_reconcile_live_operator_key"
OPERATOR = local_operator("test")  # the person at the CLI: a platform-admin
MASTER_KEY = os.environ["INTELGRAPH_MASTER_KEY"]  # set by tests/conftest.py
READY_TIMEOUT_SECONDS = 60.0
SCRAPE_TIMEOUT_SECONDS = 30.0
QUERY = "{ pagerankTop(limit: 5) { score entity { label type } } }"


@dataclass
class App:
    """`intelgraph serve` on a fixed port (so Prometheus scrapes the same target after a
    restart), in its own process group."""

    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = start_serve(self.env, self.port, self.log, READY_TIMEOUT_SECONDS)

    def stop(self) -> None:
        """Graceful stop (SIGTERM): the ledger flushes what it still buffers."""
        if self.process is not None:
            stop_process(self.process, grace_seconds=30)

    def tenant_counters(self, tenant_id: str) -> dict[str, float]:
        """The app's own counter values for the tenant, from its /metrics."""
        text = httpx.get(f"{self.url}/metrics", timeout=5).text
        values = dict.fromkeys(PROMETHEUS_COUNTERS.values(), 0.0)
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in values and sample.labels.get("tenant") == tenant_id:
                    values[sample.name] += sample.value
        return values


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[App]:
    env = serve_env(database_url, tmp_path / "data", OPERATOR_KEY)
    env["INTELGRAPH_MASTER_KEY"] = MASTER_KEY
    env.pop("INTELGRAPH_REDIS_URL", None)
    running = App(env, free_port(), tmp_path / "server.log")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def prometheus(app: App, tmp_path: Path) -> Iterator[PrometheusServer]:
    workdir = tmp_path / "prometheus"
    workdir.mkdir()
    server = start_prometheus(workdir, [f"127.0.0.1:{app.port}"])
    try:
        yield server
    finally:
        server.stop()


def drive_traffic(app: App, key: str, queries: int, batches: int, tag: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=app.url, headers=headers, timeout=30) as client:
        for n in range(batches):
            lines = [person(f"{tag}-{n}-{i}", f"Person {tag} {n} {i}") for i in range(7)]
            response = client.post(
                "/v1/ingest",
                content=b"\n".join(orjson.dumps(line) for line in lines),
                headers={"content-type": "application/x-ndjson"},
            )
            assert response.status_code == 200, response.text
        for _ in range(queries):
            response = client.post("/graphql", json={"query": QUERY})
            assert response.status_code == 200, response.text


def wait_for_scrape(app: App, prometheus: PrometheusServer, tenant_id: str) -> None:
    """Until Prometheus holds the app's current counter values for the tenant."""
    wanted = app.tenant_counters(tenant_id)
    seen: dict[str, float] = {}
    deadline = time.monotonic() + SCRAPE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        seen = {
            counter: sum(
                float(s["value"][1]) for s in prometheus.query(f'{counter}{{tenant="{tenant_id}"}}')
            )
            for counter in wanted
        }
        if seen == wanted:
            return
        time.sleep(0.25)
    raise AssertionError(f"Prometheus has {seen}, the app {wanted}")


def minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def test_ledger_and_prometheus_agree_within_1_percent_across_a_restart(
    app: App, prometheus: PrometheusServer, database_url: str, tmp_path: Path
) -> None:
    app.start()
    created = httpx.post(
        f"{app.url}/v1/admin/tenants",
        json={"name": "Recon live", "slug": f"recon-{secrets.token_hex(4)}"},
        headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    tenant_id, key = created.json()["tenant"]["id"], created.json()["apiKey"]
    start = minute_floor(datetime.now(UTC))

    drive_traffic(app, key, queries=120, batches=12, tag="before")
    wait_for_scrape(app, prometheus, tenant_id)
    app.stop()
    app.start()  # counters start again from zero
    drive_traffic(app, key, queries=40, batches=5, tag="after")
    wait_for_scrape(app, prometheus, tenant_id)
    app.stop()  # flushes the ledger
    end = minute_floor(datetime.now(UTC)) + timedelta(minutes=1)

    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        operator_key=OPERATOR_KEY,
        master_key=MASTER_KEY,
        run_background_jobs=False,
        prometheus_url=prometheus.url,
    )
    reconciler = start_services(settings).reconciler
    for result in (
        reconciler.reconcile_period(tenant_id, start, end, OPERATOR),
        reconciler.reconcile(tenant_id, start.date(), OPERATOR),  # the day so far: same usage
    ):
        checks = {c.meter: c for c in result.checks if c.source == "prometheus"}
        assert set(checks) == {"api_calls", "ingest_events", "egress_gb"}
        for check in checks.values():
            assert check.status is CheckStatus.OK, result.as_dict()
            assert check.delta_ratio is not None and check.delta_ratio <= 0.01
        assert checks["api_calls"].ledger == 12 + 120 + 5 + 40
        assert checks["ingest_events"].ledger == 7 * (12 + 5)
        assert checks["egress_gb"].ledger > 0
        assert result.is_consistent
    # the app's counters were reset by the restart, so Prometheus' growth is not simply
    # its last value: the restart is in the data
    (last,) = prometheus.query(
        f'max_over_time(intelgraph_api_calls_total{{tenant="{tenant_id}"}}[10m])'
    )
    assert float(last["value"][1]) < 12 + 120 + 5 + 40
