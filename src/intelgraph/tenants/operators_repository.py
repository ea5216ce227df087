"""SQL for named operators' keys (``operator_keys``; platform rows, not tenant data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from intelgraph.store.engine import as_utc
from intelgraph.store.tables import operator_keys


@dataclass(frozen=True, slots=True)
class Operator:
    """A named operator key as listings show it: never the key, nor its hash."""

    key_id: str
    name: str
    role: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "keyId": self.key_id,
            "name": self.name,
            "role": self.role,
            "createdAt": self.created_at.isoformat(),
            "createdBy": self.created_by,
            "revokedAt": self.revoked_at.isoformat() if self.revoked_at else None,
            "revokedBy": self.revoked_by,
            "revokeReason": self.revoke_reason,
        }


def _operator(row: Row[Any]) -> Operator:
    """The row without its key hash: nothing this module returns carries it."""
    return Operator(
        key_id=row.key_id,
        name=row.name,
        role=row.role,
        created_at=as_utc(row.created_at),
        created_by=row.created_by,
        revoked_at=as_utc(row.revoked_at) if row.revoked_at else None,
        revoked_by=row.revoked_by,
        revoke_reason=row.revoke_reason,
    )


def insert_operator(conn: Connection, operator: Operator, key_hash: str) -> None:
    conn.execute(
        insert(operator_keys).values(
            key_id=operator.key_id,
            name=operator.name,
            role=operator.role,
            key_hash=key_hash,
            created_at=operator.created_at,
            created_by=operator.created_by,
        )
    )


def find_by_name(conn: Connection, name: str) -> Operator | None:
    row = conn.execute(select(operator_keys).where(operator_keys.c.name == name)).first()
    return None if row is None else _operator(row)


def find_by_hash(conn: Connection, key_hash: str) -> Operator | None:
    """The operator holding this key hash, revoked or not (one lookup on a unique index)."""
    row = conn.execute(select(operator_keys).where(operator_keys.c.key_hash == key_hash)).first()
    return None if row is None else _operator(row)


def list_operators(conn: Connection) -> list[Operator]:
    """Every named operator, oldest first, revoked ones included."""
    rows = conn.execute(
        select(operator_keys).order_by(operator_keys.c.created_at, operator_keys.c.key_id)
    )
    return [_operator(row) for row in rows]


def revoke_operator(conn: Connection, name: str, *, at: datetime, by: str, reason: str) -> bool:
    """Revoke a live operator key; False if there is none by that name (or it is revoked)."""
    result = conn.execute(
        update(operator_keys)
        .where(operator_keys.c.name == name, operator_keys.c.revoked_at.is_(None))
        .values(revoked_at=at, revoked_by=by, revoke_reason=reason)
    )
    return result.rowcount == 1
