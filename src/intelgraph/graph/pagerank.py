"""PageRank over a relationship graph, computed by igraph's C core (PRPACK).

Relationships are directed edges ``from -> to``. Self-loops are dropped: an entity that
points at itself says nothing about its importance to others, and igraph would otherwise
let it keep part of its own score. Parallel edges (two relationship types between the
same pair) are kept and count twice. Scores sum to 1; nodes without out-edges spread
their score evenly over all nodes, as in the standard definition.

Speed matters here (a tenant's graph can have 10^6 relationships), so edges cross into
igraph as two integer arrays zipped on the fly, with no per-edge Python code on the
common path; string ids are mapped to integers with C-level ``map`` calls.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from itertools import chain, compress, repeat
from operator import eq, ne

import igraph
import numpy as np
import numpy.typing as npt

__all__ = [
    "build_graph",
    "compute_pagerank",
    "compute_pagerank_arrays",
    "compute_pagerank_indexed",
    "pagerank_scores",
    "ranked_indexes",
    "ranked_subset",
    "top_scores",
]

DEFAULT_DAMPING = 0.85


def build_graph(n_nodes: int, sources: Sequence[int], targets: Sequence[int]) -> igraph.Graph:
    """A directed igraph graph on nodes ``0..n_nodes-1`` with edges ``sources[i] -> targets[i]``.

    Edges with an endpoint outside ``0..n_nodes-1`` are ignored and self-loops are dropped.
    Raises ValueError if ``n_nodes`` is negative or the two arrays differ in length.
    """
    if n_nodes < 0:
        raise ValueError(f"n_nodes must be >= 0, got {n_nodes}")
    if len(sources) != len(targets):
        raise ValueError(f"sources and targets differ in length ({len(sources)} != {len(targets)})")
    # The checks run in C (min/max, map); only input with out-of-range ends pays for a
    # per-edge Python filter. Dropping loops here is ~3x cheaper than Graph.simplify().
    if sources and not (_all_within(sources, n_nodes) and _all_within(targets, n_nodes)):
        keep = [
            0 <= s < n_nodes and 0 <= t < n_nodes and s != t
            for s, t in zip(sources, targets, strict=True)
        ]
        sources = list(compress(sources, keep))
        targets = list(compress(targets, keep))
    return _graph_without_loops(n_nodes, sources, targets)


def _graph_without_loops(
    n_nodes: int, sources: Sequence[int], targets: Sequence[int]
) -> igraph.Graph:
    """The graph of edges whose ends are known to be in range, self-loops dropped."""
    if any(map(eq, sources, targets)):
        keep = list(map(ne, sources, targets))
        sources = list(compress(sources, keep))
        targets = list(compress(targets, keep))
    # A zip iterator hands igraph one reused tuple per edge: the fastest input it accepts
    # (numpy arrays are converted element by element, slower; measured).
    return igraph.Graph(n=n_nodes, edges=zip(sources, targets, strict=True), directed=True)


def pagerank_scores(graph: igraph.Graph, damping: float = DEFAULT_DAMPING) -> list[float]:
    """PageRank of every vertex of ``graph`` in vertex order; the scores sum to 1.

    An empty graph gives an empty list. Raises ValueError if ``damping`` is not in [0, 1].
    """
    _check_damping(damping)
    if graph.vcount() == 0:
        return []
    scores: list[float] = graph.pagerank(directed=True, damping=damping, implementation="prpack")
    return scores


def compute_pagerank_indexed(
    n_nodes: int,
    sources: Sequence[int],
    targets: Sequence[int],
    damping: float = DEFAULT_DAMPING,
) -> list[float]:
    """PageRank of nodes ``0..n_nodes-1`` given edges ``sources[i] -> targets[i]``.

    The fast path for callers that already hold integer-indexed edges. Out-of-range
    endpoints are ignored and self-loops dropped; the scores sum to 1 (empty list for
    ``n_nodes == 0``). Raises ValueError for a bad ``damping``, a negative ``n_nodes``
    or arrays of different lengths.
    """
    _check_damping(damping)
    return pagerank_scores(build_graph(n_nodes, sources, targets), damping)


def compute_pagerank(
    node_ids: Sequence[str],
    edges: Iterable[tuple[str, str]],
    damping: float = DEFAULT_DAMPING,
) -> dict[str, float]:
    """PageRank of every id in ``node_ids`` over the directed ``(from, to)`` edges.

    Every node gets a score (isolated nodes included) and the scores sum to 1; an empty
    ``node_ids`` gives ``{}``. Edges naming an id not in ``node_ids`` are ignored,
    self-loops are dropped, repeated ids in ``node_ids`` count once. ``edges`` may be any
    iterable of pairs and is read once. Raises ValueError if ``damping`` is not in [0, 1]
    or the edges do not come in pairs.
    """
    _check_damping(damping)
    unique_ids: Sequence[str] = node_ids
    index = dict(zip(node_ids, range(len(node_ids)), strict=True))
    if len(index) != len(node_ids):  # repeated ids: number each distinct id once
        unique_ids = list(dict.fromkeys(node_ids))
        index = dict(zip(unique_ids, range(len(unique_ids)), strict=True))
    n_nodes = len(unique_ids)
    if n_nodes == 0:
        return {}
    # One C-level pass: flatten the pairs and look every endpoint up, -1 when unknown.
    ends = list(map(index.get, chain.from_iterable(edges), repeat(-1)))
    if len(ends) % 2:
        raise ValueError("edges must be (from, to) pairs")
    sources, targets = ends[0::2], ends[1::2]
    # One C-level scan says whether any id was unknown; only then does ``build_graph``
    # range-check every end (four passes) and filter the -1 endpoints out.
    if -1 in ends:
        graph = build_graph(n_nodes, sources, targets)
    else:
        graph = _graph_without_loops(n_nodes, sources, targets)
    scores = pagerank_scores(graph, damping)
    return dict(zip(unique_ids, scores, strict=True))


def compute_pagerank_arrays(
    n_nodes: int,
    sources: npt.NDArray[np.int32],
    targets: npt.NDArray[np.int32],
    damping: float = DEFAULT_DAMPING,
) -> npt.NDArray[np.float64]:
    """``compute_pagerank_indexed`` for numpy edge arrays (ends of -1 or out of range are
    ignored, self-loops dropped): the bulk path, filtered in numpy, not per edge."""
    _check_damping(damping)
    if n_nodes <= 0:
        return np.zeros(0, dtype=np.float64)
    keep = (sources >= 0) & (sources < n_nodes) & (targets >= 0) & (targets < n_nodes)
    keep &= sources != targets
    if not keep.all():
        sources, targets = sources[keep], targets[keep]
    # Python ints zipped: igraph reads numpy arrays element by element, slower (measured).
    graph = igraph.Graph(
        n=n_nodes, edges=zip(sources.tolist(), targets.tolist(), strict=True), directed=True
    )
    return np.asarray(pagerank_scores(graph, damping), dtype=np.float64)


def ranked_indexes(
    scores: npt.NDArray[np.float64],
    type_codes: npt.NDArray[np.int32],
    keep: int,
    id_order: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.int64]:
    """``ranked_subset`` on arrays: the indexes of the top ``keep`` scores overall and per
    type code, in increasing order. Ties go to the lower ``id_order`` (each node's place in
    id order; None: the indexes are in id order), as ``ranked_subset`` breaks them by id."""
    if keep <= 0 or len(scores) == 0:
        return np.zeros(0, dtype=np.int64)
    if id_order is None:
        best_first = np.argsort(-scores, kind="stable")
    else:
        best_first = np.lexsort((id_order, -scores))
    by_type = best_first[np.argsort(type_codes[best_first], kind="stable")]
    codes = type_codes[by_type]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    place_in_type = np.arange(len(by_type)) - np.repeat(starts, np.diff(np.r_[starts, len(codes)]))
    return np.unique(np.concatenate([best_first[:keep], by_type[place_in_type < keep]]))


def top_scores(scores: dict[str, float], limit: int) -> list[tuple[str, float]]:
    """The ``limit`` highest-scoring ``(id, score)`` pairs, best first; ties by id.

    A ``limit`` of zero or less gives an empty list.
    """
    if limit <= 0:
        return []
    return heapq.nsmallest(limit, scores.items(), key=lambda item: (-item[1], item[0]))


def ranked_subset(scores: dict[str, float], types: dict[str, str], keep: int) -> dict[str, float]:
    """The scores ``pagerankTop`` can ever return: the top ``keep`` overall and per type.

    Storing every score of a large graph costs far more than computing it. Ids missing
    from ``types`` form a type of their own.
    """

    def order(entity_id: str) -> tuple[float, str]:
        return (-scores[entity_id], entity_id)

    by_type: dict[str, list[str]] = {}
    for entity_id in scores:
        by_type.setdefault(types.get(entity_id, ""), []).append(entity_id)
    chosen = set(heapq.nsmallest(keep, scores, key=order))
    for members in by_type.values():
        chosen.update(heapq.nsmallest(keep, members, key=order))
    return {entity_id: scores[entity_id] for entity_id in chosen}


def _all_within(values: Sequence[int], n_nodes: int) -> bool:
    return min(values) >= 0 and max(values) < n_nodes


def _check_damping(damping: float) -> None:
    if not 0.0 <= damping <= 1.0:
        raise ValueError(f"damping must be in [0, 1], got {damping}")
