"""Changes a person makes to stored clusters: merge, split, revert — each a merge event.

Every function runs inside the caller's transaction, after ``repository.bump_state``, and
returns the event it recorded with the ``ClusterChange`` it made, so that an in-memory
index of the same revision can follow without a rebuild.

* merge (a review approval): the clusters become one; the oldest id survives.
* split: the named records leave their cluster for a new one (the detached part always
  gets the new id); a NO_MATCH override keeps the two parts apart from then on.
* revert: records an event moved go back where they were (records that were new go to
  clusters of their own); reverting a merge also records a NO_MATCH override, reverting
  a split removes the one the split recorded. Refused when a later change moved them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection

from intelgraph.er.engine.cluster_ids import ClusterAssignment, random_cluster_id
from intelgraph.er.history import EventKind, MembershipDecision, MergeEvent
from intelgraph.er.repository import clusters as cluster_repo
from intelgraph.er.repository import merge_events as event_repo
from intelgraph.er.repository import overrides as override_repo
from intelgraph.er.repository import state as state_repo
from intelgraph.kernel.errors import ER_NOT_FOUND, ER_STATE_CONFLICT, VALIDATION, IntelGraphError
from intelgraph.kernel.ids import new_id

NO_MATCH = "NO_MATCH"


@dataclass
class ClusterChange:
    """What a curation did to the assignment of one tenant and type."""

    moves: dict[str, str] = field(default_factory=dict)  # record -> cluster
    created: dict[str, int] = field(default_factory=dict)  # cluster -> ordinal
    revived: dict[str, int] = field(default_factory=dict)
    retired: set[str] = field(default_factory=set)
    next_ordinal: int = 0

    def apply(self, assignment: ClusterAssignment) -> ClusterAssignment:
        """The assignment with this change made."""
        record_clusters = dict(assignment.record_clusters)
        record_clusters.update(self.moves)
        ordinals = dict(assignment.cluster_ordinals)
        ordinals.update(self.created)
        ordinals.update(self.revived)
        for cluster_id in self.retired:
            ordinals.pop(cluster_id, None)
        return ClusterAssignment.model_construct(
            record_clusters=record_clusters,
            cluster_ordinals=ordinals,
            next_ordinal=max(self.next_ordinal, assignment.next_ordinal),
        )


def _new_cluster(
    conn: Connection, tenant_id: str, entity_type: str, ordinal: int, now: datetime
) -> str:
    cluster_id = random_cluster_id()
    cluster_repo.insert_clusters(conn, tenant_id, entity_type, {cluster_id: ordinal}, now)
    return cluster_id


def merge_clusters(
    conn: Connection,
    tenant_id: str,
    entity_type: str,
    entity_ids: list[str],
    *,
    actor: str,
    reason: str | None,
    evidence: dict[str, Any],
    now: datetime,
    next_ordinal: int,
) -> tuple[MergeEvent | None, ClusterChange]:
    """Merge the clusters of ``entity_ids`` into the oldest; None when already one cluster.

    Raises ER_NOT_FOUND when an entity has not been resolved yet.
    """
    found = cluster_repo.memberships_of(conn, tenant_id, entity_ids)
    missing = sorted(set(entity_ids) - found.keys())
    if missing:
        raise IntelGraphError(ER_NOT_FOUND, f"entities not resolved yet: {', '.join(missing[:5])}")
    cluster_ids = sorted({m.cluster_id for m in found.values()})
    change = ClusterChange(next_ordinal=next_ordinal)
    ordinals = {}
    for cluster_id in cluster_ids:
        row = cluster_repo.cluster_row(conn, tenant_id, cluster_id)
        ordinals[cluster_id] = int(row.ordinal) if row is not None else 0
    survivor = min(cluster_ids, key=lambda c: (ordinals[c], c))
    members = cluster_repo.members_of(conn, tenant_id, cluster_ids)
    moved = {r: c for c in cluster_ids if c != survivor for r in members.get(c, [])}
    final_members = sorted({r for c in cluster_ids for r in members.get(c, [])})
    current = cluster_repo.memberships_of(conn, tenant_id, final_members)
    rows = {
        r: (survivor, MembershipDecision.MANUAL_MERGE)
        for r in final_members
        if r in moved or current[r].decision is MembershipDecision.NO_MATCH
    }
    cluster_repo.write_memberships(conn, tenant_id, entity_type, rows, now)
    retired: dict[str, str | None] = {c: survivor for c in cluster_ids if c != survivor}
    cluster_repo.retire_clusters(conn, tenant_id, retired, now)
    change.moves = {r: survivor for r in moved}
    change.retired = set(retired)
    if not moved:
        return None, change
    event = MergeEvent(
        id=new_id("erm"),
        tenant_id=tenant_id,
        entity_type=entity_type,
        kind=EventKind.MERGE,
        cluster_id=survivor,
        actor=actor,
        reason=reason,
        evidence=evidence | {"retired": sorted(retired)},
        before=dict(sorted(moved.items())),
        after=dict.fromkeys(sorted(moved), survivor),
        created_at=now,
    )
    event_repo.insert_event(conn, event)
    return event, change


def split_records(
    conn: Connection,
    tenant_id: str,
    entity_ids: list[str],
    *,
    actor: str,
    reason: str | None,
    now: datetime,
    next_ordinal: int,
) -> tuple[MergeEvent, ClusterChange]:
    """Detach ``entity_ids`` (all of one cluster) into a new cluster.

    Raises VALIDATION when no ids are given, they are in different clusters, or they are
    the whole cluster; ER_NOT_FOUND when one is not resolved.
    """
    wanted = sorted(set(entity_ids))
    if not wanted:
        raise IntelGraphError(VALIDATION, "name at least one entity to split off")
    found = cluster_repo.memberships_of(conn, tenant_id, wanted)
    missing = [e for e in wanted if e not in found]
    if missing:
        raise IntelGraphError(
            ER_NOT_FOUND,
            f"entities not in any cluster of this tenant: {', '.join(missing[:5])}",
        )
    clusters = {found[e].cluster_id for e in wanted}
    if len(clusters) != 1:
        raise IntelGraphError(
            VALIDATION,
            f"the entities are in {len(clusters)} different clusters; split one cluster at a time",
        )
    source = clusters.pop()
    entity_type = found[wanted[0]].entity_type
    members = cluster_repo.members_of(conn, tenant_id, [source]).get(source, [])
    remaining = [r for r in members if r not in wanted]
    if not remaining:
        raise IntelGraphError(
            VALIDATION,
            f"those are all the members of cluster {source}; name only the ones to detach",
        )
    target = _new_cluster(conn, tenant_id, entity_type, next_ordinal, now)
    state_repo.set_next_ordinal(conn, tenant_id, entity_type, next_ordinal + 1)
    cluster_repo.write_memberships(
        conn, tenant_id, entity_type, {r: (target, MembershipDecision.SPLIT) for r in wanted}, now
    )
    if len(remaining) == 1:
        cluster_repo.write_memberships(
            conn,
            tenant_id,
            entity_type,
            {remaining[0]: (source, MembershipDecision.NO_MATCH)},
            now,
        )
    apart = (wanted[0], remaining[0])
    override_repo.set_override(conn, tenant_id, entity_type, apart, NO_MATCH, actor, reason, now)
    event = MergeEvent(
        id=new_id("erm"),
        tenant_id=tenant_id,
        entity_type=entity_type,
        kind=EventKind.SPLIT,
        cluster_id=target,
        actor=actor,
        reason=reason,
        evidence={"from": source, "noMatch": list(apart)},
        before=dict.fromkeys(wanted, source),
        after=dict.fromkeys(wanted, target),
        created_at=now,
    )
    event_repo.insert_event(conn, event)
    change = ClusterChange(
        moves=dict.fromkeys(wanted, target),
        created={target: next_ordinal},
        next_ordinal=next_ordinal + 1,
    )
    return event, change


def revert_event(
    conn: Connection,
    tenant_id: str,
    event_id: str,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
    next_ordinal: int,
) -> tuple[MergeEvent, ClusterChange]:
    """Undo a merge or split event; raises ER_NOT_FOUND or ER_STATE_CONFLICT."""
    event = event_repo.get_event(conn, tenant_id, event_id)
    if event is None:
        raise IntelGraphError(ER_NOT_FOUND, f"no merge event {event_id!r} in this tenant")
    if event.reverted_by is not None:
        raise IntelGraphError(
            ER_STATE_CONFLICT, f"event {event_id} was already reverted by {event.reverted_by}"
        )
    if event.kind is EventKind.REVERT:
        raise IntelGraphError(
            ER_STATE_CONFLICT, "a revert cannot be reverted; split or merge the records instead"
        )
    current = cluster_repo.memberships_of(conn, tenant_id, list(event.after))
    moved_since = sorted(
        r
        for r, cluster in event.after.items()
        if r not in current or current[r].cluster_id != cluster
    )
    if moved_since:
        raise IntelGraphError(
            ER_STATE_CONFLICT,
            f"records {', '.join(moved_since[:5])} changed cluster after event {event_id}; "
            "revert the later events first",
        )
    change = ClusterChange(next_ordinal=next_ordinal)
    decision = (
        MembershipDecision.SPLIT
        if event.kind is EventKind.MERGE
        else MembershipDecision.MANUAL_MERGE
    )
    rows: dict[str, tuple[str, MembershipDecision]] = {}
    groups: dict[str, list[str]] = {}
    for record_id, before in sorted(event.before.items()):
        if before is None:
            target = _new_cluster(conn, tenant_id, event.entity_type, change.next_ordinal, now)
            change.created[target] = change.next_ordinal
            change.next_ordinal += 1
        else:
            target = before
            row = cluster_repo.cluster_row(conn, tenant_id, target)
            if row is not None and row.retired_at is not None and event.kind is EventKind.SPLIT:
                raise IntelGraphError(
                    ER_STATE_CONFLICT,
                    f"cluster {target} was merged into {row.merged_into} after the split; "
                    "merge the records back through review instead",
                )
            if row is not None and row.retired_at is not None:
                cluster_repo.revive_cluster(conn, tenant_id, target)
                change.revived[target] = int(row.ordinal)
        rows[record_id] = (target, decision)
        groups.setdefault(target, []).append(record_id)
    cluster_repo.write_memberships(conn, tenant_id, event.entity_type, rows, now)
    state_repo.set_next_ordinal(conn, tenant_id, event.entity_type, change.next_ordinal)
    change.moves = {r: target for r, (target, _) in rows.items()}
    members = cluster_repo.members_of(conn, tenant_id, [event.cluster_id])
    left_behind = members.get(event.cluster_id, [])
    if not left_behind:
        cluster_repo.retire_clusters(conn, tenant_id, {event.cluster_id: None}, now)
        change.retired.add(event.cluster_id)
    evidence: dict[str, Any] = {"reverts": event.id}
    if event.kind is EventKind.MERGE:
        apart = _apart_pairs([sorted(g)[0] for g in groups.values()] + left_behind[:1])
        for first, second in apart:
            override_repo.set_override(
                conn, tenant_id, event.entity_type, (first, second), NO_MATCH, actor, reason, now
            )
        evidence["noMatch"] = apart
    if event.kind is EventKind.SPLIT:
        apart_pair = event.evidence.get("noMatch")
        if isinstance(apart_pair, list) and len(apart_pair) == 2:
            override_repo.remove_override(conn, tenant_id, (str(apart_pair[0]), str(apart_pair[1])))
    revert = MergeEvent(
        id=new_id("erm"),
        tenant_id=tenant_id,
        entity_type=event.entity_type,
        kind=EventKind.REVERT,
        cluster_id=event.cluster_id,
        actor=actor,
        reason=reason,
        evidence=evidence,
        before=dict(event.after),
        after={r: target for r, (target, _) in rows.items()},
        created_at=now,
    )
    event_repo.insert_event(conn, revert)
    event_repo.mark_reverted(conn, tenant_id, event.id, revert.id)
    return revert, change


def _apart_pairs(representatives: list[str]) -> list[list[str]]:
    """NO_MATCH pairs keeping each part apart from every other (a chain beyond 20 parts)."""
    reps = sorted(set(representatives))
    if len(reps) > 20:
        return [[a, b] for a, b in pairwise(reps)]
    return [[a, b] for i, a in enumerate(reps) for b in reps[i + 1 :]]
