"""Which customer a tenant is at each billing provider (Stripe bills a ``cus_…`` id).

Set by an operator (`intelgraph billing customer set`), audited. A delivery to an adapter
that needs a customer id waits (pending) until its tenant has one.
"""

from __future__ import annotations

from sqlalchemy import Engine

from intelgraph.audit.unit_of_work import UnitOfWorkFactory
from intelgraph.billing import customers_repository as repo
from intelgraph.billing.adapters import require_adapter
from intelgraph.billing.customers_repository import BillingCustomer
from intelgraph.kernel.clock import Clock
from intelgraph.kernel.errors import VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine

__all__ = ["BillingCustomer", "BillingCustomers"]

RESOURCE = "billing_customer"


class BillingCustomers:
    def __init__(self, engine: Engine, clock: Clock, policy: PolicyEngine) -> None:
        self._engine = engine
        self._policy = policy
        self._uow = UnitOfWorkFactory(engine, clock)

    def assign(
        self, tenant_id: str, adapter: str, customer_id: str, *, principal: Principal
    ) -> None:
        """Map ``tenant_id`` to ``customer_id`` at ``adapter``, audited as ``principal``.

        Raises POLICY_DENIED unless the principal administers billing;
        BILLING_ADAPTER_UNKNOWN, or VALIDATION for an empty id.
        """
        self._policy.authorize(principal, Action.BILLING_ADMIN, RESOURCE, tenant_id)
        require_adapter(adapter)
        customer_id = customer_id.strip()
        if not customer_id or len(customer_id) > 255:
            raise IntelGraphError(VALIDATION, "the customer id must be 1 to 255 characters")
        with self._uow() as uow:
            old = repo.customer_id_of(uow.conn, tenant_id, adapter)
            repo.put(
                uow.conn,
                tenant_id=tenant_id,
                adapter=adapter,
                customer_id=customer_id,
                updated_by=principal.actor,
                updated_at=uow.now,
                is_new=old is None,
            )
            uow.audit(
                principal,
                "billing.customer.set",
                f"billing:{adapter}",
                tenant_id=tenant_id,
                old_value={"customer_id": old} if old else None,
                new_value={"customer_id": customer_id},
            )
            uow.commit()

    def ids_for(self, adapter: str, tenant_ids: set[str]) -> dict[str, str]:
        """tenant id -> customer id at ``adapter``, for the tenants that have one.

        The outbox's read while it delivers (for nobody): asks no policy.
        """
        if not tenant_ids:
            return {}
        with self._engine.connect() as conn:
            return repo.ids_for(conn, adapter, tenant_ids)

    def list_all(self, principal: Principal) -> list[BillingCustomer]:
        """Every mapping, by tenant and adapter.

        Raises POLICY_DENIED unless the principal administers billing.
        """
        self._policy.authorize(principal, Action.BILLING_ADMIN, RESOURCE, None)
        with self._engine.connect() as conn:
            return repo.list_all(conn)
