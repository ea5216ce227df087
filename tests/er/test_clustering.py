"""Connected components over auto-merge edges, with a guard against chaining."""

from __future__ import annotations

import pytest

from intelgraph.er.engine.clustering import (
    ChainingGuard,
    cluster_records,
    connected_components,
    diameter,
    pair_key,
)
from intelgraph.er.engine.decisions import Thresholds
from intelgraph.kernel.errors import IntelGraphError

THRESHOLDS = Thresholds()


def _probabilities(**pairs: float) -> dict[tuple[str, str], float]:
    return {pair_key(*name.split("_")): p for name, p in pairs.items()}


def test_components_include_singletons_and_sort_members() -> None:
    assert connected_components(["d", "c", "b", "a"], [("b", "a"), ("c", "b")]) == [
        ("a", "b", "c"),
        ("d",),
    ]


def test_an_edge_to_an_unknown_record_is_refused() -> None:
    with pytest.raises(IntelGraphError, match="unknown record"):
        connected_components(["a"], [("a", "z")])


def test_a_cohesive_triangle_is_merged() -> None:
    clustering = cluster_records(
        ["a", "b", "c"], _probabilities(a_b=0.99, b_c=0.95, a_c=0.7), THRESHOLDS
    )
    assert clustering.clusters == (("a", "b", "c"),)
    assert clustering.held == ()


def test_a_chain_whose_ends_do_not_match_is_held_for_review() -> None:
    # a-b-c-d-e linked link by link; only the 4 links of 10 pairs reach review level.
    probabilities = _probabilities(a_b=0.99, b_c=0.99, c_d=0.99, d_e=0.99, a_c=0.1, b_e=0.2)
    clustering = cluster_records(["a", "b", "c", "d", "e"], probabilities, THRESHOLDS)
    assert clustering.clusters == (("a",), ("b",), ("c",), ("d",), ("e",))
    (held,) = clustering.held
    assert held.members == ("a", "b", "c", "d", "e")
    assert held.review_share == pytest.approx(0.4)
    assert "only 40% of pairs reach review level (needs 50%)" in held.reason


def test_the_cohesion_bound_is_a_parameter() -> None:
    probabilities = _probabilities(a_b=0.99, b_c=0.99, c_d=0.99, a_c=0.1, a_d=0.05, b_d=0.1)
    lenient = cluster_records(
        ["a", "b", "c", "d"], probabilities, THRESHOLDS, ChainingGuard(min_review_share=0.5)
    )
    strict = cluster_records(
        ["a", "b", "c", "d"], probabilities, THRESHOLDS, ChainingGuard(min_review_share=0.51)
    )
    assert lenient.clusters == (("a", "b", "c", "d"),) and not lenient.held
    assert len(strict.held) == 1


def test_a_long_chain_can_be_held_by_diameter() -> None:
    probabilities = _probabilities(a_b=0.99, b_c=0.99, c_d=0.99, a_c=0.7, b_d=0.7, a_d=0.7)
    guard = ChainingGuard(min_review_share=0.0, max_diameter=2)
    clustering = cluster_records(["a", "b", "c", "d"], probabilities, THRESHOLDS, guard)
    (held,) = clustering.held
    assert held.diameter == 3
    assert "3 links apart" in held.reason


def test_pairs_are_merged_without_a_cohesion_check() -> None:
    clustering = cluster_records(["a", "b"], _probabilities(a_b=0.91), THRESHOLDS)
    assert clustering.clusters == (("a", "b"),)


def test_review_level_pairs_do_not_merge() -> None:
    clustering = cluster_records(["a", "b"], _probabilities(a_b=0.8), THRESHOLDS)
    assert clustering.clusters == (("a",), ("b",))


def test_diameter_counts_hops() -> None:
    assert diameter(["a", "b", "c"], [("a", "b"), ("b", "c")]) == 2


def test_a_guard_out_of_range_is_refused() -> None:
    with pytest.raises(IntelGraphError):
        ChainingGuard(min_review_share=1.5)
