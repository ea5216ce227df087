"""The durable ledger: batched upsert-adds per tenant/meter/minute, totals for a period."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.errors import IntelGraphError
from intelgraph.metering.ledger import LedgerFlusher
from intelgraph.metering.meters import UsageMeters
from intelgraph.metering.service import MeteringService, record_ingest_events
from intelgraph.obs.metrics import Metrics
from intelgraph.policy.engine import PolicyEngine
from intelgraph.store import migrate
from intelgraph.store.engine import create_store_engine
from intelgraph.store.tables import usage_ledger

NOON = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated store: a temp SQLite file, then a fresh PostgreSQL database."""
    created = create_store_engine(database_url)
    migrate.upgrade(created)
    yield created
    created.dispose()


@pytest.fixture
def tenant() -> str:
    """A tenant id of this test only (the PostgreSQL database is shared by the session)."""
    return f"ten_{secrets.token_hex(6)}"


def _ledger(engine: Engine, tenant_id: str) -> dict[tuple[str, str], int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(usage_ledger.c.meter, usage_ledger.c.bucket_start, usage_ledger.c.value).where(
                usage_ledger.c.tenant_id == tenant_id
            )
        ).all()
    return {(meter, bucket.strftime("%H:%M")): value for meter, bucket, value in rows}


def test_flushes_add_to_the_tenant_minute_buckets(engine: Engine, tenant: str) -> None:
    clock = ManualClock(NOON)
    metrics = Metrics()
    meters = UsageMeters(metrics, clock)
    flusher = LedgerFlusher(engine, meters, metrics)

    meters.record_request(tenant, 100)
    meters.record_request(tenant, 50)
    meters.record_request(tenant + "b", 7)
    assert flusher.flush() == 4
    meters.record_request(tenant, 0)  # same minute: added to the stored bucket
    clock.advance(61)
    meters.record_request(tenant, 5)
    flusher.flush()

    assert _ledger(engine, tenant) == {
        ("api_calls", "12:00"): 3,
        ("egress_bytes", "12:00"): 150,
        ("api_calls", "12:01"): 1,
        ("egress_bytes", "12:01"): 5,
    }
    assert _ledger(engine, tenant + "b") == {
        ("api_calls", "12:00"): 1,
        ("egress_bytes", "12:00"): 7,
    }
    assert meters.pending_rows == 0


def test_usage_totals_sum_the_buckets_starting_in_the_period(engine: Engine, tenant: str) -> None:
    clock = ManualClock(NOON)
    metrics = Metrics()
    meters = UsageMeters(metrics, clock)
    flusher = LedgerFlusher(engine, meters, metrics)
    for _ in range(3):  # 12:00, 12:10, 12:20
        meters.record_request(tenant, 1000)
        meters.record_request(tenant + "o", 1)
        clock.advance(600)
    flusher.flush()
    with engine.begin() as conn:
        record_ingest_events(conn, tenant, 42, NOON + timedelta(minutes=10, seconds=5))
    service = MeteringService(engine, PolicyEngine())

    whole = service.usage_totals(tenant, NOON, NOON + timedelta(hours=1))
    middle = service.usage_totals(
        tenant, NOON + timedelta(minutes=10), NOON + timedelta(minutes=20)
    )
    unused = service.usage_totals(tenant, NOON - timedelta(days=1), NOON)

    assert whole == {"api_calls": 3, "ingest_events": 42, "egress_bytes": 3000}
    assert middle == {"api_calls": 1, "ingest_events": 42, "egress_bytes": 1000}
    assert unused == {"api_calls": 0, "ingest_events": 0, "egress_bytes": 0}
    with pytest.raises(IntelGraphError) as refused:
        service.usage_totals(tenant, NOON, NOON - timedelta(seconds=1))
    assert refused.value.code == "VALIDATION"


def test_stop_flushes_what_is_still_buffered(engine: Engine, tenant: str) -> None:
    metrics = Metrics()
    meters = UsageMeters(metrics, ManualClock(NOON))
    flusher = LedgerFlusher(engine, meters, metrics, interval_seconds=3600)
    flusher.start()
    meters.record_request(tenant, 9)

    flusher.stop()

    assert _ledger(engine, tenant) == {("api_calls", "12:00"): 1, ("egress_bytes", "12:00"): 9}


def test_the_flusher_writes_within_about_a_second_without_being_asked(
    engine: Engine, tenant: str
) -> None:
    metrics = Metrics()
    meters = UsageMeters(metrics, ManualClock(NOON))
    # About a second: the default interval, the longest the thread waits between flushes.
    assert LedgerFlusher(engine, meters, metrics).interval_seconds == 1.0
    # Without being asked: a flusher whose interval is a thousandth of that writes on its
    # own, so the wait below ends in milliseconds unless the thread does not flush at all.
    flusher = LedgerFlusher(engine, meters, metrics, interval_seconds=0.001)
    flusher.start()
    try:
        meters.record_request(tenant, 3)
        deadline = time.monotonic() + 10  # only bounds a failure
        while not _ledger(engine, tenant) and time.monotonic() < deadline:
            time.sleep(0.001)
        assert _ledger(engine, tenant) == {
            ("api_calls", "12:00"): 1,
            ("egress_bytes", "12:00"): 3,
        }
    finally:
        flusher.stop()


def test_ingest_events_commit_and_roll_back_with_their_transaction(
    engine: Engine, tenant: str
) -> None:
    with engine.begin() as conn:
        record_ingest_events(conn, tenant, 10, NOON)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        record_ingest_events(conn, tenant, 1000, NOON)
        raise RuntimeError("the ingest failed after writing")
    with engine.begin() as conn:
        record_ingest_events(conn, tenant, 5, NOON + timedelta(seconds=59))

    assert _ledger(engine, tenant) == {("ingest_events", "12:00"): 15}


def test_a_failed_flush_keeps_the_rows_for_the_next_one(tmp_path: Path, tenant: str) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path}/not-yet-migrated.db")
    metrics = Metrics()
    meters = UsageMeters(metrics, ManualClock(NOON))
    flusher = LedgerFlusher(engine, meters, metrics)
    meters.record_request(tenant, 11)

    assert flusher.flush() == 0  # no usage_ledger table yet
    assert metrics.registry.get_sample_value("intelgraph_usage_ledger_flush_errors_total") == 1
    migrate.upgrade(engine)
    meters.record_request(tenant, 1)
    assert flusher.flush() == 2

    assert _ledger(engine, tenant) == {("api_calls", "12:00"): 2, ("egress_bytes", "12:00"): 12}
    engine.dispose()
