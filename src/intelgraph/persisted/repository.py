"""The ``persisted_queries`` table: operations by scope, hash and id, and what a scope holds.

Plain functions over a ``Connection``; the registry (``registry.py``) owns the transactions,
the in-process cache and the rules.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    LargeBinary,
    Row,
    and_,
    cast,
    func,
    insert,
    or_,
    select,
    text,
    update,
)

from intelgraph.store.tables import persisted_queries


def visible_by_hash(
    conn: Connection, tenant_id: str, platform: str, sha256: str
) -> Sequence[Row[Any]]:
    """The rows with this hash in the tenant's scope and the platform's."""
    return _visible(conn, tenant_id, platform, persisted_queries.c.sha256 == sha256)


def visible_by_id(
    conn: Connection, tenant_id: str, platform: str, operation_id: str
) -> Sequence[Row[Any]]:
    """The rows with this operation id in the tenant's scope and the platform's."""
    return _visible(conn, tenant_id, platform, persisted_queries.c.operation_id == operation_id)


def _visible(
    conn: Connection, tenant_id: str, platform: str, match: ColumnElement[bool]
) -> Sequence[Row[Any]]:
    scopes = or_(
        persisted_queries.c.tenant_id == tenant_id, persisted_queries.c.tenant_id == platform
    )
    return conn.execute(select(persisted_queries).where(scopes, match)).all()


def lock_scope(conn: Connection, scope: str) -> None:
    """Serialise registrations of one scope until the transaction ends (PostgreSQL; on
    SQLite the first write of a transaction takes the database's one write lock)."""
    if conn.dialect.name == "postgresql":
        lock_id = zlib.crc32(f"persisted_queries:{scope}".encode())
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


def insert_operation(
    conn: Connection,
    *,
    scope: str,
    sha256: str,
    operation_id: str | None,
    document: str,
    roles: Sequence[str],
    origin: str,
    at: datetime,
) -> None:
    """Add one operation to a scope (IntegrityError when the scope holds its hash)."""
    conn.execute(
        insert(persisted_queries).values(
            tenant_id=scope,
            sha256=sha256,
            operation_id=operation_id,
            document=document,
            roles=list(roles),
            origin=origin,
            created_at=at,
        )
    )


def rename_operation(
    conn: Connection, scope: str, sha256: str, operation_id: str | None, roles: Sequence[str]
) -> None:
    """Give a registered document a new id and roles."""
    conn.execute(
        update(persisted_queries)
        .where(persisted_queries.c.tenant_id == scope, persisted_queries.c.sha256 == sha256)
        .values(operation_id=operation_id, roles=list(roles))
    )


def scope_usage(conn: Connection, scope: str) -> tuple[int, int]:
    """(operations, UTF-8 bytes of their documents) one scope holds."""
    document = persisted_queries.c.document
    size = (
        func.octet_length(document)
        if conn.dialect.name == "postgresql"
        else func.length(cast(document, LargeBinary))
    )
    row = conn.execute(
        select(func.count(), func.coalesce(func.sum(size), 0)).where(
            persisted_queries.c.tenant_id == scope
        )
    ).one()
    return int(row[0]), int(row[1])


def page_of_scope(
    conn: Connection, scope: str, after: tuple[datetime, str] | None, limit: int
) -> Sequence[Row[Any]]:
    """Up to ``limit`` rows of one scope, oldest first, after (created_at, sha256)."""
    query = select(persisted_queries).where(persisted_queries.c.tenant_id == scope)
    if after is not None:
        query = query.where(_after(*after))
    return conn.execute(
        query.order_by(persisted_queries.c.created_at, persisted_queries.c.sha256).limit(limit)
    ).all()


def _after(created_at: datetime, sha256: str) -> ColumnElement[bool]:
    column = persisted_queries.c.created_at
    return or_(column > created_at, and_(column == created_at, persisted_queries.c.sha256 > sha256))
