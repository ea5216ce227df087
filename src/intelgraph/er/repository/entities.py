"""Reads of the graph's ``entities`` table (never writes): an ER record per entity, and
which entities no cluster holds yet (ADR 006 explains why ER reads this table).

Every statement filters on the tenant it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, and_, func, select

from intelgraph.store.batching import chunks
from intelgraph.store.tables import (
    entities,
    er_memberships,
)


def entity_rows(
    conn: Connection, tenant_id: str, entity_type: str, ids: Sequence[str] | None = None
) -> list[Row[Any]]:
    """(entity_id, type, label, attributes) of the tenant's entities of a type."""
    columns = (entities.c.entity_id, entities.c.type, entities.c.label, entities.c.attributes)
    base = select(*columns).where(entities.c.tenant_id == tenant_id, entities.c.type == entity_type)
    if ids is None:
        return list(conn.execute(base.order_by(entities.c.entity_id)))
    rows: list[Row[Any]] = []
    for chunk in chunks(sorted(set(ids))):
        rows.extend(conn.execute(base.where(entities.c.entity_id.in_(chunk))))
    return rows


def entity_types_of(conn: Connection, tenant_id: str, ids: Sequence[str]) -> dict[str, str]:
    """Entity id to graph type, for the ids the tenant has."""
    found: dict[str, str] = {}
    for chunk in chunks(list(ids)):
        for row in conn.execute(
            select(entities.c.entity_id, entities.c.type).where(
                entities.c.tenant_id == tenant_id, entities.c.entity_id.in_(chunk)
            )
        ):
            found[row.entity_id] = row.type
    return found


def unresolved_entity_ids(
    conn: Connection, tenant_id: str, entity_type: str, ids: Sequence[str] | None = None
) -> list[str]:
    """Entities of a type without a cluster yet (all of them, or among ``ids``)."""
    joined = entities.outerjoin(
        er_memberships,
        and_(
            er_memberships.c.tenant_id == entities.c.tenant_id,
            er_memberships.c.entity_id == entities.c.entity_id,
        ),
    )
    base = (
        select(entities.c.entity_id)
        .select_from(joined)
        .where(
            entities.c.tenant_id == tenant_id,
            entities.c.type == entity_type,
            er_memberships.c.entity_id.is_(None),
        )
    )
    if ids is None:
        return [row.entity_id for row in conn.execute(base.order_by(entities.c.entity_id))]
    found: list[str] = []
    for chunk in chunks(sorted(set(ids))):
        found.extend(
            row.entity_id for row in conn.execute(base.where(entities.c.entity_id.in_(chunk)))
        )
    return sorted(found)


def tenants_with_unresolved(conn: Connection, entity_types: Sequence[str]) -> list[str]:
    """Tenants holding entities of these types that have no cluster yet (the sweep job)."""
    resolved = select(er_memberships.c.entity_id).where(
        er_memberships.c.tenant_id == entities.c.tenant_id,
        er_memberships.c.entity_id == entities.c.entity_id,
    )
    rows = conn.execute(
        select(entities.c.tenant_id)
        .where(entities.c.type.in_(list(entity_types)), ~resolved.exists())
        .distinct()
    )
    return sorted(row.tenant_id for row in rows)


def count_entities(conn: Connection, tenant_id: str, entity_type: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(entities)
            .where(entities.c.tenant_id == tenant_id, entities.c.type == entity_type)
        ).scalar_one()
    )


def has_unresolved(conn: Connection, tenant_id: str, entity_type: str) -> bool:
    """Whether the tenant holds an entity of the type that has no cluster yet."""
    resolved = select(er_memberships.c.entity_id).where(
        er_memberships.c.tenant_id == entities.c.tenant_id,
        er_memberships.c.entity_id == entities.c.entity_id,
    )
    found = conn.execute(
        select(entities.c.entity_id)
        .where(
            entities.c.tenant_id == tenant_id,
            entities.c.type == entity_type,
            ~resolved.exists(),
        )
        .limit(1)
    ).first()
    return found is not None
