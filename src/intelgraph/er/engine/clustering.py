"""Clusters: connected components over auto-merge edges, with a guard against chaining.

Transitive closure can chain: A~B and B~C put A and C together even when A and C look
nothing alike. A component larger than a pair must therefore be cohesive to merge: at
least ``min_review_share`` of all its within-component pairs must score at or above the
review threshold, and (optionally) no two members may be more than ``max_diameter``
auto-merge hops apart. A component that fails is *held*: its records stay unmerged and
the component is reported for review.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from intelgraph.er.engine.decisions import Thresholds
from intelgraph.kernel.errors import VALIDATION, IntelGraphError


@dataclass(frozen=True, slots=True)
class ChainingGuard:
    """The cohesion a multi-record component needs to be merged automatically."""

    min_review_share: float = 0.5
    max_diameter: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_review_share <= 1.0:
            raise IntelGraphError(VALIDATION, "min_review_share must be between 0 and 1")
        if self.max_diameter is not None and self.max_diameter < 1:
            raise IntelGraphError(VALIDATION, "max_diameter must be at least 1")


@dataclass(frozen=True, slots=True)
class HeldComponent:
    """A component not merged because it is not cohesive enough; for a person to review."""

    members: tuple[str, ...]
    review_share: float
    diameter: int
    reason: str


@dataclass(frozen=True, slots=True)
class Clustering:
    """A partition of the records (held members as singletons) and the held components."""

    clusters: tuple[tuple[str, ...], ...]
    held: tuple[HeldComponent, ...]

    def cluster_index(self) -> dict[str, int]:
        """Record id to the index of its cluster in ``clusters``."""
        return {r: i for i, members in enumerate(self.clusters) for r in members}


def pair_key(first: str, second: str) -> tuple[str, str]:
    """The canonical (sorted) key of an unordered pair."""
    return (first, second) if first <= second else (second, first)


def connected_components(
    record_ids: Sequence[str], edges: Iterable[tuple[str, str]]
) -> list[tuple[str, ...]]:
    """Components of the graph on ``record_ids`` (singletons included), members sorted.

    Raises VALIDATION if an edge names a record that is not in ``record_ids``.
    """
    position = {r: i for i, r in enumerate(record_ids)}
    parent = list(range(len(record_ids)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for first, second in edges:
        if first not in position or second not in position:
            raise IntelGraphError(
                VALIDATION, f"edge ({first!r}, {second!r}) names an unknown record"
            )
        a, b = find(position[first]), find(position[second])
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[int, list[str]] = defaultdict(list)
    for record_id, i in position.items():
        groups[find(i)].append(record_id)
    return sorted((tuple(sorted(g)) for g in groups.values()), key=lambda c: c[0])


def diameter(members: Sequence[str], edges: Iterable[tuple[str, str]]) -> int:
    """Longest shortest path, in edges, between two members of a connected component."""
    neighbours: dict[str, list[str]] = defaultdict(list)
    for first, second in edges:
        neighbours[first].append(second)
        neighbours[second].append(first)
    longest = 0
    for start in members:
        distance = {start: 0}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for other in neighbours[node]:
                if other not in distance:
                    distance[other] = distance[node] + 1
                    queue.append(other)
        longest = max(longest, max(distance.values()))
    return longest


def review_share(
    members: Sequence[str],
    probabilities: Mapping[tuple[str, str], float],
    review: float,
    settled: Mapping[str, str] | None = None,
) -> float:
    """Share of the component's pairs scoring at least ``review`` (unscored pairs do not).

    Pairs of members that ``settled`` puts in the same existing cluster are not counted:
    they were accepted before.
    """
    settled = settled or {}
    total = strong = 0
    for i, first in enumerate(members):
        unit = settled.get(first)
        for second in members[i + 1 :]:
            if unit is not None and settled.get(second) == unit:
                continue
            total += 1
            if probabilities.get(pair_key(first, second), 0.0) >= review:
                strong += 1
    return strong / total if total else 1.0


def guard_component(
    members: Sequence[str],
    probabilities: Mapping[tuple[str, str], float],
    thresholds: Thresholds,
    guard: ChainingGuard,
    settled: Mapping[str, str] | None = None,
    auto_edges: Iterable[tuple[str, str]] | None = None,
) -> HeldComponent | None:
    """The component as held for review if it is not cohesive enough, else None.

    ``settled`` maps members already in an existing cluster to that cluster: such a
    cluster counts as one node for the diameter, and its internal pairs are not re-judged.
    ``auto_edges`` are the component's auto-merge pairs (found in ``probabilities`` if None).
    """
    if len(members) <= 2:
        return None
    settled = settled or {}
    share = review_share(members, probabilities, thresholds.review, settled)
    hops = 0
    if guard.max_diameter is not None:
        member_set = set(members)
        if auto_edges is None:
            auto_edges = [
                pair
                for pair, p in probabilities.items()
                if p >= thresholds.auto_merge and pair[0] in member_set and pair[1] in member_set
            ]
        edges = [(settled.get(a, a), settled.get(b, b)) for a, b in auto_edges]
        units = sorted({settled.get(r, r) for r in members})
        hops = diameter(units, [(a, b) for a, b in edges if a != b])
    reasons = []
    if share < guard.min_review_share:
        reasons.append(
            f"only {share:.0%} of pairs reach review level (needs {guard.min_review_share:.0%})"
        )
    if guard.max_diameter is not None and hops > guard.max_diameter:
        reasons.append(f"members are {hops} links apart (at most {guard.max_diameter})")
    if not reasons:
        return None
    return HeldComponent(tuple(members), share, hops, "; ".join(reasons))


def cluster_records(
    record_ids: Sequence[str],
    probabilities: Mapping[tuple[str, str], float],
    thresholds: Thresholds,
    guard: ChainingGuard | None = None,
) -> Clustering:
    """Merge records linked by auto-merge pairs, holding non-cohesive components for review.

    ``probabilities`` maps pairs (keyed by ``pair_key``) to match probabilities; pairs
    inside a component that are absent count as below review, so callers should score
    every within-component pair first (the pipeline does). Raises VALIDATION for a pair
    naming an unknown record.
    """
    guard = guard or ChainingGuard()
    auto_edges = [pair for pair, p in probabilities.items() if p >= thresholds.auto_merge]
    edges_of: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for edge in auto_edges:
        edges_of[edge[0]].append(edge)
    clusters: list[tuple[str, ...]] = []
    held: list[HeldComponent] = []
    for component in connected_components(record_ids, auto_edges):
        own_edges = [e for r in component for e in edges_of.get(r, ())]
        hold = guard_component(component, probabilities, thresholds, guard, auto_edges=own_edges)
        if hold is None:
            clusters.append(component)
        else:
            held.append(hold)
            clusters.extend((r,) for r in component)
    return Clustering(tuple(clusters), tuple(held))
