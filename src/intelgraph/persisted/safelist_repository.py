"""The ``edge_cache_safelist`` table: one row per operation ever safelisted.

Plain functions over a ``Connection``; ``safelist.py`` owns the rules, the snapshot and the
transactions (the unit of work).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from intelgraph.store.engine import as_utc
from intelgraph.store.tables import edge_cache_safelist


@dataclass(frozen=True, slots=True)
class SafelistRow:
    """A row as stored: removed operations stay, with ``is_cached`` false."""

    operation_id: str
    ttl_seconds: int
    is_graph_derived: bool
    is_cached: bool
    updated_by: str
    reason: str | None
    updated_at: datetime

    def as_change(self) -> dict[str, Any]:
        """What an audit record shows as the value before a change."""
        return {
            "ttl": self.ttl_seconds,
            "graphDerived": self.is_graph_derived,
            "cached": self.is_cached,
        }


def cached_rows(conn: Connection) -> list[SafelistRow]:
    """The operations the edge cache serves now."""
    rows = conn.execute(
        select(edge_cache_safelist).where(edge_cache_safelist.c.is_cached.is_(True))
    ).all()
    return [_row(row) for row in rows]


def all_rows(conn: Connection) -> list[SafelistRow]:
    """Every row, removed ones included, by operation id."""
    rows = conn.execute(
        select(edge_cache_safelist).order_by(edge_cache_safelist.c.operation_id)
    ).all()
    return [_row(row) for row in rows]


def known_operations(conn: Connection) -> set[str]:
    """The operation ids with a row (cached or removed)."""
    return set(conn.execute(select(edge_cache_safelist.c.operation_id)).scalars())


def row_of(conn: Connection, operation_id: str) -> SafelistRow | None:
    found = conn.execute(
        select(edge_cache_safelist).where(edge_cache_safelist.c.operation_id == operation_id)
    ).first()
    return None if found is None else _row(found)


def insert_entry(
    conn: Connection,
    operation_id: str,
    *,
    ttl_seconds: int,
    is_graph_derived: bool,
    updated_by: str,
    reason: str,
    at: datetime,
) -> None:
    """Add a cached row (IntegrityError when the operation has one)."""
    values = _cached(ttl_seconds, is_graph_derived, updated_by, reason, at)
    conn.execute(insert(edge_cache_safelist).values(operation_id=operation_id, **values))


def update_entry(
    conn: Connection,
    operation_id: str,
    *,
    ttl_seconds: int,
    is_graph_derived: bool,
    updated_by: str,
    reason: str,
    at: datetime,
) -> None:
    """Cache an operation that has a row, with this TTL."""
    values = _cached(ttl_seconds, is_graph_derived, updated_by, reason, at)
    conn.execute(
        update(edge_cache_safelist)
        .where(edge_cache_safelist.c.operation_id == operation_id)
        .values(**values)
    )


def _cached(
    ttl_seconds: int, is_graph_derived: bool, updated_by: str, reason: str, at: datetime
) -> dict[str, Any]:
    return {
        "ttl_seconds": ttl_seconds,
        "is_graph_derived": is_graph_derived,
        "is_cached": True,
        "updated_by": updated_by,
        "reason": reason,
        "updated_at": at,
    }


def uncache(
    conn: Connection, operation_id: str, *, updated_by: str, reason: str, at: datetime
) -> None:
    """Keep the row, stop caching the operation."""
    conn.execute(
        update(edge_cache_safelist)
        .where(edge_cache_safelist.c.operation_id == operation_id)
        .values(is_cached=False, updated_by=updated_by, reason=reason, updated_at=at)
    )


def _row(row: Any) -> SafelistRow:
    return SafelistRow(
        operation_id=row.operation_id,
        ttl_seconds=int(row.ttl_seconds),
        is_graph_derived=bool(row.is_graph_derived),
        is_cached=bool(row.is_cached),
        updated_by=row.updated_by,
        reason=row.reason,
        updated_at=as_utc(row.updated_at),
    )
