"""The ``edge_cache_epochs`` table: one row per tenant whose cache epoch ever moved.

Plain functions over a ``Connection``; ``epochs.py`` keeps the per-process memory of them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable

from intelgraph.store.tables import edge_cache_epochs


def epoch_of(conn: Connection, tenant_id: str) -> int:
    """The tenant's epoch (0 without a row)."""
    epoch = conn.execute(
        select(edge_cache_epochs.c.epoch).where(edge_cache_epochs.c.tenant_id == tenant_id)
    ).scalar_one_or_none()
    return int(epoch or 0)


def bump_epoch(conn: Connection, tenant_id: str, at: datetime) -> int:
    """Move the tenant's epoch on by one (1 for a tenant without a row); the new epoch."""
    conn.execute(_upsert_bump(conn.dialect.name), {"tenant_id": tenant_id, "at": at})
    epoch = conn.execute(
        select(edge_cache_epochs.c.epoch).where(edge_cache_epochs.c.tenant_id == tenant_id)
    ).scalar_one()
    return int(epoch)


def _upsert_bump(dialect: str) -> Executable:
    """Epoch 1 for a tenant without a row, else one more (one statement, row-locked)."""
    row = {"tenant_id": bindparam("tenant_id"), "epoch": 1, "updated_at": bindparam("at")}
    moved = {"epoch": edge_cache_epochs.c.epoch + 1, "updated_at": bindparam("at")}
    if dialect == "sqlite":
        return (
            sqlite.insert(edge_cache_epochs)
            .values(row)
            .on_conflict_do_update(index_elements=["tenant_id"], set_=moved)
        )
    if dialect == "postgresql":
        return (
            postgresql.insert(edge_cache_epochs)
            .values(row)
            .on_conflict_do_update(index_elements=["tenant_id"], set_=moved)
        )
    raise ValueError(f"cache epochs are kept on sqlite and postgresql, not {dialect}")
