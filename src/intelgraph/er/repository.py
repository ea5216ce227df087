"""SQL for entity resolution. Every statement filters on the tenant it is given.

Entities themselves belong to the graph area; this module reads their type, label and
attributes (never writes them) to turn them into ER records, because the graph service
offers no bulk "every entity of a type" read for a system job.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, case, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from intelgraph.er.decisions import Thresholds
from intelgraph.er.governance import ThresholdOrigin, ThresholdsRecord, ThresholdStatus
from intelgraph.er.history import EventKind, Membership, MembershipDecision, MergeEvent
from intelgraph.er.review import ReviewItem, ReviewKind, ReviewStatus
from intelgraph.store.batching import chunks
from intelgraph.store.engine import as_utc
from intelgraph.store.tables import (
    entities,
    er_clusters,
    er_drift_alerts,
    er_eval_runs,
    er_golden_sets,
    er_ingest_batches,
    er_memberships,
    er_merge_events,
    er_models,
    er_pair_overrides,
    er_review_items,
    er_state,
    er_thresholds,
    er_type_configs,
)


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


# --- state: the revision that serialises writers and tells caches they are stale -------


def bump_state(
    conn: Connection, tenant_id: str, entity_type: str, now: datetime
) -> tuple[int, int]:
    """First statement of every ER write: create the state row if needed, bump its revision
    (taking the tenant/type write lock on both backends) and return (revision, next ordinal).
    """
    values = {
        "tenant_id": tenant_id,
        "entity_type": entity_type,
        "revision": 0,
        "next_ordinal": 0,
        "updated_at": now,
    }
    if conn.dialect.name == "postgresql":
        conn.execute(pg_insert(er_state).values(values).on_conflict_do_nothing())
    else:
        conn.execute(sqlite_insert(er_state).values(values).on_conflict_do_nothing())
    where = and_(er_state.c.tenant_id == tenant_id, er_state.c.entity_type == entity_type)
    conn.execute(
        update(er_state).where(where).values(revision=er_state.c.revision + 1, updated_at=now)
    )
    row = conn.execute(select(er_state.c.revision, er_state.c.next_ordinal).where(where)).one()
    return int(row.revision), int(row.next_ordinal)


def read_state(conn: Connection, tenant_id: str, entity_type: str) -> tuple[int, int] | None:
    """(revision, next ordinal) of a tenant's entity type, or None before any ER write."""
    row = conn.execute(
        select(er_state.c.revision, er_state.c.next_ordinal).where(
            er_state.c.tenant_id == tenant_id, er_state.c.entity_type == entity_type
        )
    ).first()
    return None if row is None else (int(row.revision), int(row.next_ordinal))


def set_next_ordinal(conn: Connection, tenant_id: str, entity_type: str, value: int) -> None:
    conn.execute(
        update(er_state)
        .where(er_state.c.tenant_id == tenant_id, er_state.c.entity_type == entity_type)
        .values(next_ordinal=value)
    )


def tenants_with_state(conn: Connection) -> list[tuple[str, str]]:
    """Every (tenant id, entity type) that has ER state (for the nightly job)."""
    rows = conn.execute(select(er_state.c.tenant_id, er_state.c.entity_type))
    return sorted((row.tenant_id, row.entity_type) for row in rows)


# --- entities (read-only) ------------------------------------------------------------------


def entity_rows(
    conn: Connection, tenant_id: str, entity_type: str, ids: Sequence[str] | None = None
) -> list[Row[Any]]:
    """(entity_id, type, label, attributes) of the tenant's entities of a type."""
    columns = (entities.c.entity_id, entities.c.type, entities.c.label, entities.c.attributes)
    base = select(*columns).where(entities.c.tenant_id == tenant_id, entities.c.type == entity_type)
    if ids is None:
        return list(conn.execute(base.order_by(entities.c.entity_id)))
    rows: list[Row[Any]] = []
    for chunk in chunks(sorted(set(ids))):
        rows.extend(conn.execute(base.where(entities.c.entity_id.in_(chunk))))
    return rows


def entity_types_of(conn: Connection, tenant_id: str, ids: Sequence[str]) -> dict[str, str]:
    """Entity id to graph type, for the ids the tenant has."""
    found: dict[str, str] = {}
    for chunk in chunks(list(ids)):
        for row in conn.execute(
            select(entities.c.entity_id, entities.c.type).where(
                entities.c.tenant_id == tenant_id, entities.c.entity_id.in_(chunk)
            )
        ):
            found[row.entity_id] = row.type
    return found


def unresolved_entity_ids(
    conn: Connection, tenant_id: str, entity_type: str, ids: Sequence[str] | None = None
) -> list[str]:
    """Entities of a type without a cluster yet (all of them, or among ``ids``)."""
    joined = entities.outerjoin(
        er_memberships,
        and_(
            er_memberships.c.tenant_id == entities.c.tenant_id,
            er_memberships.c.entity_id == entities.c.entity_id,
        ),
    )
    base = (
        select(entities.c.entity_id)
        .select_from(joined)
        .where(
            entities.c.tenant_id == tenant_id,
            entities.c.type == entity_type,
            er_memberships.c.entity_id.is_(None),
        )
    )
    if ids is None:
        return [row.entity_id for row in conn.execute(base.order_by(entities.c.entity_id))]
    found: list[str] = []
    for chunk in chunks(sorted(set(ids))):
        found.extend(
            row.entity_id for row in conn.execute(base.where(entities.c.entity_id.in_(chunk)))
        )
    return sorted(found)


def tenants_with_unresolved(conn: Connection, entity_types: Sequence[str]) -> list[str]:
    """Tenants holding entities of these types that have no cluster yet (the sweep job)."""
    resolved = select(er_memberships.c.entity_id).where(
        er_memberships.c.tenant_id == entities.c.tenant_id,
        er_memberships.c.entity_id == entities.c.entity_id,
    )
    rows = conn.execute(
        select(entities.c.tenant_id)
        .where(entities.c.type.in_(list(entity_types)), ~resolved.exists())
        .distinct()
    )
    return sorted(row.tenant_id for row in rows)


def count_entities(conn: Connection, tenant_id: str, entity_type: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(entities)
            .where(entities.c.tenant_id == tenant_id, entities.c.type == entity_type)
        ).scalar_one()
    )


# --- clusters and memberships --------------------------------------------------------------


def memberships(conn: Connection, tenant_id: str, entity_type: str) -> dict[str, str]:
    """Entity id to cluster id of every resolved entity of a type."""
    rows = conn.execute(
        select(er_memberships.c.entity_id, er_memberships.c.cluster_id).where(
            er_memberships.c.tenant_id == tenant_id,
            er_memberships.c.entity_type == entity_type,
        )
    )
    return {row.entity_id: row.cluster_id for row in rows}


def membership_of(conn: Connection, tenant_id: str, entity_id: str) -> Membership | None:
    row = conn.execute(
        select(er_memberships).where(
            er_memberships.c.tenant_id == tenant_id, er_memberships.c.entity_id == entity_id
        )
    ).first()
    if row is None:
        return None
    return Membership(
        row.entity_id, row.entity_type, row.cluster_id, MembershipDecision(row.decision)
    )


def memberships_of(conn: Connection, tenant_id: str, ids: Sequence[str]) -> dict[str, Membership]:
    found: dict[str, Membership] = {}
    for chunk in chunks(sorted(set(ids))):
        for row in conn.execute(
            select(er_memberships).where(
                er_memberships.c.tenant_id == tenant_id, er_memberships.c.entity_id.in_(chunk)
            )
        ):
            found[row.entity_id] = Membership(
                row.entity_id, row.entity_type, row.cluster_id, MembershipDecision(row.decision)
            )
    return found


def members_of(
    conn: Connection, tenant_id: str, cluster_ids: Sequence[str]
) -> dict[str, list[str]]:
    """Cluster id to its member entity ids (sorted), for the given clusters."""
    members: dict[str, list[str]] = defaultdict(list)
    for chunk in chunks(sorted(set(cluster_ids))):
        for row in conn.execute(
            select(er_memberships.c.entity_id, er_memberships.c.cluster_id).where(
                er_memberships.c.tenant_id == tenant_id, er_memberships.c.cluster_id.in_(chunk)
            )
        ):
            members[row.cluster_id].append(row.entity_id)
    return {cluster: sorted(ids) for cluster, ids in members.items()}


def live_cluster_ordinals(conn: Connection, tenant_id: str, entity_type: str) -> dict[str, int]:
    rows = conn.execute(
        select(er_clusters.c.cluster_id, er_clusters.c.ordinal).where(
            er_clusters.c.tenant_id == tenant_id,
            er_clusters.c.entity_type == entity_type,
            er_clusters.c.retired_at.is_(None),
        )
    )
    return {row.cluster_id: int(row.ordinal) for row in rows}


def cluster_row(conn: Connection, tenant_id: str, cluster_id: str) -> Row[Any] | None:
    return conn.execute(
        select(er_clusters).where(
            er_clusters.c.tenant_id == tenant_id, er_clusters.c.cluster_id == cluster_id
        )
    ).first()


def write_memberships(
    conn: Connection,
    tenant_id: str,
    entity_type: str,
    rows: Mapping[str, tuple[str, MembershipDecision]],
    now: datetime,
) -> None:
    """Set the cluster and decision of each entity id (insert or replace)."""
    ids = sorted(rows)
    for chunk in chunks(ids):
        conn.execute(
            delete(er_memberships).where(
                er_memberships.c.tenant_id == tenant_id, er_memberships.c.entity_id.in_(chunk)
            )
        )
    if ids:
        conn.execute(
            insert(er_memberships),
            [
                {
                    "tenant_id": tenant_id,
                    "entity_id": entity_id,
                    "entity_type": entity_type,
                    "cluster_id": rows[entity_id][0],
                    "decision": rows[entity_id][1].value,
                    "updated_at": now,
                }
                for entity_id in ids
            ],
        )


def insert_clusters(
    conn: Connection,
    tenant_id: str,
    entity_type: str,
    ordinals: Mapping[str, int],
    now: datetime,
) -> None:
    if ordinals:
        conn.execute(
            insert(er_clusters),
            [
                {
                    "tenant_id": tenant_id,
                    "cluster_id": cluster_id,
                    "entity_type": entity_type,
                    "ordinal": ordinal,
                    "created_at": now,
                }
                for cluster_id, ordinal in ordinals.items()
            ],
        )


def retire_clusters(
    conn: Connection, tenant_id: str, merged_into: Mapping[str, str | None], now: datetime
) -> None:
    for cluster_id, survivor in merged_into.items():
        conn.execute(
            update(er_clusters)
            .where(er_clusters.c.tenant_id == tenant_id, er_clusters.c.cluster_id == cluster_id)
            .values(retired_at=now, merged_into=survivor)
        )


def revive_cluster(conn: Connection, tenant_id: str, cluster_id: str) -> None:
    conn.execute(
        update(er_clusters)
        .where(er_clusters.c.tenant_id == tenant_id, er_clusters.c.cluster_id == cluster_id)
        .values(retired_at=None, merged_into=None)
    )


def cluster_sizes(
    conn: Connection, tenant_id: str, entity_type: str, bound: int
) -> tuple[int, int]:
    """(largest cluster's size, number of clusters larger than ``bound``)."""
    size = func.count().label("size")
    counts = (
        select(er_memberships.c.cluster_id, size)
        .where(
            er_memberships.c.tenant_id == tenant_id,
            er_memberships.c.entity_type == entity_type,
        )
        .group_by(er_memberships.c.cluster_id)
        .subquery()
    )
    row = conn.execute(
        select(
            func.coalesce(func.max(counts.c.size), 0),
            func.coalesce(func.sum(case((counts.c.size > bound, 1), else_=0)), 0),
        )
    ).one()
    return int(row[0]), int(row[1])


# --- merge history -------------------------------------------------------------------------


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


# --- pair overrides ------------------------------------------------------------------------


def set_override(
    conn: Connection,
    tenant_id: str,
    entity_type: str,
    pair: tuple[str, str],
    decision: str,
    actor: str,
    reason: str | None,
    now: datetime,
) -> None:
    left, right = sorted(pair)
    conn.execute(
        delete(er_pair_overrides).where(
            er_pair_overrides.c.tenant_id == tenant_id,
            er_pair_overrides.c.left_id == left,
            er_pair_overrides.c.right_id == right,
        )
    )
    conn.execute(
        insert(er_pair_overrides).values(
            tenant_id=tenant_id,
            left_id=left,
            right_id=right,
            entity_type=entity_type,
            decision=decision,
            actor=actor,
            reason=reason,
            created_at=now,
        )
    )


def remove_override(conn: Connection, tenant_id: str, pair: tuple[str, str]) -> None:
    left, right = sorted(pair)
    conn.execute(
        delete(er_pair_overrides).where(
            er_pair_overrides.c.tenant_id == tenant_id,
            er_pair_overrides.c.left_id == left,
            er_pair_overrides.c.right_id == right,
        )
    )


def no_match_pairs(conn: Connection, tenant_id: str, entity_type: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        select(er_pair_overrides.c.left_id, er_pair_overrides.c.right_id).where(
            er_pair_overrides.c.tenant_id == tenant_id,
            er_pair_overrides.c.entity_type == entity_type,
            er_pair_overrides.c.decision == "NO_MATCH",
        )
    )
    return [(row.left_id, row.right_id) for row in rows]


# --- review queue --------------------------------------------------------------------------


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


# --- golden sets ---------------------------------------------------------------------------


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


# --- models --------------------------------------------------------------------------------


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


# --- thresholds ----------------------------------------------------------------------------


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


# --- evaluation runs, alerts, online batches -----------------------------------------------


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


# --- tenant configs per entity type ---------------------------------------------------------


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


def has_unresolved(conn: Connection, tenant_id: str, entity_type: str) -> bool:
    """Whether the tenant holds an entity of the type that has no cluster yet."""
    resolved = select(er_memberships.c.entity_id).where(
        er_memberships.c.tenant_id == entities.c.tenant_id,
        er_memberships.c.entity_id == entities.c.entity_id,
    )
    found = conn.execute(
        select(entities.c.entity_id)
        .where(
            entities.c.tenant_id == tenant_id,
            entities.c.type == entity_type,
            ~resolved.exists(),
        )
        .limit(1)
    ).first()
    return found is not None
