"""Quality records: evaluation runs, drift alerts and online batch statistics.

Every statement filters on the tenant it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from intelgraph.store.tables import (
    er_drift_alerts,
    er_eval_runs,
    er_ingest_batches,
)


def insert_run(conn: Connection, tenant_id: str, values: Mapping[str, Any]) -> None:
    conn.execute(insert(er_eval_runs).values(tenant_id=tenant_id, **values))


def runs(
    conn: Connection,
    tenant_id: str,
    entity_type: str | None = None,
    *,
    golden_id: str | None = None,
    limit: int = 100,
    with_pairs: bool = False,
) -> list[Row[Any]]:
    """The tenant's runs, newest first."""
    columns = [c for c in er_eval_runs.c if with_pairs or c.name != "scored_pairs"]
    statement = select(*columns).where(er_eval_runs.c.tenant_id == tenant_id)
    if entity_type is not None:
        statement = statement.where(er_eval_runs.c.entity_type == entity_type)
    if golden_id is not None:
        statement = statement.where(er_eval_runs.c.golden_id == golden_id)
    statement = statement.order_by(
        er_eval_runs.c.started_at.desc(), er_eval_runs.c.run_id.desc()
    ).limit(limit)
    return list(conn.execute(statement))


def recent_runs(conn: Connection, since: datetime) -> list[Row[Any]]:
    """Every tenant's runs since ``since`` without their pairs, newest first (gauges)."""
    columns = [c for c in er_eval_runs.c if c.name != "scored_pairs"]
    return list(
        conn.execute(
            select(*columns)
            .where(er_eval_runs.c.started_at >= since)
            .order_by(er_eval_runs.c.started_at.desc())
        )
    )


def insert_alert(conn: Connection, tenant_id: str, values: Mapping[str, Any]) -> None:
    conn.execute(insert(er_drift_alerts).values(tenant_id=tenant_id, **values))


def alerts(
    conn: Connection,
    tenant_id: str,
    entity_type: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[Row[Any]]:
    statement = select(er_drift_alerts).where(er_drift_alerts.c.tenant_id == tenant_id)
    if entity_type is not None:
        statement = statement.where(er_drift_alerts.c.entity_type == entity_type)
    if since is not None:
        statement = statement.where(er_drift_alerts.c.created_at >= since)
    statement = statement.order_by(er_drift_alerts.c.created_at.desc()).limit(limit)
    return list(conn.execute(statement))


def insert_batch(conn: Connection, tenant_id: str, values: Mapping[str, Any]) -> None:
    conn.execute(insert(er_ingest_batches).values(tenant_id=tenant_id, **values))


def batch_window(
    conn: Connection, tenant_id: str, entity_type: str, start: datetime, end: datetime
) -> tuple[int, int, list[int] | None]:
    """(records, linked records, summed weight counts) of online batches in [start, end)."""
    rows = conn.execute(
        select(
            er_ingest_batches.c.record_count,
            er_ingest_batches.c.linked_count,
            er_ingest_batches.c.weight_counts,
        ).where(
            er_ingest_batches.c.tenant_id == tenant_id,
            er_ingest_batches.c.entity_type == entity_type,
            er_ingest_batches.c.resolved_at >= start,
            er_ingest_batches.c.resolved_at < end,
        )
    )
    records = linked = 0
    counts: list[int] | None = None
    for row in rows:
        records += int(row.record_count)
        linked += int(row.linked_count)
        weights = list(row.weight_counts)
        counts = (
            weights if counts is None else [a + b for a, b in zip(counts, weights, strict=True)]
        )
    return records, linked, counts
