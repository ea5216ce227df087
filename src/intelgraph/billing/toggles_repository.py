"""SQL of the live toggles: one row per (owner, adapter); the owner is a tenant or
``EVERY_TENANT`` for an adapter-wide toggle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from intelgraph.store.engine import as_utc
from intelgraph.store.tables import billing_toggles


@dataclass(frozen=True, slots=True)
class ToggleRow:
    owner: str  # a tenant id, or the adapter-wide owner
    adapter: str
    is_on: bool
    actor: str
    reason: str
    updated_at: datetime


def is_on(conn: Connection, owner: str, adapter: str) -> bool | None:
    """Whether the toggle is on, or None when it was never set."""
    row = conn.execute(
        select(billing_toggles.c.is_on).where(
            billing_toggles.c.tenant_id == owner, billing_toggles.c.adapter == adapter
        )
    ).first()
    return None if row is None else bool(row[0])


def put(
    conn: Connection,
    *,
    owner: str,
    adapter: str,
    is_on: bool,
    actor: str,
    reason: str,
    updated_at: datetime,
    is_new: bool,
) -> None:
    """Insert (``is_new``) or update the toggle of (owner, adapter)."""
    values = {"is_on": is_on, "actor": actor, "reason": reason, "updated_at": updated_at}
    if is_new:
        conn.execute(insert(billing_toggles).values(tenant_id=owner, adapter=adapter, **values))
        return
    conn.execute(
        update(billing_toggles)
        .where(billing_toggles.c.tenant_id == owner, billing_toggles.c.adapter == adapter)
        .values(**values)
    )


def switched_off(conn: Connection) -> list[tuple[str, str]]:
    """(owner, adapter) of every toggle that is off."""
    rows = conn.execute(
        select(billing_toggles.c.tenant_id, billing_toggles.c.adapter).where(
            billing_toggles.c.is_on.is_(False)
        )
    ).all()
    return [(row.tenant_id, row.adapter) for row in rows]


def list_all(conn: Connection) -> list[ToggleRow]:
    """Every toggle ever set, by adapter and owner."""
    rows = conn.execute(
        select(billing_toggles).order_by(billing_toggles.c.adapter, billing_toggles.c.tenant_id)
    ).all()
    return [
        ToggleRow(
            row.tenant_id,
            row.adapter,
            bool(row.is_on),
            row.actor,
            row.reason,
            as_utc(row.updated_at),
        )
        for row in rows
    ]
