"""SQL of the billing outbox: one row per (export row, adapter, meter) delivery.

Plain functions over a Connection (ADR 020); the service (outbox.py) decides what is due,
when to retry and what to audit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, not_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from intelgraph.billing.adapters import Delivery
from intelgraph.store.engine import as_utc
from intelgraph.store.tables import billing_outbox


class DeliveryState(StrEnum):
    PENDING = "pending"  # not attempted yet, held, or re-queued by a resend
    FAILED = "failed"  # attempted, will be retried at next_attempt_at
    SENT = "sent"
    DEAD = "dead"  # permanent error or retry budget spent: waits for `billing resend`


RETRYABLE_STATES = (DeliveryState.PENDING.value, DeliveryState.FAILED.value)


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
class DueFilter:
    """Which deliveries may be claimed: adapters that may send, and (tenant, adapter)
    pairs switched off."""

    adapters: Sequence[str]
    tenants_off: Iterable[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Outcomes:
    """Bind parameters of one round's outcomes, by what becomes of each delivery."""

    sent: list[dict[str, Any]]
    retry: list[dict[str, Any]]
    dead: list[dict[str, Any]]
    held: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ResendCandidate:
    delivery_id: str
    adapter: str
    meter: str
    state: str
    sent_at: datetime | None


def upsert(conn: Connection, values: list[dict[str, Any]]) -> None:
    """Insert deliveries; one already there gets the new value and payload unless sent."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(billing_outbox)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[billing_outbox.c.delivery_id],
            set_={"value": statement.excluded.value, "payload": statement.excluded.payload},
            where=billing_outbox.c.state != DeliveryState.SENT.value,
        ),
        values,
    )


def _due(now: datetime, due: DueFilter) -> ColumnElement[bool]:
    t = billing_outbox.c
    conditions: list[ColumnElement[bool]] = [
        t.state.in_(RETRYABLE_STATES),
        t.next_attempt_at <= now,
        or_(t.claimed_until.is_(None), t.claimed_until <= now),
        t.adapter.in_(list(due.adapters)),
    ]
    conditions.extend(
        not_(and_(t.tenant_id == tenant, t.adapter == adapter))
        for tenant, adapter in sorted(due.tenants_off)
    )
    return and_(*conditions)


def due_count(conn: Connection, now: datetime, due: DueFilter) -> int:
    """How many deliveries are due now."""
    return int(conn.execute(select(func.count()).where(_due(now, due))).scalar() or 0)


def claim(
    conn: Connection,
    *,
    token: str,
    limit: int,
    now: datetime,
    lease_until: datetime,
    due: DueFilter,
    skip_locked: bool,
) -> list[Delivery]:
    """Claim up to ``limit`` due deliveries (oldest due first) for ``token`` until
    ``lease_until``; ``skip_locked`` skips rows another replica is claiming (PostgreSQL)."""
    t = billing_outbox.c
    chosen = select(t.delivery_id).where(_due(now, due)).order_by(t.next_attempt_at).limit(limit)
    if skip_locked:
        chosen = chosen.with_for_update(skip_locked=True)
    conn.execute(
        update(billing_outbox)
        .where(t.delivery_id.in_(chosen.scalar_subquery()))
        .values(claim_token=token, claimed_until=lease_until)
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


def record_outcomes(
    conn: Connection, outcomes: Outcomes, *, now: datetime, held_until: datetime
) -> None:
    """Store what happened to claimed deliveries, each only while its claim (``b_token``)
    still holds, and release the claims."""
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
            outcomes.sent,
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
            outcomes.retry,
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
            outcomes.dead,
        ),
        (
            update(billing_outbox)
            .where(mine)
            .values(last_error=bindparam("b_error"), next_attempt_at=held_until, **released),
            outcomes.held,
        ),
    ]
    for statement, params in statements:
        if params:
            conn.execute(statement, params)


def resend_candidates(
    conn: Connection, tenant_id: str, period_start: datetime, adapter: str | None
) -> list[ResendCandidate]:
    """A tenant's deliveries of one day (every state), optionally of one adapter."""
    t = billing_outbox.c
    condition = and_(t.tenant_id == tenant_id, t.period_start == period_start)
    if adapter is not None:
        condition = and_(condition, t.adapter == adapter)
    rows = conn.execute(
        select(t.delivery_id, t.adapter, t.meter, t.state, t.sent_at).where(condition)
    ).all()
    return [
        ResendCandidate(
            row.delivery_id,
            row.adapter,
            row.meter,
            row.state,
            as_utc(row.sent_at) if row.sent_at is not None else None,
        )
        for row in rows
    ]


def requeue(conn: Connection, delivery_ids: Sequence[str], now: datetime) -> None:
    """Make deliveries pending and due now, with a fresh retry budget."""
    conn.execute(
        update(billing_outbox)
        .where(billing_outbox.c.delivery_id.in_(list(delivery_ids)))
        .values(state=DeliveryState.PENDING.value, attempts=0, next_attempt_at=now, last_error=None)
    )


def wake(conn: Connection, now: datetime, tenant_id: str | None, adapter: str | None) -> int:
    """Make pending deliveries waiting past ``now`` due now; returns how many."""
    t = billing_outbox.c
    condition = and_(t.state == DeliveryState.PENDING.value, t.next_attempt_at > now)
    if tenant_id is not None:
        condition = and_(condition, t.tenant_id == tenant_id)
    if adapter is not None:
        condition = and_(condition, t.adapter == adapter)
    result = conn.execute(update(billing_outbox).where(condition).values(next_attempt_at=now))
    return int(result.rowcount or 0)


def state_counts(conn: Connection) -> dict[tuple[str, str], int]:
    """(adapter, state) -> deliveries."""
    t = billing_outbox.c
    rows = conn.execute(select(t.adapter, t.state, func.count()).group_by(t.adapter, t.state))
    return {(row[0], row[1]): int(row[2]) for row in rows}


def deliveries(
    conn: Connection,
    *,
    tenant_id: str | None,
    period_start: datetime | None,
    adapter: str | None,
    state: str | None,
    limit: int,
) -> list[DeliveryRecord]:
    """Outbox rows matching the filters, newest period first."""
    t = billing_outbox.c
    statement = select(billing_outbox)
    if tenant_id is not None:
        statement = statement.where(t.tenant_id == tenant_id)
    if period_start is not None:
        statement = statement.where(t.period_start == period_start)
    if adapter is not None:
        statement = statement.where(t.adapter == adapter)
    if state is not None:
        statement = statement.where(t.state == state)
    statement = statement.order_by(t.period_start.desc(), t.tenant_id, t.adapter, t.meter).limit(
        limit
    )
    return [_record_of(row) for row in conn.execute(statement)]


def held_reasons(conn: Connection, limit: int) -> list[tuple[str, int]]:
    """Why pending deliveries wait (last_error of never-sent ones), most common first."""
    t = billing_outbox.c
    rows = conn.execute(
        select(t.last_error, func.count())
        .where(t.state == DeliveryState.PENDING.value, t.last_error.is_not(None))
        .group_by(t.last_error)
        .order_by(func.count().desc())
        .limit(limit)
    ).all()
    return [(str(row[0]), int(row[1])) for row in rows]


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
