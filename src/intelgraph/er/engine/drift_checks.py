"""The nightly drift checks, as decisions on numbers the store already holds.

* ``F1_DROP`` — a golden set's F1 fell more than ``max_f1_drop`` (2 points) below the
  baseline recorded when the live thresholds were approved.
* ``WEIGHT_PSI`` — input drift: the population stability index of the match weights of
  the last day's online candidate pairs against those of the baseline window (the first
  day after the live thresholds became active) reaches ``psi_alert``.
* ``LINK_SHARE`` — the share of ingested records linked to another record over the last
  day moved more than ``link_share_change`` from the baseline window's share.
* ``OVERSIZED_CLUSTER`` — some cluster has more than ``max_cluster_size`` members (a
  classic symptom of chaining or of a degenerate value such as a shared placeholder phone).

Live weights are counted on fixed bins (``WEIGHT_EDGES``) so that batches add up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from intelgraph.er.engine.drift import (
    F1DropPolicy,
    WeightDistribution,
    f1_drop_alert,
    population_stability_index,
    weight_distribution,
)

WEIGHT_EDGES: tuple[float, ...] = (
    -30.0,
    -20.0,
    -15.0,
    -10.0,
    -5.0,
    0.0,
    5.0,
    10.0,
    15.0,
    20.0,
    30.0,
)


class DriftKind(StrEnum):
    F1_DROP = "F1_DROP"
    WEIGHT_PSI = "WEIGHT_PSI"
    LINK_SHARE = "LINK_SHARE"
    OVERSIZED_CLUSTER = "OVERSIZED_CLUSTER"


@dataclass(frozen=True, slots=True)
class DriftPolicy:
    """When each check raises an alert."""

    max_f1_drop: float = 0.02
    psi_alert: float = 0.25
    link_share_change: float = 0.15
    min_window_records: int = 100
    min_window_pairs: int = 200
    max_cluster_size: int = 50


@dataclass(frozen=True, slots=True)
class DriftFinding:
    """What one check measured, against what bound, and whether it is an alert."""

    kind: DriftKind
    value: float
    threshold: float
    is_alert: bool
    message: str
    run_id: str | None = None  # the evaluation run it was measured on, if any


def live_weight_counts(weights: Sequence[float] | np.ndarray) -> list[int]:
    """Counts of ``weights`` on the fixed live bins."""
    return weight_distribution(weights, edges=list(WEIGHT_EDGES)).counts


def _distribution(counts: Sequence[int]) -> WeightDistribution:
    return WeightDistribution(edges=list(WEIGHT_EDGES), counts=list(counts))


def check_f1(
    golden_name: str, baseline_f1: float, current_f1: float, policy: DriftPolicy
) -> DriftFinding:
    """F1 of a golden set against its baseline."""
    verdict = f1_drop_alert(baseline_f1, current_f1, F1DropPolicy(max_drop=policy.max_f1_drop))
    return DriftFinding(
        DriftKind.F1_DROP,
        current_f1,
        baseline_f1 - policy.max_f1_drop,
        verdict.is_alert,
        f"golden set {golden_name}: {verdict.reason}",
    )


def check_weight_psi(
    baseline_counts: Sequence[int], current_counts: Sequence[int], policy: DriftPolicy
) -> DriftFinding | None:
    """PSI of the current live weights against the baseline window; None if too few pairs."""
    if min(sum(baseline_counts), sum(current_counts)) < policy.min_window_pairs:
        return None
    report = population_stability_index(
        _distribution(baseline_counts), _distribution(current_counts)
    )
    is_alert = report.psi >= policy.psi_alert
    return DriftFinding(
        DriftKind.WEIGHT_PSI,
        report.psi,
        policy.psi_alert,
        is_alert,
        f"match-weight PSI {report.psi:.3f} against the baseline window ({report.level.value})",
    )


def check_link_share(
    baseline: tuple[int, int], current: tuple[int, int], policy: DriftPolicy
) -> DriftFinding | None:
    """Share of records linked, (linked, total) now against the baseline; None if too few."""
    if min(baseline[1], current[1]) < policy.min_window_records:
        return None
    before = baseline[0] / baseline[1]
    now = current[0] / current[1]
    change = abs(now - before)
    return DriftFinding(
        DriftKind.LINK_SHARE,
        now,
        policy.link_share_change,
        change > policy.link_share_change,
        f"{now:.1%} of ingested records linked over the last day, "
        f"{before:.1%} in the baseline window (change {change:.1%})",
    )


def check_cluster_sizes(largest: int, oversized: int, policy: DriftPolicy) -> DriftFinding:
    """The largest cluster against the size bound."""
    return DriftFinding(
        DriftKind.OVERSIZED_CLUSTER,
        float(largest),
        float(policy.max_cluster_size),
        largest > policy.max_cluster_size,
        f"largest cluster has {largest} members; {oversized} cluster(s) exceed "
        f"{policy.max_cluster_size}",
    )
