"""SQL for plans and quota overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, insert, or_, select, update

from intelgraph.store.engine import as_utc
from intelgraph.store.tables import plans, quota_overrides, tenants
from intelgraph.tenants.plans import PlanCatalog, PlanLimits


def stored_catalog_version(conn: Connection) -> int:
    versions = [row[0] for row in conn.execute(select(plans.c.catalog_version))]
    return max(versions, default=0)


def replace_plans(conn: Connection, catalog: PlanCatalog, at: datetime) -> None:
    for name, limits in catalog.plans.items():
        values = limits.model_dump() | {
            "catalog_version": catalog.catalog_version,
            "updated_at": at,
        }
        updated = conn.execute(update(plans).where(plans.c.name == name).values(**values))
        if updated.rowcount == 0:
            conn.execute(insert(plans).values(name=name, **values))


def load_plans(conn: Connection) -> dict[str, PlanLimits]:
    return {
        row.name: PlanLimits(
            api_rpm=row.api_rpm, ingest_eps=row.ingest_eps, egress_gb_day=row.egress_gb_day
        )
        for row in conn.execute(select(plans))
    }


def set_plan(conn: Connection, tenant_id: str, plan: str) -> None:
    conn.execute(update(tenants).where(tenants.c.tenant_id == tenant_id).values(plan=plan))


def set_sandbox(conn: Connection, tenant_id: str, is_sandbox: bool) -> None:
    conn.execute(
        update(tenants).where(tenants.c.tenant_id == tenant_id).values(is_sandbox=is_sandbox)
    )


def live_overrides(conn: Connection, tenant_id: str, now: datetime) -> list[Row[Any]]:
    """Overrides not ended and not past their expiry, oldest first."""
    return list(
        conn.execute(
            select(quota_overrides)
            .where(
                quota_overrides.c.tenant_id == tenant_id,
                quota_overrides.c.ended_at.is_(None),
                or_(quota_overrides.c.expires_at.is_(None), quota_overrides.c.expires_at > now),
            )
            .order_by(quota_overrides.c.created_at)
        )
    )


def insert_override(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(quota_overrides).values(**row))


def end_override(
    conn: Connection, tenant_id: str, override_id: str, at: datetime, why: str
) -> None:
    conn.execute(
        update(quota_overrides)
        .where(
            quota_overrides.c.tenant_id == tenant_id,
            quota_overrides.c.override_id == override_id,
        )
        .values(ended_at=at, end_reason=why)
    )


def expired_unended(conn: Connection, now: datetime) -> list[Row[Any]]:
    """Overrides past their expiry that no one has closed yet (all tenants)."""
    return list(
        conn.execute(
            select(quota_overrides).where(
                and_(
                    quota_overrides.c.ended_at.is_(None),
                    quota_overrides.c.expires_at.is_not(None),
                    quota_overrides.c.expires_at <= now,
                )
            )
        )
    )


def override_expiry(row: Row[Any]) -> datetime | None:
    return as_utc(row.expires_at) if row.expires_at is not None else None
