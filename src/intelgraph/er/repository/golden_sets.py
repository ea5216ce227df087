"""Golden sets: labelled records a tenant registered to measure resolution quality.

Every statement filters on the tenant it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from intelgraph.store.tables import (
    er_golden_sets,
)


def insert_golden(conn: Connection, tenant_id: str, values: Mapping[str, Any]) -> None:
    conn.execute(insert(er_golden_sets).values(tenant_id=tenant_id, **values))


def list_golden(conn: Connection, tenant_id: str) -> list[Row[Any]]:
    """The tenant's golden sets without their text, oldest first."""
    return list(
        conn.execute(
            select(
                er_golden_sets.c.golden_id,
                er_golden_sets.c.name,
                er_golden_sets.c.sha256,
                er_golden_sets.c.record_counts,
                er_golden_sets.c.created_by,
                er_golden_sets.c.created_at,
            )
            .where(er_golden_sets.c.tenant_id == tenant_id)
            .order_by(er_golden_sets.c.created_at, er_golden_sets.c.golden_id)
        )
    )


def golden_text(conn: Connection, tenant_id: str, golden_id: str) -> Row[Any] | None:
    row: Row[Any] | None = conn.execute(
        select(er_golden_sets).where(
            er_golden_sets.c.tenant_id == tenant_id, er_golden_sets.c.golden_id == golden_id
        )
    ).first()
    return row


def tenants_with_golden(conn: Connection) -> list[str]:
    rows = conn.execute(select(er_golden_sets.c.tenant_id).distinct())
    return sorted(row.tenant_id for row in rows)
