"""Platform-wide switches an operator flips for every replica at once, audited.

Reads are cached for a couple of seconds per process, so a switch reaches every replica
within that time without a database read per request.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine

from intelgraph.audit.unit_of_work import UnitOfWorkFactory
from intelgraph.kernel.clock import Clock
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine
from intelgraph.tenants import platform_settings_repository as repo

FORCE_API_V1_DEFAULT = "api.force_v1_default"
CACHE_SECONDS = 2.0


class PlatformSettings:
    """Reads (cached) and changes (operators only, audited) of platform-wide settings."""

    def __init__(self, engine: Engine, clock: Clock, policy: PolicyEngine) -> None:
        self._engine = engine
        self._uow = UnitOfWorkFactory(engine, clock)
        self._policy = policy
        self._clock = clock
        self._cache: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, name: str, default: Any = None) -> Any:
        """The setting's value (cached ~2 s), or ``default`` when it was never set."""
        now = self._clock.monotonic()
        cached = self._cache.get(name)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        with self._engine.connect() as conn:
            stored = repo.find_setting(conn, name)
        value = default if stored is None else stored.value
        with self._lock:
            self._cache[name] = (now, value)
        return value

    def set(
        self, principal: Principal, name: str, value: Any, *, reason: str | None = None
    ) -> None:
        """Change a setting for every replica, audited. Raises POLICY_DENIED (tenant.admin)."""
        self._policy.authorize(principal, Action.TENANT_ADMIN, "platform", None)
        with self._uow() as uow:
            stored = repo.find_setting(uow.conn, name)
            if stored is None:
                repo.insert_setting(uow.conn, name, value, uow.now)
            else:
                repo.update_setting(uow.conn, name, value, uow.now)
            uow.audit(
                principal,
                "platform.setting",
                f"setting:{name}",
                tenant_id=None,
                reason=reason,
                old_value=None if stored is None else {"value": stored.value},
                new_value={"value": value},
            )
            uow.commit()
        with self._lock:
            self._cache.pop(name, None)
