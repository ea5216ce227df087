"""Which customer a tenant is at each billing provider (Stripe bills a ``cus_…`` id).

Set by an operator (`intelgraph billing customer set`), audited. A delivery to an adapter
that needs a customer id waits (pending) until its tenant has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from intelgraph.audit import service as audit
from intelgraph.billing.adapters import require_adapter
from intelgraph.kernel.clock import Clock
from intelgraph.kernel.errors import VALIDATION, IntelGraphError
from intelgraph.store.engine import as_utc
from intelgraph.store.tables import billing_customers


@dataclass(frozen=True, slots=True)
class BillingCustomer:
    tenant_id: str
    adapter: str
    customer_id: str
    updated_by: str
    updated_at: datetime


class BillingCustomers:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def assign(self, tenant_id: str, adapter: str, customer_id: str, *, actor: str) -> None:
        """Map ``tenant_id`` to ``customer_id`` at ``adapter``, audited.

        Raises BILLING_ADAPTER_UNKNOWN, or VALIDATION for an empty id.
        """
        require_adapter(adapter)
        customer_id = customer_id.strip()
        if not customer_id or len(customer_id) > 255:
            raise IntelGraphError(VALIDATION, "the customer id must be 1 to 255 characters")
        now = self._clock.now()
        key = (billing_customers.c.tenant_id == tenant_id) & (
            billing_customers.c.adapter == adapter
        )
        with self._engine.begin() as conn:
            old = conn.execute(select(billing_customers.c.customer_id).where(key)).scalar()
            values = {"customer_id": customer_id, "updated_by": actor, "updated_at": now}
            if old is None:
                conn.execute(
                    insert(billing_customers).values(tenant_id=tenant_id, adapter=adapter, **values)
                )
            else:
                conn.execute(update(billing_customers).where(key).values(**values))
            audit.record(
                conn,
                tenant_id=tenant_id,
                actor=actor,
                action="billing.customer.set",
                target=f"billing:{adapter}",
                at=now,
                old_value={"customer_id": old} if old else None,
                new_value={"customer_id": customer_id},
            )

    def ids_for(self, adapter: str, tenant_ids: set[str]) -> dict[str, str]:
        """tenant id -> customer id at ``adapter``, for the tenants that have one."""
        if not tenant_ids:
            return {}
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(billing_customers.c.tenant_id, billing_customers.c.customer_id).where(
                    billing_customers.c.adapter == adapter,
                    billing_customers.c.tenant_id.in_(sorted(tenant_ids)),
                )
            )
            return {row.tenant_id: row.customer_id for row in rows}

    def list_all(self) -> list[BillingCustomer]:
        """Every mapping, by tenant and adapter."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(billing_customers).order_by(
                    billing_customers.c.tenant_id, billing_customers.c.adapter
                )
            )
            return [
                BillingCustomer(
                    row.tenant_id,
                    row.adapter,
                    row.customer_id,
                    row.updated_by,
                    as_utc(row.updated_at),
                )
                for row in rows
            ]
