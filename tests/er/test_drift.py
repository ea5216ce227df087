"""Drift of match weights, F1-drop alerts and threshold proposals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intelgraph.er.engine.clustering import connected_components
from intelgraph.er.engine.config import default_config
from intelgraph.er.engine.drift import (
    DriftLevel,
    F1DropPolicy,
    WeightDistribution,
    f1_drop_alert,
    population_stability_index,
    sweep_thresholds,
    weight_distribution,
)
from intelgraph.er.engine.evaluation import pairwise_metrics
from intelgraph.er.engine.pipeline import resolve_batch
from intelgraph.kernel.errors import IntelGraphError

from .support import HARD_PROFILE, generated_people


def test_the_same_population_is_stable() -> None:
    rng = np.random.default_rng(1)
    baseline = weight_distribution(rng.normal(0, 5, 20_000))
    report = population_stability_index(baseline, rng.normal(0, 5, 20_000))
    assert report.psi < 0.01
    assert report.level is DriftLevel.STABLE


def test_a_shifted_population_is_significant_drift() -> None:
    rng = np.random.default_rng(2)
    baseline = weight_distribution(rng.normal(0, 5, 20_000))
    report = population_stability_index(baseline, rng.normal(4, 5, 20_000))
    assert report.psi > 0.25
    assert report.level is DriftLevel.SIGNIFICANT


def test_psi_matches_a_hand_computed_value() -> None:
    baseline = WeightDistribution(edges=[0.0], counts=[50, 50])
    current = WeightDistribution(edges=[0.0], counts=[30, 70])
    expected = (0.3 - 0.5) * np.log(0.3 / 0.5) + (0.7 - 0.5) * np.log(0.7 / 0.5)
    report = population_stability_index(baseline, current)
    assert report.psi == pytest.approx(expected)
    assert report.level is DriftLevel.MODERATE


def test_quantile_bins_hold_similar_shares_of_the_baseline() -> None:
    baseline = weight_distribution(np.arange(1000.0), bins=10)
    assert len(baseline.counts) == 10
    assert all(abs(share - 0.1) < 0.01 for share in baseline.shares())


def test_a_baseline_distribution_round_trips_through_json() -> None:
    baseline = weight_distribution(np.random.default_rng(3).normal(0, 1, 500))
    assert WeightDistribution.model_validate_json(baseline.model_dump_json()) == baseline


def test_distributions_with_other_bins_or_no_data_are_refused() -> None:
    with pytest.raises(IntelGraphError, match="share their bin edges"):
        population_stability_index(
            WeightDistribution(edges=[0.0], counts=[1, 1]),
            WeightDistribution(edges=[1.0], counts=[1, 1]),
        )
    with pytest.raises(IntelGraphError, match="empty"):
        population_stability_index(WeightDistribution(edges=[0.0], counts=[1, 1]), [])
    with pytest.raises(IntelGraphError, match="no match weights"):
        weight_distribution([])


def test_an_f1_drop_beyond_the_margin_alerts() -> None:
    alert = f1_drop_alert(0.98, 0.95)
    assert alert.is_alert and alert.drop == pytest.approx(0.03)
    assert "more than the allowed 0.0200" in alert.reason


def test_a_small_f1_drop_or_a_rise_does_not_alert() -> None:
    assert not f1_drop_alert(0.98, 0.97).is_alert
    assert not f1_drop_alert(0.90, 0.95).is_alert


def test_falling_below_the_floor_alerts_even_without_a_drop() -> None:
    alert = f1_drop_alert(0.90, 0.90, F1DropPolicy(floor=0.95))
    assert alert.is_alert and "below the floor" in alert.reason


def test_an_f1_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(IntelGraphError, match="between 0 and 1"):
        f1_drop_alert(98.0, 0.9)


TRUTH = {"a": "1", "b": "1", "c": "1", "d": "2"}
PAIRS = [("a", "b", 0.95), ("b", "c", 0.85), ("c", "d", 0.75), ("a", "d", 0.2)]


def test_the_sweep_scores_clusters_at_each_threshold_and_picks_the_best() -> None:
    sweep = sweep_thresholds(PAIRS, TRUTH, [0.7, 0.8, 0.9])
    by_threshold = {p.threshold: p for p in sweep.points}
    assert (by_threshold[0.9].precision, by_threshold[0.9].recall) == (1.0, pytest.approx(1 / 3))
    assert (by_threshold[0.8].precision, by_threshold[0.8].recall) == (1.0, 1.0)
    assert by_threshold[0.7].precision == pytest.approx(3 / 6)
    assert sweep.best is not None and sweep.best.threshold == 0.8


def test_the_precision_floor_can_rule_every_threshold_out() -> None:
    sweep = sweep_thresholds(PAIRS, TRUTH, [0.7], min_precision=0.9)
    assert sweep.best is None


def test_ties_on_f1_go_to_the_higher_threshold() -> None:
    sweep = sweep_thresholds([("a", "b", 0.95)], {"a": "1", "b": "1"}, [0.6, 0.7])
    assert sweep.best is not None and sweep.best.threshold == 0.7


def test_a_pair_outside_the_truth_is_refused() -> None:
    with pytest.raises(IntelGraphError, match="without a true cluster"):
        sweep_thresholds([("a", "z", 0.9)], TRUTH)


@settings(max_examples=100, deadline=None)
@given(
    labels=st.lists(st.sampled_from("xyz"), min_size=2, max_size=9),
    data=st.data(),
)
def test_the_incremental_sweep_agrees_with_clustering_from_scratch(
    labels: list[str], data: st.DataObject
) -> None:
    records = [f"r{i}" for i in range(len(labels))]
    truth = dict(zip(records, labels, strict=True))
    pairs = data.draw(
        st.lists(
            st.tuples(
                st.sampled_from(records),
                st.sampled_from(records),
                st.sampled_from([0.55, 0.65, 0.75, 0.85, 0.95]),
            ),
            max_size=15,
        )
    )
    sweep = sweep_thresholds(pairs, truth, [0.6, 0.7, 0.8, 0.9])
    for point in sweep.points:
        edges = [(a, b) for a, b, p in pairs if p >= point.threshold and a != b]
        predicted = {
            r: component[0] for component in connected_components(records, edges) for r in component
        }
        expected = pairwise_metrics(predicted, truth)
        assert point.precision == pytest.approx(expected.precision)
        assert point.recall == pytest.approx(expected.recall)


def test_a_sweep_over_a_batch_resolution_proposes_a_threshold() -> None:

    records, truth = generated_people(800, seed=51, profile=HARD_PROFILE)
    resolution = resolve_batch(records, default_config("PERSON"))
    sweep = sweep_thresholds(resolution.scored_id_pairs(), truth, min_precision=0.98)
    assert sweep.best is not None
    assert sweep.best.f1 >= 0.95
    drift = population_stability_index(
        weight_distribution(resolution.scored.match_weight), resolution.scored.match_weight
    )
    assert drift.psi == pytest.approx(0.0, abs=1e-9)
