"""Resolution end to end: batch (prepare, block, train, score, decide, cluster) and online.

``resolve_batch`` resolves a set of records on its own, training a model without labels if
none is given. ``resolve_incremental`` resolves new records against a ``ResolvedIndex`` of
already-resolved records: blocking is a key look-up in the index, and cluster ids follow
``cluster_ids.assign_cluster_ids`` (ids survive additions, the older id survives a merge).
Nothing here touches a database; the caller persists models, assignments and decisions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from intelgraph.er.engine.blocking import BlockingIndex, CandidatePairs, candidate_pairs
from intelgraph.er.engine.cluster_ids import (
    ClusterAssignment,
    ClusterIdChanges,
    assign_cluster_ids,
    random_cluster_id,
)
from intelgraph.er.engine.clustering import (
    ChainingGuard,
    Clustering,
    HeldComponent,
    cluster_records,
    guard_component,
)
from intelgraph.er.engine.comparisons import compare_view, pair_view
from intelgraph.er.engine.config import ResolutionConfig
from intelgraph.er.engine.decisions import PairDecision, Thresholds, decide
from intelgraph.er.engine.preparation import PreparedRecords, check_records, prepare
from intelgraph.er.engine.records import Record
from intelgraph.er.engine.scoring import (
    MatchModel,
    ScoredPairs,
    TermFrequencies,
    score_compared,
    score_pairs,
    term_frequencies,
)
from intelgraph.er.engine.training import train_model
from intelgraph.kernel.clock import Clock, SystemClock
from intelgraph.kernel.errors import VALIDATION, IntelGraphError

IndexArray = npt.NDArray[np.int64]


class _Stopwatch:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.timings: dict[str, float] = {}
        self._start = clock.monotonic()

    def lap(self, stage: str) -> None:
        now = self.clock.monotonic()
        self.timings[stage] = self.timings.get(stage, 0.0) + (now - self._start)
        self._start = now


def _pair_decisions(
    record_ids: Sequence[str], scored: ScoredPairs, thresholds: Thresholds
) -> Iterator[PairDecision]:
    for row in np.flatnonzero(scored.match_probability >= thresholds.review):
        probability = float(scored.match_probability[row])
        yield PairDecision(
            record_ids[int(scored.left[row])],
            record_ids[int(scored.right[row])],
            float(scored.match_weight[row]),
            probability,
            decide(probability, thresholds),
        )


@dataclass(frozen=True)
class Resolution:
    """The outcome of a batch: model used, scored candidates, clusters, timings (seconds)."""

    model: MatchModel
    thresholds: Thresholds
    prepared: PreparedRecords
    candidates: CandidatePairs
    scored: ScoredPairs
    clustering: Clustering
    timings: dict[str, float]

    @property
    def record_ids(self) -> list[str]:
        return self.prepared.record_ids

    def decisions(self) -> list[PairDecision]:
        """Every scored pair at review level or above, with its decision."""
        return list(_pair_decisions(self.record_ids, self.scored, self.thresholds))

    def scored_id_pairs(self) -> Iterator[tuple[str, str, float]]:
        """Every scored candidate pair as (left id, right id, match probability)."""
        ids = self.record_ids
        for left, right, probability in zip(
            self.scored.left.tolist(),
            self.scored.right.tolist(),
            self.scored.match_probability.tolist(),
            strict=True,
        ):
            yield ids[left], ids[right], probability

    def cluster_labels(self) -> dict[str, str]:
        """Record id to a cluster label (the cluster's smallest record id) for evaluation."""
        return {r: members[0] for members in self.clustering.clusters for r in members}

    def assign_ids(
        self,
        previous: ClusterAssignment | None = None,
        new_cluster_id: Callable[[], str] = random_cluster_id,
    ) -> ClusterIdChanges:
        """Stable cluster ids for this batch's clusters given the previous assignment."""
        return assign_cluster_ids(
            previous or ClusterAssignment(), self.clustering.clusters, new_cluster_id
        )


def _components(n: int, left: IndexArray, right: IndexArray) -> list[IndexArray]:
    """Connected components with at least three rows of the graph of edges left-right."""
    parent = np.arange(n)

    def find(i: int) -> int:
        root = i
        while parent[root] != root:
            root = int(parent[root])
        while parent[i] != root:
            parent[i], i = root, int(parent[i])
        return root

    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    touched = np.unique(np.concatenate([left, right])) if len(left) else np.zeros(0, np.int64)
    groups: dict[int, list[int]] = defaultdict(list)
    for row in touched.tolist():
        groups[find(row)].append(row)
    return [np.asarray(g, dtype=np.int64) for g in groups.values() if len(g) >= 3]


def _within_pairs(groups: Sequence[IndexArray]) -> tuple[IndexArray, IndexArray]:
    lefts, rights = [], []
    for group in groups:
        a, b = np.triu_indices(len(group), 1)
        lefts.append(group[a])
        rights.append(group[b])
    if not lefts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(lefts), np.concatenate(rights)


def _probabilities_at_review(
    record_ids: Sequence[str], scored: ScoredPairs, review: float
) -> dict[tuple[str, str], float]:
    strong = np.flatnonzero(scored.match_probability >= review)
    probabilities: dict[tuple[str, str], float] = {}
    for row in strong.tolist():
        a, b = record_ids[int(scored.left[row])], record_ids[int(scored.right[row])]
        probabilities[(a, b) if a <= b else (b, a)] = float(scored.match_probability[row])
    return probabilities


def _unscored(
    left: IndexArray, right: IndexArray, scored: ScoredPairs, n: int
) -> tuple[IndexArray, IndexArray]:
    """The pairs (left, right) that ``scored`` does not hold, in either order."""
    low, high = np.minimum(left, right), np.maximum(left, right)
    known = np.minimum(scored.left, scored.right) * n + np.maximum(scored.left, scored.right)
    missing = ~np.isin(low * n + high, known)
    return low[missing], high[missing]


def resolve_batch(
    records: Sequence[Record],
    config: ResolutionConfig,
    model: MatchModel | None = None,
    thresholds: Thresholds | None = None,
    *,
    guard: ChainingGuard | None = None,
    clock: Clock | None = None,
) -> Resolution:
    """Resolve ``records`` among themselves; trains a model without labels if none is given.

    Stages (timed): prepare, block, compare, train, score, cluster. Raises VALIDATION for
    records of another entity type, repeated record ids, fewer than two records to train
    on, or a model that does not fit ``config``.
    """
    thresholds = thresholds or Thresholds()
    watch = _Stopwatch(clock or SystemClock())
    prepared = prepare(records, config)
    watch.lap("prepare")
    candidates = candidate_pairs(prepared, config.blocking)
    watch.lap("block")
    view = pair_view(prepared, candidates.left, candidates.right)
    gamma = compare_view(view, config)
    watch.lap("compare")
    if model is None:
        model = train_model(prepared, candidate_gamma=gamma, clock=clock)
        watch.lap("train")
    frequencies = term_frequencies(prepared)
    scored = score_compared(model, view, gamma, frequencies)
    watch.lap("score")
    clustering = _cluster_batch(prepared, scored, model, frequencies, thresholds, guard)
    watch.lap("cluster")
    return Resolution(model, thresholds, prepared, candidates, scored, clustering, watch.timings)


def _cluster_batch(
    prepared: PreparedRecords,
    scored: ScoredPairs,
    model: MatchModel,
    frequencies: TermFrequencies,
    thresholds: Thresholds,
    guard: ChainingGuard | None,
) -> Clustering:
    n = len(prepared)
    auto = scored.match_probability >= thresholds.auto_merge
    probabilities = _probabilities_at_review(prepared.record_ids, scored, thresholds.review)
    # Pairs inside a would-be cluster that blocking never proposed are scored now, so that
    # the chaining guard judges every pair of the cluster.
    groups = _components(n, scored.left[auto], scored.right[auto])
    left, right = _unscored(*_within_pairs(groups), scored, max(n, 1))
    if len(left):
        extra = score_pairs(model, prepared, left, right, frequencies)
        probabilities.update(
            _probabilities_at_review(prepared.record_ids, extra, thresholds.review)
        )
    return cluster_records(prepared.record_ids, probabilities, thresholds, guard)


@dataclass
class ResolvedIndex:
    """Already-resolved records of one config, kept ready for online resolution.

    Holds their prepared features, blocks, value frequencies and cluster assignment; grows
    as ``resolve_incremental`` adds records. Not thread-safe: one writer at a time.
    """

    config: ResolutionConfig
    prepared: PreparedRecords
    blocking: BlockingIndex
    frequencies: TermFrequencies
    assignment: ClusterAssignment
    row_of: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.prepared)

    @classmethod
    def from_prepared(
        cls,
        prepared: PreparedRecords,
        assignment: ClusterAssignment | None = None,
        new_cluster_id: Callable[[], str] = random_cluster_id,
    ) -> ResolvedIndex:
        """An index over ``prepared`` records; records the assignment lacks become singletons."""
        assignment = assignment or ClusterAssignment()
        unassigned = [(r,) for r in prepared.record_ids if r not in assignment.record_clusters]
        if unassigned:
            assignment = assign_cluster_ids(assignment, unassigned, new_cluster_id).assignment
        blocking = BlockingIndex(list(prepared.config.blocking))
        blocking.add(prepared, np.arange(len(prepared), dtype=np.int64))
        return cls(
            prepared.config,
            prepared,
            blocking,
            term_frequencies(prepared),
            assignment,
            {r: i for i, r in enumerate(prepared.record_ids)},
        )

    @classmethod
    def build(
        cls,
        records: Sequence[Record],
        config: ResolutionConfig,
        assignment: ClusterAssignment | None = None,
        new_cluster_id: Callable[[], str] = random_cluster_id,
    ) -> ResolvedIndex:
        """An index over resolved ``records``; raises VALIDATION for bad records."""
        return cls.from_prepared(prepare(records, config), assignment, new_cluster_id)

    def _append(self, new: PreparedRecords) -> IndexArray:
        start = len(self.prepared)
        self.prepared = self.prepared.concat(new)
        rows = np.arange(start, start + len(new), dtype=np.int64)
        self.blocking.add(self.prepared, rows)
        self.frequencies.add(self.prepared, rows)
        for offset, record_id in enumerate(new.record_ids):
            self.row_of[record_id] = start + offset
        return rows


@dataclass(frozen=True)
class IncrementalResolution:
    """The outcome of resolving new records into an index."""

    record_ids: tuple[str, ...]
    # Pairs at review level or above; ``left_id`` is the newer record of each pair.
    decisions: tuple[PairDecision, ...]
    changes: ClusterIdChanges
    held: tuple[HeldComponent, ...]
    candidate_count: int
    timings: dict[str, float]

    def cluster_of(self, record_id: str) -> str:
        """The cluster id the record is now in."""
        return self.changes.assignment.record_clusters[record_id]


def resolve_incremental(
    new_records: Sequence[Record],
    existing_index: ResolvedIndex,
    model: MatchModel,
    thresholds: Thresholds | None = None,
    *,
    guard: ChainingGuard | None = None,
    new_cluster_id: Callable[[], str] = random_cluster_id,
    clock: Clock | None = None,
) -> IncrementalResolution:
    """Resolve ``new_records`` against ``existing_index`` and add them to it.

    A new record joins the existing cluster(s) it auto-merges with (merging them, oldest id
    surviving) unless the result fails the chaining guard, in which case it stays alone and
    the component is held for review. Raises VALIDATION for records of another entity type,
    ids already in the index or repeated, or a model that does not fit the index's config.
    """
    thresholds = thresholds or Thresholds()
    guard = guard or ChainingGuard()
    index = existing_index
    model.check_fits(index.config)
    watch = _Stopwatch(clock or SystemClock())
    check_records(new_records, index.config)
    known = [r.record_id for r in new_records if r.record_id in index.row_of]
    if known:
        raise IntelGraphError(
            VALIDATION, f"records already resolved in the index: {', '.join(known[:5])}"
        )
    new = prepare(new_records, index.config)
    watch.lap("prepare")
    rows = index._append(new)
    watch.lap("index")
    candidates = index.blocking.candidates_for(index.prepared, rows)
    watch.lap("block")
    # Candidates come as (older row, newer row); score them newer first, so that each
    # decision reads "new record ~ record it matched".
    scored = score_pairs(
        model, index.prepared, candidates.right, candidates.left, index.frequencies
    )
    watch.lap("score")
    record_ids = index.prepared.record_ids
    probabilities = _probabilities_at_review(record_ids, scored, thresholds.review)
    changes, held = _cluster_incremental(
        index, model, rows, scored, probabilities, thresholds, guard, new_cluster_id
    )
    index.assignment = changes.assignment
    watch.lap("cluster")
    decisions = tuple(_pair_decisions(record_ids, scored, thresholds))
    return IncrementalResolution(
        tuple(new.record_ids), decisions, changes, held, len(candidates), watch.timings
    )


def _cluster_incremental(
    index: ResolvedIndex,
    model: MatchModel,
    rows: IndexArray,
    scored: ScoredPairs,
    probabilities: dict[tuple[str, str], float],
    thresholds: Thresholds,
    guard: ChainingGuard,
    new_cluster_id: Callable[[], str],
) -> tuple[ClusterIdChanges, tuple[HeldComponent, ...]]:
    record_ids = index.prepared.record_ids
    previous = index.assignment
    members = previous.members()
    new_ids = [record_ids[r] for r in rows.tolist()]
    auto = np.flatnonzero(scored.match_probability >= thresholds.auto_merge)
    edges = [
        (record_ids[int(scored.left[i])], record_ids[int(scored.right[i])]) for i in auto.tolist()
    ]
    # Nodes: the new records, plus every member of each existing cluster they touch, with
    # the members of an existing cluster already joined together.
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:
            parent[node], node = root, parent[node]
        return root

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for record_id in new_ids:
        find(record_id)
    settled: dict[str, str] = {}
    for a, b in edges:
        union(a, b)
        for node in (a, b):
            cluster = previous.record_clusters.get(node)
            if cluster is not None and node not in settled:
                for member in members[cluster]:
                    settled[member] = cluster
                    union(node, member)
    groups: dict[str, list[str]] = defaultdict(list)
    for node in list(parent):
        groups[find(node)].append(node)
    edges_of: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for edge in edges:
        edges_of[edge[0]].append(edge)
    # Score pairs the guard will judge that blocking did not propose: across clusters.
    judged: list[list[str]] = [sorted(g) for g in groups.values() if len(g) >= 3]
    _score_missing(index, model, judged, settled, probabilities, thresholds)
    components: list[tuple[str, ...]] = []
    held: list[HeldComponent] = []
    for group in groups.values():
        component = sorted(group)
        own_edges = [e for r in component for e in edges_of.get(r, ())]
        hold = guard_component(
            component, probabilities, thresholds, guard, settled=settled, auto_edges=own_edges
        )
        if hold is None:
            components.append(tuple(component))
        else:
            held.append(hold)
            components.extend((r,) for r in component if r not in settled)
    return assign_cluster_ids(previous, components, new_cluster_id), tuple(held)


def _score_missing(
    index: ResolvedIndex,
    model: MatchModel,
    groups: Sequence[Sequence[str]],
    settled: dict[str, str],
    probabilities: dict[tuple[str, str], float],
    thresholds: Thresholds,
) -> None:
    """Score the not-yet-scored pairs of ``groups`` that are not inside one existing cluster."""
    left: list[int] = []
    right: list[int] = []
    for group in groups:
        for i, first in enumerate(group):
            unit = settled.get(first)
            for second in group[i + 1 :]:
                if unit is not None and settled.get(second) == unit:
                    continue
                key = (first, second) if first <= second else (second, first)
                if key in probabilities:
                    continue
                left.append(index.row_of[first])
                right.append(index.row_of[second])
    if not left:
        return
    extra = score_pairs(
        model,
        index.prepared,
        np.asarray(left, dtype=np.int64),
        np.asarray(right, dtype=np.int64),
        index.frequencies,
    )
    probabilities.update(
        _probabilities_at_review(index.prepared.record_ids, extra, thresholds.review)
    )
