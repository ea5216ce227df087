"""The billing outbox delivers every export row to every enabled provider exactly once:
through faults, toggles, resends, crashed workers and two workers at a time.

Every test runs on SQLite and on a PostgreSQL database of its own (the outbox is
platform-wide state), against the fake provider (a real HTTP server, see fake_provider.py).
The clock is a ManualClock the tests move, so backoff costs no wall time.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from intelgraph.app import Services, build_outbox
from intelgraph.audit import service as audit
from intelgraph.billing.adapters import BillingAdapter, Delivery, DeliveryOutcome
from intelgraph.billing.outbox import BillingOutbox, delivery_id
from intelgraph.billing.usage_rows import BILLED_METERS, UsageExportRow
from intelgraph.bootstrap import start_services
from intelgraph.cli.context import services as cli_services
from intelgraph.cli.main import app as cli
from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.errors import IntelGraphError
from intelgraph.kernel.tenancy import Principal, local_operator
from intelgraph.metering.ledger import add_usage
from intelgraph.metering.meters import UsageRow
from intelgraph.settings import Settings
from intelgraph.store.engine import create_store_engine

from .fake_provider import (
    ALL_FAULTS,
    NO_FAULTS,
    OPENMETER_TOKEN,
    STRIPE_KEY,
    WEBHOOK_SECRET,
    FakeBillingProvider,
    Faults,
)

DAY = date(2026, 11, 20)
DAY_START = datetime(2026, 11, 20, tzinfo=UTC)
LIVE = ("stripe", "openmeter", "webhook")
ADAPTERS = (*LIVE, "file")
OPERATOR_KEY = "igo_billing_outbox_test_key"
BACKOFF_MAX = 60.0
OPERATOR = local_operator("test")  # the person at the CLI: a platform-admin
ANA = Principal(None, "k-ana", "ana", ("billing-admin",), is_operator=True)


def billing_settings(
    url: str, tmp_path: Path, provider: FakeBillingProvider, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "data_dir": tmp_path / "data",
        "operator_key": OPERATOR_KEY,
        "run_background_jobs": False,
        "export_dir": tmp_path / "exports",
        "billing_adapters": ",".join(ADAPTERS),
        "stripe_api_base": provider.url,
        "stripe_api_key": STRIPE_KEY,
        "openmeter_url": provider.url,
        "openmeter_token": OPENMETER_TOKEN,
        "billing_webhook_url": provider.webhook_url,
        "billing_webhook_secret": WEBHOOK_SECRET,
        "billing_file_dir": tmp_path / "billing-events",
        "billing_http_timeout_seconds": 0.2,
        "billing_max_attempts": 8,
        "billing_backoff_base_seconds": 1.0,
        "billing_backoff_max_seconds": BACKOFF_MAX,
        "billing_claim_lease_seconds": 30.0,
        "billing_push_interval_seconds": 30.0,
    }
    return Settings(**(values | overrides))


@dataclass
class Billing:
    services: Services
    clock: ManualClock
    provider: FakeBillingProvider
    settings: Settings

    @property
    def outbox(self) -> BillingOutbox:
        return self.services.outbox

    def tenant(self, *, is_sandbox: bool = False, has_customer: bool = True) -> str:
        slug = f"b-{secrets.token_hex(4)}"
        tenant, _ = self.services.tenants.create_tenant(
            OPERATOR, name="Billing test", slug=slug, is_sandbox=is_sandbox
        )
        if has_customer:
            self.outbox.set_customer(tenant.id, "stripe", f"cus_{tenant.id}", principal=OPERATOR)
        return tenant.id

    def settle(self, max_rounds: int = 40) -> int:
        """Deliver and move the clock past every backoff until nothing is due; rounds used."""
        for rounds in range(1, max_rounds + 1):
            if self.outbox.deliver_due(OPERATOR, 1000).claimed == 0:
                return rounds
            self.clock.advance(BACKOFF_MAX + 5)
        raise AssertionError("the outbox never settled")

    def states(self, **filters: Any) -> Counter[str]:
        return Counter(d.state for d in self.outbox.deliveries(OPERATOR, **filters))


def usage_row(
    tenant_id: str, api_calls: int = 1200, ingest_events: int = 300, egress: str = "0.5"
) -> UsageExportRow:
    return UsageExportRow(
        tenant_id=tenant_id,
        period_start="2026-11-20T00:00:00Z",
        period_end="2026-11-21T00:00:00Z",
        api_calls=api_calls,
        ingest_events=ingest_events,
        egress_gb=Decimal(egress),
        plan="standard",
        quota_overrides="{}",
        signature="ed25519:test-kid:c2ln",
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/billing.db"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(DAY_START + timedelta(days=1, hours=1))


@pytest.fixture
def provider(clock: ManualClock) -> Iterator[FakeBillingProvider]:
    with FakeBillingProvider(now=lambda: clock.now().timestamp()) as fake:
        yield fake


@pytest.fixture
def billing(
    db_url: str, tmp_path: Path, clock: ManualClock, provider: FakeBillingProvider
) -> Iterator[Billing]:
    settings = billing_settings(db_url, tmp_path, provider)
    services = start_services(settings, clock=clock)
    yield Billing(services, clock, provider, settings)
    services.outbox.close()
    services.engine.dispose()


# --- enqueue -----------------------------------------------------------------------------


def test_a_day_becomes_one_delivery_per_row_adapter_and_meter(billing: Billing) -> None:
    tenants = [billing.tenant(), billing.tenant()]
    billing.outbox.enqueue(DAY, [usage_row(t) for t in tenants], OPERATOR)
    found = billing.outbox.deliveries(OPERATOR)
    assert len(found) == 2 * len(ADAPTERS) * len(BILLED_METERS)
    assert {d.delivery_id for d in found} == {
        delivery_id(t, DAY_START, m, a) for t in tenants for a in ADAPTERS for m in BILLED_METERS
    }
    assert all(d.state == "pending" and d.attempts == 0 for d in found)


def test_enqueueing_a_day_again_refreshes_unsent_values_and_keeps_sent_ones(
    billing: Billing,
) -> None:
    tenant = billing.tenant()
    billing.outbox.set_toggle("stripe", is_on=False, principal=OPERATOR, reason="hold stripe")
    billing.outbox.enqueue(DAY, [usage_row(tenant, api_calls=100)], OPERATOR)
    billing.settle()
    billing.outbox.enqueue(DAY, [usage_row(tenant, api_calls=999)], OPERATOR)
    api_calls = {
        d.adapter: d
        for d in billing.outbox.deliveries(OPERATOR, tenant_id=tenant)
        if d.meter == "api_calls"
    }
    assert len(billing.outbox.deliveries(OPERATOR)) == len(ADAPTERS) * len(BILLED_METERS)
    assert api_calls["stripe"].state == "pending" and api_calls["stripe"].value == 999
    assert api_calls["webhook"].state == "sent" and api_calls["webhook"].value == 100


def test_sandbox_tenants_are_only_written_to_the_file_adapter(billing: Billing) -> None:
    sandbox = billing.tenant(is_sandbox=True)
    billing.outbox.enqueue(DAY, [usage_row(sandbox)], OPERATOR)
    billing.settle()
    assert {d.adapter for d in billing.outbox.deliveries(OPERATOR, tenant_id=sandbox)} == {"file"}
    assert billing.provider.requests == Counter()
    assert billing.states(tenant_id=sandbox) == Counter(sent=3)


# --- delivery ----------------------------------------------------------------------------


def test_every_delivery_reaches_its_provider_with_a_receipt(billing: Billing) -> None:
    tenant = billing.tenant()
    billing.outbox.enqueue(DAY, [usage_row(tenant, egress="1.234567")], OPERATOR)
    billing.settle()
    assert billing.states() == Counter(sent=len(ADAPTERS) * len(BILLED_METERS))
    billed = billing.provider.billed
    for d in billing.outbox.deliveries(OPERATOR, tenant_id=tenant):
        assert d.receipt is not None and d.receipt["value"] == f"{d.value.normalize():f}"
        if d.adapter in LIVE:
            assert billed[d.delivery_id].value == d.value
    stripe_egress = billed[delivery_id(tenant, DAY_START, "egress_gb", "stripe")]
    assert stripe_egress.fields["payload[value]"] == "1.234567"
    lines = (billing.settings.billing_events_dir / "usage-events-2026-11-20.jsonl").read_bytes()
    assert len(lines.splitlines()) == 3


def test_a_tenant_without_a_stripe_customer_waits_with_the_command_that_fixes_it(
    billing: Billing,
) -> None:
    tenant = billing.tenant(has_customer=False)
    billing.outbox.enqueue(DAY, [usage_row(tenant)], OPERATOR)
    billing.settle()
    [waiting] = {d.last_error for d in billing.outbox.deliveries(OPERATOR, adapter="stripe")}
    assert waiting is not None
    assert f"intelgraph billing customer set {tenant} --adapter stripe --id" in waiting
    assert billing.states(adapter="stripe") == Counter(pending=3)
    assert billing.provider.billed_by("stripe") == {}

    assert billing.outbox.set_customer(tenant, "stripe", "cus_late", principal=OPERATOR) == 3
    billing.settle()
    assert billing.states(adapter="stripe") == Counter(sent=3)
    assert {b.usage[0] for b in billing.provider.billed_by("stripe").values()} == {"cus_late"}


def test_retry_after_from_the_provider_is_honoured(billing: Billing) -> None:
    tenant = billing.tenant()
    billing.outbox.enqueue(DAY, [usage_row(tenant)], OPERATOR)
    billing.provider.set_faults(Faults(throttle=1.0, retry_after=600))
    counts = billing.outbox.deliver_due(OPERATOR, 1000)
    assert counts.failed == len(LIVE) * len(BILLED_METERS)
    now = billing.clock.now()
    for d in billing.outbox.deliveries(OPERATOR, state="failed"):
        assert d.next_attempt_at >= now + timedelta(seconds=600)
        assert d.last_error is not None and "429" in d.last_error
    billing.clock.advance(599)
    assert billing.outbox.deliver_due(OPERATOR, 1000).claimed == 0


def test_a_refused_delivery_becomes_a_dead_letter_and_resend_recovers_it(
    billing: Billing,
) -> None:
    tenant = billing.tenant()
    refused = delivery_id(tenant, DAY_START, "api_calls", "webhook")
    billing.provider.reject_ids.add(refused)
    billing.outbox.enqueue(DAY, [usage_row(tenant)], OPERATOR)
    billing.settle()
    [dead] = billing.outbox.deliveries(OPERATOR, state="dead")
    assert dead.delivery_id == refused and dead.attempts == 1
    assert dead.last_error is not None and "400" in dead.last_error

    billing.provider.reject_ids.clear()
    billing.outbox.resend(tenant, DAY, "webhook", principal=OPERATOR, reason="receiver fixed")
    billing.settle()
    assert billing.states() == Counter(sent=len(ADAPTERS) * len(BILLED_METERS))


def test_a_provider_that_stays_down_turns_deliveries_dead_after_the_budget(
    billing: Billing,
) -> None:
    tenant = billing.tenant()
    billing.outbox.enqueue(DAY, [usage_row(tenant)], OPERATOR)
    billing.provider.set_faults(Faults(server_error=1.0))
    billing.settle()
    dead = billing.outbox.deliveries(OPERATOR, state="dead")
    assert len(dead) == len(LIVE) * len(BILLED_METERS)
    assert all(d.attempts == billing.settings.billing_max_attempts for d in dead)
    assert all(d.last_error and d.last_error.startswith("gave up after 8") for d in dead)


# --- acceptance: faults ----------------------------------------------------------------------


def test_with_faults_99_percent_deliver_within_the_budget_and_all_eventually(
    billing: Billing,
) -> None:
    tenants = [billing.tenant() for _ in range(30)]
    rows = [usage_row(t, api_calls=1000 + n, ingest_events=n) for n, t in enumerate(tenants)]
    billing.outbox.enqueue(DAY, rows, OPERATOR)
    billing.provider.set_faults(ALL_FAULTS)
    billing.settle()
    live = [d for d in billing.outbox.deliveries(OPERATOR) if d.adapter in LIVE]
    states = Counter(d.state for d in live)
    assert states["sent"] / len(live) >= 0.99, states
    assert states["pending"] == states["failed"] == 0
    faults = billing.provider.faults_injected
    assert faults["server_error"] and faults["timeout"] and faults["throttle"], faults
    assert faults["drop_before"] + faults["drop_after"], faults

    billing.provider.set_faults(NO_FAULTS)
    for tenant in {d.tenant_id for d in live if d.state == "dead"}:
        billing.outbox.resend(tenant, DAY, principal=OPERATOR, reason="after the outage")
    billing.settle()
    assert billing.states() == Counter(sent=len(tenants) * len(ADAPTERS) * len(BILLED_METERS))
    billed = billing.provider.billed
    assert billing.provider.duplicate_usage() == {}
    assert {d.delivery_id for d in live} == set(billed)
    assert all(billed[d.delivery_id].value == d.value for d in live)


# --- toggles (the backout switch) ------------------------------------------------------------


def test_an_adapter_toggled_off_sends_nothing_until_it_is_on_again(billing: Billing) -> None:
    tenant = billing.tenant()
    billing.outbox.set_toggle("webhook", is_on=False, principal=ANA, reason="bad invoices")
    billing.outbox.enqueue(DAY, [usage_row(tenant)], OPERATOR)
    billing.settle()
    assert billing.provider.requests["webhook"] == 0
    assert billing.states(adapter="webhook") == Counter(pending=3)
    assert billing.states(adapter="stripe") == Counter(sent=3)

    billing.outbox.set_toggle("webhook", is_on=True, principal=ANA, reason="fixed")
    billing.settle()
    assert billing.states(adapter="webhook") == Counter(sent=3)
    assert len(billing.provider.billed_by("webhook")) == 3
    flips = [
        r
        for r in audit.list_records(billing.services.engine, audit.PLATFORM)
        if r.action == "billing.toggle"
    ]
    assert [(r.actor, r.reason, r.new_value) for r in flips] == [
        ("operator:ana", "fixed", {"is_on": True}),
        ("operator:ana", "bad invoices", {"is_on": False}),
    ]


def test_a_trust_admin_may_not_flip_a_billing_toggle_or_resend(billing: Billing) -> None:
    tenant = billing.tenant()
    billing.outbox.enqueue(DAY, [usage_row(tenant)], OPERATOR)
    trust_admin = Principal(None, "k-tom", "tom", ("trust-admin",), is_operator=True)

    attempts: list[Callable[[], object]] = [
        lambda: billing.outbox.set_toggle("stripe", is_on=False, principal=trust_admin, reason="x"),
        lambda: billing.outbox.resend(tenant, DAY, principal=trust_admin, reason="x"),
        lambda: billing.outbox.push(trust_admin),
    ]
    for attempt in attempts:
        with pytest.raises(IntelGraphError) as refused:
            attempt()
        assert refused.value.code == "POLICY_DENIED" and "billing.admin" in refused.value.message
    assert billing.outbox.toggles.snapshot().is_on("stripe")
    assert billing.states(adapter="stripe") == Counter(pending=3)


def test_a_tenant_toggle_holds_only_that_tenant(billing: Billing) -> None:
    held, other = billing.tenant(), billing.tenant()
    billing.outbox.set_toggle(
        "stripe", is_on=False, principal=OPERATOR, reason="disputed", tenant_id=held
    )
    billing.outbox.enqueue(DAY, [usage_row(held), usage_row(other)], OPERATOR)
    billing.settle()
    assert billing.states(tenant_id=held, adapter="stripe") == Counter(pending=3)
    assert billing.states(tenant_id=other, adapter="stripe") == Counter(sent=3)
    assert billing.states(tenant_id=held, adapter="openmeter") == Counter(sent=3)
    billing.outbox.set_toggle("stripe", is_on=True, principal=OPERATOR, reason="ok", tenant_id=held)
    billing.settle()
    assert billing.states(tenant_id=held) == Counter(sent=len(ADAPTERS) * 3)


def test_a_toggle_without_a_reason_is_refused(billing: Billing) -> None:
    with pytest.raises(IntelGraphError) as refused:
        billing.outbox.set_toggle("stripe", is_on=False, principal=OPERATOR, reason="  ")
    assert refused.value.code == "VALIDATION" and "--reason" in refused.value.message
    with pytest.raises(IntelGraphError) as unknown:
        billing.outbox.set_toggle("paypal", is_on=False, principal=OPERATOR, reason="x")
    assert unknown.value.code == "BILLING_ADAPTER_UNKNOWN"


# --- resend ---------------------------------------------------------------------------------


def test_resend_reuses_the_delivery_ids_so_nothing_is_billed_twice(billing: Billing) -> None:
    tenant = billing.tenant()
    billing.outbox.enqueue(DAY, [usage_row(tenant)], OPERATOR)
    billing.settle()
    before = billing.provider.billed

    result = billing.outbox.resend(tenant, DAY, principal=OPERATOR, reason="provider lost a batch")
    assert result.requeued == len(ADAPTERS) * len(BILLED_METERS) and result.skipped == []
    billing.settle()
    assert billing.states() == Counter(sent=len(ADAPTERS) * len(BILLED_METERS))
    assert billing.provider.billed == before
    assert billing.provider.duplicate_usage() == {}
    attempts = billing.provider.attempts
    assert all(attempts[key] == 2 for key in before)  # each key sent twice, billed once


def test_resend_skips_stripe_deliveries_beyond_its_dedupe_window_unless_forced(
    billing: Billing,
) -> None:
    tenant = billing.tenant()
    billing.outbox.enqueue(DAY, [usage_row(tenant)], OPERATOR)
    billing.settle()
    billing.clock.advance(25 * 3600)
    result = billing.outbox.resend(tenant, DAY, "stripe", principal=OPERATOR)
    assert result.requeued == 0 and len(result.skipped) == 3
    assert "--force" in result.skipped[0]
    forced = billing.outbox.resend(tenant, DAY, "stripe", principal=OPERATOR, force=True)
    assert forced.requeued == 3


def test_resend_of_an_unknown_day_says_to_backfill(billing: Billing) -> None:
    tenant = billing.tenant()
    with pytest.raises(IntelGraphError) as missing:
        billing.outbox.resend(tenant, DAY, principal=OPERATOR)
    assert missing.value.code == "BILLING_DELIVERY_NOT_FOUND"
    assert "billing backfill" in missing.value.message


# --- workers --------------------------------------------------------------------------------


class CrashAfterSending:
    """Wraps an adapter: sends, then dies before the outcome is recorded (once)."""

    def __init__(self, inner: BillingAdapter) -> None:
        self.inner = inner
        self.name = inner.name
        self.is_live = inner.is_live
        self.needs_customer_id = inner.needs_customer_id
        self.dedupe_window = inner.dedupe_window
        self.crashes = 1

    def configuration_problem(self) -> str | None:
        return self.inner.configuration_problem()

    def deliver(self, deliveries: Sequence[Delivery]) -> list[DeliveryOutcome]:
        outcomes = self.inner.deliver(deliveries)
        if self.crashes:
            self.crashes -= 1
            raise SystemExit("worker killed after sending")
        return outcomes

    def close(self) -> None:
        self.inner.close()


def test_a_crashed_workers_claims_expire_and_the_provider_bills_once(billing: Billing) -> None:
    tenant = billing.tenant()
    original = billing.outbox.adapters["stripe"]
    crashing = BillingOutbox(
        billing.services.engine,
        billing.clock,
        {"stripe": CrashAfterSending(original)},
        billing.outbox.toggles,
        billing.outbox.customers,
        set,
        billing.outbox.policy,
        authz=billing.services.policy,
    )
    billing.outbox.enqueue(DAY, [usage_row(tenant)], OPERATOR)
    with pytest.raises(SystemExit):
        crashing.deliver_due(OPERATOR, 1000)
    assert (
        billing.outbox.deliver_due(OPERATOR, 1000).claimed == len(ADAPTERS[1:]) * 3
    )  # stripe leased
    billing.clock.advance(billing.settings.billing_claim_lease_seconds + 1)
    billing.settle()
    assert billing.states(adapter="stripe") == Counter(sent=3)
    stripe = billing.provider.billed_by("stripe")
    assert len(stripe) == 3 and all(billing.provider.attempts[k] == 2 for k in stripe)
    assert billing.provider.duplicate_usage() == {}


def test_two_workers_never_deliver_the_same_delivery(billing: Billing) -> None:
    tenants = [billing.tenant() for _ in range(12)]
    billing.outbox.enqueue(DAY, [usage_row(t) for t in tenants], OPERATOR)
    billing.provider.set_faults(Faults(latency_seconds=0.003))
    second_engine = create_store_engine(billing.settings.database_url)
    second = build_outbox(
        billing.settings,
        second_engine,
        billing.clock,
        billing.services.tenants,
        billing.services.policy,
    )
    counts: list[int] = []

    def work(outbox: BillingOutbox) -> None:
        sent = 0
        while (step := outbox.deliver_due(OPERATOR, 10)).claimed:
            sent += step.sent
        counts.append(sent)

    workers = [threading.Thread(target=work, args=(o,)) for o in (billing.outbox, second)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    second.close()
    second_engine.dispose()
    total = len(tenants) * len(ADAPTERS) * len(BILLED_METERS)
    assert sum(counts) == total and all(counts), counts  # both worked, none twice
    assert billing.states() == Counter(sent=total)
    assert billing.provider.max_in_flight == 1
    assert set(billing.provider.attempts.values()) == {1}


# --- wiring ---------------------------------------------------------------------------------


def test_serve_pushes_due_deliveries_on_its_schedule(billing: Billing) -> None:
    tenant = billing.tenant()
    billing.outbox.enqueue(DAY, [usage_row(tenant)], OPERATOR)
    billing.clock.advance(billing.settings.billing_push_interval_seconds)
    assert "billing.push" in billing.services.scheduler.run_due()
    assert billing.states() == Counter(sent=len(ADAPTERS) * len(BILLED_METERS))


def test_a_usage_export_queues_its_rows_for_billing(billing: Billing) -> None:
    billing.clock.advance(-2 * 3600)  # the export lists tenants that existed during the day
    tenant = billing.tenant()
    billing.clock.advance(2 * 3600)
    with billing.services.engine.begin() as conn:
        add_usage(conn, [UsageRow(tenant, "api_calls", DAY_START + timedelta(hours=3), 42)])
    result = billing.services.exports.export(DAY, OPERATOR)
    assert [row.tenant_id for row in result.rows] == [tenant]
    queued = {
        (d.adapter, d.meter): d.value for d in billing.outbox.deliveries(OPERATOR, tenant_id=tenant)
    }
    assert queued[("stripe", "api_calls")] == 42 and len(queued) == len(ADAPTERS) * 3


# --- CLI ------------------------------------------------------------------------------------


def test_the_cli_toggles_pushes_resends_and_reports(
    tmp_path: Path, provider: FakeBillingProvider
) -> None:
    settings = billing_settings(f"sqlite:///{tmp_path}/cli.db", tmp_path, provider)
    env = {
        f"INTELGRAPH_{name.upper()}": str(value)
        for name, value in settings.model_dump().items()
        if value is not None
    } | {"COLUMNS": "200"}
    services = start_services(settings)
    tenant, _ = services.tenants.create_tenant(OPERATOR, name="Cli", slug="cli-billing")
    yesterday = (services.clock.now() - timedelta(days=1)).date()
    row = usage_row(tenant.id)
    start = f"{yesterday.isoformat()}T00:00:00Z"
    end = f"{(yesterday + timedelta(days=1)).isoformat()}T00:00:00Z"
    services.outbox.enqueue(
        yesterday, [dataclasses.replace(row, period_start=start, period_end=end)], OPERATOR
    )
    provider._now = services.clock.now().timestamp  # webhook timestamps use the real clock
    runner = CliRunner()

    def run(*args: str) -> Any:
        cli_services.cache_clear()
        try:
            return runner.invoke(cli, ["billing", *args], env=env)
        finally:
            cli_services.cache_clear()

    off = run("toggle", "--adapter", "openmeter", "--off", "--reason", "backout drill")
    assert off.exit_code == 0, off.output
    assert run("toggle", "--adapter", "stripe", "--off").exit_code != 0  # --reason required
    set_customer = run("customer", "set", "cli-billing", "--adapter", "stripe", "--id", "cus_9")
    assert set_customer.exit_code == 0, set_customer.output
    pushed = run("push")
    assert pushed.exit_code == 0 and "sent 9" in pushed.output, pushed.output
    status = run("status", "--json")
    report = orjson.loads(status.stdout)
    by_adapter = {a["adapter"]: a for a in report["adapters"]}
    assert by_adapter["openmeter"]["on"] is False
    assert by_adapter["openmeter"]["states"]["pending"] == 3
    assert by_adapter["stripe"]["states"]["sent"] == 3
    assert "sandbox" in report["sandbox"]
    resent = run("resend", "--tenant", "cli-billing", "--date", yesterday.isoformat())
    assert resent.exit_code == 0 and "re-queued 12" in resent.output, resent.output
    human = run("status")
    assert human.exit_code == 0 and "backout drill" in human.output
    services.outbox.close()
    services.engine.dispose()
