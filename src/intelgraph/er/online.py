"""Online resolution: each ingest's new entities (of the types the tenant resolves: PERSON,
ORGANIZATION and any type it configured) resolved in the background against the tenant's
existing ones.

The ingest listener hands touched ids to ``worker.ResolutionWorker``, which calls
``OnlineResolver.resolve`` from its background thread.

* ``OnlineResolver`` — per tenant and type a ``ResolvedIndex`` kept in memory, built from
  the store on first use; new records are resolved into it with ``resolve_incremental``
  and the changes (memberships, new and retired clusters, merge events with evidence,
  review items, batch statistics) are written in one transaction that first bumps the
  tenant/type revision. If another writer (another replica, a CLI split, a review
  approval) bumped it meanwhile, the in-memory index is stale: it is dropped, rebuilt from
  the store and the batch retried. An index built under an older config of the type is
  rebuilt too. Records a person kept apart (a NO_MATCH decision) are never merged again: a
  batch merge that would join them is undone and held for review.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from intelgraph.audit import service as audit
from intelgraph.er.components.dependencies import SYSTEM_ACTOR, ERDependencies
from intelgraph.er.components.thresholds import ERThresholds
from intelgraph.er.components.training import ERTraining
from intelgraph.er.engine.cluster_ids import ClusterAssignment, random_cluster_id
from intelgraph.er.engine.clustering import ChainingGuard
from intelgraph.er.engine.config import ResolutionConfig, config_fingerprint
from intelgraph.er.engine.decisions import Decision, PairDecision
from intelgraph.er.engine.drift_checks import live_weight_counts
from intelgraph.er.engine.mapping import entity_record
from intelgraph.er.engine.pipeline import IncrementalResolution, ResolvedIndex, resolve_incremental
from intelgraph.er.engine.records import Record
from intelgraph.er.engine.scoring import MatchModel, score_pairs
from intelgraph.er.governance import ThresholdsRecord
from intelgraph.er.history import EventKind, MembershipDecision, MergeEvent
from intelgraph.er.repository import clusters as cluster_repo
from intelgraph.er.repository import entities as entity_repo
from intelgraph.er.repository import merge_events as event_repo
from intelgraph.er.repository import overrides as override_repo
from intelgraph.er.repository import quality as quality_repo
from intelgraph.er.repository import review_queue as review_repo
from intelgraph.er.repository import state as state_repo
from intelgraph.er.review import ReviewItem, ReviewKind, ReviewStatus
from intelgraph.er.type_configs import TypeConfigs
from intelgraph.kernel.ids import new_id

log = logging.getLogger(__name__)

# New rows whose candidate weights are sampled per batch for input-drift statistics.
WEIGHT_SAMPLE_ROWS = 200
MAX_ATTEMPTS = 3


class StaleIndex(Exception):
    """Another writer changed the tenant's clusters since the in-memory index was built."""


@dataclass
class LiveIndex:
    """A tenant's resolved records of one type, in memory, as of a store revision."""

    index: ResolvedIndex
    revision: int
    fingerprints: dict[str, int] = field(default_factory=dict)
    config_fingerprint: str = ""


@dataclass(frozen=True)
class OnlineOutcome:
    """What one online pass did for one tenant and type."""

    tenant_id: str
    entity_type: str
    status: str  # RESOLVED, WAITING_FOR_MODEL, NOTHING_TO_DO
    message: str
    records: int = 0
    linked: int = 0
    review_items: int = 0
    held: int = 0
    latency_seconds: float | None = None
    timings: dict[str, float] = field(default_factory=dict)


def fingerprint(record: Record) -> int:
    """A hash of what the engine sees of a record (changes when its attributes change)."""
    return hash(tuple(sorted((k, v) for k, v in record.attributes.items() if v)))


def keep_apart(
    previous: ClusterAssignment,
    current: ClusterAssignment,
    no_match: Iterable[tuple[str, str]],
    new_cluster_id: Callable[[], str] = random_cluster_id,
) -> tuple[ClusterAssignment, list[tuple[str, ...]]]:
    """Undo this batch's merges that put a NO_MATCH pair into one cluster.

    Members of such a cluster go back to the clusters they had before (records new in the
    batch become singletons). Returns the corrected assignment and the undone components.
    """
    violated: set[str] = set()
    for first, second in no_match:
        now_first = current.record_clusters.get(first)
        if now_first is None or now_first != current.record_clusters.get(second):
            continue
        if previous.record_clusters.get(first) != previous.record_clusters.get(second):
            violated.add(now_first)
    if not violated:
        return current, []
    record_clusters = dict(current.record_clusters)
    ordinals = dict(current.cluster_ordinals)
    next_ordinal = current.next_ordinal
    members = current.members()
    undone: list[tuple[str, ...]] = []
    for cluster_id in sorted(violated):
        group = sorted(members[cluster_id])
        undone.append(tuple(group))
        ordinals.pop(cluster_id, None)
        for record_id in group:
            old = previous.record_clusters.get(record_id)
            if old is not None:
                record_clusters[record_id] = old
                ordinals[old] = previous.cluster_ordinals[old]
            else:
                fresh = new_cluster_id()
                record_clusters[record_id] = fresh
                ordinals[fresh] = next_ordinal
                next_ordinal += 1
    assignment = ClusterAssignment.model_construct(
        record_clusters=record_clusters, cluster_ordinals=ordinals, next_ordinal=next_ordinal
    )
    return assignment, undone


class OnlineResolver:
    """Resolves a tenant's unresolved entities into its live index and stores the outcome."""

    def __init__(
        self,
        deps: ERDependencies,
        configs: TypeConfigs,
        training: ERTraining,
        thresholds: ERThresholds,
        guard: ChainingGuard | None = None,
    ) -> None:
        self._engine = deps.engine
        self._clock = deps.clock
        self._metrics = deps.metrics
        self._configs = configs
        self._training = training
        self._thresholds = thresholds
        self._guard = guard or ChainingGuard()
        self._indexes: dict[tuple[str, str], LiveIndex] = {}
        self._locks: dict[str, threading.RLock] = {}
        self._guard_lock = threading.Lock()

    # --- the in-memory indexes ---------------------------------------------------------

    def tenant_lock(self, tenant_id: str) -> threading.RLock:
        """The lock every change of a tenant's clusters in this process holds."""
        with self._guard_lock:
            return self._locks.setdefault(tenant_id, threading.RLock())

    def drop(self, tenant_id: str, entity_type: str | None = None) -> None:
        """Forget the in-memory index(es) of a tenant; the next use rebuilds from the store."""
        with self._guard_lock:
            for key in list(self._indexes):
                if key[0] == tenant_id and entity_type in (None, key[1]):
                    del self._indexes[key]

    def cached(self, tenant_id: str, entity_type: str) -> LiveIndex | None:
        with self._guard_lock:
            return self._indexes.get((tenant_id, entity_type))

    def index_for(self, tenant_id: str, entity_type: str) -> tuple[LiveIndex, bool]:
        """The live index of a tenant's type (built from the store if absent or built under
        another config of the type), and whether it was built just now."""
        config = self._configs.config_for(tenant_id, entity_type)
        live = self.cached(tenant_id, entity_type)
        if live is not None and live.config_fingerprint == config_fingerprint(config):
            return live, False
        live = self._build(tenant_id, entity_type, config)
        with self._guard_lock:
            self._indexes[(tenant_id, entity_type)] = live
        return live, True

    def _build(self, tenant_id: str, entity_type: str, config: ResolutionConfig) -> LiveIndex:
        with self._engine.connect() as conn:
            state = state_repo.read_state(conn, tenant_id, entity_type) or (0, 0)
            clusters = cluster_repo.memberships(conn, tenant_id, entity_type)
            ordinals = cluster_repo.live_cluster_ordinals(conn, tenant_id, entity_type)
            rows = entity_repo.entity_rows(conn, tenant_id, entity_type)
        records = [
            entity_record(row.entity_id, row.type, row.label, row.attributes)
            for row in rows
            if row.entity_id in clusters
        ]
        kept = {r.record_id for r in records}
        assignment = ClusterAssignment.model_construct(
            record_clusters={r: c for r, c in clusters.items() if r in kept},
            cluster_ordinals=ordinals,
            next_ordinal=state[1],
        )
        index = ResolvedIndex.build(records, config, assignment)
        return LiveIndex(
            index,
            state[0],
            {r.record_id: fingerprint(r) for r in records},
            config_fingerprint(config),
        )

    def note_committed(self, tenant_id: str, entity_type: str, old_revision: int, new: int) -> None:
        """After another change in this process: keep the index if it was current."""
        live = self.cached(tenant_id, entity_type)
        if live is not None and live.revision == old_revision:
            live.revision = new
        elif live is not None:
            self.drop(tenant_id, entity_type)

    # --- resolving -----------------------------------------------------------------------

    def resolve(
        self, tenant_id: str, touched: Sequence[str] | None, submitted_at: float | None = None
    ) -> list[OnlineOutcome]:
        """Resolve the tenant's unresolved entities among ``touched`` (all of them if None).

        Entities of types the tenant does not resolve (no config) are left alone.
        """
        with self.tenant_lock(tenant_id):
            resolvable = set(self._configs.resolvable_types(tenant_id))
            if touched is None:
                groups: dict[str, list[str] | None] = dict.fromkeys(resolvable)
            else:
                with self._engine.connect() as conn:
                    types = entity_repo.entity_types_of(conn, tenant_id, touched)
                grouped: dict[str, list[str]] = defaultdict(list)
                for entity_id, entity_type in types.items():
                    if entity_type in resolvable:
                        grouped[entity_type].append(entity_id)
                groups = dict(grouped)
            return [
                self._resolve_type(tenant_id, entity_type, ids, submitted_at)
                for entity_type, ids in sorted(groups.items())
            ]

    def _resolve_type(
        self,
        tenant_id: str,
        entity_type: str,
        ids: list[str] | None,
        submitted_at: float | None,
    ) -> OnlineOutcome:
        live_model = self._training.model_for_resolution(tenant_id, entity_type)
        if live_model is None:
            return OnlineOutcome(
                tenant_id,
                entity_type,
                "WAITING_FOR_MODEL",
                f"no trained {entity_type} model fitting the live config yet: records wait "
                "unresolved (run `intelgraph er train`, or ingest enough records to train on "
                "first use)",
            )
        model_seq, model = live_model
        for attempt in range(MAX_ATTEMPTS):
            live, is_new = self.index_for(tenant_id, entity_type)
            wanted = None if is_new else ids
            with self._engine.connect() as conn:
                pending = entity_repo.unresolved_entity_ids(conn, tenant_id, entity_type, wanted)
                changed = self._changed_records(conn, tenant_id, entity_type, live, ids, pending)
            if changed and not is_new:
                self.drop(tenant_id, entity_type)
                continue
            if not pending:
                return OnlineOutcome(tenant_id, entity_type, "NOTHING_TO_DO", "all resolved")
            with self._engine.connect() as conn:
                rows = entity_repo.entity_rows(conn, tenant_id, entity_type, pending)
            records = [entity_record(r.entity_id, r.type, r.label, r.attributes) for r in rows]
            try:
                return self._resolve_records(
                    tenant_id, entity_type, live, records, model_seq, model, submitted_at
                )
            except StaleIndex:
                log.info(
                    "ER index stale; rebuilding",
                    extra={"tenant_id": tenant_id, "entity_type": entity_type, "try": attempt},
                )
                self.drop(tenant_id, entity_type)
            except Exception:
                self.drop(tenant_id, entity_type)
                raise
        return OnlineOutcome(
            tenant_id,
            entity_type,
            "NOTHING_TO_DO",
            f"gave up after {MAX_ATTEMPTS} concurrent changes; the next ingest retries",
        )

    def _changed_records(
        self,
        conn: Any,
        tenant_id: str,
        entity_type: str,
        live: LiveIndex,
        ids: list[str] | None,
        pending: list[str],
    ) -> bool:
        """Whether any already-resolved touched entity changed its attributes."""
        if not ids:
            return False
        unresolved = set(pending)
        resolved = [i for i in ids if i not in unresolved and i in live.fingerprints]
        if not resolved:
            return False
        for row in entity_repo.entity_rows(conn, tenant_id, entity_type, resolved):
            record = entity_record(row.entity_id, row.type, row.label, row.attributes)
            if live.fingerprints.get(row.entity_id) != fingerprint(record):
                return True
        return False

    def _resolve_records(
        self,
        tenant_id: str,
        entity_type: str,
        live: LiveIndex,
        records: list[Record],
        model_seq: int,
        model: MatchModel,
        submitted_at: float | None,
    ) -> OnlineOutcome:
        thresholds = self._thresholds.active(tenant_id, entity_type)
        previous = live.index.assignment
        result = resolve_incremental(
            records,
            live.index,
            model,
            thresholds.thresholds,
            guard=self._guard,
            clock=self._clock,
        )
        with self._engine.connect() as conn:
            no_match = override_repo.no_match_pairs(conn, tenant_id, entity_type)
        final, undone = keep_apart(previous, result.changes.assignment, no_match)
        live.index.assignment = final
        weights = self._sample_weights(live.index, model, len(records))
        written = self._persist(
            tenant_id,
            entity_type,
            live,
            previous,
            final,
            result,
            undone,
            weights,
            submitted_at,
            model_seq,
            thresholds,
        )
        for record in records:
            live.fingerprints[record.record_id] = fingerprint(record)
        self._metrics.er_records_resolved.labels(tenant_id, entity_type).inc(len(records))
        if written.latency is not None:
            self._metrics.er_resolution_latency.observe(written.latency)
        return OnlineOutcome(
            tenant_id,
            entity_type,
            "RESOLVED",
            f"resolved {len(records)} record(s); {written.linked} linked to another record",
            records=len(records),
            linked=written.linked,
            review_items=written.review_items,
            held=len(result.held) + len(undone),
            latency_seconds=written.latency,
            timings=dict(result.timings),
        )

    def _sample_weights(self, index: ResolvedIndex, model: MatchModel, added: int) -> list[int]:
        """Live weight counts of the candidate pairs of (a sample of) the batch's rows."""
        total = len(index.prepared)
        rows = np.arange(total - added, total, dtype=np.int64)
        if len(rows) > WEIGHT_SAMPLE_ROWS:
            rows = rows[:: max(1, len(rows) // WEIGHT_SAMPLE_ROWS)][:WEIGHT_SAMPLE_ROWS]
        candidates = index.blocking.candidates_for(index.prepared, rows)
        if not len(candidates):
            return live_weight_counts([])
        scored = score_pairs(
            model, index.prepared, candidates.left, candidates.right, index.frequencies
        )
        return live_weight_counts(scored.match_weight)

    def _persist(
        self,
        tenant_id: str,
        entity_type: str,
        live: LiveIndex,
        previous: ClusterAssignment,
        final: ClusterAssignment,
        result: IncrementalResolution,
        undone: list[tuple[str, ...]],
        weights: list[int],
        submitted_at: float | None,
        model_seq: int,
        thresholds: ThresholdsRecord,
    ) -> _Written:
        now = self._clock.now()
        changes = _changes(previous, final, result.record_ids)
        with self._engine.begin() as conn:
            revision, _ = state_repo.bump_state(conn, tenant_id, entity_type, now)
            if revision != live.revision + 1:
                raise StaleIndex
            old = cluster_repo.memberships_of(
                conn, tenant_id, sorted(changes.affected - changes.new)
            )
            rows: dict[str, tuple[str, MembershipDecision]] = {}
            for record_id in sorted(changes.affected):
                cluster_id = final.record_clusters[record_id]
                size = len(changes.members[cluster_id])
                decision = (
                    MembershipDecision.AUTO_MERGE if size > 1 else MembershipDecision.NO_MATCH
                )
                before = old.get(record_id)
                if (
                    before is not None
                    and before.cluster_id == cluster_id
                    and (before.decision is not MembershipDecision.NO_MATCH or size == 1)
                ):
                    continue  # unchanged: keep how it got there
                rows[record_id] = (cluster_id, decision)
            cluster_repo.write_memberships(conn, tenant_id, entity_type, rows, now)
            cluster_repo.insert_clusters(
                conn,
                tenant_id,
                entity_type,
                {c: final.cluster_ordinals[c] for c in changes.created},
                now,
            )
            cluster_repo.retire_clusters(conn, tenant_id, changes.retired, now)
            state_repo.set_next_ordinal(conn, tenant_id, entity_type, final.next_ordinal)
            events = _merge_events(
                tenant_id, entity_type, changes, result.decisions, now, model_seq, thresholds
            )
            event_repo.insert_events(conn, events)
            items = self._review_items(conn, tenant_id, entity_type, final, result, undone, now)
            review_repo.insert_review_items(conn, items)
            latency = None
            if submitted_at is not None:
                latency = max(0.0, self._clock.monotonic() - submitted_at)
            linked = sum(
                1 for r in result.record_ids if len(changes.members[final.record_clusters[r]]) > 1
            )
            quality_repo.insert_batch(
                conn,
                tenant_id,
                {
                    "batch_id": new_id("erb"),
                    "entity_type": entity_type,
                    "record_count": len(result.record_ids),
                    "linked_count": linked,
                    "candidate_count": result.candidate_count,
                    "weight_counts": weights,
                    "latency_seconds": latency if latency is not None else 0.0,
                    "resolved_at": now,
                },
            )
            if events:
                audit.record(
                    conn,
                    tenant_id=tenant_id,
                    actor=SYSTEM_ACTOR,
                    action="er.merge",
                    target=f"{entity_type}:clusters:{len(events)}",
                    at=now,
                    reason=f"online resolution with thresholds v{thresholds.version}",
                    new_value={"events": [e.id for e in events[:100]]},
                )
        live.revision = revision
        return _Written(linked, len(items), latency)

    def _review_items(
        self,
        conn: Any,
        tenant_id: str,
        entity_type: str,
        final: ClusterAssignment,
        result: IncrementalResolution,
        undone: list[tuple[str, ...]],
        now: Any,
    ) -> list[ReviewItem]:
        clusters = final.record_clusters
        wanted: dict[tuple[str, str], PairDecision] = {}
        for decision in result.decisions:
            if decision.decision is not Decision.REVIEW:
                continue
            if clusters.get(decision.left_id) == clusters.get(decision.right_id):
                continue
            key = tuple(sorted((decision.left_id, decision.right_id)))
            wanted.setdefault((key[0], key[1]), decision)
        if wanted:
            already = review_repo.open_pair_keys(conn, tenant_id, [k[0] for k in wanted])
            refused = set(override_repo.no_match_pairs(conn, tenant_id, entity_type))
            wanted = {k: d for k, d in wanted.items() if k not in already and k not in refused}
        items = [
            ReviewItem(
                id=new_id("rev"),
                tenant_id=tenant_id,
                entity_type=entity_type,
                kind=ReviewKind.PAIR,
                members=key,
                match_probability=decision.match_probability,
                match_weight=decision.match_weight,
                reason="match probability in the review band",
                status=ReviewStatus.OPEN,
                created_at=now,
            )
            for key, decision in sorted(wanted.items())
        ]
        for held in result.held:
            items.append(
                ReviewItem(
                    id=new_id("rev"),
                    tenant_id=tenant_id,
                    entity_type=entity_type,
                    kind=ReviewKind.HELD,
                    members=tuple(held.members),
                    match_probability=None,
                    match_weight=None,
                    reason=f"held by the chaining guard: {held.reason}",
                    status=ReviewStatus.OPEN,
                    created_at=now,
                )
            )
        for component in undone:
            items.append(
                ReviewItem(
                    id=new_id("rev"),
                    tenant_id=tenant_id,
                    entity_type=entity_type,
                    kind=ReviewKind.HELD,
                    members=component,
                    match_probability=None,
                    match_weight=None,
                    reason="would join records a person decided are not a match",
                    status=ReviewStatus.OPEN,
                    created_at=now,
                )
            )
        return items


@dataclass(frozen=True)
class _Written:
    linked: int
    review_items: int
    latency: float | None


@dataclass(frozen=True)
class _Changes:
    """How a batch changed the assignment, limited to the clusters it touched."""

    new: set[str]
    affected: set[str]
    members: dict[str, list[str]]
    moved: dict[str, dict[str, str | None]]  # cluster -> record -> cluster before
    created: set[str]
    retired: dict[str, str | None]


def _changes(
    previous: ClusterAssignment, final: ClusterAssignment, new_ids: Sequence[str]
) -> _Changes:
    touched = {final.record_clusters[r] for r in new_ids}
    all_members = final.members()
    members = {c: sorted(all_members[c]) for c in touched}
    affected = {r for c in touched for r in members[c]}
    moved: dict[str, dict[str, str | None]] = defaultdict(dict)
    for record_id in affected:
        before = previous.record_clusters.get(record_id)
        after = final.record_clusters[record_id]
        if before != after:
            moved[after][record_id] = before
    created = {c for c in touched if c not in previous.cluster_ordinals}
    retired: dict[str, str | None] = {}
    for cluster_id, records in moved.items():
        for before in records.values():
            if before is not None and before not in final.cluster_ordinals:
                retired[before] = cluster_id
    return _Changes(set(new_ids), affected, members, dict(moved), created, retired)


def _merge_events(
    tenant_id: str,
    entity_type: str,
    changes: _Changes,
    decisions: Sequence[PairDecision],
    now: Any,
    model_seq: int,
    thresholds: ThresholdsRecord,
) -> list[MergeEvent]:
    """One MERGE event per multi-member cluster that gained records, with its evidence."""
    by_record: dict[str, list[PairDecision]] = defaultdict(list)
    for decision in decisions:
        if decision.decision is Decision.AUTO_MERGE:
            by_record[decision.left_id].append(decision)
    events = []
    for cluster_id, moved in sorted(changes.moved.items()):
        members = changes.members[cluster_id]
        if len(members) < 2:
            continue
        inside = set(members)
        pairs = [
            {
                "left": d.left_id,
                "right": d.right_id,
                "matchWeight": round(d.match_weight, 4),
                "matchProbability": round(d.match_probability, 6),
            }
            for record_id in sorted(moved)
            for d in by_record.get(record_id, [])
            if d.right_id in inside
        ]
        events.append(
            MergeEvent(
                id=new_id("erm"),
                tenant_id=tenant_id,
                entity_type=entity_type,
                kind=EventKind.MERGE,
                cluster_id=cluster_id,
                actor=SYSTEM_ACTOR,
                reason="auto-merge by the model",
                evidence={
                    "pairs": pairs,
                    "modelSeq": model_seq,
                    "thresholdsVersion": thresholds.version,
                    "retired": sorted(c for c, s in changes.retired.items() if s == cluster_id),
                },
                before=dict(sorted(moved.items())),
                after=dict.fromkeys(sorted(moved), cluster_id),
                created_at=now,
            )
        )
    return events
