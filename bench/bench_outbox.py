"""Billing outbox throughput: deliveries per second against the local fake provider.

For each backend (SQLite, PostgreSQL when it answers): every adapter alone without faults,
then all four together without and with faults (30 % 5xx, 3 % stalls past the 0.2 s client
timeout, 3 % dropped connections, 4 % 429). The clock is a ManualClock moved past each
backoff between rounds, so the figures are the work (claim, HTTP, record), not the waiting;
stalls do cost their 0.2 s timeouts. Prints figures; never passes or fails on time.

Run: ``.venv/bin/python bench/bench_outbox.py [--quick] [--tenants N]``.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert

from harness import (
    BACKENDS,
    Stopwatch,
    postgres_available,
    print_header,
    scratch_database,
    scratch_dir,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "billing"))
from fake_provider import (
    ALL_FAULTS,
    NO_FAULTS,
    OPENMETER_TOKEN,
    STRIPE_KEY,
    WEBHOOK_SECRET,
    FakeBillingProvider,
    Faults,
)

from intelgraph.billing.adapters import AdapterConfig, build_adapters
from intelgraph.billing.customers import BillingCustomers
from intelgraph.billing.outbox import BillingOutbox, RetryPolicy
from intelgraph.billing.toggles import BillingToggles
from intelgraph.billing.usage_rows import UsageExportRow
from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.tenancy import local_operator
from intelgraph.policy.engine import PolicyEngine
from intelgraph.store import migrate
from intelgraph.store.engine import create_store_engine
from intelgraph.store.tables import billing_customers

DAY = date(2026, 11, 20)
BATCH = 500
BACKOFF_MAX = 60.0


@dataclass
class Figures:
    deliveries: int
    sent: int
    dead: int
    rounds: int
    enqueue: Stopwatch
    deliver: Stopwatch
    requests: Counter[str]


def rows_for(tenant_ids: list[str]) -> list[UsageExportRow]:
    return [
        UsageExportRow(
            tenant_id=tenant_id,
            period_start="2026-11-20T00:00:00Z",
            period_end="2026-11-21T00:00:00Z",
            api_calls=1000 + n,
            ingest_events=10 * n,
            egress_gb=Decimal(n) / 1000,
            plan="standard",
            quota_overrides="{}",
            signature="ed25519:bench:c2ln",
        )
        for n, tenant_id in enumerate(tenant_ids)
    ]


def run(backend: str, adapters: tuple[str, ...], tenants: int, faults: Faults) -> Figures:
    clock = ManualClock(datetime(2026, 11, 21, 1, tzinfo=UTC))
    with (
        scratch_dir("outbox") as workdir,
        scratch_database(backend, workdir) as url,
        FakeBillingProvider(faults, now=lambda: clock.now().timestamp()) as provider,
    ):
        engine = create_store_engine(url)
        migrate.upgrade(engine)
        config = AdapterConfig(
            stripe_api_base=provider.url,
            stripe_api_key=STRIPE_KEY,
            openmeter_url=provider.url,
            openmeter_token=OPENMETER_TOKEN,
            webhook_url=provider.webhook_url,
            webhook_secret=WEBHOOK_SECRET,
            file_dir=workdir / "billing",
            timeout_seconds=0.2,
        )
        policy = PolicyEngine()
        outbox = BillingOutbox(
            engine,
            clock,
            build_adapters(adapters, config, clock),
            BillingToggles(engine, clock, policy),
            BillingCustomers(engine, clock, policy),
            set,
            RetryPolicy(max_attempts=16, base_seconds=1.0, max_seconds=BACKOFF_MAX),
            authz=policy,
        )
        operator = local_operator("bench")
        tenant_ids = [f"ten_bench_{n:05d}" for n in range(tenants)]
        with engine.begin() as conn:  # setup only: bulk customer ids instead of 1 000 CLI calls
            conn.execute(
                insert(billing_customers),
                [
                    {
                        "tenant_id": t,
                        "adapter": "stripe",
                        "customer_id": f"cus_{t}",
                        "updated_by": "bench",
                        "updated_at": clock.now(),
                    }
                    for t in tenant_ids
                ],
            )
        enqueue, deliver = Stopwatch(), Stopwatch()
        with enqueue.running():
            outbox.enqueue(DAY, rows_for(tenant_ids), operator)
        rounds = 0
        while True:
            with deliver.running():
                claimed = outbox.push(operator, limit=BATCH).claimed
            if claimed == 0:
                break
            rounds += 1
            clock.advance(BACKOFF_MAX + 5)  # every backoff has passed: no waiting measured
        states = outbox.state_counts(operator)
        outbox.close()
        engine.dispose()
        return Figures(
            deliveries=sum(states.values()),
            sent=sum(n for (_, state), n in states.items() if state == "sent"),
            dead=sum(n for (_, state), n in states.items() if state == "dead"),
            rounds=rounds,
            enqueue=enqueue,
            deliver=deliver,
            requests=provider.requests,
        )


def report(backend: str, label: str, figures: Figures) -> None:
    rate = figures.sent / figures.deliver.wall if figures.deliver.wall else float("nan")
    cpu_rate = figures.sent / figures.deliver.cpu if figures.deliver.cpu else float("nan")
    enqueue_rate = figures.deliveries / figures.enqueue.wall if figures.enqueue.wall else 0.0
    requests = ", ".join(f"{k} {v}" for k, v in sorted(figures.requests.items())) or "none"
    print(
        f"{backend:<10} {label:<28} deliveries {figures.deliveries:>6}  sent {figures.sent:>6}  "
        f"dead {figures.dead:>3}  rounds {figures.rounds:>2}  "
        f"{rate:>8.0f} deliveries/s wall ({figures.deliver.wall:6.2f} s)  "
        f"{cpu_rate:>8.0f}/s per CPU-second  enqueue {enqueue_rate:>7.0f} rows/s  "
        f"[requests: {requests}]",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 tenants instead of 1 000")
    parser.add_argument("--tenants", type=int, default=None)
    args = parser.parse_args()
    tenants = args.tenants or (200 if args.quick else 1000)
    print_header(
        "billing outbox: deliveries per second against the local fake provider",
        tenants=tenants,
        deliveries_per_adapter=tenants * 3,
        claim_batch=BATCH,
        faults="30% 5xx, 3% stall > 0.2 s timeout, 3% dropped connection, 4% 429",
        cpu="process CPU: the outbox and the fake provider's threads (same process)",
    )
    backends = [b for b in BACKENDS if b != "postgresql" or postgres_available() is None]
    if "postgresql" not in backends:
        print(f"postgresql skipped: {postgres_available()}")
    for backend in backends:
        for adapter in ("file", "stripe", "openmeter", "webhook"):
            alone = run(backend, (adapter,), tenants, NO_FAULTS)
            report(backend, f"{adapter} alone, no faults", alone)
        every = ("stripe", "openmeter", "webhook", "file")
        report(backend, "all four, no faults", run(backend, every, tenants, NO_FAULTS))
        report(backend, "all four, with faults", run(backend, every, tenants, ALL_FAULTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
