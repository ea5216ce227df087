"""SQL of usage reconciliation (ADR 008): adapter receipts read from the billing outbox,
and the stored checks in ``billing_reconciliations``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select

from intelgraph.store.tables import billing_outbox, billing_reconciliations


@dataclass(frozen=True, slots=True)
class ReceiptGroup:
    """How many of a tenant's deliveries of one adapter and meter are in one state, and
    the sum of their values."""

    adapter: str
    meter: str
    state: str
    count: int
    total: Any  # a numeric from the driver, or None


@dataclass(frozen=True, slots=True)
class StoredCheck:
    """One stored check, as written by :func:`replace_checks`."""

    meter: str
    source: str
    status: str
    ledger_value: Any
    source_value: Any
    delta_ratio: float | None
    detail: str
    checked_at: datetime


@dataclass(frozen=True, slots=True)
class CheckToStore:
    meter: str
    source: str
    status: str
    ledger_value: Decimal
    source_value: Decimal | None
    delta_ratio: float | None
    detail: str


def receipts(
    conn: Connection, tenant_id: str, start: datetime, end: datetime
) -> list[ReceiptGroup]:
    """The tenant's outbox deliveries of periods starting in [start, end), grouped by
    adapter, meter and state."""
    outbox = billing_outbox
    rows = conn.execute(
        select(
            outbox.c.adapter,
            outbox.c.meter,
            outbox.c.state,
            func.count(),
            func.sum(outbox.c.value),
        )
        .where(
            outbox.c.tenant_id == tenant_id,
            outbox.c.period_start >= start,
            outbox.c.period_start < end,
        )
        .group_by(outbox.c.adapter, outbox.c.meter, outbox.c.state)
    ).all()
    return [
        ReceiptGroup(adapter, meter, state, int(count), total)
        for adapter, meter, state, count, total in rows
    ]


def replace_checks(
    conn: Connection,
    *,
    tenant_id: str,
    period_start: datetime,
    period_end: datetime,
    checked_at: datetime,
    checks: Iterable[CheckToStore],
) -> None:
    """Store the checks of a tenant's period, replacing earlier checks of that period."""
    table = billing_reconciliations
    conn.execute(
        delete(table).where(
            table.c.tenant_id == tenant_id,
            table.c.period_start == period_start,
            table.c.period_end == period_end,
        )
    )
    values = [
        {
            "tenant_id": tenant_id,
            "period_start": period_start,
            "period_end": period_end,
            "meter": check.meter,
            "source": check.source,
            "status": check.status,
            "ledger_value": check.ledger_value,
            "source_value": check.source_value,
            "delta_ratio": check.delta_ratio,
            "detail": check.detail,
            "checked_at": checked_at,
        }
        for check in checks
    ]
    if values:
        conn.execute(insert(table), values)


def stored_checks(
    conn: Connection, tenant_id: str, start: datetime, end: datetime
) -> list[StoredCheck]:
    """The stored checks of a tenant's period, by source and meter."""
    table = billing_reconciliations
    rows = conn.execute(
        select(table)
        .where(
            table.c.tenant_id == tenant_id,
            table.c.period_start == start.astimezone(UTC),
            table.c.period_end == end.astimezone(UTC),
        )
        .order_by(table.c.source, table.c.meter)
    ).all()
    return [
        StoredCheck(
            row.meter,
            row.source,
            row.status,
            row.ledger_value,
            row.source_value,
            row.delta_ratio,
            row.detail,
            row.checked_at,
        )
        for row in rows
    ]


def latest_ratios(
    conn: Connection, tenant_ids: Sequence[str] | None
) -> list[tuple[str, str, str, float | None]]:
    """(tenant, meter, source, delta ratio) of each tenant's latest reconciled period
    (of the given tenants, or all)."""
    table = billing_reconciliations
    latest = select(table.c.tenant_id, func.max(table.c.period_end).label("period_end"))
    if tenant_ids is not None:
        latest = latest.where(table.c.tenant_id.in_(list(tenant_ids)))
    latest_periods = latest.group_by(table.c.tenant_id).subquery()
    rows = conn.execute(
        select(table.c.tenant_id, table.c.meter, table.c.source, table.c.delta_ratio).join(
            latest_periods,
            and_(
                table.c.tenant_id == latest_periods.c.tenant_id,
                table.c.period_end == latest_periods.c.period_end,
            ),
        )
    ).all()
    return [(row.tenant_id, row.meter, row.source, row.delta_ratio) for row in rows]
