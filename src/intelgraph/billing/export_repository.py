"""SQL for the daily usage export: a day's usage, plans and overrides for every tenant at once.

The export is a platform-wide report of one closed day. The other areas' faces answer per
tenant (``usage_totals``, ``effective_limits``); asking them a thousand times would be a
thousand round trips, so this module reads their tables directly, read-only, in a handful
of set-wide queries: one grouped query over the ledger, one over tenants, one over plan
changes and one over overrides. It writes only ``usage_exports``, the record of exports made.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select

from intelgraph.store.tables import audit_log, quota_overrides, tenants, usage_exports, usage_ledger

PLAN_CHANGE_ACTION = "tenant.plan_change"  # written by tenants/entitlements.change_plan


@dataclass(frozen=True, slots=True)
class TenantAtPeriodEnd:
    tenant_id: str
    current_plan: str


def tenants_existing_at(conn: Connection, end: datetime) -> list[TenantAtPeriodEnd]:
    """Tenants created before ``end``, by id."""
    return [
        TenantAtPeriodEnd(row.tenant_id, row.plan)
        for row in conn.execute(
            select(tenants.c.tenant_id, tenants.c.plan)
            .where(tenants.c.created_at < _utc(end))
            .order_by(tenants.c.tenant_id)
        )
    ]


def usage_by_tenant(
    conn: Connection, meters: Iterable[str], start: datetime, end: datetime
) -> dict[str, dict[str, int]]:
    """Each tenant's total per meter over the minute buckets starting in [start, end)
    (a tenant or meter absent: no usage).

    One grouped query for all tenants. Driving it from the tenants table, with the meters
    named and no other filter, makes SQLite and PostgreSQL seek the ledger's primary key
    (tenant, meter, bucket) by range for each tenant, with or without table statistics,
    instead of scanning every day the ledger holds (measured in bench_usage_export).
    """
    found: dict[str, dict[str, int]] = {}
    statement = (
        select(tenants.c.tenant_id, usage_ledger.c.meter, func.sum(usage_ledger.c.value))
        .select_from(
            tenants.join(
                usage_ledger,
                and_(
                    usage_ledger.c.tenant_id == tenants.c.tenant_id,
                    usage_ledger.c.meter.in_(list(meters)),
                    usage_ledger.c.bucket_start >= _utc(start),
                    usage_ledger.c.bucket_start < _utc(end),
                ),
            )
        )
        .group_by(tenants.c.tenant_id, usage_ledger.c.meter)
    )
    for tenant_id, meter, total in conn.execute(statement):
        found.setdefault(tenant_id, {})[meter] = int(total or 0)
    return found


def plans_before_changes_from(conn: Connection, end: datetime) -> dict[str, str]:
    """For each tenant whose plan changed at or after ``end``: the plan it had before the
    first such change, i.e. its plan at ``end`` (plan changes are audited with old and new
    value). Tenants absent here are still on the plan they had at ``end``."""
    found: dict[str, str] = {}
    rows = conn.execute(
        select(audit_log.c.tenant_id, audit_log.c.old_value)
        .where(audit_log.c.action == PLAN_CHANGE_ACTION, audit_log.c.created_at >= _utc(end))
        .order_by(audit_log.c.created_at, audit_log.c.audit_id)
    )
    for tenant_id, old_value in rows:
        if tenant_id in found:
            continue
        plan = old_value.get("plan") if isinstance(old_value, dict) else None
        if isinstance(plan, str) and plan:
            found[tenant_id] = plan
    return found


def overrides_in_effect_at(conn: Connection, end: datetime) -> dict[str, dict[str, int]]:
    """Each tenant's overrides in effect just before ``end`` (limit -> value; newest wins):
    created before it, and neither ended nor expired before it."""
    moment = _utc(end)
    rows = conn.execute(
        select(quota_overrides.c.tenant_id, quota_overrides.c.limit_name, quota_overrides.c.value)
        .where(
            and_(
                quota_overrides.c.created_at < moment,
                or_(quota_overrides.c.ended_at.is_(None), quota_overrides.c.ended_at >= moment),
                or_(quota_overrides.c.expires_at.is_(None), quota_overrides.c.expires_at >= moment),
            )
        )
        .order_by(quota_overrides.c.created_at, quota_overrides.c.override_id)
    )
    found: dict[str, dict[str, int]] = {}
    for tenant_id, limit_name, value in rows:
        found.setdefault(tenant_id, {})[limit_name] = int(value)
    return found


def is_recorded(conn: Connection, day: date, directory: str) -> bool:
    """Whether an export of ``day`` into ``directory`` has been recorded."""
    row = conn.execute(
        select(usage_exports.c.day).where(
            usage_exports.c.day == day, usage_exports.c.directory == directory
        )
    ).first()
    return row is not None


def record(
    conn: Connection,
    *,
    day: date,
    directory: str,
    row_count: int,
    totals: dict[str, Any],
    manifest_sha256: str,
    kid: str,
    exported_by: str,
    exported_at: datetime,
) -> None:
    """Record (or replace the record of) the export of ``day`` into ``directory``."""
    conn.execute(
        delete(usage_exports).where(
            usage_exports.c.day == day, usage_exports.c.directory == directory
        )
    )
    conn.execute(
        insert(usage_exports).values(
            day=day,
            directory=directory,
            row_count=row_count,
            totals=totals,
            manifest_sha256=manifest_sha256,
            kid=kid,
            exported_by=exported_by,
            exported_at=exported_at,
        )
    )


def _utc(moment: datetime) -> datetime:
    # SQLite keeps datetimes as text without an offset: always hand it UTC.
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment
