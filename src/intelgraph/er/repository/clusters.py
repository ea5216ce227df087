"""Clusters and memberships: which cluster holds each entity, and each cluster's life.

Every statement filters on the tenant it is given.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, case, delete, func, insert, select, update

from intelgraph.er.history import Membership, MembershipDecision
from intelgraph.store.batching import chunks
from intelgraph.store.tables import (
    er_clusters,
    er_memberships,
)


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
