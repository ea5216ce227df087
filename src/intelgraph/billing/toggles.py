"""Live toggles: the backout switch of billing, per adapter and per tenant and adapter.

When a toggle is off, the outbox does not claim the deliveries it covers: they stay
pending, untouched, and go out with the next push once it is on again. No row = on, so a
fresh install bills through every enabled adapter. Every flip is audited (actor, reason).
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
from intelgraph.store.tables import billing_toggles

EVERY_TENANT = audit.PLATFORM
"""The tenant_id of an adapter-wide toggle."""


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
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def switch(
        self,
        adapter: str,
        *,
        is_on: bool,
        actor: str,
        reason: str,
        tenant_id: str | None = None,
    ) -> BillingToggle:
        """Turn ``adapter`` on or off, for one tenant or for all, audited.

        Raises BILLING_ADAPTER_UNKNOWN, or VALIDATION without an actor or a reason.
        """
        require_adapter(adapter)
        reason = (reason or "").strip()
        if not reason:
            raise IntelGraphError(VALIDATION, "say why with --reason: the audit log keeps it")
        if not actor.strip():
            raise IntelGraphError(VALIDATION, "a toggle needs an actor for the audit log")
        owner = tenant_id or EVERY_TENANT
        now = self._clock.now()
        key = (billing_toggles.c.tenant_id == owner) & (billing_toggles.c.adapter == adapter)
        values = {"is_on": is_on, "actor": actor, "reason": reason, "updated_at": now}
        with self._engine.begin() as conn:
            old = conn.execute(select(billing_toggles.c.is_on).where(key)).first()
            if old is None:
                conn.execute(
                    insert(billing_toggles).values(tenant_id=owner, adapter=adapter, **values)
                )
            else:
                conn.execute(update(billing_toggles).where(key).values(**values))
            audit.record(
                conn,
                tenant_id=owner,
                actor=actor,
                action="billing.toggle",
                target=f"billing:{adapter}" + (f":{tenant_id}" if tenant_id else ""),
                at=now,
                reason=reason,
                old_value={"is_on": bool(old[0]) if old is not None else True},
                new_value={"is_on": is_on},
            )
        return BillingToggle(adapter, tenant_id, is_on, actor, reason, now)

    def snapshot(self) -> ToggleSnapshot:
        """The toggles that are off (one small query; read before each delivery round)."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(billing_toggles.c.tenant_id, billing_toggles.c.adapter).where(
                    billing_toggles.c.is_on.is_(False)
                )
            ).all()
        return ToggleSnapshot(
            adapters_off=frozenset(r.adapter for r in rows if r.tenant_id == EVERY_TENANT),
            tenants_off=frozenset(
                (r.tenant_id, r.adapter) for r in rows if r.tenant_id != EVERY_TENANT
            ),
        )

    def list_all(self) -> list[BillingToggle]:
        """Every toggle ever set (on or off), adapter-wide first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(billing_toggles).order_by(
                    billing_toggles.c.adapter, billing_toggles.c.tenant_id
                )
            ).all()
        toggles = [
            BillingToggle(
                row.adapter,
                None if row.tenant_id == EVERY_TENANT else row.tenant_id,
                bool(row.is_on),
                row.actor,
                row.reason,
                as_utc(row.updated_at),
            )
            for row in rows
        ]
        return sorted(toggles, key=lambda t: (t.adapter, t.tenant_id is not None, t.tenant_id))
