"""Decisions on scored pairs: auto-merge, review or no match, by thresholds on probability."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Self

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator


class Decision(StrEnum):
    """What to do with a pair: merge it, ask a person, or leave it apart."""

    AUTO_MERGE = "AUTO_MERGE"
    REVIEW = "REVIEW"
    NO_MATCH = "NO_MATCH"


class Thresholds(BaseModel):
    """Match-probability thresholds: at or above ``auto_merge`` merge, at or above ``review``
    ask a person, below that no match. Versioned and stored per tenant and entity type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    auto_merge: float = Field(default=0.9, gt=0.0, le=1.0)
    review: float = Field(default=0.6, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _review_not_above_auto_merge(self) -> Self:
        if self.review > self.auto_merge:
            raise ValueError(
                f"review threshold {self.review} is above auto_merge threshold {self.auto_merge}"
            )
        return self


def decide(match_probability: float, thresholds: Thresholds) -> Decision:
    """The decision for one pair's match probability."""
    if match_probability >= thresholds.auto_merge:
        return Decision.AUTO_MERGE
    if match_probability >= thresholds.review:
        return Decision.REVIEW
    return Decision.NO_MATCH


def decide_all(
    match_probability: npt.NDArray[np.float64], thresholds: Thresholds
) -> npt.NDArray[np.object_]:
    """The decision of every pair, vectorised."""
    decisions = np.empty(len(match_probability), dtype=object)
    decisions.fill(Decision.NO_MATCH)
    decisions[match_probability >= thresholds.review] = Decision.REVIEW
    decisions[match_probability >= thresholds.auto_merge] = Decision.AUTO_MERGE
    return decisions


@dataclass(frozen=True, slots=True)
class PairDecision:
    """What was decided for one pair of records, and on what score."""

    left_id: str
    right_id: str
    match_weight: float
    match_probability: float
    decision: Decision
