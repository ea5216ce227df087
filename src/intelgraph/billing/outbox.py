"""The billing outbox: a durable queue of deliveries, one per (export row, adapter, meter).

Why an outbox: a provider can be down for hours, and usage must still reach it exactly
once. A delivery's id is a hash of (tenant, period start, meter, adapter) and doubles as
the provider's idempotency key, so enqueueing a day again, retrying after a timeout, a
crashed worker or an operator's resend can never bill twice.

Workers on any number of replicas claim due deliveries with a lease (claim token +
``claimed_until``), chosen with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one
writer), send them outside any transaction, and record the outcome only while they still
hold the claim. Retries back off exponentially with full jitter and honour Retry-After;
after the retry budget a delivery is a dead letter until an operator resends it.
"""

from __future__ import annotations

import hashlib
import logging
import random
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, not_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from intelgraph.audit import service as audit
from intelgraph.billing.adapters import (
    BillingAdapter,
    Delivery,
    DeliveryOutcome,
    OutcomeKind,
    format_value,
    require_adapter,
)
from intelgraph.billing.customers import BillingCustomers
from intelgraph.billing.toggles import BillingToggle, BillingToggles, ToggleSnapshot
from intelgraph.billing.usage_rows import BILLED_METERS, UsageExportRow
from intelgraph.kernel.clock import Clock, isoformat
from intelgraph.kernel.errors import BILLING_DELIVERY_NOT_FOUND, VALIDATION, IntelGraphError
from intelgraph.store.engine import as_utc, is_postgres
from intelgraph.store.tables import billing_outbox

log = logging.getLogger(__name__)

HOLD_SECONDS = 300.0
"""How long a held delivery (missing customer id or setting) waits before it is looked at
again; setting the customer id makes it due at once."""


class DeliveryState(StrEnum):
    PENDING = "pending"  # not attempted yet, held, or re-queued by a resend
    FAILED = "failed"  # attempted, will be retried at next_attempt_at
    SENT = "sent"
    DEAD = "dead"  # permanent error or retry budget spent: waits for `billing resend`


RETRYABLE_STATES = (DeliveryState.PENDING.value, DeliveryState.FAILED.value)


def delivery_id(tenant_id: str, period_start: datetime, meter: str, adapter: str) -> str:
    """The deterministic id (and provider idempotency key) of one delivery: 64 hex chars."""
    key = f"{tenant_id}|{isoformat(period_start)}|{meter}|{adapter}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The retry budget: attempts, and the exponential backoff (full jitter) between them."""

    max_attempts: int = 16
    base_seconds: float = 2.0
    max_seconds: float = 3600.0
    lease_seconds: float = 300.0

    def delay(self, attempts: int, rng: random.Random, retry_after: float | None) -> float:
        """Seconds before the next attempt after ``attempts`` attempts (AWS "full jitter");
        never sooner than the provider's Retry-After."""
        cap = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return max(rng.uniform(0.0, cap), retry_after or 0.0)


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """What one worker step did."""

    sent: int = 0
    failed: int = 0  # will be retried
    dead: int = 0
    held: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.failed + self.dead + self.held

    def __add__(self, other: DeliveryCounts) -> DeliveryCounts:
        return DeliveryCounts(
            self.sent + other.sent,
            self.failed + other.failed,
            self.dead + other.dead,
            self.held + other.held,
        )

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "failed": self.failed, "dead": self.dead, "held": self.held}


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One outbox row as status, resend and reconciliation see it."""

    delivery_id: str
    tenant_id: str
    period_start: datetime
    adapter: str
    meter: str
    value: Decimal
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None
    receipt: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ResendResult:
    requeued: int
    skipped: list[str]  # why some deliveries were not re-queued


class BillingOutbox:
    """Durable deliveries of export rows to the enabled billing adapters."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        adapters: Mapping[str, BillingAdapter],
        toggles: BillingToggles,
        customers: BillingCustomers,
        sandbox_tenants: Callable[[], set[str]],
        policy: RetryPolicy | None = None,
        *,
        rng: random.Random | None = None,
        on_outcome: Callable[[str, str], None] | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._adapters = dict(adapters)
        self.toggles = toggles
        self.customers = customers
        self._sandbox_tenants = sandbox_tenants
        self.policy = policy or RetryPolicy()
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._on_outcome = on_outcome

    @property
    def adapters(self) -> Mapping[str, BillingAdapter]:
        """The enabled adapters, by name."""
        return self._adapters

    # --- enqueue -------------------------------------------------------------------------

    def enqueue(self, day: date, rows: Sequence[UsageExportRow]) -> None:
        """Queue one delivery per (row, enabled adapter, meter): the exports' listener.

        Idempotent: enqueueing a day again refreshes the value of deliveries not yet sent
        and never duplicates one; a sent delivery stays as sent. Sandbox tenants are queued
        only for adapters that are not live (``file``). Raises VALIDATION for a row of
        another day.
        """
        now = self._clock.now()
        sandboxes = self._sandbox_tenants() if rows else set()
        values: list[dict[str, Any]] = []
        for row in rows:
            period_start = _parse_rfc3339(row.period_start)
            if period_start.date() != day:
                raise IntelGraphError(
                    VALIDATION,
                    f"row of tenant {row.tenant_id} starts {row.period_start}, not on {day}",
                )
            for name, adapter in self._adapters.items():
                if adapter.is_live and row.tenant_id in sandboxes:
                    continue
                for meter in BILLED_METERS:
                    value = row.meter_value(meter)
                    values.append(
                        {
                            "delivery_id": delivery_id(row.tenant_id, period_start, meter, name),
                            "tenant_id": row.tenant_id,
                            "period_start": period_start,
                            "adapter": name,
                            "meter": meter,
                            "value": value,
                            "payload": _payload(row, meter, value),
                            "state": DeliveryState.PENDING.value,
                            "attempts": 0,
                            "next_attempt_at": now,
                            "created_at": now,
                        }
                    )
        if not values:
            return
        with self._engine.begin() as conn:
            conn.execute(self._upsert(conn), values)

    def _upsert(self, conn: Connection) -> Any:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(billing_outbox)
        return statement.on_conflict_do_update(
            index_elements=[billing_outbox.c.delivery_id],
            set_={"value": statement.excluded.value, "payload": statement.excluded.payload},
            where=billing_outbox.c.state != DeliveryState.SENT.value,
        )

    # --- deliver -------------------------------------------------------------------------

    def deliver_due(self, limit: int = 100) -> DeliveryCounts:
        """Claim up to ``limit`` due deliveries, send them, record what happened.

        Safe to run on every replica at once: a delivery is claimed by one worker at a
        time. Deliveries whose adapter (or tenant and adapter) is toggled off, or whose
        adapter is not enabled here, are left pending.
        """
        token = secrets.token_hex(16)
        claimed = self._claim(token, limit, self.toggles.snapshot())
        counts = DeliveryCounts()
        by_adapter: dict[str, list[Delivery]] = {}
        for delivery in claimed:
            by_adapter.setdefault(delivery.adapter, []).append(delivery)
        for name, deliveries in by_adapter.items():
            outcomes = self._send(self._adapters[name], deliveries)
            counts += self._record(token, deliveries, outcomes)
        return counts

    def push(self, limit: int = 200, max_rounds: int = 1000) -> DeliveryCounts:
        """Deliver everything due now, in rounds of ``limit`` (the scheduled job)."""
        total = DeliveryCounts()
        for _ in range(max_rounds):
            counts = self.deliver_due(limit)
            total += counts
            if counts.claimed < limit:
                break
        return total

    def due_count(self) -> int:
        """How many deliveries a push would claim now (for progress bars)."""
        condition = self._due_condition(self._clock.now(), self.toggles.snapshot())
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(condition)).scalar() or 0)

    def _due_condition(self, now: datetime, toggles: ToggleSnapshot) -> ColumnElement[bool]:
        t = billing_outbox.c
        sendable = [name for name in self._adapters if toggles.is_on(name)]
        conditions: list[ColumnElement[bool]] = [
            t.state.in_(RETRYABLE_STATES),
            t.next_attempt_at <= now,
            or_(t.claimed_until.is_(None), t.claimed_until <= now),
            t.adapter.in_(sendable),
        ]
        conditions.extend(
            not_(and_(t.tenant_id == tenant, t.adapter == adapter))
            for tenant, adapter in sorted(toggles.tenants_off)
        )
        return and_(*conditions)

    def _claim(self, token: str, limit: int, toggles: ToggleSnapshot) -> list[Delivery]:
        now = self._clock.now()
        t = billing_outbox.c
        chosen = (
            select(t.delivery_id)
            .where(self._due_condition(now, toggles))
            .order_by(t.next_attempt_at)
            .limit(limit)
        )
        if is_postgres(self._engine):
            # Rows another replica is claiming are skipped, not waited for.
            chosen = chosen.with_for_update(skip_locked=True)
        lease = now + timedelta(seconds=self.policy.lease_seconds)
        with self._engine.begin() as conn:
            conn.execute(
                update(billing_outbox)
                .where(t.delivery_id.in_(chosen.scalar_subquery()))
                .values(claim_token=token, claimed_until=lease)
            )
            rows = conn.execute(
                select(
                    t.delivery_id,
                    t.tenant_id,
                    t.period_start,
                    t.adapter,
                    t.meter,
                    t.value,
                    t.payload,
                    t.attempts,
                ).where(t.claim_token == token)
            ).all()
        return [
            Delivery(
                delivery_id=row.delivery_id,
                tenant_id=row.tenant_id,
                period_start=as_utc(row.period_start),
                adapter=row.adapter,
                meter=row.meter,
                value=Decimal(row.value),
                payload=dict(row.payload),
                attempts=row.attempts,
            )
            for row in rows
        ]

    def _send(self, adapter: BillingAdapter, deliveries: list[Delivery]) -> list[DeliveryOutcome]:
        problem = adapter.configuration_problem()
        if problem is not None:
            return [
                DeliveryOutcome(d.delivery_id, OutcomeKind.HELD, error=problem) for d in deliveries
            ]
        held: list[DeliveryOutcome] = []
        ready = deliveries
        if adapter.needs_customer_id or adapter.is_live:
            ids = self.customers.ids_for(adapter.name, {d.tenant_id for d in deliveries})
            ready = [_with_customer(d, ids.get(d.tenant_id)) for d in deliveries]
            if adapter.needs_customer_id:
                held = [
                    DeliveryOutcome(
                        d.delivery_id,
                        OutcomeKind.HELD,
                        error=(
                            f"tenant {d.tenant_id} has no {adapter.name} customer id; run "
                            f"`intelgraph billing customer set {d.tenant_id} "
                            f"--adapter {adapter.name} --id cus_…`"
                        ),
                    )
                    for d in ready
                    if d.customer_id is None
                ]
                ready = [d for d in ready if d.customer_id is not None]
        try:
            sent = adapter.deliver(ready) if ready else []
        except Exception as exc:  # an adapter bug must not strand claimed deliveries
            log.exception("billing adapter failed", extra={"adapter": adapter.name})
            sent = [
                DeliveryOutcome(d.delivery_id, OutcomeKind.RETRY, error=f"adapter error: {exc}")
                for d in ready
            ]
        return held + sent

    def _record(
        self, token: str, deliveries: list[Delivery], outcomes: list[DeliveryOutcome]
    ) -> DeliveryCounts:
        now = self._clock.now()
        attempts = {d.delivery_id: d.attempts for d in deliveries}
        adapter = deliveries[0].adapter
        sent: list[dict[str, Any]] = []
        retry: list[dict[str, Any]] = []
        dead: list[dict[str, Any]] = []
        held: list[dict[str, Any]] = []
        for outcome in outcomes:
            key = {"b_id": outcome.delivery_id, "b_token": token}
            tries = attempts[outcome.delivery_id] + 1
            if outcome.kind is OutcomeKind.SENT:
                sent.append(key | {"b_attempts": tries, "b_receipt": outcome.receipt})
            elif outcome.kind is OutcomeKind.HELD:
                held.append(key | {"b_error": outcome.error})
            elif outcome.kind is OutcomeKind.RETRY and tries < self.policy.max_attempts:
                with self._rng_lock:
                    wait = self.policy.delay(tries, self._rng, outcome.retry_after)
                retry.append(
                    key
                    | {
                        "b_attempts": tries,
                        "b_error": outcome.error,
                        "b_next": now + timedelta(seconds=wait),
                    }
                )
            else:
                error = outcome.error or "failed"
                if outcome.kind is OutcomeKind.RETRY:
                    error = f"gave up after {tries} attempts; last: {error}"
                dead.append(key | {"b_attempts": tries, "b_error": error})
        t = billing_outbox.c
        mine = and_(t.delivery_id == bindparam("b_id"), t.claim_token == bindparam("b_token"))
        released = {"claim_token": None, "claimed_until": None}
        statements: list[tuple[Any, list[dict[str, Any]]]] = [
            (
                update(billing_outbox)
                .where(mine)
                .values(
                    state=DeliveryState.SENT.value,
                    attempts=bindparam("b_attempts"),
                    sent_at=now,
                    receipt=bindparam("b_receipt"),
                    last_error=None,
                    **released,
                ),
                sent,
            ),
            (
                update(billing_outbox)
                .where(mine)
                .values(
                    state=DeliveryState.FAILED.value,
                    attempts=bindparam("b_attempts"),
                    last_error=bindparam("b_error"),
                    next_attempt_at=bindparam("b_next"),
                    **released,
                ),
                retry,
            ),
            (
                update(billing_outbox)
                .where(mine)
                .values(
                    state=DeliveryState.DEAD.value,
                    attempts=bindparam("b_attempts"),
                    last_error=bindparam("b_error"),
                    **released,
                ),
                dead,
            ),
            (
                update(billing_outbox)
                .where(mine)
                .values(
                    last_error=bindparam("b_error"),
                    next_attempt_at=now + timedelta(seconds=HOLD_SECONDS),
                    **released,
                ),
                held,
            ),
        ]
        with self._engine.begin() as conn:
            for statement, params in statements:
                if params:
                    conn.execute(statement, params)
        counts = DeliveryCounts(len(sent), len(retry), len(dead), len(held))
        if self._on_outcome is not None:
            for outcome_name, count in counts.as_dict().items():
                for _ in range(count):
                    self._on_outcome(adapter, outcome_name)
        for entry in dead:
            log.warning(
                "billing delivery is a dead letter",
                extra={"delivery_id": entry["b_id"], "adapter": adapter, "error": entry["b_error"]},
            )
        return counts

    # --- operator actions ----------------------------------------------------------------

    def resend(
        self,
        tenant_id: str,
        day: date,
        adapter: str | None = None,
        *,
        actor: str,
        reason: str | None = None,
        force: bool = False,
    ) -> ResendResult:
        """Re-queue a tenant's deliveries of ``day`` (every state) with the same ids, audited.

        The provider dedupes on the id, so this cannot bill twice, except where a provider
        forgets ids (Stripe: 24 h): a sent delivery older than that window is skipped
        unless ``force``. Raises BILLING_ADAPTER_UNKNOWN, BILLING_DELIVERY_NOT_FOUND.
        """
        if adapter is not None:
            require_adapter(adapter)
        now = self._clock.now()
        start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        t = billing_outbox.c
        condition = and_(t.tenant_id == tenant_id, t.period_start == start)
        if adapter is not None:
            condition = and_(condition, t.adapter == adapter)
        skipped: list[str] = []
        with self._engine.begin() as conn:
            rows = conn.execute(
                select(t.delivery_id, t.adapter, t.meter, t.state, t.sent_at).where(condition)
            ).all()
            if not rows:
                raise IntelGraphError(
                    BILLING_DELIVERY_NOT_FOUND,
                    f"no billing deliveries for tenant {tenant_id} on {day}"
                    + (f" to {adapter}" if adapter else "")
                    + "; run `intelgraph billing backfill` for that day first",
                )
            chosen: list[str] = []
            for row in rows:
                window = self._dedupe_window(row.adapter)
                if (
                    row.state == DeliveryState.SENT.value
                    and window is not None
                    and row.sent_at is not None
                    and as_utc(row.sent_at) < now - window
                    and not force
                ):
                    skipped.append(
                        f"{row.adapter}/{row.meter}: sent {isoformat(as_utc(row.sent_at))}, "
                        f"beyond {row.adapter}'s {window} idempotency window (--force sends it)"
                    )
                    continue
                chosen.append(row.delivery_id)
            if chosen:
                conn.execute(
                    update(billing_outbox)
                    .where(t.delivery_id.in_(chosen))
                    .values(
                        state=DeliveryState.PENDING.value,
                        attempts=0,
                        next_attempt_at=now,
                        last_error=None,
                    )
                )
            audit.record(
                conn,
                tenant_id=tenant_id,
                actor=actor,
                action="billing.resend",
                target=f"billing:{adapter or '*'}:{day.isoformat()}",
                at=now,
                reason=reason,
                new_value={"requeued": chosen, "forced": force, "skipped": len(skipped)},
            )
        return ResendResult(len(chosen), skipped)

    def _dedupe_window(self, adapter: str) -> timedelta | None:
        found = self._adapters.get(adapter)
        if found is not None:
            return found.dedupe_window
        return timedelta(hours=24) if adapter == "stripe" else None

    def set_customer(self, tenant_id: str, adapter: str, customer_id: str, *, actor: str) -> int:
        """Map a tenant to its customer id at ``adapter`` (audited) and make the deliveries
        held for want of it due now; returns how many were woken.

        Raises BILLING_ADAPTER_UNKNOWN, or VALIDATION for an empty id.
        """
        self.customers.assign(tenant_id, adapter, customer_id, actor=actor)
        return self.wake(tenant_id=tenant_id, adapter=adapter)

    def set_toggle(
        self, adapter: str, *, is_on: bool, actor: str, reason: str, tenant_id: str | None = None
    ) -> BillingToggle:
        """Flip the live toggle of ``adapter`` (for one tenant, or all), audited. While off,
        its deliveries stay pending (due); the first push after turning it on sends them.

        Raises BILLING_ADAPTER_UNKNOWN, or VALIDATION without a reason.
        """
        return self.toggles.switch(
            adapter, is_on=is_on, actor=actor, reason=reason, tenant_id=tenant_id
        )

    def wake(self, tenant_id: str | None = None, adapter: str | None = None) -> int:
        """Make held deliveries (pending, waiting) due now, e.g. once a customer id is set.
        Failed ones keep their backoff."""
        t = billing_outbox.c
        condition = and_(
            t.state == DeliveryState.PENDING.value, t.next_attempt_at > self._clock.now()
        )
        if tenant_id is not None:
            condition = and_(condition, t.tenant_id == tenant_id)
        if adapter is not None:
            condition = and_(condition, t.adapter == adapter)
        with self._engine.begin() as conn:
            result = conn.execute(
                update(billing_outbox).where(condition).values(next_attempt_at=self._clock.now())
            )
            return int(result.rowcount or 0)

    # --- reading -------------------------------------------------------------------------

    def state_counts(self) -> dict[tuple[str, str], int]:
        """(adapter, state) -> deliveries."""
        t = billing_outbox.c
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(t.adapter, t.state, func.count()).group_by(t.adapter, t.state)
            ).all()
        return {(row[0], row[1]): int(row[2]) for row in rows}

    def deliveries(
        self,
        *,
        tenant_id: str | None = None,
        day: date | None = None,
        adapter: str | None = None,
        state: str | None = None,
        limit: int = 1000,
    ) -> list[DeliveryRecord]:
        """Outbox rows matching the filters, newest period first."""
        t = billing_outbox.c
        statement = select(billing_outbox)
        if tenant_id is not None:
            statement = statement.where(t.tenant_id == tenant_id)
        if day is not None:
            start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
            statement = statement.where(t.period_start == start)
        if adapter is not None:
            statement = statement.where(t.adapter == adapter)
        if state is not None:
            statement = statement.where(t.state == state)
        statement = statement.order_by(
            t.period_start.desc(), t.tenant_id, t.adapter, t.meter
        ).limit(limit)
        with self._engine.connect() as conn:
            return [_record_of(row) for row in conn.execute(statement)]

    def held_reasons(self, limit: int = 10) -> list[tuple[str, int]]:
        """Why pending deliveries wait (last_error of never-sent ones), most common first."""
        t = billing_outbox.c
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(t.last_error, func.count())
                .where(t.state == DeliveryState.PENDING.value, t.last_error.is_not(None))
                .group_by(t.last_error)
                .order_by(func.count().desc())
                .limit(limit)
            ).all()
        return [(str(row[0]), int(row[1])) for row in rows]

    def close(self) -> None:
        for adapter in self._adapters.values():
            adapter.close()


def _with_customer(delivery: Delivery, customer_id: str | None) -> Delivery:
    return Delivery(
        delivery.delivery_id,
        delivery.tenant_id,
        delivery.period_start,
        delivery.adapter,
        delivery.meter,
        delivery.value,
        delivery.payload,
        delivery.attempts,
        customer_id,
    )


def _payload(row: UsageExportRow, meter: str, value: Decimal) -> dict[str, Any]:
    """What adapters send besides the value: the signed row's context, for the provider."""
    return {
        "tenant_id": row.tenant_id,
        "period_start": row.period_start,
        "period_end": row.period_end,
        "meter": meter,
        "value": format_value(value),
        "plan": row.plan,
        "quota_overrides": row.quota_overrides,
        "row_signature": row.signature,
    }


def _record_of(row: Any) -> DeliveryRecord:
    return DeliveryRecord(
        delivery_id=row.delivery_id,
        tenant_id=row.tenant_id,
        period_start=as_utc(row.period_start),
        adapter=row.adapter,
        meter=row.meter,
        value=Decimal(row.value),
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=as_utc(row.next_attempt_at),
        last_error=row.last_error,
        sent_at=as_utc(row.sent_at) if row.sent_at is not None else None,
        receipt=row.receipt,
    )


def _parse_rfc3339(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
