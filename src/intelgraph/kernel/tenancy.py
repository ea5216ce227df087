"""Who is asking: the authenticated principal, carried through every call."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """A tenant key's role."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    ADMIN = "admin"


class OperatorRole(StrEnum):
    """A platform operator's role; what each may do is in ``policy/authz.rego``."""

    PLATFORM_ADMIN = "platform-admin"  # everything an operator may do
    BILLING_ADMIN = "billing-admin"  # exports, billing, reconciliation
    TRUST_ADMIN = "trust-admin"  # signing keys, the trust portal
    AUDITOR = "auditor"  # reads the audit log, changes nothing


LOCAL_OPERATOR_KEY_ID = "cli-local"


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
        if self.key_id == LOCAL_OPERATOR_KEY_ID:
            return f"cli:{self.name}"
        return f"operator:{self.name}" if self.is_operator else f"key:{self.key_id}"


def local_operator(name: str) -> Principal:
    """The person at this machine's terminal, acting as a platform-admin operator.

    The CLI holds the database itself, so whoever runs it is trusted as an operator; the
    name (INTELGRAPH_OPERATOR_NAME, else the login name) is what audit records show.
    """
    return Principal(
        tenant_id=None,
        key_id=LOCAL_OPERATOR_KEY_ID,
        name=name,
        roles=(OperatorRole.PLATFORM_ADMIN.value,),
        is_operator=True,
    )
