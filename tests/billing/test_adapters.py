"""Billing adapters speak each provider's wire format and classify what comes back.

Each test sends hand-made deliveries to the fake provider (a real HTTP server speaking
Stripe, OpenMeter/CloudEvents and Standard Webhooks) and checks what it received.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from intelgraph.billing.adapters import (
    AdapterConfig,
    Delivery,
    FileAdapter,
    OpenMeterAdapter,
    OutcomeKind,
    StripeAdapter,
    WebhookAdapter,
    build_adapters,
    format_value,
    retry_after_seconds,
    webhook_signature,
)
from intelgraph.billing.outbox import delivery_id
from intelgraph.kernel.clock import ManualClock

from .fake_provider import (
    OPENMETER_TOKEN,
    STRIPE_KEY,
    WEBHOOK_SECRET,
    FakeBillingProvider,
    Faults,
)

DAY_START = datetime(2026, 11, 20, tzinfo=UTC)
CLIENT_TIMEOUT = 0.2


def delivery(
    adapter: str, meter: str = "api_calls", value: str = "1234", tenant: str = "ten_a"
) -> Delivery:
    return Delivery(
        delivery_id=delivery_id(tenant, DAY_START, meter, adapter),
        tenant_id=tenant,
        period_start=DAY_START,
        adapter=adapter,
        meter=meter,
        value=Decimal(value),
        payload={
            "period_start": "2026-11-20T00:00:00Z",
            "period_end": "2026-11-21T00:00:00Z",
            "plan": "standard",
            "row_signature": "ed25519:kid:sig",
        },
        attempts=0,
        customer_id="cus_A" if adapter == "stripe" else None,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(DAY_START + timedelta(days=1, hours=1))


@pytest.fixture
def provider(clock: ManualClock) -> Iterator[FakeBillingProvider]:
    with FakeBillingProvider(now=lambda: clock.now().timestamp()) as fake:
        yield fake


def config_for(provider: FakeBillingProvider, tmp_path: Path | None = None) -> AdapterConfig:
    return AdapterConfig(
        stripe_api_base=provider.url,
        stripe_api_key=STRIPE_KEY,
        openmeter_url=provider.url,
        openmeter_token=OPENMETER_TOKEN,
        webhook_url=provider.webhook_url,
        webhook_secret=WEBHOOK_SECRET,
        file_dir=(tmp_path or Path("/nonexistent")) / "billing",
        timeout_seconds=CLIENT_TIMEOUT,
    )


# --- Stripe ------------------------------------------------------------------------------


def test_stripe_meter_event_carries_the_form_fields_and_idempotency_key(
    provider: FakeBillingProvider, clock: ManualClock
) -> None:
    adapter = StripeAdapter(config_for(provider), clock)
    sent = delivery("stripe", "egress_gb", "1.250000")
    [outcome] = adapter.deliver([sent])
    assert outcome.kind is OutcomeKind.SENT, outcome.error
    billed = provider.billed_by("stripe")[sent.delivery_id]
    assert billed.fields == {
        "event_name": "intelgraph_egress_gb",
        "payload[stripe_customer_id]": "cus_A",
        "payload[value]": "1.25",
        "identifier": sent.delivery_id,
        "timestamp": str(int(DAY_START.timestamp())),
    }
    assert provider.attempts[sent.delivery_id] == 1
    assert outcome.receipt is not None and outcome.receipt["identifier"] == sent.delivery_id


def test_a_stripe_retry_with_the_same_key_is_replayed_not_billed_again(
    provider: FakeBillingProvider, clock: ManualClock
) -> None:
    adapter = StripeAdapter(config_for(provider), clock)
    sent = delivery("stripe")
    adapter.deliver([sent])
    [again] = adapter.deliver([sent])
    assert again.kind is OutcomeKind.SENT and again.receipt is not None
    assert again.receipt["replayed"] is True
    assert len(provider.billed_by("stripe")) == 1 and provider.replays[sent.delivery_id] == 1


def test_a_bad_stripe_key_is_permanent(provider: FakeBillingProvider, clock: ManualClock) -> None:
    config = AdapterConfig(stripe_api_base=provider.url, stripe_api_key="sk_wrong")
    [outcome] = StripeAdapter(config, clock).deliver([delivery("stripe")])
    assert outcome.kind is OutcomeKind.PERMANENT
    assert outcome.error is not None and "401" in outcome.error and "sk_wrong" not in outcome.error


def test_stripe_without_a_key_names_the_setting_to_fix(clock: ManualClock) -> None:
    problem = StripeAdapter(AdapterConfig(), clock).configuration_problem()
    assert problem is not None and "INTELGRAPH_STRIPE_API_KEY" in problem


# --- outcome classification ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("faults", "kind", "has_retry_after"),
    [
        (Faults(server_error=1.0), OutcomeKind.RETRY, False),
        (Faults(throttle=1.0, retry_after=42), OutcomeKind.RETRY, True),
        (Faults(timeout=1.0, stall_seconds=CLIENT_TIMEOUT * 3), OutcomeKind.RETRY, False),
        (Faults(drop=1.0, seed=1), OutcomeKind.RETRY, False),
        (Faults(drop=1.0, seed=3), OutcomeKind.RETRY, False),
    ],
    ids=["5xx", "429", "timeout", "drop-a", "drop-b"],
)
def test_provider_failures_are_retryable(
    provider: FakeBillingProvider,
    clock: ManualClock,
    faults: Faults,
    kind: OutcomeKind,
    has_retry_after: bool,
) -> None:
    provider.set_faults(faults)
    adapters = [
        StripeAdapter(config_for(provider), clock),
        OpenMeterAdapter(config_for(provider), clock),
        WebhookAdapter(config_for(provider), clock),
    ]
    for adapter in adapters:
        [outcome] = adapter.deliver([delivery(adapter.name)])
        assert outcome.kind is kind, (adapter.name, outcome)
        assert (outcome.retry_after == 42.0) is has_retry_after, (adapter.name, outcome)


def test_a_refused_event_is_permanent(provider: FakeBillingProvider, clock: ManualClock) -> None:
    for adapter in (
        StripeAdapter(config_for(provider), clock),
        OpenMeterAdapter(config_for(provider), clock),
        WebhookAdapter(config_for(provider), clock),
    ):
        refused = delivery(adapter.name)
        provider.reject_ids.add(refused.delivery_id)
        [outcome] = adapter.deliver([refused])
        assert outcome.kind is OutcomeKind.PERMANENT, (adapter.name, outcome)
        assert outcome.error is not None and "400" in outcome.error


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("30", now) == 30.0
    assert retry_after_seconds("Sat, 21 Nov 2026 12:01:00 GMT", now) == 60.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


# --- OpenMeter -----------------------------------------------------------------------------


def test_openmeter_gets_one_cloudevents_batch_with_deterministic_ids(
    provider: FakeBillingProvider, clock: ManualClock
) -> None:
    adapter = OpenMeterAdapter(config_for(provider), clock)
    batch = [delivery("openmeter", meter) for meter in ("api_calls", "ingest_events")]
    outcomes = adapter.deliver(batch)
    assert [o.kind for o in outcomes] == [OutcomeKind.SENT, OutcomeKind.SENT]
    assert provider.requests["openmeter"] == 1
    event = provider.billed_by("openmeter")[batch[0].delivery_id].fields
    assert event["specversion"] == "1.0" and event["source"] == "intelgraph"
    assert event["id"] == batch[0].delivery_id
    assert event["type"] == "intelgraph.api_calls" and event["subject"] == "ten_a"
    assert event["time"] == "2026-11-20T00:00:00Z" and event["data"]["value"] == "1234"


def test_one_bad_event_does_not_sink_its_openmeter_batch(
    provider: FakeBillingProvider, clock: ManualClock
) -> None:
    adapter = OpenMeterAdapter(config_for(provider), clock)
    batch = [delivery("openmeter", meter) for meter in ("api_calls", "ingest_events", "egress_gb")]
    provider.reject_ids.add(batch[1].delivery_id)
    kinds = [o.kind for o in adapter.deliver(batch)]
    assert kinds == [OutcomeKind.SENT, OutcomeKind.PERMANENT, OutcomeKind.SENT]


# --- Standard Webhooks ---------------------------------------------------------------------


def test_webhook_signature_matches_the_standard_webhooks_test_vector() -> None:
    assert (
        webhook_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_webhook_is_signed_and_verified_by_the_receiver(
    provider: FakeBillingProvider, clock: ManualClock
) -> None:
    adapter = WebhookAdapter(config_for(provider), clock)
    sent = delivery("webhook", "ingest_events", "77")
    [outcome] = adapter.deliver([sent])
    assert outcome.kind is OutcomeKind.SENT, outcome.error
    event = provider.billed_by("webhook")[sent.delivery_id].fields
    assert event["value"] == "77" and event["row_signature"] == "ed25519:kid:sig"


def test_a_webhook_signed_with_another_secret_is_refused(
    provider: FakeBillingProvider, clock: ManualClock
) -> None:
    config = AdapterConfig(webhook_url=provider.webhook_url, webhook_secret="whsec_" + "QUJD" * 8)
    [outcome] = WebhookAdapter(config, clock).deliver([delivery("webhook")])
    assert outcome.kind is OutcomeKind.PERMANENT
    assert provider.billed == {}


# --- file ----------------------------------------------------------------------------------


def test_the_file_adapter_writes_each_delivery_once(tmp_path: Path) -> None:
    adapter = FileAdapter(tmp_path)
    first = [delivery("file", meter) for meter in ("api_calls", "ingest_events")]
    adapter.deliver(first)
    outcomes = adapter.deliver([*first, delivery("file", "egress_gb", "0.5")])
    assert [o.receipt["duplicate"] for o in outcomes if o.receipt] == [True, True, False]
    lines = (tmp_path / "usage-events-2026-11-20.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line)["meter"] for line in lines] == [
        "api_calls",
        "ingest_events",
        "egress_gb",
    ]


def test_a_torn_last_line_does_not_corrupt_the_next_write(tmp_path: Path) -> None:
    path = tmp_path / "usage-events-2026-11-20.jsonl"
    path.write_bytes(b'{"delivery_id": "half-writ')
    FileAdapter(tmp_path).deliver([delivery("file")])
    lines = path.read_bytes().splitlines()
    assert orjson.loads(lines[-1])["meter"] == "api_calls"


# --- building from settings ------------------------------------------------------------------


def test_an_unknown_adapter_name_is_refused_with_the_choices(clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="stripe, openmeter, webhook, file"):
        build_adapters(["stripe", "paypal"], AdapterConfig(), clock)


def test_values_are_plain_decimal_text() -> None:
    assert format_value(Decimal("1E+3")) == "1000"
    assert format_value(Decimal("0.000000")) == "0"
    assert format_value(Decimal("12.340000")) == "12.34"
