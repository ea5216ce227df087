"""Metrics against hand-computed examples."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intelgraph.er.engine.evaluation import (
    bcubed_metrics,
    blocking_recall,
    evaluate,
    pairwise_metrics,
    true_pairs,
)
from intelgraph.kernel.errors import IntelGraphError

TRUTH = {"a": "1", "b": "1", "c": "1", "d": "2", "e": "2"}
PREDICTED = {"a": "X", "b": "X", "c": "Y", "d": "Y", "e": "Z"}


def test_pairwise_metrics_count_pairs_placed_together() -> None:
    # True pairs ab ac bc de; predicted ab cd; only ab is right.
    metrics = pairwise_metrics(PREDICTED, TRUTH)
    assert (metrics.true_positives, metrics.false_positives, metrics.false_negatives) == (1, 1, 3)
    assert metrics.precision == pytest.approx(1 / 2)
    assert metrics.recall == pytest.approx(1 / 4)
    assert metrics.f1 == pytest.approx(1 / 3)


def test_bcubed_metrics_average_per_record_overlaps() -> None:
    metrics = bcubed_metrics(PREDICTED, TRUTH)
    assert metrics.precision == pytest.approx(4 / 5)
    assert metrics.recall == pytest.approx(8 / 15)
    assert metrics.f1 == pytest.approx(0.64)


def test_a_perfect_clustering_scores_one_whatever_its_labels() -> None:
    relabelled = {r: f"k{c}" for r, c in TRUTH.items()}
    report = evaluate(relabelled, TRUTH)
    assert report.pairwise.f1 == 1.0 and report.bcubed.f1 == 1.0


def test_all_singletons_have_full_precision_and_no_pairwise_recall() -> None:
    singletons = {r: r for r in TRUTH}
    metrics = pairwise_metrics(singletons, TRUTH)
    assert metrics.precision == 1.0 and metrics.recall == 0.0 and metrics.f1 == 0.0


def test_evaluate_reports_blocking_recall_when_given_candidates() -> None:
    report = evaluate(TRUTH, TRUTH, candidate_pairs=[("b", "a"), ("e", "d")])
    assert report.blocking_recall == pytest.approx(2 / 4)
    assert report.record_count == 5


def test_true_pairs_lists_each_pair_once_sorted() -> None:
    assert true_pairs(TRUTH) == {("a", "b"), ("a", "c"), ("b", "c"), ("d", "e")}


def test_clusterings_of_different_records_are_refused() -> None:
    with pytest.raises(IntelGraphError, match="different records"):
        pairwise_metrics({"a": "1"}, TRUTH)


def test_blocking_recall_is_one_without_true_pairs() -> None:
    assert blocking_recall([("a", "b")], []) == 1.0


_labelling = st.dictionaries(
    st.sampled_from("abcdefghij"), st.sampled_from("xyz"), min_size=1, max_size=10
)


@given(truth=_labelling, data=st.data())
def test_metrics_are_probabilities_and_f1_lies_between_p_and_r(
    truth: dict, data: st.DataObject
) -> None:
    predicted = {r: data.draw(st.sampled_from("uvw")) for r in truth}
    for metrics in (pairwise_metrics(predicted, truth), bcubed_metrics(predicted, truth)):
        assert 0.0 <= metrics.precision <= 1.0 and 0.0 <= metrics.recall <= 1.0
        low, high = sorted((metrics.precision, metrics.recall))
        assert low - 1e-12 <= metrics.f1 <= high + 1e-12
