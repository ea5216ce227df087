"""Thresholds versions and their governance (proposed, active, retired…).

Every statement filters on the tenant it is given.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from intelgraph.er.engine.decisions import Thresholds
from intelgraph.er.governance import ThresholdOrigin, ThresholdsRecord, ThresholdStatus
from intelgraph.store.engine import as_utc
from intelgraph.store.tables import (
    er_thresholds,
)


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


def _to_thresholds(row: Row[Any]) -> ThresholdsRecord:
    return ThresholdsRecord(
        id=row.thresholds_id,
        tenant_id=row.tenant_id,
        entity_type=row.entity_type,
        version=int(row.version),
        thresholds=Thresholds(auto_merge=row.auto_merge, review=row.review),
        status=ThresholdStatus(row.status),
        origin=ThresholdOrigin(row.origin),
        proposed_by=row.proposed_by,
        reason=row.reason,
        created_at=as_utc(row.created_at),
        decided_by=row.decided_by,
        decided_at=_utc(row.decided_at),
        decision_reason=row.decision_reason,
        activated_at=_utc(row.activated_at),
        expected=row.expected,
        baselines=dict(row.baselines or {}),
    )


def insert_thresholds(conn: Connection, record: ThresholdsRecord) -> ThresholdsRecord:
    """Store a record as the next version of its tenant's type; returns it with that version."""
    latest = conn.execute(
        select(func.max(er_thresholds.c.version)).where(
            er_thresholds.c.tenant_id == record.tenant_id,
            er_thresholds.c.entity_type == record.entity_type,
        )
    ).scalar()
    version = int(latest or 0) + 1
    conn.execute(
        insert(er_thresholds).values(
            tenant_id=record.tenant_id,
            thresholds_id=record.id,
            entity_type=record.entity_type,
            version=version,
            auto_merge=record.thresholds.auto_merge,
            review=record.thresholds.review,
            status=record.status.value,
            origin=record.origin.value,
            proposed_by=record.proposed_by,
            reason=record.reason,
            created_at=record.created_at,
            decided_by=record.decided_by,
            decided_at=record.decided_at,
            decision_reason=record.decision_reason,
            activated_at=record.activated_at,
            expected=record.expected,
            baselines=record.baselines,
        )
    )
    got = get_thresholds(conn, record.tenant_id, record.id)
    assert got is not None
    return got


def get_thresholds(conn: Connection, tenant_id: str, thresholds_id: str) -> ThresholdsRecord | None:
    row = conn.execute(
        select(er_thresholds).where(
            er_thresholds.c.tenant_id == tenant_id, er_thresholds.c.thresholds_id == thresholds_id
        )
    ).first()
    return None if row is None else _to_thresholds(row)


def tenant_of_thresholds(conn: Connection, thresholds_id: str) -> str | None:
    """The tenant owning a thresholds record (for the local CLI, which names records by id)."""
    return conn.execute(
        select(er_thresholds.c.tenant_id).where(er_thresholds.c.thresholds_id == thresholds_id)
    ).scalar()


def thresholds_with_status(
    conn: Connection, tenant_id: str, entity_type: str, status: ThresholdStatus
) -> list[ThresholdsRecord]:
    """Records of one status, newest version first."""
    rows = conn.execute(
        select(er_thresholds)
        .where(
            er_thresholds.c.tenant_id == tenant_id,
            er_thresholds.c.entity_type == entity_type,
            er_thresholds.c.status == status.value,
        )
        .order_by(er_thresholds.c.version.desc())
    )
    return [_to_thresholds(row) for row in rows]


def list_thresholds(
    conn: Connection, tenant_id: str, entity_type: str | None
) -> list[ThresholdsRecord]:
    statement = select(er_thresholds).where(er_thresholds.c.tenant_id == tenant_id)
    if entity_type is not None:
        statement = statement.where(er_thresholds.c.entity_type == entity_type)
    rows = conn.execute(statement.order_by(er_thresholds.c.entity_type, er_thresholds.c.version))
    return [_to_thresholds(row) for row in rows]


def update_thresholds(conn: Connection, tenant_id: str, thresholds_id: str, **values: Any) -> None:
    conn.execute(
        update(er_thresholds)
        .where(
            er_thresholds.c.tenant_id == tenant_id, er_thresholds.c.thresholds_id == thresholds_id
        )
        .values(**values)
    )
