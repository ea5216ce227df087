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
from typing import Any

from sqlalchemy import Engine

from intelgraph.audit.unit_of_work import UnitOfWorkFactory
from intelgraph.billing import outbox_repository as repo
from intelgraph.billing.adapters import (
    BillingAdapter,
    Delivery,
    DeliveryOutcome,
    OutcomeKind,
    format_value,
    require_adapter,
)
from intelgraph.billing.customers import BillingCustomers
from intelgraph.billing.outbox_repository import (
    RETRYABLE_STATES,
    DeliveryRecord,
    DeliveryState,
    DueFilter,
    Outcomes,
)
from intelgraph.billing.toggles import BillingToggle, BillingToggles, ToggleSnapshot
from intelgraph.billing.usage_rows import BILLED_METERS, UsageExportRow
from intelgraph.kernel.clock import Clock, isoformat
from intelgraph.kernel.errors import BILLING_DELIVERY_NOT_FOUND, VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine
from intelgraph.store.engine import is_postgres

__all__ = [
    "HOLD_SECONDS",
    "RETRYABLE_STATES",
    "BillingOutbox",
    "DeliveryCounts",
    "DeliveryRecord",
    "DeliveryState",
    "OutboxStatus",
    "ResendResult",
    "RetryPolicy",
    "delivery_id",
]

log = logging.getLogger(__name__)

HOLD_SECONDS = 300.0
"""How long a held delivery (missing customer id or setting) waits before it is looked at
again; setting the customer id makes it due at once."""
RESOURCE = "billing_delivery"


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
class ResendResult:
    requeued: int
    skipped: list[str]  # why some deliveries were not re-queued


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    """What `intelgraph billing status` shows: deliveries per (adapter, state), what is
    switched off, the newest dead letters and why pending deliveries wait."""

    counts: dict[tuple[str, str], int]
    toggles: ToggleSnapshot
    toggle_rows: list[BillingToggle]
    dead: list[DeliveryRecord]
    held: list[tuple[str, int]]


class BillingOutbox:
    """Durable deliveries of export rows to the enabled billing adapters.

    Operator actions (pushes, resends, customer ids, toggles, status) take the principal
    and ask policy for ``billing.admin``; what runs for nobody (the exports' listener
    ``enqueue_exported``, the scheduled ``run_scheduled``) asks none.
    """

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
        authz: PolicyEngine,
        rng: random.Random | None = None,
        on_outcome: Callable[[str, str], None] | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._uow = UnitOfWorkFactory(engine, clock)
        self._authz = authz
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

    def _authorize(self, principal: Principal, tenant_id: str | None = None) -> None:
        self._authz.authorize(principal, Action.BILLING_ADMIN, RESOURCE, tenant_id)

    # --- enqueue -------------------------------------------------------------------------

    def enqueue(self, day: date, rows: Sequence[UsageExportRow], principal: Principal) -> None:
        """Queue one delivery per (row, enabled adapter, meter), as ``principal`` (e.g. a
        backfill); see :meth:`enqueue_exported` for what is queued.

        Raises POLICY_DENIED unless the principal administers billing; VALIDATION for a
        row of another day.
        """
        self._authorize(principal)
        self.enqueue_exported(day, rows)

    def enqueue_exported(self, day: date, rows: Sequence[UsageExportRow]) -> None:
        """The exports' listener (acts for nobody; the export was authorized): queue one
        delivery per (row, enabled adapter, meter).

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
        with self._uow() as uow:
            repo.upsert(uow.conn, values)
            uow.commit()

    # --- deliver -------------------------------------------------------------------------

    def deliver_due(self, principal: Principal, limit: int = 100) -> DeliveryCounts:
        """Claim up to ``limit`` due deliveries, send them, record what happened.

        Safe to run on every replica at once: a delivery is claimed by one worker at a
        time. Deliveries whose adapter (or tenant and adapter) is toggled off, or whose
        adapter is not enabled here, are left pending. Raises POLICY_DENIED unless the
        principal administers billing.
        """
        self._authorize(principal)
        return self._deliver_due(limit)

    def push(
        self, principal: Principal, limit: int = 200, max_rounds: int = 1000
    ) -> DeliveryCounts:
        """Deliver everything due now, in rounds of ``limit``.

        Raises POLICY_DENIED unless the principal administers billing.
        """
        self._authorize(principal)
        return self.run_scheduled(limit, max_rounds)

    def run_scheduled(self, limit: int = 200, max_rounds: int = 1000) -> DeliveryCounts:
        """The scheduled push (acts for nobody, asks no policy): deliver everything due
        now, in rounds of ``limit``."""
        total = DeliveryCounts()
        for _ in range(max_rounds):
            counts = self._deliver_due(limit)
            total += counts
            if counts.claimed < limit:
                break
        return total

    def due_count(self, principal: Principal) -> int:
        """How many deliveries a push would claim now (for progress bars).

        Raises POLICY_DENIED unless the principal administers billing.
        """
        self._authorize(principal)
        with self._engine.connect() as conn:
            return repo.due_count(
                conn, self._clock.now(), self._due_filter(self.toggles.snapshot())
            )

    def _deliver_due(self, limit: int) -> DeliveryCounts:
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

    def _due_filter(self, toggles: ToggleSnapshot) -> DueFilter:
        return DueFilter(
            adapters=[name for name in self._adapters if toggles.is_on(name)],
            tenants_off=toggles.tenants_off,
        )

    def _claim(self, token: str, limit: int, toggles: ToggleSnapshot) -> list[Delivery]:
        now = self._clock.now()
        with self._uow() as uow:
            claimed = repo.claim(
                uow.conn,
                token=token,
                limit=limit,
                now=now,
                lease_until=now + timedelta(seconds=self.policy.lease_seconds),
                due=self._due_filter(toggles),
                # Rows another replica is claiming are skipped, not waited for.
                skip_locked=is_postgres(self._engine),
            )
            uow.commit()
        return claimed

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
        sorted_outcomes = Outcomes(sent=[], retry=[], dead=[], held=[])
        for outcome in outcomes:
            key = {"b_id": outcome.delivery_id, "b_token": token}
            tries = attempts[outcome.delivery_id] + 1
            if outcome.kind is OutcomeKind.SENT:
                sorted_outcomes.sent.append(
                    key | {"b_attempts": tries, "b_receipt": outcome.receipt}
                )
            elif outcome.kind is OutcomeKind.HELD:
                sorted_outcomes.held.append(key | {"b_error": outcome.error})
            elif outcome.kind is OutcomeKind.RETRY and tries < self.policy.max_attempts:
                with self._rng_lock:
                    wait = self.policy.delay(tries, self._rng, outcome.retry_after)
                sorted_outcomes.retry.append(
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
                sorted_outcomes.dead.append(key | {"b_attempts": tries, "b_error": error})
        with self._uow() as uow:
            repo.record_outcomes(
                uow.conn,
                sorted_outcomes,
                now=now,
                held_until=now + timedelta(seconds=HOLD_SECONDS),
            )
            uow.commit()
        counts = DeliveryCounts(
            len(sorted_outcomes.sent),
            len(sorted_outcomes.retry),
            len(sorted_outcomes.dead),
            len(sorted_outcomes.held),
        )
        if self._on_outcome is not None:
            for outcome_name, count in counts.as_dict().items():
                for _ in range(count):
                    self._on_outcome(adapter, outcome_name)
        for entry in sorted_outcomes.dead:
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
        principal: Principal,
        reason: str | None = None,
        force: bool = False,
    ) -> ResendResult:
        """Re-queue a tenant's deliveries of ``day`` (every state) with the same ids,
        audited as ``principal``.

        The provider dedupes on the id, so this cannot bill twice, except where a provider
        forgets ids (Stripe: 24 h): a sent delivery older than that window is skipped
        unless ``force``. Raises POLICY_DENIED unless the principal administers billing;
        BILLING_ADAPTER_UNKNOWN, BILLING_DELIVERY_NOT_FOUND.
        """
        self._authorize(principal, tenant_id)
        if adapter is not None:
            require_adapter(adapter)
        start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        skipped: list[str] = []
        with self._uow() as uow:
            now = uow.now
            rows = repo.resend_candidates(uow.conn, tenant_id, start, adapter)
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
                    and row.sent_at < now - window
                    and not force
                ):
                    skipped.append(
                        f"{row.adapter}/{row.meter}: sent {isoformat(row.sent_at)}, "
                        f"beyond {row.adapter}'s {window} idempotency window (--force sends it)"
                    )
                    continue
                chosen.append(row.delivery_id)
            if chosen:
                repo.requeue(uow.conn, chosen, now)
            uow.audit(
                principal,
                "billing.resend",
                f"billing:{adapter or '*'}:{day.isoformat()}",
                tenant_id=tenant_id,
                reason=reason,
                new_value={"requeued": chosen, "forced": force, "skipped": len(skipped)},
            )
            uow.commit()
        return ResendResult(len(chosen), skipped)

    def _dedupe_window(self, adapter: str) -> timedelta | None:
        found = self._adapters.get(adapter)
        if found is not None:
            return found.dedupe_window
        return timedelta(hours=24) if adapter == "stripe" else None

    def set_customer(
        self, tenant_id: str, adapter: str, customer_id: str, *, principal: Principal
    ) -> int:
        """Map a tenant to its customer id at ``adapter`` (audited as ``principal``) and
        make the deliveries held for want of it due now; returns how many were woken.

        Raises POLICY_DENIED unless the principal administers billing;
        BILLING_ADAPTER_UNKNOWN, or VALIDATION for an empty id.
        """
        self._authorize(principal, tenant_id)
        self.customers.assign(tenant_id, adapter, customer_id, principal=principal)
        return self._wake(tenant_id=tenant_id, adapter=adapter)

    def set_toggle(
        self,
        adapter: str,
        *,
        is_on: bool,
        principal: Principal,
        reason: str,
        tenant_id: str | None = None,
    ) -> BillingToggle:
        """Flip the live toggle of ``adapter`` (for one tenant, or all), audited as
        ``principal``. While off, its deliveries stay pending (due); the first push after
        turning it on sends them.

        Raises POLICY_DENIED unless the principal administers billing;
        BILLING_ADAPTER_UNKNOWN, or VALIDATION without a reason.
        """
        self._authorize(principal, tenant_id)
        return self.toggles.switch(
            adapter, is_on=is_on, principal=principal, reason=reason, tenant_id=tenant_id
        )

    def _wake(self, tenant_id: str | None = None, adapter: str | None = None) -> int:
        """Make held deliveries (pending, waiting) due now, e.g. once a customer id is set.
        Failed ones keep their backoff."""
        with self._uow() as uow:
            woken = repo.wake(uow.conn, self._clock.now(), tenant_id, adapter)
            uow.commit()
        return woken

    # --- reading -------------------------------------------------------------------------

    def status(self, principal: Principal, dead_limit: int = 20) -> OutboxStatus:
        """Deliveries per (adapter, state), the toggles, the newest ``dead_limit`` dead
        letters and why pending deliveries wait.

        Raises POLICY_DENIED unless the principal administers billing.
        """
        self._authorize(principal)
        with self._engine.connect() as conn:
            counts = repo.state_counts(conn)
            dead = repo.deliveries(
                conn,
                tenant_id=None,
                period_start=None,
                adapter=None,
                state=DeliveryState.DEAD.value,
                limit=dead_limit,
            )
            held = repo.held_reasons(conn, 10)
        return OutboxStatus(
            counts=counts,
            toggles=self.toggles.snapshot(),
            toggle_rows=self.toggles.list_all(principal),
            dead=dead,
            held=held,
        )

    def state_counts(self, principal: Principal) -> dict[tuple[str, str], int]:
        """(adapter, state) -> deliveries.

        Raises POLICY_DENIED unless the principal administers billing.
        """
        self._authorize(principal)
        with self._engine.connect() as conn:
            return repo.state_counts(conn)

    def deliveries(
        self,
        principal: Principal,
        *,
        tenant_id: str | None = None,
        day: date | None = None,
        adapter: str | None = None,
        state: str | None = None,
        limit: int = 1000,
    ) -> list[DeliveryRecord]:
        """Outbox rows matching the filters, newest period first.

        Raises POLICY_DENIED unless the principal administers billing.
        """
        self._authorize(principal, tenant_id)
        start = None if day is None else datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        with self._engine.connect() as conn:
            return repo.deliveries(
                conn,
                tenant_id=tenant_id,
                period_start=start,
                adapter=adapter,
                state=state,
                limit=limit,
            )

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


def _parse_rfc3339(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
