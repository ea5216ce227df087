"""Reconciliation compares the ledger with the export, adapter receipts and a real Prometheus.

Prometheus is the real server (Debian's package) on a free port, serving samples backfilled
with `promtool tsdb create-blocks-from openmetrics` for a past day, so each test knows the
exact samples behind the answer: a counter reset, a second replica, a series born mid-day,
samples past the period's end. The export and the adapter receipts come from the real
exporter and outbox (`file` adapter) under a manual clock.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from intelgraph.app import Services
from intelgraph.billing.exports import csv_name
from intelgraph.billing.reconcile import CheckStatus, Reconciliation
from intelgraph.bootstrap import start_services
from intelgraph.cli.context import services as cli_services
from intelgraph.cli.reconcile import reconcile as reconcile_command
from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.errors import IntelGraphError
from intelgraph.kernel.tenancy import Principal, local_operator
from intelgraph.metering.ledger import add_usage
from intelgraph.metering.meters import UsageRow
from intelgraph.settings import Settings
from live_servers import free_port

from .prometheus_support import PrometheusServer, backfill, start_prometheus

DAY = date(2025, 3, 10)
START = datetime(2025, 3, 10, tzinfo=UTC)
END = START + timedelta(days=1)
MINUTES = range(-10, 24 * 60 + 11)  # ten minutes either side of the day, one sample a minute
RESTART_AFTER = 719  # the process restarts between the scrapes of minutes 719 and 720
OPERATOR_KEY = "igo_reconcile_test_operator_key"
OPERATOR = local_operator("test")  # the person at the CLI: a platform-admin
# Signing keys are platform-wide: every test on the shared PostgreSQL database must seal and
# open them with the same master key.
MASTER_KEY = os.environ["INTELGRAPH_MASTER_KEY"]  # set by tests/conftest.py


def restarted(before: int, per_minute: int) -> list[tuple[int, int]]:
    """A counter at ``before`` ten minutes before the day, growing ``per_minute``; its process
    restarts at noon (the counter starts again from zero)."""
    return [
        (
            m,
            before + per_minute * (m + 10)
            if m <= RESTART_AFTER
            else per_minute * (m - RESTART_AFTER),
        )
        for m in MINUTES
    ]


def openmetrics(series: dict[tuple[str, str, str], list[tuple[int, int]]]) -> str:
    """(counter family, tenant, instance) -> [(minute from the day's start, value)]."""
    lines = []
    for family in sorted({key[0] for key in series}):
        lines.append(f"# TYPE {family} counter")
        for (name, tenant, instance), points in sorted(series.items()):
            if name == family:
                lines.extend(
                    f'{family}_total{{tenant="{tenant}",instance="{instance}"}} {value} '
                    f"{int(START.timestamp()) + minute * 60}"
                    for minute, value in points
                )
    return "\n".join([*lines, "# EOF", ""])


@dataclass
class DayOfSamples:
    """A Prometheus serving one past day of counters for two tenants."""

    server: PrometheusServer
    steady: str  # two replicas; one restarts at noon
    born: str  # first request at 10:00, so its series starts then
    steady_totals: dict[str, int]
    born_api_calls: int


@pytest.fixture
def day_of_samples(tmp_path: Path) -> Iterator[DayOfSamples]:
    steady, born = f"steady-{secrets.token_hex(3)}", f"born-{secrets.token_hex(3)}"
    series = {
        ("intelgraph_api_calls", steady, "a"): restarted(1000, 10),
        ("intelgraph_api_calls", steady, "b"): [(m, 50 + (m + 10)) for m in MINUTES],
        ("intelgraph_ingest_events", steady, "a"): restarted(500, 2),
        ("intelgraph_egress_bytes", steady, "a"): restarted(5_000_000, 1_000_000),
        # 37 calls before its first scrape at 10:00, then 3 a minute until 11:40
        ("intelgraph_api_calls", born, "a"): [
            (m, 37 + 3 * min(m - 600, 100)) for m in MINUTES if m >= 600
        ],
    }
    workdir = tmp_path / "prometheus"
    workdir.mkdir()
    backfill(workdir, openmetrics(series))
    server = start_prometheus(workdir)
    try:
        yield DayOfSamples(
            server,
            steady,
            born,
            # 10 a minute on replica a (across its restart) and 1 a minute on replica b
            {"api_calls": 14_400 + 1_440, "ingest_events": 2_880, "egress_bytes": 1_440_000_000},
            337,
        )
    finally:
        server.stop()


def settings_for(database_url: str, data_dir: Path, prometheus_url: str | None) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        operator_key=OPERATOR_KEY,
        master_key=MASTER_KEY,
        run_background_jobs=False,
        prometheus_url=prometheus_url,
    )


@pytest.fixture
def services(database_url: str, tmp_path: Path, day_of_samples: DayOfSamples) -> Services:
    return start_services(settings_for(database_url, tmp_path / "data", day_of_samples.server.url))


def put_in_ledger(svc: Services, tenant_id: str, totals: dict[str, int]) -> None:
    """The day's usage in two buckets per meter, plus usage just outside the day."""
    rows = []
    for meter, total in totals.items():
        rows.append(UsageRow(tenant_id, meter, START + timedelta(hours=3), total // 2))
        rows.append(UsageRow(tenant_id, meter, END - timedelta(minutes=1), total - total // 2))
        rows.append(UsageRow(tenant_id, meter, START - timedelta(minutes=1), 999))
        rows.append(UsageRow(tenant_id, meter, END, 999))
    with svc.engine.begin() as conn:
        add_usage(conn, sorted(rows))


def statuses(result: Reconciliation, source: str) -> dict[str, CheckStatus]:
    return {c.meter: c.status for c in result.checks if c.source == source}


def test_prometheus_agrees_with_the_ledger_across_a_restart_and_two_replicas(
    services: Services, day_of_samples: DayOfSamples
) -> None:
    put_in_ledger(services, day_of_samples.steady, day_of_samples.steady_totals)

    result = services.reconciler.reconcile(day_of_samples.steady, DAY, OPERATOR)

    assert statuses(result, "prometheus") == dict.fromkeys(
        ("api_calls", "ingest_events", "egress_gb"), CheckStatus.OK
    )
    assert result.check("api_calls", "prometheus").value == Decimal(15_840)
    assert result.check("ingest_events", "prometheus").value == Decimal(2_880)
    assert result.check("egress_gb", "prometheus").value == Decimal("1.44")
    assert result.check("egress_gb", "prometheus").delta_ratio == 0.0
    assert result.is_consistent


def test_a_counter_born_during_the_day_counts_from_zero_where_increase_would_not(
    services: Services, day_of_samples: DayOfSamples
) -> None:
    born = day_of_samples.born
    put_in_ledger(services, born, {"api_calls": day_of_samples.born_api_calls})

    result = services.reconciler.reconcile(born, DAY, OPERATOR)

    assert result.check("api_calls", "prometheus").value == Decimal(337)
    assert result.check("api_calls", "prometheus").status is CheckStatus.OK
    assert result.check("ingest_events", "prometheus").status is CheckStatus.OK  # 0 and 0
    # PromQL's increase() drops the 37 calls before the series' first sample: 11% short.
    (extrapolated,) = day_of_samples.server.query(
        f'increase(intelgraph_api_calls_total{{tenant="{born}"}}[1d])', at=END.timestamp()
    )
    assert float(extrapolated["value"][1]) < 337 * 0.99


def test_prometheus_short_of_the_ledger_is_a_mismatch_stored_logged_and_exported(
    services: Services,
    day_of_samples: DayOfSamples,
    database_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    steady = day_of_samples.steady
    ledger = dict(day_of_samples.steady_totals)
    ledger["api_calls"] = 16_200  # Prometheus saw 15,840: 2.2% short
    put_in_ledger(services, steady, ledger)

    with caplog.at_level(logging.WARNING, logger="intelgraph.billing.reconcile"):
        result = services.reconciler.reconcile(steady, DAY, OPERATOR)

    mismatch = result.check("api_calls", "prometheus")
    assert mismatch.status is CheckStatus.MISMATCH
    assert mismatch.delta_ratio == pytest.approx(360 / 16_200)
    assert not result.is_consistent
    assert [c.source for c in result.mismatches] == ["prometheus"]
    assert any(
        r.levelno == logging.WARNING and r.__dict__.get("source") == "prometheus"
        for r in caplog.records
    )
    stored = services.reconciler.stored(steady, START, END, OPERATOR)
    assert stored is not None
    assert stored.check("api_calls", "prometheus").status is CheckStatus.MISMATCH
    assert stored.check("egress_gb", "prometheus").status is CheckStatus.OK
    labels = {"tenant": steady, "meter": "api_calls", "source": "prometheus"}
    registry = services.metrics.registry
    assert registry.get_sample_value("intelgraph_recon_delta_ratio", labels) == pytest.approx(
        360 / 16_200
    )
    # a source that could not answer has no series (no export was written for the day)
    assert (
        registry.get_sample_value("intelgraph_recon_delta_ratio", labels | {"source": "export"})
        is None
    )
    # another replica exports the stored result once it refreshes its gauges
    replica = start_services(settings_for(database_url, tmp_path / "replica", None))
    assert replica.reconciler.refresh_gauges() >= 3
    assert replica.metrics.registry.get_sample_value(
        "intelgraph_recon_delta_ratio", labels
    ) == pytest.approx(360 / 16_200)


def test_an_unreachable_prometheus_is_unavailable_not_a_mismatch(
    database_url: str, tmp_path: Path
) -> None:
    svc = start_services(settings_for(database_url, tmp_path, f"http://127.0.0.1:{free_port()}"))
    tenant = f"t-{secrets.token_hex(3)}"
    put_in_ledger(svc, tenant, {"api_calls": 10})

    result = svc.reconciler.reconcile(tenant, DAY, OPERATOR)

    check = result.check("api_calls", "prometheus")
    assert check.status is CheckStatus.UNAVAILABLE
    assert "unreachable" in check.detail and "INTELGRAPH_PROMETHEUS_URL" in check.detail
    assert result.is_consistent
    labels = {"tenant": tenant, "meter": "api_calls", "source": "prometheus"}
    assert svc.metrics.registry.get_sample_value("intelgraph_recon_delta_ratio", labels) is None


def test_without_a_prometheus_url_the_source_is_unavailable(
    database_url: str, tmp_path: Path
) -> None:
    svc = start_services(settings_for(database_url, tmp_path, None))

    result = svc.reconciler.reconcile(f"t-{secrets.token_hex(3)}", DAY, OPERATOR)

    check = result.check("egress_gb", "prometheus")
    assert check.status is CheckStatus.UNAVAILABLE
    assert "INTELGRAPH_PROMETHEUS_URL is not set" in check.detail


def test_an_auditor_operator_may_not_reconcile_and_nothing_is_stored(
    database_url: str, tmp_path: Path
) -> None:
    svc = start_services(settings_for(database_url, tmp_path, None))
    auditor = Principal(None, "k-ann", "ann", ("auditor",), is_operator=True)
    tenant = f"t-{secrets.token_hex(3)}"

    attempts: list[Callable[[], object]] = [
        lambda: svc.reconciler.reconcile(tenant, DAY, auditor),
        lambda: svc.reconciler.reconcile_day(DAY, auditor),
        lambda: svc.reconciler.stored(tenant, START, END, auditor),
    ]
    for attempt in attempts:
        with pytest.raises(IntelGraphError) as refused:
            attempt()
        assert refused.value.code == "POLICY_DENIED" and "billing.admin" in refused.value.message
    assert svc.reconciler.stored(tenant, START, END, OPERATOR) is None


def test_a_period_that_is_not_whole_minutes_is_refused(services: Services) -> None:
    with pytest.raises(IntelGraphError) as refused:
        services.reconciler.reconcile_period("t", START + timedelta(seconds=30), END, OPERATOR)
    assert refused.value.code == "VALIDATION"
    with pytest.raises(IntelGraphError):
        services.reconciler.reconcile_period("t", END, START, OPERATOR)


def test_a_period_shorter_than_a_day_has_no_export_or_receipts_to_compare(
    services: Services, day_of_samples: DayOfSamples
) -> None:
    born = day_of_samples.born  # its series starts at 10:00, inside the period
    with services.engine.begin() as conn:
        add_usage(conn, [UsageRow(born, "api_calls", START + timedelta(hours=10), 337)])

    result = services.reconciler.reconcile_period(
        born, START + timedelta(hours=9), START + timedelta(hours=12), OPERATOR
    )

    assert statuses(result, "export") == dict.fromkeys(
        ("api_calls", "ingest_events", "egress_gb"), CheckStatus.UNAVAILABLE
    )
    assert "whole UTC days" in result.check("api_calls", "adapters").detail
    assert result.check("api_calls", "prometheus").value == Decimal(337)
    assert result.check("api_calls", "prometheus").status is CheckStatus.OK


# --- export and adapter receipts (real exporter and outbox, manual clock) ------------------


@dataclass
class ExportedDay:
    svc: Services
    tenant_id: str
    clock: ManualClock


def exported_day(
    database_url: str,
    data_dir: Path,
    usage: dict[str, int],
    prometheus_url: str | None = None,
    *,
    push: bool = True,
) -> ExportedDay:
    """A tenant created at the start of DAY with ``usage`` in the ledger; the day exported
    after it ended and (``push``) delivered by the `file` adapter."""
    clock = ManualClock(START)
    svc = start_services(settings_for(database_url, data_dir, prometheus_url), clock=clock)
    tenant, _ = svc.tenants.create_tenant(
        OPERATOR, name="Recon", slug=f"recon-{secrets.token_hex(4)}"
    )
    with svc.engine.begin() as conn:
        add_usage(
            conn,
            sorted(UsageRow(tenant.id, m, START + timedelta(hours=5), v) for m, v in usage.items()),
        )
    clock.advance(26 * 3600)
    svc.exports.export(DAY, OPERATOR)
    if push:
        svc.outbox.push(OPERATOR)
    return ExportedDay(svc, tenant.id, clock)


def test_export_and_adapter_receipts_agree_with_the_ledger(
    database_url: str, tmp_path: Path
) -> None:
    usage = {"api_calls": 1_234, "ingest_events": 56, "egress_bytes": 7_890_123}
    day = exported_day(database_url, tmp_path / "data", usage)

    result = day.svc.reconciler.reconcile(day.tenant_id, DAY, OPERATOR)

    for source in ("export", "adapter:file"):
        assert statuses(result, source) == dict.fromkeys(
            ("api_calls", "ingest_events", "egress_gb"), CheckStatus.OK
        ), result.as_dict()
    assert result.check("api_calls", "export").value == Decimal(1_234)
    assert result.check("egress_gb", "adapter:file").value == Decimal("0.007890")
    assert result.check("egress_gb", "export").ledger == Decimal("0.007890123")


def test_all_four_sources_agree_for_an_exported_and_scraped_day(
    database_url: str, tmp_path: Path
) -> None:
    usage = {"api_calls": 15_840, "ingest_events": 2_880, "egress_bytes": 1_440_000_000}
    clock = ManualClock(START)
    probe = start_services(settings_for(database_url, tmp_path / "data", None), clock=clock)
    tenant, _ = probe.tenants.create_tenant(
        OPERATOR, name="Four", slug=f"four-{secrets.token_hex(4)}"
    )
    workdir = tmp_path / "prometheus"
    workdir.mkdir()
    backfill(
        workdir,
        openmetrics(
            {
                ("intelgraph_api_calls", tenant.id, "a"): restarted(1000, 10),
                ("intelgraph_api_calls", tenant.id, "b"): [(m, 50 + (m + 10)) for m in MINUTES],
                ("intelgraph_ingest_events", tenant.id, "a"): restarted(500, 2),
                ("intelgraph_egress_bytes", tenant.id, "a"): restarted(5_000_000, 1_000_000),
            }
        ),
    )
    server = start_prometheus(workdir)
    try:
        svc = start_services(settings_for(database_url, tmp_path / "data", server.url), clock=clock)
        with svc.engine.begin() as conn:
            add_usage(
                conn,
                sorted(
                    UsageRow(tenant.id, m, START + timedelta(hours=5), v) for m, v in usage.items()
                ),
            )
        clock.advance(26 * 3600)
        svc.exports.export(DAY, OPERATOR)
        svc.outbox.push(OPERATOR)

        result = svc.reconciler.reconcile(tenant.id, DAY, OPERATOR)
    finally:
        server.stop()

    assert {c.source for c in result.checks} == {"export", "adapter:file", "prometheus"}
    assert all(c.status is CheckStatus.OK for c in result.checks), result.as_dict()


def test_the_daily_job_reconciles_yesterday_for_every_tenant(
    database_url: str, tmp_path: Path
) -> None:
    day = exported_day(database_url, tmp_path / "data", {"api_calls": 77})  # now DAY+1 02:00

    day.svc.reconciler.reconcile_previous_day()

    stored = day.svc.reconciler.stored(day.tenant_id, START, END, OPERATOR)
    assert stored is not None and stored.is_consistent
    assert stored.check("api_calls", "export").status is CheckStatus.OK
    assert stored.check("api_calls", "adapter:file").value == Decimal(77)


def test_a_tampered_export_cell_is_a_mismatch(database_url: str, tmp_path: Path) -> None:
    day = exported_day(database_url, tmp_path / "data", {"api_calls": 1_000})
    path = tmp_path / "data" / "exports" / DAY.isoformat() / csv_name(DAY)
    text = path.read_text()
    assert text.count(",1000,") == 1
    path.write_text(text.replace(",1000,", ",900,"))

    result = day.svc.reconciler.reconcile(day.tenant_id, DAY, OPERATOR)

    check = result.check("api_calls", "export")
    assert check.status is CheckStatus.MISMATCH
    assert check.value == Decimal(900) and check.delta_ratio == pytest.approx(0.1)
    assert result.check("api_calls", "adapter:file").status is CheckStatus.OK


def test_deliveries_held_by_the_live_toggle_are_unavailable_until_sent(
    database_url: str, tmp_path: Path
) -> None:
    day = exported_day(database_url, tmp_path / "data", {"api_calls": 10}, push=False)
    day.svc.outbox.set_toggle(
        "file", is_on=False, principal=OPERATOR, reason="backout", tenant_id=day.tenant_id
    )
    day.svc.outbox.push(OPERATOR)

    held = day.svc.reconciler.reconcile(day.tenant_id, DAY, OPERATOR)

    check = held.check("api_calls", "adapter:file")
    assert check.status is CheckStatus.UNAVAILABLE
    assert "pending" in check.detail
    day.svc.outbox.set_toggle(
        "file", is_on=True, principal=OPERATOR, reason="restore", tenant_id=day.tenant_id
    )
    day.svc.outbox.push(OPERATOR)
    sent = day.svc.reconciler.reconcile(day.tenant_id, DAY, OPERATOR)
    assert sent.check("api_calls", "adapter:file").status is CheckStatus.OK


def test_egress_within_the_exports_rounding_is_not_a_mismatch(
    database_url: str, tmp_path: Path
) -> None:
    # 1,500 bytes export as 0.000002 GB: a third more than the ledger, but only rounding
    day = exported_day(database_url, tmp_path / "data", {"egress_bytes": 1_500})

    result = day.svc.reconciler.reconcile(day.tenant_id, DAY, OPERATOR)

    check = result.check("egress_gb", "export")
    assert check.value == Decimal("0.000002")
    assert check.status is CheckStatus.OK and check.delta_ratio == 0.0


def test_no_export_yet_is_unavailable_with_the_command_to_make_it(
    database_url: str, tmp_path: Path
) -> None:
    svc = start_services(settings_for(database_url, tmp_path, None))

    result = svc.reconciler.reconcile("t-none", DAY, OPERATOR)

    check = result.check("api_calls", "export")
    assert check.status is CheckStatus.UNAVAILABLE
    assert f"intelgraph export usage --date {DAY.isoformat()}" in check.detail


# --- CLI ------------------------------------------------------------------------------------


def test_cli_reconciles_tenants_and_reports(database_url: str, tmp_path: Path) -> None:
    day = exported_day(database_url, tmp_path / "data", {"api_calls": 1_000})
    other = day.svc.tenants.create_tenant(
        OPERATOR, name="Other", slug=f"other-{secrets.token_hex(4)}"
    )[0]
    with day.svc.engine.begin() as conn:
        add_usage(conn, [UsageRow(other.id, "api_calls", START + timedelta(hours=1), 5)])
    app = typer.Typer()
    app.command()(reconcile_command)
    env = {
        "INTELGRAPH_DATABASE_URL": database_url,
        "INTELGRAPH_DATA_DIR": str(tmp_path / "data"),
        "INTELGRAPH_OPERATOR_KEY": OPERATOR_KEY,
        "INTELGRAPH_MASTER_KEY": MASTER_KEY,
        "INTELGRAPH_RUN_BACKGROUND_JOBS": "false",
        "COLUMNS": "250",
    }

    def run(*args: str) -> Any:
        cli_services.cache_clear()
        try:
            return CliRunner().invoke(app, list(args), env=env)
        finally:
            cli_services.cache_clear()

    single = run(
        "--date", DAY.isoformat(), "--tenant", day.tenant_id, "--json", str(tmp_path / "one.json")
    )
    assert single.exit_code == 0, single.output
    assert "export" in single.output and "adapter:file" in single.output and "ok" in single.output
    report = json.loads((tmp_path / "one.json").read_text())
    assert report["day"] == DAY.isoformat()
    assert report["summary"]["mismatch"] == 0
    (only,) = report["tenants"]
    assert only["tenant_id"] == day.tenant_id and only["status"] == "ok"

    # the other tenant was created after the day was exported: the export has no row for
    # it, though the ledger has 5 calls of that day
    everyone = run("--date", DAY.isoformat())
    assert everyone.exit_code == 2, everyone.output
    assert other.id in everyone.output and "mismatch" in everyone.output
    default_report = tmp_path / "data" / "reconciliation" / f"reconciliation-{DAY}.json"
    written = json.loads(default_report.read_text())
    by_tenant = {t["tenant_id"]: t["status"] for t in written["tenants"]}
    assert by_tenant[day.tenant_id] == "ok" and by_tenant[other.id] == "mismatch"
    assert written["summary"]["mismatch"] >= 1

    bad_day = run("--date", "2025-02-30")
    assert bad_day.exit_code == 1 and "YYYY-MM-DD" in bad_day.output
    unknown = run("--date", DAY.isoformat(), "--tenant", "no-such-tenant")
    assert unknown.exit_code == 1 and "TENANT_NOT_FOUND" in unknown.output
