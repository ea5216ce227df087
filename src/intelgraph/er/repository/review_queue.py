"""The review queue: pairs in the review band and merges held for a person.

Every statement filters on the tenant it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from intelgraph.er.review import ReviewItem, ReviewKind, ReviewStatus
from intelgraph.store.batching import chunks
from intelgraph.store.engine import as_utc
from intelgraph.store.tables import (
    er_review_items,
)


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


def _to_review(row: Row[Any]) -> ReviewItem:
    return ReviewItem(
        id=row.item_id,
        tenant_id=row.tenant_id,
        entity_type=row.entity_type,
        kind=ReviewKind(row.kind),
        members=tuple(row.members),
        match_probability=row.match_probability,
        match_weight=row.match_weight,
        reason=row.reason,
        status=ReviewStatus(row.status),
        created_at=as_utc(row.created_at),
        decided_by=row.decided_by,
        decided_at=_utc(row.decided_at),
        decision_reason=row.decision_reason,
    )


def open_pair_keys(
    conn: Connection, tenant_id: str, left_ids: Sequence[str]
) -> set[tuple[str, str]]:
    """(left, right) of the open pair items whose left id is among ``left_ids``."""
    keys: set[tuple[str, str]] = set()
    for chunk in chunks(sorted(set(left_ids))):
        for row in conn.execute(
            select(er_review_items.c.left_id, er_review_items.c.right_id).where(
                er_review_items.c.tenant_id == tenant_id,
                er_review_items.c.status == ReviewStatus.OPEN.value,
                er_review_items.c.left_id.in_(chunk),
            )
        ):
            keys.add((row.left_id, row.right_id))
    return keys


def insert_review_items(conn: Connection, items: Sequence[ReviewItem]) -> None:
    if not items:
        return
    conn.execute(
        insert(er_review_items),
        [
            {
                "tenant_id": item.tenant_id,
                "item_id": item.id,
                "entity_type": item.entity_type,
                "kind": item.kind.value,
                "left_id": item.members[0] if item.kind is ReviewKind.PAIR else None,
                "right_id": item.members[1] if item.kind is ReviewKind.PAIR else None,
                "members": list(item.members),
                "match_probability": item.match_probability,
                "match_weight": item.match_weight,
                "reason": item.reason,
                "status": item.status.value,
                "created_at": item.created_at,
            }
            for item in items
        ],
    )


def list_review_items(
    conn: Connection,
    tenant_id: str,
    status: str | None,
    entity_type: str | None,
    limit: int,
) -> list[ReviewItem]:
    statement = select(er_review_items).where(er_review_items.c.tenant_id == tenant_id)
    if status is not None:
        statement = statement.where(er_review_items.c.status == status)
    if entity_type is not None:
        statement = statement.where(er_review_items.c.entity_type == entity_type)
    statement = statement.order_by(er_review_items.c.created_at, er_review_items.c.item_id).limit(
        limit
    )
    return [_to_review(row) for row in conn.execute(statement)]


def get_review_item(conn: Connection, tenant_id: str, item_id: str) -> ReviewItem | None:
    row = conn.execute(
        select(er_review_items).where(
            er_review_items.c.tenant_id == tenant_id, er_review_items.c.item_id == item_id
        )
    ).first()
    return None if row is None else _to_review(row)


def decide_review_item(
    conn: Connection,
    tenant_id: str,
    item_id: str,
    status: ReviewStatus,
    actor: str,
    reason: str | None,
    now: datetime,
) -> bool:
    """Close an open item; False when it was no longer open (someone else decided it)."""
    result = conn.execute(
        update(er_review_items)
        .where(
            er_review_items.c.tenant_id == tenant_id,
            er_review_items.c.item_id == item_id,
            er_review_items.c.status == ReviewStatus.OPEN.value,
        )
        .values(status=status.value, decided_by=actor, decided_at=now, decision_reason=reason)
    )
    return result.rowcount == 1


def has_open_review(conn: Connection, tenant_id: str, entity_id: str) -> bool:
    """Whether an open review item names the entity (a pair side or a held member)."""
    pair = conn.execute(
        select(er_review_items.c.item_id)
        .where(
            er_review_items.c.tenant_id == tenant_id,
            er_review_items.c.status == ReviewStatus.OPEN.value,
            (er_review_items.c.left_id == entity_id) | (er_review_items.c.right_id == entity_id),
        )
        .limit(1)
    ).first()
    if pair is not None:
        return True
    held = conn.execute(
        select(er_review_items.c.members).where(
            er_review_items.c.tenant_id == tenant_id,
            er_review_items.c.status == ReviewStatus.OPEN.value,
            er_review_items.c.kind == ReviewKind.HELD.value,
        )
    )
    return any(entity_id in row.members for row in held)


def open_review_counts(conn: Connection) -> dict[tuple[str, str], int]:
    """Open items per (tenant, entity type), for every tenant (gauges)."""
    rows = conn.execute(
        select(er_review_items.c.tenant_id, er_review_items.c.entity_type, func.count())
        .where(er_review_items.c.status == ReviewStatus.OPEN.value)
        .group_by(er_review_items.c.tenant_id, er_review_items.c.entity_type)
    )
    return {(row[0], row[1]): int(row[2]) for row in rows}
