"""Comparisons configs per tenant and entity type, one row per version.

Every statement filters on the tenant it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select

from intelgraph.store.tables import (
    er_type_configs,
)


def insert_type_config(conn: Connection, tenant_id: str, values: Mapping[str, Any]) -> None:
    """Store a config version (the primary key refuses a version stored concurrently)."""
    conn.execute(insert(er_type_configs).values(tenant_id=tenant_id, **values))


def latest_type_config_version(conn: Connection, tenant_id: str, entity_type: str) -> int | None:
    value = conn.execute(
        select(func.max(er_type_configs.c.version)).where(
            er_type_configs.c.tenant_id == tenant_id,
            er_type_configs.c.entity_type == entity_type,
        )
    ).scalar()
    return None if value is None else int(value)


def type_config(
    conn: Connection, tenant_id: str, entity_type: str, version: int | None = None
) -> Row[Any] | None:
    """One stored config version of a tenant's type (the newest when ``version`` is None)."""
    statement = select(er_type_configs).where(
        er_type_configs.c.tenant_id == tenant_id, er_type_configs.c.entity_type == entity_type
    )
    if version is not None:
        statement = statement.where(er_type_configs.c.version == version)
    return conn.execute(statement.order_by(er_type_configs.c.version.desc()).limit(1)).first()


def type_config_history(
    conn: Connection, tenant_id: str, entity_type: str | None = None
) -> list[Row[Any]]:
    """Every stored config version of the tenant (of one type), without the documents."""
    statement = select(
        er_type_configs.c.entity_type,
        er_type_configs.c.version,
        er_type_configs.c.config_version,
        er_type_configs.c.fingerprint,
        er_type_configs.c.created_by,
        er_type_configs.c.reason,
        er_type_configs.c.created_at,
    ).where(er_type_configs.c.tenant_id == tenant_id)
    if entity_type is not None:
        statement = statement.where(er_type_configs.c.entity_type == entity_type)
    return list(
        conn.execute(statement.order_by(er_type_configs.c.entity_type, er_type_configs.c.version))
    )


def configured_types(conn: Connection, tenant_id: str) -> list[str]:
    """The entity types the tenant stored a config for."""
    rows = conn.execute(
        select(er_type_configs.c.entity_type)
        .where(er_type_configs.c.tenant_id == tenant_id)
        .distinct()
    )
    return sorted(row.entity_type for row in rows)


def all_configured_types(conn: Connection) -> list[tuple[str, str]]:
    """Every (tenant id, entity type) with a stored config (for the sweep and nightly jobs)."""
    rows = conn.execute(
        select(er_type_configs.c.tenant_id, er_type_configs.c.entity_type).distinct()
    )
    return sorted((row.tenant_id, row.entity_type) for row in rows)
