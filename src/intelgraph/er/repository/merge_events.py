"""The merge history: one event per merge, split or revert, with its evidence.

Every statement filters on the tenant it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from intelgraph.er.history import EventKind, MergeEvent
from intelgraph.store.engine import as_utc
from intelgraph.store.tables import (
    er_merge_events,
)


def insert_event(conn: Connection, event: MergeEvent) -> None:
    insert_events(conn, [event])


def insert_events(conn: Connection, events: Sequence[MergeEvent]) -> None:
    """Store merge events (one executemany)."""
    if not events:
        return
    conn.execute(
        insert(er_merge_events),
        [
            {
                "tenant_id": event.tenant_id,
                "event_id": event.id,
                "entity_type": event.entity_type,
                "kind": event.kind.value,
                "cluster_id": event.cluster_id,
                "actor": event.actor,
                "reason": event.reason,
                "evidence": event.evidence,
                "before": event.before,
                "after": event.after,
                "created_at": event.created_at,
                "reverted_by": event.reverted_by,
            }
            for event in events
        ],
    )


def _to_event(row: Row[Any]) -> MergeEvent:
    return MergeEvent(
        id=row.event_id,
        tenant_id=row.tenant_id,
        entity_type=row.entity_type,
        kind=EventKind(row.kind),
        cluster_id=row.cluster_id,
        actor=row.actor,
        reason=row.reason,
        evidence=row.evidence,
        before=row.before,
        after=row.after,
        created_at=as_utc(row.created_at),
        reverted_by=row.reverted_by,
    )


def get_event(conn: Connection, tenant_id: str, event_id: str) -> MergeEvent | None:
    row = conn.execute(
        select(er_merge_events).where(
            er_merge_events.c.tenant_id == tenant_id, er_merge_events.c.event_id == event_id
        )
    ).first()
    return None if row is None else _to_event(row)


def events_of_clusters(
    conn: Connection, tenant_id: str, cluster_ids: Sequence[str], limit: int = 100
) -> list[MergeEvent]:
    """Events that put records into (or took them out to) these clusters, newest first."""
    rows = conn.execute(
        select(er_merge_events)
        .where(
            er_merge_events.c.tenant_id == tenant_id,
            er_merge_events.c.cluster_id.in_(list(cluster_ids)),
        )
        .order_by(er_merge_events.c.created_at.desc(), er_merge_events.c.event_id)
        .limit(limit)
    )
    return [_to_event(row) for row in rows]


def mark_reverted(conn: Connection, tenant_id: str, event_id: str, by: str) -> None:
    conn.execute(
        update(er_merge_events)
        .where(er_merge_events.c.tenant_id == tenant_id, er_merge_events.c.event_id == event_id)
        .values(reverted_by=by)
    )
