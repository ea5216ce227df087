"""Trained match models, one version per training.

Every statement filters on the tenant it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select

from intelgraph.store.tables import (
    er_models,
)


def insert_model(
    conn: Connection, tenant_id: str, entity_type: str, values: Mapping[str, Any]
) -> int:
    """Store a model as the next version of the tenant's type; returns its seq."""
    latest = conn.execute(
        select(func.max(er_models.c.seq)).where(
            er_models.c.tenant_id == tenant_id, er_models.c.entity_type == entity_type
        )
    ).scalar()
    seq = int(latest or 0) + 1
    conn.execute(
        insert(er_models).values(tenant_id=tenant_id, entity_type=entity_type, seq=seq, **values)
    )
    return seq


def latest_model(conn: Connection, tenant_id: str, entity_type: str) -> Row[Any] | None:
    return conn.execute(
        select(er_models)
        .where(er_models.c.tenant_id == tenant_id, er_models.c.entity_type == entity_type)
        .order_by(er_models.c.seq.desc())
        .limit(1)
    ).first()


def latest_model_seq(conn: Connection, tenant_id: str, entity_type: str) -> int | None:
    value = conn.execute(
        select(func.max(er_models.c.seq)).where(
            er_models.c.tenant_id == tenant_id, er_models.c.entity_type == entity_type
        )
    ).scalar()
    return None if value is None else int(value)


def list_models(conn: Connection, tenant_id: str, entity_type: str | None) -> list[Row[Any]]:
    statement = select(
        er_models.c.entity_type,
        er_models.c.seq,
        er_models.c.model_version,
        er_models.c.config_version,
        er_models.c.record_count,
        er_models.c.trained_by,
        er_models.c.reason,
        er_models.c.created_at,
    ).where(er_models.c.tenant_id == tenant_id)
    if entity_type is not None:
        statement = statement.where(er_models.c.entity_type == entity_type)
    return list(conn.execute(statement.order_by(er_models.c.entity_type, er_models.c.seq)))
