"""The audit log: who changed what, why, and when. Written in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from intelgraph.kernel.ids import new_id
from intelgraph.store.engine import as_utc
from intelgraph.store.tables import audit_log

PLATFORM = "platform"  # the tenant_id of audit records about the platform itself


@dataclass(frozen=True, slots=True)
class AuditRecord:
    tenant_id: str
    id: str
    actor: str
    action: str
    target: str
    reason: str | None
    old_value: Any
    new_value: Any
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenantId": self.tenant_id,
            "id": self.id,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "reason": self.reason,
            "oldValue": self.old_value,
            "newValue": self.new_value,
            "createdAt": self.created_at.isoformat(),
        }


def record(
    conn: Connection,
    *,
    tenant_id: str | None,
    actor: str,
    action: str,
    target: str,
    at: datetime,
    reason: str | None = None,
    old_value: Any = None,
    new_value: Any = None,
) -> None:
    """Append an audit record inside the transaction that makes the change."""
    conn.execute(
        insert(audit_log).values(
            tenant_id=tenant_id or PLATFORM,
            audit_id=new_id("aud"),
            actor=actor,
            action=action,
            target=target,
            reason=reason,
            old_value=old_value,
            new_value=new_value,
            created_at=at,
        )
    )


def record_now(engine: Engine, **fields: Any) -> None:
    """Append an audit record in a transaction of its own (for refusals, not changes)."""
    with engine.begin() as conn:
        record(conn, **fields)


def list_records(
    engine: Engine, tenant_id: str | None = None, limit: int = 100
) -> list[AuditRecord]:
    """Newest first; all tenants (and the platform) when ``tenant_id`` is None."""
    statement = select(audit_log).order_by(audit_log.c.created_at.desc()).limit(limit)
    if tenant_id is not None:
        statement = statement.where(audit_log.c.tenant_id == tenant_id)
    with engine.connect() as conn:
        return [
            AuditRecord(
                tenant_id=row.tenant_id,
                id=row.audit_id,
                actor=row.actor,
                action=row.action,
                target=row.target,
                reason=row.reason,
                old_value=row.old_value,
                new_value=row.new_value,
                created_at=as_utc(row.created_at),
            )
            for row in conn.execute(statement)
        ]
