"""Clusters as stored: memberships, how each record joined its cluster, and merge history.

Every change of membership is a ``MergeEvent`` holding, for the records it moved, the
cluster each was in before (``None`` for a record seen for the first time) and after, plus
its evidence (the scored pairs or the person's decision). An event can be reverted while
the records it moved are still where it put them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from intelgraph.kernel.clock import isoformat


class MembershipDecision(StrEnum):
    """How a record came to be in its cluster (what ``Entity.resolution.decision`` shows)."""

    AUTO_MERGE = "AUTO_MERGE"  # the model merged it
    MANUAL_MERGE = "MANUAL_MERGE"  # a person merged it (review approval, revert of a split)
    SPLIT = "SPLIT"  # a person detached it
    NO_MATCH = "NO_MATCH"  # alone: nothing scored high enough


class EventKind(StrEnum):
    MERGE = "MERGE"
    SPLIT = "SPLIT"
    REVERT = "REVERT"


@dataclass(frozen=True, slots=True)
class MergeEvent:
    """One recorded change of cluster membership, with its evidence."""

    id: str
    tenant_id: str
    entity_type: str
    kind: EventKind
    cluster_id: str
    actor: str
    reason: str | None
    evidence: dict[str, Any]
    before: dict[str, str | None]
    after: dict[str, str]
    created_at: datetime
    reverted_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entityType": self.entity_type,
            "kind": self.kind.value,
            "clusterId": self.cluster_id,
            "actor": self.actor,
            "reason": self.reason,
            "evidence": self.evidence,
            "before": self.before,
            "after": self.after,
            "createdAt": isoformat(self.created_at),
            "revertedBy": self.reverted_by,
        }


@dataclass(frozen=True, slots=True)
class Membership:
    entity_id: str
    entity_type: str
    cluster_id: str
    decision: MembershipDecision


@dataclass(frozen=True, slots=True)
class EntityResolution:
    """Where one entity stands: its cluster, the cluster's members, and how it got there.

    ``decision`` is REVIEW while a review item about the entity is open, UNRESOLVED before
    the entity has been resolved (no model yet, or the worker has not reached it).
    """

    entity_id: str
    entity_type: str
    cluster_id: str | None
    members: tuple[str, ...]
    decision: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "entityId": self.entity_id,
            "entityType": self.entity_type,
            "clusterId": self.cluster_id,
            "members": list(self.members),
            "decision": self.decision,
        }
