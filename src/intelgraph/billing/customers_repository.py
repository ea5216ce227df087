"""SQL of billing customers: which customer id a tenant has at each billing provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from intelgraph.store.engine import as_utc
from intelgraph.store.tables import billing_customers


@dataclass(frozen=True, slots=True)
class BillingCustomer:
    tenant_id: str
    adapter: str
    customer_id: str
    updated_by: str
    updated_at: datetime


def customer_id_of(conn: Connection, tenant_id: str, adapter: str) -> str | None:
    """The tenant's customer id at ``adapter``, or None."""
    found = conn.execute(
        select(billing_customers.c.customer_id).where(
            billing_customers.c.tenant_id == tenant_id, billing_customers.c.adapter == adapter
        )
    ).scalar()
    return None if found is None else str(found)


def put(
    conn: Connection,
    *,
    tenant_id: str,
    adapter: str,
    customer_id: str,
    updated_by: str,
    updated_at: datetime,
    is_new: bool,
) -> None:
    """Insert (``is_new``) or update the tenant's mapping at ``adapter``."""
    values = {"customer_id": customer_id, "updated_by": updated_by, "updated_at": updated_at}
    if is_new:
        conn.execute(
            insert(billing_customers).values(tenant_id=tenant_id, adapter=adapter, **values)
        )
        return
    conn.execute(
        update(billing_customers)
        .where(billing_customers.c.tenant_id == tenant_id, billing_customers.c.adapter == adapter)
        .values(**values)
    )


def ids_for(conn: Connection, adapter: str, tenant_ids: set[str]) -> dict[str, str]:
    """tenant id -> customer id at ``adapter``, for those of ``tenant_ids`` that have one."""
    rows = conn.execute(
        select(billing_customers.c.tenant_id, billing_customers.c.customer_id).where(
            billing_customers.c.adapter == adapter,
            billing_customers.c.tenant_id.in_(sorted(tenant_ids)),
        )
    )
    return {row.tenant_id: row.customer_id for row in rows}


def list_all(conn: Connection) -> list[BillingCustomer]:
    """Every mapping, by tenant and adapter."""
    rows = conn.execute(
        select(billing_customers).order_by(
            billing_customers.c.tenant_id, billing_customers.c.adapter
        )
    )
    return [
        BillingCustomer(
            row.tenant_id, row.adapter, row.customer_id, row.updated_by, as_utc(row.updated_at)
        )
        for row in rows
    ]
