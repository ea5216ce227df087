"""Evaluation runs: resolve a golden set's records and measure the result against its truth.

Used three ways: ``intelgraph er eval`` (ephemeral: a model is trained on the records
without looking at ``cluster_id``), the nightly job and threshold approval (the tenant's
live model and thresholds). A run keeps what later steps need: metrics, timings, the
scored pairs at or above 0.5 (threshold sweeps) and the match weights (drift).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from intelgraph.er.engine.config import ResolutionConfig
from intelgraph.er.engine.decisions import Thresholds
from intelgraph.er.engine.evaluation import EvaluationReport, evaluate
from intelgraph.er.engine.golden import GoldenSet
from intelgraph.er.engine.pipeline import resolve_batch
from intelgraph.er.engine.scoring import MatchModel
from intelgraph.kernel.clock import Clock
from intelgraph.kernel.errors import VALIDATION, IntelGraphError

# Scored pairs below this probability are not kept: the sweep grid starts at 0.50.
KEPT_PAIR_PROBABILITY = 0.5


@dataclass(frozen=True)
class GoldenEvaluation:
    """The outcome of resolving one entity type of a golden set and scoring it."""

    entity_type: str
    record_count: int
    true_cluster_count: int
    predicted_cluster_count: int
    candidate_count: int
    report: EvaluationReport
    model: MatchModel
    thresholds: Thresholds
    is_trained_here: bool
    timings: dict[str, float]
    scored_pairs: list[tuple[str, str, float]]
    match_weights: np.ndarray

    @property
    def f1(self) -> float:
        return self.report.pairwise.f1

    def metrics(self) -> dict[str, Any]:
        """Metrics and counts as plain JSON (what a stored run and ``--json`` hold)."""
        pairwise, bcubed = self.report.pairwise, self.report.bcubed
        return {
            "entityType": self.entity_type,
            "records": self.record_count,
            "trueClusters": self.true_cluster_count,
            "predictedClusters": self.predicted_cluster_count,
            "candidatePairs": self.candidate_count,
            "pairwise": {
                "precision": pairwise.precision,
                "recall": pairwise.recall,
                "f1": pairwise.f1,
                "truePositives": pairwise.true_positives,
                "falsePositives": pairwise.false_positives,
                "falseNegatives": pairwise.false_negatives,
            },
            "bcubed": {
                "precision": bcubed.precision,
                "recall": bcubed.recall,
                "f1": bcubed.f1,
            },
            "blockingRecall": self.report.blocking_recall,
            "modelVersion": self.model.model_version,
            "trainedHere": self.is_trained_here,
            "thresholds": {
                "autoMerge": self.thresholds.auto_merge,
                "review": self.thresholds.review,
            },
            "timings": {stage: round(seconds, 6) for stage, seconds in self.timings.items()},
        }


def evaluate_golden(
    golden: GoldenSet,
    entity_type: str,
    config: ResolutionConfig,
    *,
    model: MatchModel | None = None,
    thresholds: Thresholds | None = None,
    clock: Clock | None = None,
) -> GoldenEvaluation:
    """Resolve the golden records of ``entity_type`` and measure them against their truth.

    With no ``model`` one is trained on the records (labels unseen). Raises VALIDATION when
    the set has fewer than two records of the type, or the config or model does not fit.
    """
    if config.entity_type != entity_type:
        raise IntelGraphError(
            VALIDATION,
            f"config {config.version!r} resolves {config.entity_type}, not {entity_type}",
        )
    part = golden.of_type(entity_type)
    if len(part.records) < 2:
        raise IntelGraphError(
            VALIDATION,
            f"the golden set has {len(part.records)} {entity_type} record(s); "
            "an evaluation needs at least two",
        )
    if model is not None:
        model.check_fits(config)
    thresholds = thresholds or Thresholds()
    started = time.perf_counter()
    resolution = resolve_batch(list(part.records), config, model, thresholds, clock=clock)
    measured = time.perf_counter()
    ids = resolution.record_ids
    report = evaluate(resolution.cluster_labels(), part.truth, resolution.candidates.id_pairs(ids))
    timings = dict(resolution.timings)
    timings["evaluate"] = time.perf_counter() - measured
    timings["total"] = time.perf_counter() - started
    kept = [
        (left, right, round(probability, 6))
        for left, right, probability in resolution.scored_id_pairs()
        if probability >= KEPT_PAIR_PROBABILITY
    ]
    return GoldenEvaluation(
        entity_type=entity_type,
        record_count=len(part.records),
        true_cluster_count=len(set(part.truth.values())),
        predicted_cluster_count=len(resolution.clustering.clusters),
        candidate_count=len(resolution.candidates),
        report=report,
        model=resolution.model,
        thresholds=thresholds,
        is_trained_here=model is None,
        timings=timings,
        scored_pairs=kept,
        match_weights=np.asarray(resolution.scored.match_weight, dtype=np.float64),
    )
