"""Watching resolution quality over time: weight drift, F1 drops, threshold proposals.

* Population stability index (PSI) between a baseline distribution of match weights and
  today's: bins are fixed by the baseline (its quantiles), so the baseline can be stored as
  a small JSON histogram. By the usual reading, PSI < 0.1 is stable, 0.1-0.25 a moderate
  shift and > 0.25 a significant one.
* An F1-drop alert decision: has the nightly evaluation fallen too far below the baseline?
* A threshold sweep: pairwise precision/recall/F1 of the *clusters* (after transitive
  closure) at each candidate auto-merge threshold, and the threshold with the best F1 among
  those meeting a precision floor. Computed in one pass over pairs sorted by probability,
  merging components as the threshold falls. The chaining guard is not applied here.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from intelgraph.kernel.errors import VALIDATION, IntelGraphError

# Share given to an empty bin so that PSI stays finite.
_EMPTY_BIN_SHARE = 1e-4


class WeightDistribution(BaseModel):
    """A histogram of match weights: ``len(edges) + 1`` bins, the outer ones open-ended."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    edges: list[float]
    counts: list[int]

    @model_validator(mode="after")
    def _bins_fit_edges(self) -> Self:
        if len(self.counts) != len(self.edges) + 1:
            raise ValueError("a distribution needs exactly one more count than edges")
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError("edges must be strictly increasing")
        if any(c < 0 for c in self.counts):
            raise ValueError("counts cannot be negative")
        return self

    @property
    def total(self) -> int:
        return sum(self.counts)

    def shares(self) -> list[float]:
        """Each bin's share of the total (0 everywhere for an empty distribution)."""
        total = self.total
        return [c / total if total else 0.0 for c in self.counts]


def weight_distribution(
    weights: Sequence[float] | np.ndarray, *, edges: Sequence[float] | None = None, bins: int = 10
) -> WeightDistribution:
    """The histogram of ``weights`` over ``edges`` (or over ``bins`` quantile bins of them).

    Raises VALIDATION when quantile edges are asked of no weights.
    """
    values = np.asarray(weights, dtype=np.float64)
    values = values[np.isfinite(values)]
    if edges is None:
        if values.size == 0:
            raise IntelGraphError(VALIDATION, "cannot place quantile bins on no match weights")
        quantiles = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
        edges = sorted(set(np.round(quantiles, 9).tolist()))
    positions = np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="right")
    counts = np.bincount(positions, minlength=len(edges) + 1)
    return WeightDistribution(edges=list(edges), counts=counts.astype(int).tolist())


class DriftLevel(StrEnum):
    """How far a distribution has moved, by the usual PSI reading."""

    STABLE = "STABLE"
    MODERATE = "MODERATE"
    SIGNIFICANT = "SIGNIFICANT"


@dataclass(frozen=True, slots=True)
class StabilityReport:
    """PSI between a baseline and a current distribution, and what it means."""

    psi: float
    level: DriftLevel
    baseline_shares: tuple[float, ...]
    current_shares: tuple[float, ...]


def population_stability_index(
    baseline: WeightDistribution,
    current: WeightDistribution | Sequence[float] | np.ndarray,
    *,
    moderate: float = 0.1,
    significant: float = 0.25,
) -> StabilityReport:
    """PSI = sum((current - baseline) * ln(current / baseline)) over the baseline's bins.

    ``current`` may be raw weights (binned on the baseline's edges). Raises VALIDATION if
    the two distributions have different bins or either is empty.
    """
    if not isinstance(current, WeightDistribution):
        current = weight_distribution(current, edges=baseline.edges)
    if current.edges != baseline.edges:
        raise IntelGraphError(VALIDATION, "distributions to compare must share their bin edges")
    if baseline.total == 0 or current.total == 0:
        raise IntelGraphError(VALIDATION, "cannot compare an empty weight distribution")
    expected = [max(s, _EMPTY_BIN_SHARE) for s in baseline.shares()]
    actual = [max(s, _EMPTY_BIN_SHARE) for s in current.shares()]
    psi = sum((a - e) * math.log(a / e) for a, e in zip(actual, expected, strict=True))
    if psi >= significant:
        level = DriftLevel.SIGNIFICANT
    elif psi >= moderate:
        level = DriftLevel.MODERATE
    else:
        level = DriftLevel.STABLE
    return StabilityReport(psi, level, tuple(baseline.shares()), tuple(current.shares()))


class F1DropPolicy(BaseModel):
    """When a fall in F1 is worth an alert: by more than a margin, or below a floor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_drop: float = Field(default=0.02, ge=0.0, le=1.0)
    floor: float | None = Field(default=None, ge=0.0, le=1.0)


@dataclass(frozen=True, slots=True)
class F1Alert:
    is_alert: bool
    drop: float
    reason: str


def f1_drop_alert(
    baseline_f1: float, current_f1: float, policy: F1DropPolicy | None = None
) -> F1Alert:
    """Whether ``current_f1`` has fallen too far from ``baseline_f1`` under ``policy``.

    Raises VALIDATION for an F1 outside [0, 1].
    """
    policy = policy or F1DropPolicy()
    for name, value in (("baseline_f1", baseline_f1), ("current_f1", current_f1)):
        if not 0.0 <= value <= 1.0:
            raise IntelGraphError(VALIDATION, f"{name} must be between 0 and 1, got {value}")
    drop = baseline_f1 - current_f1
    reasons = []
    if drop > policy.max_drop:
        reasons.append(
            f"F1 fell by {drop:.4f} (from {baseline_f1:.4f} to {current_f1:.4f}), "
            f"more than the allowed {policy.max_drop:.4f}"
        )
    if policy.floor is not None and current_f1 < policy.floor:
        reasons.append(f"F1 {current_f1:.4f} is below the floor {policy.floor:.4f}")
    return F1Alert(bool(reasons), drop, "; ".join(reasons) or "F1 within bounds")


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """Cluster-level pairwise quality if pairs at or above ``threshold`` were merged."""

    threshold: float
    precision: float
    recall: float
    f1: float
    true_positives: int
    predicted_pairs: int


@dataclass(frozen=True, slots=True)
class ThresholdSweep:
    points: tuple[SweepPoint, ...]
    best: SweepPoint | None
    min_precision: float


def _point(threshold: float, tp: int, predicted: int, true_total: int) -> SweepPoint:
    precision = tp / predicted if predicted else 1.0
    recall = tp / true_total if true_total else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return SweepPoint(threshold, precision, recall, f1, tp, predicted)


def sweep_thresholds(
    pairs: Iterable[tuple[str, str, float]],
    truth: Mapping[str, str],
    thresholds: Sequence[float] | None = None,
    *,
    min_precision: float = 0.99,
) -> ThresholdSweep:
    """Cluster-level P/R/F1 at each threshold; best F1 among points with enough precision.

    ``pairs`` are scored pairs (left id, right id, match probability) of records in
    ``truth``; thresholds default to 0.50, 0.51 … 0.99. Ties on F1 go to the higher
    threshold. Raises VALIDATION for a pair naming a record that is not in ``truth``.
    """
    grid = sorted(set(thresholds or [round(0.5 + i / 100, 2) for i in range(50)]), reverse=True)
    scored = sorted(pairs, key=lambda pair: -pair[2])
    for left, right, _ in scored:
        if left not in truth or right not in truth:
            raise IntelGraphError(
                VALIDATION, f"pair ({left!r}, {right!r}) names a record without a true cluster"
            )
    true_total = sum(n * (n - 1) // 2 for n in Counter(truth.values()).values())
    parent: dict[str, str] = {}
    labels: dict[str, Counter[str]] = {}

    def find(node: str) -> str:
        root = node
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(node, node) != root:
            parent[node], node = root, parent[node]
        return root

    tp = predicted = 0
    points: list[SweepPoint] = []
    position = 0
    for threshold in grid:
        while position < len(scored) and scored[position][2] >= threshold:
            left, right, _ = scored[position]
            position += 1
            a, b = find(left), find(right)
            if a == b:
                continue
            counts_a = labels.pop(a, None) or Counter({truth[a]: 1})
            counts_b = labels.pop(b, None) or Counter({truth[b]: 1})
            if sum(counts_a.values()) < sum(counts_b.values()):
                a, b, counts_a, counts_b = b, a, counts_b, counts_a
            predicted += sum(counts_a.values()) * sum(counts_b.values())
            tp += sum(n * counts_a[label] for label, n in counts_b.items())
            counts_a.update(counts_b)
            parent[b] = a
            labels[a] = counts_a
        points.append(_point(threshold, tp, predicted, true_total))
    eligible = [p for p in points if p.precision >= min_precision]
    best = max(eligible, key=lambda p: (p.f1, p.threshold), default=None)
    return ThresholdSweep(tuple(sorted(points, key=lambda p: p.threshold)), best, min_precision)
