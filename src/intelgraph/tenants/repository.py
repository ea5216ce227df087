"""SQL for tenants and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, or_, select, update

from intelgraph.store.engine import as_utc
from intelgraph.store.tables import api_keys, tenants
from intelgraph.tenants.model import ApiKey, Tenant


def to_tenant(row: Row[Any]) -> Tenant:
    return Tenant(
        id=row.tenant_id,
        slug=row.slug,
        name=row.name,
        region=row.region,
        plan=row.plan,
        status=row.status,
        is_sandbox=bool(row.is_sandbox),
        created_at=as_utc(row.created_at),
        default_api_version=row.default_api_version,
        is_safelisted=bool(row.is_safelisted),
        allows_apq=bool(row.allows_apq),
        allows_introspection=bool(row.allows_introspection),
    )


def to_key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        tenant_id=row.tenant_id,
        id=row.key_id,
        name=row.name,
        prefix=row.prefix,
        roles=list(row.roles),
        created_at=as_utc(row.created_at),
        revoked_at=as_utc(row.revoked_at) if row.revoked_at else None,
    )


def insert_tenant(conn: Connection, tenant: Tenant) -> None:
    conn.execute(
        insert(tenants).values(
            tenant_id=tenant.id,
            slug=tenant.slug,
            name=tenant.name,
            region=tenant.region,
            plan=tenant.plan,
            status=tenant.status,
            is_sandbox=tenant.is_sandbox,
            created_at=tenant.created_at,
            default_api_version=tenant.default_api_version,
            is_safelisted=tenant.is_safelisted,
            allows_apq=tenant.allows_apq,
            allows_introspection=tenant.allows_introspection,
        )
    )


def find_tenant(conn: Connection, slug_or_id: str) -> Tenant | None:
    row = conn.execute(
        select(tenants).where(or_(tenants.c.tenant_id == slug_or_id, tenants.c.slug == slug_or_id))
    ).first()
    return None if row is None else to_tenant(row)


def list_tenants(conn: Connection) -> list[Tenant]:
    return [to_tenant(row) for row in conn.execute(select(tenants).order_by(tenants.c.created_at))]


def set_tenant_status(conn: Connection, tenant_id: str, status: str) -> None:
    conn.execute(update(tenants).where(tenants.c.tenant_id == tenant_id).values(status=status))


def insert_key(conn: Connection, key: ApiKey, key_hash: str) -> None:
    conn.execute(
        insert(api_keys).values(
            tenant_id=key.tenant_id,
            key_id=key.id,
            name=key.name,
            prefix=key.prefix,
            key_hash=key_hash,
            roles=key.roles,
            created_at=key.created_at,
            revoked_at=None,
        )
    )


def list_keys(conn: Connection, tenant_id: str) -> list[ApiKey]:
    rows = conn.execute(
        select(api_keys).where(api_keys.c.tenant_id == tenant_id).order_by(api_keys.c.created_at)
    )
    return [to_key(row) for row in rows]


def revoke_key(conn: Connection, tenant_id: str, key_id: str, at: datetime) -> bool:
    result = conn.execute(
        update(api_keys)
        .where(
            api_keys.c.tenant_id == tenant_id,
            api_keys.c.key_id == key_id,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=at)
    )
    return result.rowcount == 1


# Authentication runs on every request: the statement is built once.
_KEY_OWNER = (
    select(
        api_keys,
        tenants.c.slug,
        tenants.c.name.label("tenant_name"),
        tenants.c.region,
        tenants.c.plan,
        tenants.c.status,
        tenants.c.is_sandbox,
        tenants.c.created_at.label("tenant_created_at"),
        tenants.c.default_api_version,
        tenants.c.is_safelisted,
        tenants.c.allows_apq,
        tenants.c.allows_introspection,
    )
    .join(tenants, tenants.c.tenant_id == api_keys.c.tenant_id)
    .where(api_keys.c.key_hash == bindparam("key_hash"))
)


def find_key_owner(conn: Connection, key_hash: str) -> tuple[ApiKey, Tenant] | None:
    """The key with this hash and its tenant, revoked or not."""
    row = conn.execute(_KEY_OWNER, {"key_hash": key_hash}).first()
    if row is None:
        return None
    tenant = Tenant(
        id=row.tenant_id,
        slug=row.slug,
        name=row.tenant_name,
        region=row.region,
        plan=row.plan,
        status=row.status,
        is_sandbox=bool(row.is_sandbox),
        created_at=as_utc(row.tenant_created_at),
        default_api_version=row.default_api_version,
        is_safelisted=bool(row.is_safelisted),
        allows_apq=bool(row.allows_apq),
        allows_introspection=bool(row.allows_introspection),
    )
    return to_key(row), tenant


def set_api_settings(conn: Connection, tenant_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(tenants).where(tenants.c.tenant_id == tenant_id).values(**values))
