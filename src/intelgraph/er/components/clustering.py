"""``service.clustering``: a tenant's clusters and their curation — splits, reverts, and
the review queue (approving an item merges its records, rejecting keeps them apart).

Every change bumps the tenant/type revision in the same transaction as the change and its
audit record, under the tenant lock of this process's online resolver, whose in-memory
index is kept in step (or dropped when another writer got there first).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from intelgraph.audit import service as audit
from intelgraph.er import curation
from intelgraph.er.components.dependencies import ERDependencies
from intelgraph.er.engine.records import parse_optional_entity_type
from intelgraph.er.history import MergeEvent
from intelgraph.er.online import OnlineResolver
from intelgraph.er.repository import clusters as cluster_repo
from intelgraph.er.repository import merge_events as event_repo
from intelgraph.er.repository import overrides as override_repo
from intelgraph.er.repository import review_queue as review_repo
from intelgraph.er.repository import state as state_repo
from intelgraph.er.review import ReviewItem, ReviewKind, ReviewStatus
from intelgraph.kernel.clock import isoformat
from intelgraph.kernel.errors import ER_NOT_FOUND, ER_STATE_CONFLICT, VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy.actions import Action


class ERClustering:
    """Clusters, curation and the review queue of every tenant."""

    def __init__(self, deps: ERDependencies, online: OnlineResolver) -> None:
        self._deps = deps
        self._online = online

    # --- clusters --------------------------------------------------------------------------

    def cluster(self, principal: Principal, cluster_id: str) -> dict[str, Any]:
        """A cluster's members and merge history; raises ER_NOT_FOUND."""
        tenant_id = self._deps.tenant_of(principal, Action.ENTITY_READ, "er_cluster")
        with self._deps.engine.connect() as conn:
            row = cluster_repo.cluster_row(conn, tenant_id, cluster_id)
            if row is None:
                raise IntelGraphError(ER_NOT_FOUND, f"no cluster {cluster_id!r} in this tenant")
            members = cluster_repo.members_of(conn, tenant_id, [cluster_id]).get(cluster_id, [])
            events = event_repo.events_of_clusters(conn, tenant_id, [cluster_id])
        return {
            "clusterId": cluster_id,
            "entityType": row.entity_type,
            "members": members,
            "createdAt": isoformat(row.created_at),
            "retiredAt": _iso_or_none(row.retired_at),
            "mergedInto": row.merged_into,
            "history": [e.as_dict() for e in events],
        }

    def split(
        self, principal: Principal, entity_ids: Sequence[str], *, reason: str | None
    ) -> MergeEvent:
        """Detach entities (of one cluster) into a new cluster, audited and revertible.

        Raises VALIDATION, ER_NOT_FOUND.
        """
        tenant_id = self._deps.tenant_of(principal, Action.ADMIN_WRITE, "er_cluster")
        ids = sorted(set(entity_ids))
        entity_type = self._type_of_resolved(tenant_id, ids)

        def change(
            conn: Any, next_ordinal: int
        ) -> tuple[MergeEvent | None, curation.ClusterChange]:
            return curation.split_records(
                conn,
                tenant_id,
                ids,
                actor=principal.actor,
                reason=reason,
                now=self._deps.clock.now(),
                next_ordinal=next_ordinal,
            )

        event = self._curate(tenant_id, entity_type, principal.actor, "er.split", reason, change)
        assert event is not None
        return event

    def revert(self, principal: Principal, event_id: str, *, reason: str | None) -> MergeEvent:
        """Undo a merge or split event, audited; raises ER_NOT_FOUND, ER_STATE_CONFLICT."""
        tenant_id = self._deps.tenant_of(principal, Action.ADMIN_WRITE, "er_cluster")
        with self._deps.engine.connect() as conn:
            event = event_repo.get_event(conn, tenant_id, event_id)
        if event is None:
            raise IntelGraphError(ER_NOT_FOUND, f"no merge event {event_id!r} in this tenant")

        def change(
            conn: Any, next_ordinal: int
        ) -> tuple[MergeEvent | None, curation.ClusterChange]:
            return curation.revert_event(
                conn,
                tenant_id,
                event_id,
                actor=principal.actor,
                reason=reason,
                now=self._deps.clock.now(),
                next_ordinal=next_ordinal,
            )

        reverted = self._curate(
            tenant_id, event.entity_type, principal.actor, "er.revert", reason, change
        )
        assert reverted is not None
        return reverted

    def _type_of_resolved(self, tenant_id: str, ids: Sequence[str]) -> str:
        if not ids:
            raise IntelGraphError(VALIDATION, "name at least one entity")
        with self._deps.engine.connect() as conn:
            found = cluster_repo.memberships_of(conn, tenant_id, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise IntelGraphError(
                ER_NOT_FOUND,
                f"entities not in any cluster of this tenant: {', '.join(missing[:5])}",
            )
        return found[ids[0]].entity_type

    def _curate(
        self,
        tenant_id: str,
        entity_type: str,
        actor: str,
        action: str,
        reason: str | None,
        change: Callable[[Any, int], tuple[MergeEvent | None, curation.ClusterChange]],
        before: Callable[[Any], None] | None = None,
    ) -> MergeEvent | None:
        """Run a cluster change in one transaction after bumping the revision; audit it;
        keep this process's in-memory index in step."""
        with self._online.tenant_lock(tenant_id):
            now = self._deps.clock.now()
            with self._deps.engine.begin() as conn:
                revision, next_ordinal = state_repo.bump_state(conn, tenant_id, entity_type, now)
                if before is not None:
                    before(conn)
                event, made = change(conn, next_ordinal)
                if event is not None:
                    audit.record(
                        conn,
                        tenant_id=tenant_id,
                        actor=actor,
                        action=action,
                        target=f"er_cluster:{event.cluster_id}",
                        at=now,
                        reason=reason,
                        old_value={"before": event.before},
                        new_value={"after": event.after, "eventId": event.id},
                    )
            live = self._online.cached(tenant_id, entity_type)
            if live is not None and live.revision == revision - 1:
                live.index.assignment = made.apply(live.index.assignment)
                live.revision = revision
            elif live is not None:
                self._online.drop(tenant_id, entity_type)
        return event

    # --- review queue ---------------------------------------------------------------------

    def review_items(
        self,
        principal: Principal,
        *,
        status: str | None = "OPEN",
        entity_type: str | None = None,
        limit: int = 100,
    ) -> list[ReviewItem]:
        """The tenant's review items (open ones by default), oldest first."""
        tenant_id = self._deps.tenant_of(principal, Action.ENTITY_READ, "er_review")
        wanted = None
        if status is not None:
            try:
                wanted = ReviewStatus(status.upper()).value
            except ValueError:
                known = ", ".join(s.value for s in ReviewStatus)
                raise IntelGraphError(
                    VALIDATION, f"unknown review status {status!r}: one of {known}"
                ) from None
        with self._deps.engine.connect() as conn:
            return review_repo.list_review_items(
                conn, tenant_id, wanted, parse_optional_entity_type(entity_type), limit
            )

    def approve_review(
        self, principal: Principal, item_id: str, *, reason: str | None
    ) -> ReviewItem:
        """Merge the item's records (oldest cluster id survives), audited.

        Raises ER_NOT_FOUND, ER_STATE_CONFLICT (already decided).
        """
        tenant_id = self._deps.tenant_of(principal, Action.ADMIN_WRITE, "er_review")
        item = self._open_item(tenant_id, item_id)

        def close(conn: Any) -> None:
            if not review_repo.decide_review_item(
                conn,
                tenant_id,
                item_id,
                ReviewStatus.APPROVED,
                principal.actor,
                reason,
                self._deps.clock.now(),
            ):
                raise IntelGraphError(
                    ER_STATE_CONFLICT, f"review item {item_id} was already decided"
                )
            audit.record(
                conn,
                tenant_id=tenant_id,
                actor=principal.actor,
                action="er.review.approve",
                target=f"er_review:{item_id}",
                at=self._deps.clock.now(),
                reason=reason,
                new_value={"members": list(item.members)},
            )

        def merge(conn: Any, next_ordinal: int) -> tuple[MergeEvent | None, curation.ClusterChange]:
            return curation.merge_clusters(
                conn,
                tenant_id,
                item.entity_type,
                list(item.members),
                actor=principal.actor,
                reason=reason,
                evidence={
                    "reviewItem": item_id,
                    "matchProbability": item.match_probability,
                    "matchWeight": item.match_weight,
                },
                now=self._deps.clock.now(),
                next_ordinal=next_ordinal,
            )

        self._curate(
            tenant_id, item.entity_type, principal.actor, "er.merge", reason, merge, before=close
        )
        with self._deps.engine.connect() as conn:
            decided = review_repo.get_review_item(conn, tenant_id, item_id)
        assert decided is not None
        return decided

    def reject_review(
        self, principal: Principal, item_id: str, *, reason: str | None
    ) -> ReviewItem:
        """Keep the item's records apart from now on (a NO_MATCH decision), audited.

        Raises ER_NOT_FOUND, ER_STATE_CONFLICT (already decided).
        """
        tenant_id = self._deps.tenant_of(principal, Action.ADMIN_WRITE, "er_review")
        item = self._open_item(tenant_id, item_id)
        now = self._deps.clock.now()
        with self._deps.engine.begin() as conn:
            if not review_repo.decide_review_item(
                conn, tenant_id, item_id, ReviewStatus.REJECTED, principal.actor, reason, now
            ):
                raise IntelGraphError(
                    ER_STATE_CONFLICT, f"review item {item_id} was already decided"
                )
            if item.kind is ReviewKind.PAIR:
                override_repo.set_override(
                    conn,
                    tenant_id,
                    item.entity_type,
                    (item.members[0], item.members[1]),
                    curation.NO_MATCH,
                    principal.actor,
                    reason,
                    now,
                )
            audit.record(
                conn,
                tenant_id=tenant_id,
                actor=principal.actor,
                action="er.review.reject",
                target=f"er_review:{item_id}",
                at=now,
                reason=reason,
                new_value={"members": list(item.members)},
            )
            decided = review_repo.get_review_item(conn, tenant_id, item_id)
        assert decided is not None
        return decided

    def _open_item(self, tenant_id: str, item_id: str) -> ReviewItem:
        with self._deps.engine.connect() as conn:
            item = review_repo.get_review_item(conn, tenant_id, item_id)
        if item is None:
            raise IntelGraphError(ER_NOT_FOUND, f"no review item {item_id!r} in this tenant")
        if item.status is not ReviewStatus.OPEN:
            raise IntelGraphError(
                ER_STATE_CONFLICT,
                f"review item {item_id} was already {item.status.value} by {item.decided_by}",
            )
        return item


def _iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else isoformat(moment)
