"""Quality of a resolution against the truth: pairwise and B-cubed P/R/F1, blocking recall.

Clusterings are mappings ``record_id -> cluster label``; labels are compared only for
equality, so predicted and true labels need not share a vocabulary. Pairwise metrics count
unordered pairs of records placed together; B-cubed averages, per record, the overlap of its
predicted and true clusters. With nothing predicted (or nothing to find) precision (recall)
is 1.0 by convention, and F1 is 0.0 when both precision and recall are 0.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from intelgraph.kernel.errors import VALIDATION, IntelGraphError


@dataclass(frozen=True, slots=True)
class PairwiseMetrics:
    precision: float
    recall: float
    f1: float
    true_positives: int
    false_positives: int
    false_negatives: int


@dataclass(frozen=True, slots=True)
class BCubedMetrics:
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    """Everything measured for one run against a golden set."""

    record_count: int
    pairwise: PairwiseMetrics
    bcubed: BCubedMetrics
    blocking_recall: float | None = None


def _f1(precision: float, recall: float) -> float:
    total = precision + recall
    return 2 * precision * recall / total if total else 0.0


def _ratio(part: int | float, whole: int | float) -> float:
    return part / whole if whole else 1.0


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def _check_same_records(predicted: Mapping[str, str], truth: Mapping[str, str]) -> None:
    if predicted.keys() != truth.keys():
        missing = sorted(truth.keys() - predicted.keys())[:5]
        extra = sorted(predicted.keys() - truth.keys())[:5]
        raise IntelGraphError(
            VALIDATION,
            "predicted and true clusterings cover different records "
            f"(missing from prediction: {missing}, not in truth: {extra})",
        )


def pairwise_metrics(predicted: Mapping[str, str], truth: Mapping[str, str]) -> PairwiseMetrics:
    """Pairwise P/R/F1 of ``predicted`` clusters; raises VALIDATION if record sets differ."""
    _check_same_records(predicted, truth)
    both = Counter((predicted[r], truth[r]) for r in truth)
    true_positives = sum(_pairs(n) for n in both.values())
    predicted_pairs = sum(_pairs(n) for n in Counter(predicted.values()).values())
    true_pairs = sum(_pairs(n) for n in Counter(truth.values()).values())
    precision = _ratio(true_positives, predicted_pairs)
    recall = _ratio(true_positives, true_pairs)
    return PairwiseMetrics(
        precision,
        recall,
        _f1(precision, recall),
        true_positives,
        predicted_pairs - true_positives,
        true_pairs - true_positives,
    )


def bcubed_metrics(predicted: Mapping[str, str], truth: Mapping[str, str]) -> BCubedMetrics:
    """B-cubed P/R/F1 of ``predicted`` clusters; raises VALIDATION if record sets differ."""
    _check_same_records(predicted, truth)
    if not truth:
        return BCubedMetrics(1.0, 1.0, 1.0)
    both = Counter((predicted[r], truth[r]) for r in truth)
    predicted_sizes = Counter(predicted.values())
    true_sizes = Counter(truth.values())
    precision = recall = 0.0
    for (predicted_label, true_label), overlap in both.items():
        # Each of the `overlap` records contributes overlap/|cluster|.
        precision += overlap * overlap / predicted_sizes[predicted_label]
        recall += overlap * overlap / true_sizes[true_label]
    n = len(truth)
    return BCubedMetrics(precision / n, recall / n, _f1(precision / n, recall / n))


def true_pairs(truth: Mapping[str, str]) -> set[tuple[str, str]]:
    """Every unordered pair of records in the same true cluster, as sorted id tuples."""
    members: dict[str, list[str]] = defaultdict(list)
    for record_id, label in truth.items():
        members[label].append(record_id)
    pairs: set[tuple[str, str]] = set()
    for ids in members.values():
        ids.sort()
        for i, first in enumerate(ids):
            for second in ids[i + 1 :]:
                pairs.add((first, second))
    return pairs


def blocking_recall(
    candidate_pairs: Iterable[tuple[str, str]], true_pairs: Iterable[tuple[str, str]]
) -> float:
    """Share of true pairs (either order) found among candidate pairs; 1.0 if none are true."""
    candidates = {(a, b) if a <= b else (b, a) for a, b in candidate_pairs}
    wanted = {(a, b) if a <= b else (b, a) for a, b in true_pairs}
    if not wanted:
        return 1.0
    return len(wanted & candidates) / len(wanted)


def evaluate(
    predicted: Mapping[str, str],
    truth: Mapping[str, str],
    candidate_pairs: Iterable[tuple[str, str]] | None = None,
) -> EvaluationReport:
    """Pairwise, B-cubed and (given candidates) blocking recall; raises VALIDATION as above."""
    recall = None
    if candidate_pairs is not None:
        recall = blocking_recall(candidate_pairs, true_pairs(truth))
    return EvaluationReport(
        len(truth), pairwise_metrics(predicted, truth), bcubed_metrics(predicted, truth), recall
    )
