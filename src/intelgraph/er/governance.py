"""Threshold governance: versioned thresholds records and the rules for changing them.

A thresholds record holds the two match-probability thresholds of one tenant and entity
type with who proposed them, why and when. Records move through statuses:

* ``PROPOSED`` — a suggestion or a manual proposal; it decides nothing;
* ``ACTIVE`` — approved by a principal other than the proposer; exactly one per tenant and
  type decides every pair from then on (until then the packaged defaults do, recorded as
  version 1 with origin ``default``);
* ``RETIRED`` — was active, replaced by a newer approval (a rollback target);
* ``ROLLED_BACK`` — was active, undone by a rollback;
* ``REJECTED`` — a proposal turned down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from intelgraph.er.engine.decisions import Thresholds
from intelgraph.kernel.clock import isoformat
from intelgraph.kernel.errors import ER_SELF_APPROVAL, ER_STATE_CONFLICT, IntelGraphError

# PlatformSettings switch: false turns threshold suggestions off for every tenant.
SUGGESTIONS_SETTING = "er.threshold_suggestions"


class ThresholdStatus(StrEnum):
    PROPOSED = "PROPOSED"
    ACTIVE = "ACTIVE"
    RETIRED = "RETIRED"
    ROLLED_BACK = "ROLLED_BACK"
    REJECTED = "REJECTED"


class ThresholdOrigin(StrEnum):
    DEFAULT = "default"
    MANUAL = "manual"
    SUGGESTED = "suggested"


@dataclass(frozen=True, slots=True)
class ThresholdsRecord:
    """One version of a tenant's thresholds for one entity type."""

    id: str
    tenant_id: str
    entity_type: str
    version: int
    thresholds: Thresholds
    status: ThresholdStatus
    origin: ThresholdOrigin
    proposed_by: str
    reason: str | None
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    activated_at: datetime | None = None
    expected: dict[str, Any] | None = None
    baselines: dict[str, Any] = field(default_factory=dict)

    def baseline_f1(self, golden_id: str) -> float | None:
        """The F1 recorded on a golden set when these thresholds were approved, if any."""
        entry = self.baselines.get(golden_id)
        return None if entry is None else float(entry["f1"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entityType": self.entity_type,
            "version": self.version,
            "autoMerge": self.thresholds.auto_merge,
            "review": self.thresholds.review,
            "status": self.status.value,
            "origin": self.origin.value,
            "proposedBy": self.proposed_by,
            "reason": self.reason,
            "createdAt": isoformat(self.created_at),
            "decidedBy": self.decided_by,
            "decidedAt": isoformat(self.decided_at) if self.decided_at else None,
            "decisionReason": self.decision_reason,
            "activatedAt": isoformat(self.activated_at) if self.activated_at else None,
            "expected": self.expected,
            "baselines": self.baselines,
        }


def check_can_decide(record: ThresholdsRecord, actor: str, *, approving: bool) -> None:
    """Raise unless ``actor`` may approve (or reject) this proposal.

    Raises ER_STATE_CONFLICT when the record is not a proposal, ER_SELF_APPROVAL when the
    approver is the proposer (the two-person rule; rejecting one's own proposal is allowed).
    """
    if record.status is not ThresholdStatus.PROPOSED:
        raise IntelGraphError(
            ER_STATE_CONFLICT,
            f"thresholds {record.id} are {record.status.value}, not PROPOSED; "
            "only a proposal can be approved or rejected",
        )
    if approving and record.proposed_by == actor:
        raise IntelGraphError(
            ER_SELF_APPROVAL,
            f"{actor} proposed thresholds {record.id} and cannot approve them too; "
            "another admin must approve",
        )
