"""Stable cluster ids across runs: ids follow their clusters as members come and go.

Given the previous assignment (record -> cluster id, with each id's creation ordinal) and
the new components of some records, ids are assigned so that:

* an id never changes when members are added to its cluster;
* when clusters merge, the oldest id (lowest ordinal) survives and the others retire;
* when a cluster splits, the part holding most of its old members keeps the id (ties go to
  the part whose smallest record id sorts first) and each detached part gets a new id.

Records not named in the components keep their clusters; an old cluster only partly named
keeps its unnamed members together as one more part.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping

from pydantic import BaseModel, ConfigDict, PrivateAttr

from intelgraph.kernel.errors import VALIDATION, IntelGraphError
from intelgraph.kernel.ids import new_id


class ClusterAssignment(BaseModel):
    """Which cluster each record is in, and the creation ordinal of each cluster id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    record_clusters: dict[str, str] = {}
    cluster_ordinals: dict[str, int] = {}
    next_ordinal: int = 0

    _members: dict[str, list[str]] | None = PrivateAttr(default=None)

    def __eq__(self, other: object) -> bool:
        # The cached member map is derived data: equality is on the fields alone.
        if not isinstance(other, ClusterAssignment):
            return NotImplemented
        return (self.record_clusters, self.cluster_ordinals, self.next_ordinal) == (
            other.record_clusters,
            other.cluster_ordinals,
            other.next_ordinal,
        )

    __hash__ = None  # type: ignore[assignment]

    def members(self) -> Mapping[str, list[str]]:
        """Cluster id to its record ids (computed once per assignment)."""
        if self._members is None:
            members: dict[str, list[str]] = defaultdict(list)
            for record_id, cluster_id in self.record_clusters.items():
                members[cluster_id].append(record_id)
            self._members = dict(members)
        return self._members


class ClusterIdChanges(BaseModel):
    """The new assignment and what happened to ids, for merge history and audit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    assignment: ClusterAssignment
    created: list[str] = []
    merged: dict[str, str] = {}
    split: dict[str, str] = {}


def random_cluster_id() -> str:
    """A new opaque cluster id (``clu_`` and random base32), the default id factory."""
    return new_id("clu")


def _parts(
    previous: ClusterAssignment, components: Iterable[Collection[str]]
) -> list[tuple[str, ...]]:
    """The components plus, per touched old cluster, its members no component names."""
    parts: list[tuple[str, ...]] = []
    named: set[str] = set()
    for component in components:
        part = tuple(sorted(component))
        for record_id in part:
            if record_id in named:
                raise IntelGraphError(
                    VALIDATION, f"record {record_id!r} is in more than one component"
                )
            named.add(record_id)
        if part:
            parts.append(part)
    touched = {previous.record_clusters[r] for r in named if r in previous.record_clusters}
    members = previous.members()
    for cluster_id in sorted(touched):
        rest = tuple(sorted(r for r in members[cluster_id] if r not in named))
        if rest:
            parts.append(rest)
    return parts


def assign_cluster_ids(
    previous: ClusterAssignment,
    components: Iterable[Collection[str]],
    new_cluster_id: Callable[[], str] = random_cluster_id,
) -> ClusterIdChanges:
    """Ids for ``components`` that keep, merge and split previous ids as described above.

    Raises VALIDATION if a record is in more than one component.
    """
    parts = _parts(previous, components)
    ordinals = previous.cluster_ordinals
    overlaps: dict[str, Counter[int]] = defaultdict(Counter)
    for index, part in enumerate(parts):
        for record_id in part:
            old = previous.record_clusters.get(record_id)
            if old is not None:
                overlaps[old][index] += 1
    # Each old id goes to its heir: the part holding most of its members.
    inherited: dict[int, list[str]] = defaultdict(list)
    for old, counts in overlaps.items():
        heir = min(counts, key=lambda i: (-counts[i], parts[i][0]))
        inherited[heir].append(old)

    record_clusters = dict(previous.record_clusters)
    cluster_ordinals = dict(ordinals)
    next_ordinal = previous.next_ordinal
    created: list[str] = []
    merged: dict[str, str] = {}
    split: dict[str, str] = {}
    # Untouched clusters share their member lists with the previous assignment (never
    # mutated), so a small change to a large assignment stays cheap.
    members = dict(previous.members())
    for index, part in enumerate(parts):
        heirlooms = sorted(inherited.get(index, []), key=lambda c: (ordinals.get(c, 0), c))
        if heirlooms:
            cluster_id = heirlooms[0]
            for retired in heirlooms[1:]:
                merged[retired] = cluster_id
                cluster_ordinals.pop(retired, None)
                members.pop(retired, None)
        else:
            cluster_id = new_cluster_id()
            if cluster_id in cluster_ordinals:
                raise IntelGraphError(VALIDATION, f"new cluster id {cluster_id!r} already exists")
            cluster_ordinals[cluster_id] = next_ordinal
            next_ordinal += 1
            created.append(cluster_id)
            origins = Counter(
                previous.record_clusters[r] for r in part if r in previous.record_clusters
            )
            if origins:
                split[cluster_id] = min(origins, key=lambda c: (-origins[c], ordinals.get(c, 0), c))
        for record_id in part:
            record_clusters[record_id] = cluster_id
        members[cluster_id] = list(part)
    # Built from validated parts: skip re-validating every entry of a large assignment.
    assignment = ClusterAssignment.model_construct(
        record_clusters=record_clusters,
        cluster_ordinals=cluster_ordinals,
        next_ordinal=next_ordinal,
    )
    assignment._members = members
    return ClusterIdChanges(assignment=assignment, created=created, merged=merged, split=split)
