"""PageRank: who ranks first, what sums to one, and what input is ignored."""

from __future__ import annotations

import math

import pytest

from intelgraph.demo.records import random_graph_edges
from intelgraph.graph.pagerank import (
    build_graph,
    compute_pagerank,
    compute_pagerank_indexed,
    top_scores,
)


def test_star_graph_ranks_the_hub_first() -> None:
    leaves = [f"leaf{i}" for i in range(10)]
    scores = compute_pagerank(["hub", *leaves], [(leaf, "hub") for leaf in leaves])
    assert top_scores(scores, 1)[0][0] == "hub"
    assert all(scores["hub"] > scores[leaf] for leaf in leaves)
    assert len({round(scores[leaf], 12) for leaf in leaves}) == 1


def test_cycle_gives_equal_scores() -> None:
    nodes = ["a", "b", "c", "d", "e"]
    edges = list(zip(nodes, nodes[1:] + nodes[:1], strict=True))
    scores = compute_pagerank(nodes, edges)
    assert all(score == pytest.approx(1 / len(nodes)) for score in scores.values())


def test_scores_sum_to_one_and_every_node_is_scored() -> None:
    edges = random_graph_edges(500, 3_000, seed=1)
    ids = [f"ent_{i}" for i in range(500)]
    scores = compute_pagerank(ids, [(ids[s], ids[t]) for s, t in edges])
    assert set(scores) == set(ids)
    assert math.fsum(scores.values()) == pytest.approx(1.0)
    assert all(score > 0 for score in scores.values())


def test_empty_graph_gives_no_scores() -> None:
    assert compute_pagerank([], []) == {}
    assert compute_pagerank([], [("a", "b")]) == {}
    assert compute_pagerank_indexed(0, [], []) == []


def test_isolated_nodes_share_the_score_evenly() -> None:
    scores = compute_pagerank(["a", "b", "c", "d"], [])
    assert all(score == pytest.approx(0.25) for score in scores.values())


def test_edges_naming_unknown_ids_are_ignored() -> None:
    nodes = ["a", "b", "c"]
    edges = [("a", "b"), ("b", "c"), ("c", "a")]
    noisy = [*edges, ("a", "ghost"), ("ghost", "b"), ("x", "y")]
    assert compute_pagerank(nodes, noisy) == pytest.approx(compute_pagerank(nodes, edges))


def test_self_loops_do_not_inflate_a_score() -> None:
    nodes = ["a", "b", "c"]
    edges = [("a", "b"), ("b", "c"), ("c", "a")]
    looped = compute_pagerank(nodes, [*edges, ("a", "a"), ("a", "a")])
    assert looped == pytest.approx(compute_pagerank(nodes, edges))


def test_repeated_node_ids_count_once() -> None:
    scores = compute_pagerank(["a", "b", "a"], [("a", "b")])
    assert set(scores) == {"a", "b"}
    assert math.fsum(scores.values()) == pytest.approx(1.0)


def test_edges_may_be_a_generator() -> None:
    nodes = ["a", "b", "c"]
    pairs = [("a", "c"), ("b", "c")]
    assert compute_pagerank(nodes, iter(pairs)) == pytest.approx(compute_pagerank(nodes, pairs))


def test_indexed_and_string_paths_agree() -> None:
    edges = random_graph_edges(300, 2_000, seed=4)
    sources = [s for s, _ in edges]
    targets = [t for _, t in edges]
    by_index = compute_pagerank_indexed(300, sources, targets)
    ids = [str(i) for i in range(300)]
    by_id = compute_pagerank(ids, [(ids[s], ids[t]) for s, t in edges])
    assert [by_id[i] for i in ids] == pytest.approx(by_index)


def test_indexed_edges_out_of_range_are_ignored() -> None:
    clean = compute_pagerank_indexed(3, [0, 1, 2], [1, 2, 0])
    noisy = compute_pagerank_indexed(3, [0, 1, 2, 5, -1, 0], [1, 2, 0, 0, 1, 3])
    assert noisy == pytest.approx(clean)
    assert build_graph(3, [0, 5], [1, 0]).ecount() == 1
    assert build_graph(3, [0, 1, 2], [0, 2, 2]).get_edgelist() == [(1, 2)]  # loops dropped
    assert build_graph(3, [0, 1, 1], [1, 2, 2]).ecount() == 3  # parallel edges kept


def test_damping_changes_how_far_scores_spread() -> None:
    nodes = ["hub", "a", "b", "c"]
    edges = [("a", "hub"), ("b", "hub"), ("c", "hub")]
    hub_score = {d: compute_pagerank(nodes, edges, damping=d)["hub"] for d in (0.0, 0.85, 0.95)}
    assert hub_score[0.0] == pytest.approx(0.25)
    assert hub_score[0.0] < hub_score[0.85] < hub_score[0.95]


def test_damping_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="damping"):
        compute_pagerank(["a"], [], damping=1.5)
    with pytest.raises(ValueError, match="damping"):
        compute_pagerank_indexed(1, [], [], damping=-0.1)


def test_mismatched_index_arrays_are_refused() -> None:
    with pytest.raises(ValueError, match="length"):
        compute_pagerank_indexed(3, [0, 1], [1])


def test_top_scores_are_best_first_with_ties_broken_by_id() -> None:
    scores = {"b": 0.3, "a": 0.3, "c": 0.1, "d": 0.3}
    assert top_scores(scores, 3) == [("a", 0.3), ("b", 0.3), ("d", 0.3)]
    assert top_scores(scores, 10) == [("a", 0.3), ("b", 0.3), ("d", 0.3), ("c", 0.1)]
    assert top_scores(scores, 0) == []
    assert top_scores({}, 5) == []
