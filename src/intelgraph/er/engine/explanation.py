"""Why two entities match (or not): each comparison's level and weight, for the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from intelgraph.er.engine.scoring import PairExplanation


@dataclass(frozen=True, slots=True)
class ComparisonVote:
    """One comparison's level and the weight it added."""

    comparison: str
    level: str
    weight: float
    m: float | None
    u: float | None
    tf_adjustment: float


@dataclass(frozen=True, slots=True)
class MatchExplanation:
    """A scored pair with the model and thresholds that scored it, and the decision."""

    left_id: str
    right_id: str
    entity_type: str
    model_seq: int
    model_version: str
    thresholds_version: int
    prior_weight: float
    match_weight: float
    match_probability: float
    decision: str
    comparisons: tuple[ComparisonVote, ...]

    @classmethod
    def of(
        cls,
        pair: PairExplanation,
        *,
        entity_type: str,
        model_seq: int,
        model_version: str,
        thresholds_version: int,
        decision: str,
    ) -> MatchExplanation:
        votes = tuple(
            ComparisonVote(c.comparison, c.level, c.match_weight, c.m, c.u, c.tf_adjustment)
            for c in pair.comparisons
        )
        return cls(
            pair.left_id,
            pair.right_id,
            entity_type,
            model_seq,
            model_version,
            thresholds_version,
            pair.prior_weight,
            pair.match_weight,
            pair.match_probability,
            decision,
            votes,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.left_id,
            "b": self.right_id,
            "entityType": self.entity_type,
            "modelSeq": self.model_seq,
            "modelVersion": self.model_version,
            "thresholdsVersion": self.thresholds_version,
            "priorWeight": self.prior_weight,
            "matchWeight": self.match_weight,
            "matchProbability": self.match_probability,
            "decision": self.decision,
            "comparisons": [
                {
                    "comparison": v.comparison,
                    "level": v.level,
                    "weight": v.weight,
                    "m": v.m,
                    "u": v.u,
                    "tfAdjustment": v.tf_adjustment,
                }
                for v in self.comparisons
            ],
        }
