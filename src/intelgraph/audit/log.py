"""The audit log as people read it: who may see which records.

An operator holding audit.read (every operator role has it) reads every tenant's records
and the platform's, or one tenant's; a tenant admin (admin.write) reads its own tenant's
only, whatever tenant it names. ``service.list_records`` is the table's reading side.
"""

from __future__ import annotations

from sqlalchemy import Engine

from intelgraph.audit import service
from intelgraph.audit.service import AuditRecord
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine

DEFAULT_LIMIT = 100


class AuditLog:
    """Reads the audit log for a principal, after asking policy."""

    def __init__(self, engine: Engine, policy: PolicyEngine) -> None:
        self._engine = engine
        self._policy = policy

    def list_records(
        self, principal: Principal, tenant_id: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> list[AuditRecord]:
        """Newest first: for an operator every record (or ``tenant_id``'s), for a tenant admin
        its own tenant's (``tenant_id`` is ignored). Raises POLICY_DENIED for an operator
        without audit.read or a tenant key without admin.write."""
        if principal.is_operator:
            self._policy.authorize(principal, Action.AUDIT_READ, "audit", None)
            return service.list_records(self._engine, tenant_id, limit)
        self._policy.authorize(principal, Action.ADMIN_WRITE, "audit", principal.tenant_id)
        return service.list_records(self._engine, principal.tenant_id, limit)
