"""SQL of the key ring: the ``signing_keys`` table, as functions over a Connection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, text, update

from intelgraph.store.engine import as_utc
from intelgraph.store.tables import signing_keys

_ROTATION_LOCK = 7_291_002  # PostgreSQL advisory lock: one rotation at a time

ACTIVE = "active"
ROTATED = "rotated"
RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class KeyRow:
    """One stored key, as the ring loads it (the private key still sealed)."""

    kid: str
    state: str
    public_key: bytes
    private_key_sealed: bytes | None
    created_at: datetime
    rotated_at: datetime | None
    retired_at: datetime | None
    retire_reason: str | None


def lock_rotation(conn: Connection) -> None:
    """Serialise rotations across replicas for this transaction (PostgreSQL only; SQLite
    has one writer)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ROTATION_LOCK})


def active_kid(conn: Connection) -> str | None:
    """The kid of the active key, or None on an empty ring."""
    row = conn.execute(select(signing_keys.c.kid).where(signing_keys.c.state == ACTIVE)).first()
    return None if row is None else str(row.kid)


def insert_active(
    conn: Connection, *, kid: str, public_key: bytes, private_key_sealed: bytes, at: datetime
) -> None:
    """Store a new key as the active one."""
    conn.execute(
        insert(signing_keys).values(
            kid=kid,
            state=ACTIVE,
            public_key=public_key,
            private_key_sealed=private_key_sealed,
            created_at=at,
        )
    )


def mark_rotated(conn: Connection, kid: str, at: datetime) -> None:
    """The key stops signing: its private key is dropped, it keeps verifying."""
    conn.execute(
        update(signing_keys)
        .where(signing_keys.c.kid == kid)
        .values(state=ROTATED, rotated_at=at, private_key_sealed=None)
    )


def state_of(conn: Connection, kid: str) -> tuple[str, datetime | None] | None:
    """(state, retired_at) of a key, or None when there is no such key."""
    row = conn.execute(
        select(signing_keys.c.state, signing_keys.c.retired_at).where(signing_keys.c.kid == kid)
    ).first()
    if row is None:
        return None
    return str(row.state), as_utc(row.retired_at) if row.retired_at else None


def mark_retired(conn: Connection, kid: str, at: datetime, reason: str) -> None:
    """The key verifies nothing any more."""
    conn.execute(
        update(signing_keys)
        .where(signing_keys.c.kid == kid)
        .values(state=RETIRED, retired_at=at, retire_reason=reason, private_key_sealed=None)
    )


def all_keys(conn: Connection) -> Sequence[KeyRow]:
    """Every key of the ring, in no particular order."""
    return [_key_row(row) for row in conn.execute(select(signing_keys)).all()]


def _key_row(row: Any) -> KeyRow:
    return KeyRow(
        kid=row.kid,
        state=row.state,
        public_key=bytes(row.public_key),
        private_key_sealed=(
            bytes(row.private_key_sealed) if row.private_key_sealed is not None else None
        ),
        created_at=as_utc(row.created_at),
        rotated_at=as_utc(row.rotated_at) if row.rotated_at else None,
        retired_at=as_utc(row.retired_at) if row.retired_at else None,
        retire_reason=row.retire_reason,
    )
