"""Who is asking: the authenticated principal, carried through every call."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    ANALYST = "analyst"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    ``tenant_id`` is None only for the platform operator. A tenant id always comes
    from here, never from a request argument.
    """

    tenant_id: str | None
    key_id: str
    name: str
    roles: tuple[str, ...]
    region: str = "local"
    plan: str = "standard"
    is_operator: bool = False
    api_version_default: str | None = None  # the tenant's default API version, if set
    is_safelisted: bool = False  # the tenant may run registered operations only
    allows_apq: bool = True  # unknown APQ hashes sent with their text get registered
    allows_introspection: bool = True  # documents may select __schema and __type

    @property
    def actor(self) -> str:
        """How audit records name this principal."""
        return f"operator:{self.name}" if self.is_operator else f"key:{self.key_id}"
