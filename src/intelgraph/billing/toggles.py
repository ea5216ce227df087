"""Live toggles: the backout switch of billing, per adapter and per tenant and adapter.

When a toggle is off, the outbox does not claim the deliveries it covers: they stay
pending, untouched, and go out with the next push once it is on again. No row = on, so a
fresh install bills through every enabled adapter. Every flip is audited (actor, reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from intelgraph.audit import service as audit
from intelgraph.audit.unit_of_work import UnitOfWorkFactory
from intelgraph.billing import toggles_repository as repo
from intelgraph.billing.adapters import require_adapter
from intelgraph.kernel.clock import Clock
from intelgraph.kernel.errors import VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine

EVERY_TENANT = audit.PLATFORM
"""The tenant_id of an adapter-wide toggle."""
RESOURCE = "billing_toggle"


@dataclass(frozen=True, slots=True)
class BillingToggle:
    adapter: str
    tenant_id: str | None  # None: the adapter for every tenant
    is_on: bool
    actor: str
    reason: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ToggleSnapshot:
    """What is off right now: whole adapters, and (tenant, adapter) pairs."""

    adapters_off: frozenset[str]
    tenants_off: frozenset[tuple[str, str]]

    def is_on(self, adapter: str, tenant_id: str | None = None) -> bool:
        if adapter in self.adapters_off:
            return False
        return tenant_id is None or (tenant_id, adapter) not in self.tenants_off


class BillingToggles:
    def __init__(self, engine: Engine, clock: Clock, policy: PolicyEngine) -> None:
        self._engine = engine
        self._policy = policy
        self._uow = UnitOfWorkFactory(engine, clock)

    def switch(
        self,
        adapter: str,
        *,
        is_on: bool,
        principal: Principal,
        reason: str,
        tenant_id: str | None = None,
    ) -> BillingToggle:
        """Turn ``adapter`` on or off, for one tenant or for all, audited as ``principal``.

        Raises POLICY_DENIED unless the principal administers billing;
        BILLING_ADAPTER_UNKNOWN, or VALIDATION without a reason.
        """
        self._policy.authorize(principal, Action.BILLING_ADMIN, RESOURCE, tenant_id)
        require_adapter(adapter)
        reason = (reason or "").strip()
        if not reason:
            raise IntelGraphError(VALIDATION, "say why with --reason: the audit log keeps it")
        owner = tenant_id or EVERY_TENANT
        actor = principal.actor
        with self._uow() as uow:
            now = uow.now
            old = repo.is_on(uow.conn, owner, adapter)
            repo.put(
                uow.conn,
                owner=owner,
                adapter=adapter,
                is_on=is_on,
                actor=actor,
                reason=reason,
                updated_at=now,
                is_new=old is None,
            )
            uow.audit(
                principal,
                "billing.toggle",
                f"billing:{adapter}" + (f":{tenant_id}" if tenant_id else ""),
                tenant_id=owner,
                reason=reason,
                old_value={"is_on": old if old is not None else True},
                new_value={"is_on": is_on},
            )
            uow.commit()
        return BillingToggle(adapter, tenant_id, is_on, actor, reason, now)

    def snapshot(self) -> ToggleSnapshot:
        """The toggles that are off (one small query; read before each delivery round).

        The outbox's read while it delivers (for nobody): asks no policy.
        """
        with self._engine.connect() as conn:
            off = repo.switched_off(conn)
        return ToggleSnapshot(
            adapters_off=frozenset(adapter for owner, adapter in off if owner == EVERY_TENANT),
            tenants_off=frozenset(
                (owner, adapter) for owner, adapter in off if owner != EVERY_TENANT
            ),
        )

    def list_all(self, principal: Principal) -> list[BillingToggle]:
        """Every toggle ever set (on or off), adapter-wide first.

        Raises POLICY_DENIED unless the principal administers billing.
        """
        self._policy.authorize(principal, Action.BILLING_ADMIN, RESOURCE, None)
        with self._engine.connect() as conn:
            rows = repo.list_all(conn)
        toggles = [
            BillingToggle(
                row.adapter,
                None if row.owner == EVERY_TENANT else row.owner,
                row.is_on,
                row.actor,
                row.reason,
                row.updated_at,
            )
            for row in rows
        ]
        return sorted(toggles, key=lambda t: (t.adapter, t.tenant_id is not None, t.tenant_id))
