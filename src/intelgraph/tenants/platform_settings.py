"""Platform-wide switches an operator flips for every replica at once, audited.

Reads are cached for a couple of seconds per process, so a switch reaches every replica
within that time without a database read per request.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, insert, select, update

from intelgraph.audit import service as audit
from intelgraph.kernel.clock import Clock
from intelgraph.store.tables import platform_settings

FORCE_API_V1_DEFAULT = "api.force_v1_default"
CACHE_SECONDS = 2.0


class PlatformSettings:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
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
            row = conn.execute(
                select(platform_settings.c.value).where(platform_settings.c.name == name)
            ).first()
        value = default if row is None else row[0]
        with self._lock:
            self._cache[name] = (now, value)
        return value

    def set(self, name: str, value: Any, *, actor: str, reason: str | None = None) -> None:
        """Change a setting for every replica, audited."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            row = conn.execute(
                select(platform_settings.c.value).where(platform_settings.c.name == name)
            ).first()
            if row is None:
                conn.execute(
                    insert(platform_settings).values(name=name, value=value, updated_at=now)
                )
            else:
                conn.execute(
                    update(platform_settings)
                    .where(platform_settings.c.name == name)
                    .values(value=value, updated_at=now)
                )
            audit.record(
                conn,
                tenant_id=None,
                actor=actor,
                action="platform.setting",
                target=f"setting:{name}",
                at=now,
                reason=reason,
                old_value=None if row is None else {"value": row[0]},
                new_value={"value": value},
            )
        with self._lock:
            self._cache.pop(name, None)
