"""The ER state row per tenant and type: the revision that serialises writers (and tells
in-memory indexes they are stale) and the next cluster ordinal.

Every statement filters on the tenant it is given.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from intelgraph.store.tables import (
    er_state,
)


def bump_state(
    conn: Connection, tenant_id: str, entity_type: str, now: datetime
) -> tuple[int, int]:
    """First statement of every ER write: create the state row if needed, bump its revision
    (taking the tenant/type write lock on both backends) and return (revision, next ordinal).
    """
    values = {
        "tenant_id": tenant_id,
        "entity_type": entity_type,
        "revision": 0,
        "next_ordinal": 0,
        "updated_at": now,
    }
    if conn.dialect.name == "postgresql":
        conn.execute(pg_insert(er_state).values(values).on_conflict_do_nothing())
    else:
        conn.execute(sqlite_insert(er_state).values(values).on_conflict_do_nothing())
    where = and_(er_state.c.tenant_id == tenant_id, er_state.c.entity_type == entity_type)
    conn.execute(
        update(er_state).where(where).values(revision=er_state.c.revision + 1, updated_at=now)
    )
    row = conn.execute(select(er_state.c.revision, er_state.c.next_ordinal).where(where)).one()
    return int(row.revision), int(row.next_ordinal)


def read_state(conn: Connection, tenant_id: str, entity_type: str) -> tuple[int, int] | None:
    """(revision, next ordinal) of a tenant's entity type, or None before any ER write."""
    row = conn.execute(
        select(er_state.c.revision, er_state.c.next_ordinal).where(
            er_state.c.tenant_id == tenant_id, er_state.c.entity_type == entity_type
        )
    ).first()
    return None if row is None else (int(row.revision), int(row.next_ordinal))


def set_next_ordinal(conn: Connection, tenant_id: str, entity_type: str, value: int) -> None:
    conn.execute(
        update(er_state)
        .where(er_state.c.tenant_id == tenant_id, er_state.c.entity_type == entity_type)
        .values(next_ordinal=value)
    )


def tenants_with_state(conn: Connection) -> list[tuple[str, str]]:
    """Every (tenant id, entity type) that has ER state (for the nightly job)."""
    rows = conn.execute(select(er_state.c.tenant_id, er_state.c.entity_type))
    return sorted((row.tenant_id, row.entity_type) for row in rows)
