"""The review queue: pairs scored in the review band and components held by the chaining
guard, waiting for a person to merge them (approve) or keep them apart (reject)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from intelgraph.kernel.clock import isoformat


class ReviewKind(StrEnum):
    PAIR = "PAIR"  # one pair in the review band
    HELD = "HELD"  # a component the chaining guard would not merge


class ReviewStatus(StrEnum):
    OPEN = "OPEN"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One question for a reviewer, with the score that raised it."""

    id: str
    tenant_id: str
    entity_type: str
    kind: ReviewKind
    members: tuple[str, ...]
    match_probability: float | None
    match_weight: float | None
    reason: str
    status: ReviewStatus
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entityType": self.entity_type,
            "kind": self.kind.value,
            "members": list(self.members),
            "matchProbability": self.match_probability,
            "matchWeight": self.match_weight,
            "reason": self.reason,
            "status": self.status.value,
            "createdAt": isoformat(self.created_at),
            "decidedBy": self.decided_by,
            "decidedAt": isoformat(self.decided_at) if self.decided_at else None,
            "decisionReason": self.decision_reason,
        }
