"""What a tenant may use: its plan's preset merged with live, audited overrides.

Plan changes and overrides are the operator's (tenant.admin); a tenant admin reads its own
limits (admin.write). The service asks policy itself, whoever calls it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from intelgraph.audit.unit_of_work import UnitOfWorkFactory
from intelgraph.kernel.clock import Clock
from intelgraph.kernel.errors import NOT_FOUND, VALIDATION, IntelGraphError
from intelgraph.kernel.ids import new_id
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine
from intelgraph.store.locks import try_job_lock
from intelgraph.tenants import entitlements_repository as repo
from intelgraph.tenants import repository as tenant_repo
from intelgraph.tenants.addressing import tenant_named, tenant_not_found
from intelgraph.tenants.model import Tenant
from intelgraph.tenants.plans import (
    EffectiveLimit,
    EffectiveLimits,
    LimitName,
    PlanLimits,
    shipped_catalog,
)

log = logging.getLogger(__name__)
MAX_LIMIT_VALUE = 10**12

LimitsListener = Callable[[str], None]
"""Called with a tenant id after its plan or overrides change."""


class EntitlementService:
    """Plans, plan changes and quota overrides; every change is audited."""

    def __init__(self, engine: Engine, clock: Clock, policy: PolicyEngine) -> None:
        self._engine = engine
        self._uow = UnitOfWorkFactory(engine, clock)
        self._policy = policy
        self._clock = clock
        self._listeners: list[LimitsListener] = []

    def on_limits_changed(self, listener: LimitsListener) -> None:
        """Register a callback run after a tenant's plan or overrides change."""
        self._listeners.append(listener)

    def sync_catalog(self) -> int:
        """Store the shipped plan table if newer than the stored one; returns its version."""
        catalog = shipped_catalog()
        with self._uow() as uow:
            if repo.stored_catalog_version(uow.conn) < catalog.catalog_version:
                repo.replace_plans(uow.conn, catalog, uow.now)
                uow.commit()
        return catalog.catalog_version

    def plans(self) -> dict[str, PlanLimits]:
        """The stored plan table, by plan name."""
        with self._engine.connect() as conn:
            return repo.load_plans(conn)

    def require_plan(self, plan: str) -> None:
        """Raise VALIDATION unless ``plan`` is in the plan table."""
        known = self.plans()
        if plan not in known:
            raise IntelGraphError(
                VALIDATION, f"unknown plan {plan!r}; choose one of: {', '.join(sorted(known))}"
            )

    def effective_limits(self, tenant_id: str) -> EffectiveLimits:
        """The tenant's plan preset merged with its live overrides (newest override wins).

        Raises TENANT_NOT_FOUND-like NOT_FOUND for an unknown tenant.
        """
        now = self._clock.now()
        with self._engine.connect() as conn:
            tenant = tenant_repo.find_tenant(conn, tenant_id)
            if tenant is None:
                raise IntelGraphError(NOT_FOUND, f"no tenant {tenant_id!r}")
            preset = repo.load_plans(conn).get(tenant.plan)
            overrides = repo.live_overrides(conn, tenant.id, now)
        if preset is None:
            raise IntelGraphError(VALIDATION, f"tenant is on unknown plan {tenant.plan!r}")
        limits = {
            name: EffectiveLimit(name, preset.value(name), f"plan:{tenant.plan}")
            for name in LimitName
        }
        for row in overrides:
            name = LimitName(row.limit_name)
            limits[name] = EffectiveLimit(
                name, int(row.value), f"override:{row.override_id}", repo.override_expiry(row)
            )
        return EffectiveLimits(tenant.id, tenant.plan, limits)

    def require_may_change_limits(self, principal: Principal) -> None:
        """Return if the principal may change plans and overrides; routes ask this before
        reading a body. Raises POLICY_DENIED (tenant.admin)."""
        self._policy.authorize(principal, Action.TENANT_ADMIN, "override", None)

    def limits_for(self, principal: Principal, slug_or_id: str) -> EffectiveLimits:
        """A tenant's effective limits as its admin (or an operator) sees them.

        Raises POLICY_DENIED without admin.write on the tenant, TENANT_NOT_FOUND (operator).
        """
        tenant = self._tenant_named(principal, slug_or_id)
        self._policy.authorize(principal, Action.ADMIN_WRITE, "limits", tenant.id)
        return self.effective_limits(tenant.id)

    def change_plan(
        self, principal: Principal, slug_or_id: str, plan: str, *, reason: str | None
    ) -> None:
        """Move a tenant to another plan, audited.

        Raises POLICY_DENIED (tenant.admin), TENANT_NOT_FOUND, VALIDATION for an unknown plan.
        """
        self._policy.authorize(principal, Action.TENANT_ADMIN, "plan", None)
        tenant = self._tenant_named(principal, slug_or_id)
        self.require_plan(plan)
        with self._uow() as uow:
            current = tenant_repo.find_tenant(uow.conn, tenant.id)
            if current is None:
                raise tenant_not_found(slug_or_id)
            repo.set_plan(uow.conn, current.id, plan)
            uow.audit(
                principal,
                "tenant.plan_change",
                f"tenant:{current.slug}",
                tenant_id=current.id,
                reason=reason,
                old_value={"plan": current.plan},
                new_value={"plan": plan},
            )
            uow.commit()
        self._changed(tenant.id)

    def set_override(
        self,
        principal: Principal,
        slug_or_id: str,
        limit: str,
        value: int,
        *,
        reason: str,
        expires_at: datetime | None = None,
    ) -> str:
        """Override one limit for one tenant (replacing an earlier override of it), audited.

        Raises POLICY_DENIED (tenant.admin), TENANT_NOT_FOUND, VALIDATION when the reason is
        missing, the limit is unknown, the value is not positive, or the expiry is past.
        """
        self._policy.authorize(principal, Action.TENANT_ADMIN, "override", None)
        tenant = self._tenant_named(principal, slug_or_id)
        name = _limit_name(limit)
        if not reason or not reason.strip():
            raise IntelGraphError(
                VALIDATION, "an override needs a reason (why this tenant gets a different limit)"
            )
        if not 0 < value <= MAX_LIMIT_VALUE:
            raise IntelGraphError(VALIDATION, f"value must be between 1 and {MAX_LIMIT_VALUE}")
        now = self._clock.now()
        if expires_at is not None and expires_at <= now:
            raise IntelGraphError(VALIDATION, "expires must be in the future")
        before = self.effective_limits(tenant.id).limits[name]
        override_id = new_id("ovr")
        with self._uow() as uow:
            for row in repo.live_overrides(uow.conn, tenant.id, now):
                if row.limit_name == name.value:
                    repo.end_override(uow.conn, tenant.id, row.override_id, now, "replaced")
            repo.insert_override(
                uow.conn,
                {
                    "tenant_id": tenant.id,
                    "override_id": override_id,
                    "limit_name": name.value,
                    "value": value,
                    "reason": reason.strip(),
                    "actor": principal.actor,
                    "created_at": now,
                    "expires_at": expires_at,
                },
            )
            uow.audit(
                principal,
                "quota.override",
                f"tenant:{tenant.slug}/{name.value}",
                tenant_id=tenant.id,
                reason=reason.strip(),
                old_value={"value": before.value, "origin": before.origin},
                new_value={
                    "value": value,
                    "override": override_id,
                    "expiresAt": expires_at.isoformat() if expires_at else None,
                },
            )
            uow.commit()
        self._changed(tenant.id)
        return override_id

    def remove_override(
        self, principal: Principal, slug_or_id: str, limit: str, *, reason: str
    ) -> None:
        """End the live override of a limit (back to the plan's value), audited.

        Raises POLICY_DENIED (tenant.admin), TENANT_NOT_FOUND, VALIDATION without a reason,
        NOT_FOUND when the limit has no live override.
        """
        self._policy.authorize(principal, Action.TENANT_ADMIN, "override", None)
        tenant = self._tenant_named(principal, slug_or_id)
        name = _limit_name(limit)
        if not reason or not reason.strip():
            raise IntelGraphError(VALIDATION, "removing an override needs a reason")
        now = self._clock.now()
        before = self.effective_limits(tenant.id).limits[name]
        with self._uow() as uow:
            live = [
                r for r in repo.live_overrides(uow.conn, tenant.id, now) if r.limit_name == name
            ]
            if not live:
                raise IntelGraphError(NOT_FOUND, f"{name.value} has no live override")
            for row in live:
                repo.end_override(uow.conn, tenant.id, row.override_id, now, "removed")
            uow.audit(
                principal,
                "quota.override_remove",
                f"tenant:{tenant.slug}/{name.value}",
                tenant_id=tenant.id,
                reason=reason.strip(),
                old_value={"value": before.value, "origin": before.origin},
            )
            uow.commit()
        self._changed(tenant.id)

    def close_expired_overrides(self) -> int:
        """Mark overrides past their expiry as ended and audit each expiry; returns how many.

        Run by the scheduler for nobody (actor ``system:expiry``); asks no policy. Expired
        overrides stop applying at their expiry whether or not this has run.
        """
        now = self._clock.now()
        with self._uow() as uow:
            if not try_job_lock(uow.conn, "quota.override_expiry"):
                return 0  # another replica is closing them
            expired = repo.expired_unended(uow.conn, now)
            for row in expired:
                repo.end_override(uow.conn, row.tenant_id, row.override_id, now, "expired")
                uow.audit(
                    "system:expiry",
                    "quota.override_expire",
                    f"tenant:{row.tenant_id}/{row.limit_name}",
                    tenant_id=row.tenant_id,
                    reason=f"override {row.override_id} reached its expiry",
                    old_value={"value": int(row.value), "override": row.override_id},
                )
            uow.commit()
        for tenant_id in {row.tenant_id for row in expired}:
            self._changed(tenant_id)
        return len(expired)

    def _tenant_named(self, principal: Principal, slug_or_id: str) -> Tenant:
        with self._engine.connect() as conn:
            return tenant_named(conn, principal, slug_or_id)

    def _changed(self, tenant_id: str) -> None:
        for listener in self._listeners:
            try:
                listener(tenant_id)
            except Exception:
                log.exception("limits listener failed", extra={"tenant_id": tenant_id})


def _limit_name(limit: str) -> LimitName:
    try:
        return LimitName(limit)
    except ValueError:
        names = ", ".join(name.value for name in LimitName)
        raise IntelGraphError(
            VALIDATION, f"unknown limit {limit!r}; choose one of: {names}"
        ) from None
