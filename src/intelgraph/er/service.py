"""The entity-resolution area's face: models, thresholds, clusters, review and quality.

User actions take the caller's principal (the tenant comes from it; reads need
``entity.read``, every change ``admin.write``) and write an audit record in the same
transaction as the change. Job entry points (online resolution, the nightly evaluation,
gauges) take a tenant id.

Online resolution runs in a background worker fed by the graph's ingest listener
(``online.py``). A tenant without a trained model for a type trains one on first use once
it holds ``min_training_records`` entities of that type; until then its entities wait
unresolved and ``status`` says so.

PERSON and ORGANIZATION are resolved for every tenant under their packaged configs; any
other type is resolved for a tenant once a tenant admin stored a config for it
(``type_configs.py``). A model is live only while it fits the type's live config.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from intelgraph.audit import service as audit
from intelgraph.er import curation
from intelgraph.er import repository as repo
from intelgraph.er.clustering import ChainingGuard
from intelgraph.er.config import ResolutionConfig, comparison_fingerprint
from intelgraph.er.decisions import Thresholds, decide
from intelgraph.er.drift import sweep_thresholds
from intelgraph.er.drift_checks import DriftFinding, DriftPolicy
from intelgraph.er.explanation import MatchExplanation
from intelgraph.er.golden import parse_golden_csv
from intelgraph.er.governance import (
    SUGGESTIONS_SETTING,
    ThresholdOrigin,
    ThresholdsRecord,
    ThresholdStatus,
    check_can_decide,
)
from intelgraph.er.history import EntityResolution, MergeEvent
from intelgraph.er.mapping import RESOLVABLE_TYPES, entity_record
from intelgraph.er.nightly import DriftAlert, NightlyReport, QualityMonitor, StoredRun
from intelgraph.er.online import SYSTEM_ACTOR, OnlineOutcome, OnlineResolver, ResolutionWorker
from intelgraph.er.preparation import prepare
from intelgraph.er.records import parse_entity_type
from intelgraph.er.review import ReviewItem, ReviewKind, ReviewStatus
from intelgraph.er.scoring import MatchModel, explain
from intelgraph.er.training import train_model
from intelgraph.er.type_configs import ConfigChange, TypeConfig, TypeConfigs
from intelgraph.kernel.clock import Clock, isoformat
from intelgraph.kernel.errors import (
    ENTITY_NOT_FOUND,
    ER_FEATURE_DISABLED,
    ER_NO_MODEL,
    ER_NOT_FOUND,
    ER_STATE_CONFLICT,
    VALIDATION,
    IntelGraphError,
)
from intelgraph.kernel.ids import new_id
from intelgraph.kernel.tenancy import Principal
from intelgraph.obs.metrics import Metrics
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine
from intelgraph.tenants.platform_settings import PlatformSettings

log = logging.getLogger(__name__)

MIN_TRAINING_RECORDS = 100
MIN_EXPLICIT_TRAINING_RECORDS = 10
DEFAULT_PRECISION_FLOOR = 0.985

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainedModel:
    """A stored model version and how it was trained."""

    tenant_id: str
    entity_type: str
    seq: int
    model_version: str
    record_count: int
    seconds: float
    not_estimated: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "entityType": self.entity_type,
            "seq": self.seq,
            "modelVersion": self.model_version,
            "records": self.record_count,
            "seconds": round(self.seconds, 3),
            "notEstimated": list(self.not_estimated),
        }


@dataclass(frozen=True)
class Rollback:
    """A rollback: the version undone, the version restored, and how long it took."""

    undone: ThresholdsRecord
    restored: ThresholdsRecord
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "undone": self.undone.as_dict(),
            "restored": self.restored.as_dict(),
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class DriftHistory:
    """F1 over time for one tenant and type, with baselines and alerts (for charts), and
    what every drift check measures now (F1, match-weight PSI, link share, cluster size)."""

    tenant_id: str
    entity_type: str
    runs: list[StoredRun]
    baseline_f1: float | None
    max_drop: float
    alerts: list[DriftAlert]
    findings: list[DriftFinding]

    @property
    def alert_line(self) -> float | None:
        return None if self.baseline_f1 is None else self.baseline_f1 - self.max_drop


def _now_iso(moment: datetime | None) -> str | None:
    return None if moment is None else isoformat(moment)


class EntityResolutionService:
    """Entity resolution for every tenant: one instance per process, built by ``app.py``."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        policy: PolicyEngine,
        metrics: Metrics,
        platform: PlatformSettings,
        *,
        min_training_records: int = MIN_TRAINING_RECORDS,
        drift_policy: DriftPolicy | None = None,
        guard: ChainingGuard | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._policy = policy
        self._metrics = metrics
        self._platform = platform
        self.min_training_records = min_training_records
        self._models: dict[tuple[str, str], tuple[int, MatchModel]] = {}
        self._training_lock = threading.Lock()
        self.configs = TypeConfigs(engine, clock)
        self.online = OnlineResolver(
            engine,
            clock,
            metrics,
            self._model_for_online,
            self.active_thresholds,
            guard,
            config_for=self.configs.config_for,
            resolvable_types=self.configs.resolvable_types,
        )
        self.worker = ResolutionWorker(self._resolve_submitted, clock)
        self.quality = QualityMonitor(
            engine,
            clock,
            metrics,
            self.live_model,
            self.active_thresholds,
            drift_policy,
            config_for=self.configs.config_for,
            resolvable_types=self.configs.resolvable_types,
        )

    # --- lifecycle and online resolution ---------------------------------------------------

    def on_ingested(self, tenant_id: str, touched: list[str]) -> None:
        """Ingest listener: queue the touched entities for online resolution (returns at once)."""
        self.worker.submit(tenant_id, touched)

    def start(self) -> None:
        """Start the online-resolution worker thread (``serve`` does, tests do not)."""
        self.worker.start()

    def stop(self) -> None:
        """Stop the worker thread (what is still queued is picked up by the next sweep)."""
        self.worker.stop()

    def _resolve_submitted(
        self, tenant_id: str, ids: list[str] | None, since: float | None
    ) -> object:
        return self.online.resolve(tenant_id, ids, since)

    def sweep_unresolved(self) -> list[str]:
        """Queue every tenant holding unresolved entities of a type it resolves for the
        worker (entities ingested by another process, or a batch that failed); returns them."""
        with self._engine.connect() as conn:
            found = set(repo.tenants_with_unresolved(conn, RESOLVABLE_TYPES))
            for tenant_id, entity_type in repo.all_configured_types(conn):
                if tenant_id not in found and repo.has_unresolved(conn, tenant_id, entity_type):
                    found.add(tenant_id)
        tenants = sorted(found)
        for tenant_id in tenants:
            self.worker.sweep(tenant_id)
        return tenants

    def drain(self) -> list[str]:
        """Resolve every queued ingest now, in this thread; returns the tenants done."""
        return self.worker.drain()

    def resolve_pending(self, tenant_id: str) -> list[OnlineOutcome]:
        """Resolve all of a tenant's unresolved entities (of the types it resolves) now."""
        return self.online.resolve(tenant_id, None)

    # --- models ------------------------------------------------------------------------

    def live_model(self, tenant_id: str, entity_type: str) -> tuple[int, MatchModel] | None:
        """(version, model) the tenant's type is resolved with: its newest model, if that
        fits the type's live config (a config whose comparisons changed needs a new
        model); else None."""
        newest = self._newest_model(tenant_id, entity_type)
        if newest is None:
            return None
        live_config = self.configs.live(tenant_id, entity_type)
        if live_config is None or newest[1].comparison_fingerprint != comparison_fingerprint(
            live_config.config
        ):
            return None
        return newest

    def _newest_model(self, tenant_id: str, entity_type: str) -> tuple[int, MatchModel] | None:
        with self._engine.connect() as conn:
            seq = repo.latest_model_seq(conn, tenant_id, entity_type)
            if seq is None:
                return None
            cached = self._models.get((tenant_id, entity_type))
            if cached is not None and cached[0] == seq:
                return cached
            row = repo.latest_model(conn, tenant_id, entity_type)
        assert row is not None
        newest = (int(row.seq), MatchModel.from_json(row.model))
        self._models[(tenant_id, entity_type)] = newest
        return newest

    def _model_for_online(self, tenant_id: str, entity_type: str) -> tuple[int, MatchModel] | None:
        live = self.live_model(tenant_id, entity_type)
        if live is not None:
            return live
        with self._engine.connect() as conn:
            count = repo.count_entities(conn, tenant_id, entity_type)
        if count < self.min_training_records:
            return None
        self.train_tenant(
            tenant_id,
            entity_type,
            actor=SYSTEM_ACTOR,
            reason=f"trained on first use ({count} records)",
        )
        return self.live_model(tenant_id, entity_type)

    def train(
        self,
        principal: Principal,
        entity_type: str,
        *,
        reason: str | None = None,
        on_progress: Progress | None = None,
    ) -> TrainedModel:
        """Train a new model version on the tenant's entities of a type (labels unused).

        Raises VALIDATION for a type without a config or fewer than 10 records.
        """
        tenant_id = self._tenant_of(principal, Action.ADMIN_WRITE, "er_model")
        return self.train_tenant(
            tenant_id, entity_type, actor=principal.actor, reason=reason, on_progress=on_progress
        )

    def train_tenant(
        self,
        tenant_id: str,
        entity_type: str,
        *,
        actor: str,
        reason: str | None = None,
        on_progress: Progress | None = None,
    ) -> TrainedModel:
        """Train and store a model for a tenant id (CLI and first use); raises VALIDATION."""
        kind = _resolvable(entity_type)
        config = self._config(tenant_id, kind)
        report = on_progress or (lambda _stage: None)
        started = time.perf_counter()
        with self._training_lock:
            report("load")
            with self._engine.connect() as conn:
                rows = repo.entity_rows(conn, tenant_id, kind)
            if len(rows) < MIN_EXPLICIT_TRAINING_RECORDS:
                raise IntelGraphError(
                    VALIDATION,
                    f"the tenant has {len(rows)} {kind} entities; training needs at least "
                    f"{MIN_EXPLICIT_TRAINING_RECORDS}",
                )
            records = [entity_record(r.entity_id, r.type, r.label, r.attributes) for r in rows]
            report("prepare")
            prepared = prepare(records, config)
            report("train")
            model = train_model(prepared, clock=self._clock)
            report("store")
            seq = self._store_model(tenant_id, kind, model, actor=actor, reason=reason)
        report("done")
        return TrainedModel(
            tenant_id,
            kind,
            seq,
            model.model_version,
            len(records),
            time.perf_counter() - started,
            tuple(model.training.not_estimated if model.training else ()),
        )

    def store_model(
        self, principal: Principal, model: MatchModel, *, reason: str | None = None
    ) -> int:
        """Store a model trained elsewhere as the tenant's newest version; returns its version.

        Raises VALIDATION when the model does not fit the type's config.
        """
        tenant_id = self._tenant_of(principal, Action.ADMIN_WRITE, "er_model")
        model.check_fits(self._config(tenant_id, model.entity_type))
        return self._store_model(
            tenant_id, model.entity_type, model, actor=principal.actor, reason=reason
        )

    def _store_model(
        self, tenant_id: str, entity_type: str, model: MatchModel, *, actor: str, reason: str | None
    ) -> int:
        now = self._clock.now()
        record_count = model.training.record_count if model.training else 0
        with self._engine.begin() as conn:
            seq = repo.insert_model(
                conn,
                tenant_id,
                entity_type,
                {
                    "model_version": model.model_version,
                    "config_version": model.config_version,
                    "model": model.to_json(),
                    "record_count": record_count,
                    "trained_by": actor,
                    "reason": reason,
                    "created_at": now,
                },
            )
            audit.record(
                conn,
                tenant_id=tenant_id,
                actor=actor,
                action="er.model.store",
                target=f"er_model:{entity_type}:{seq}",
                at=now,
                reason=reason,
                new_value={"modelVersion": model.model_version, "records": record_count},
            )
        self._models.pop((tenant_id, entity_type), None)
        return seq

    def models(self, principal: Principal, entity_type: str | None = None) -> list[dict[str, Any]]:
        """The tenant's model versions, oldest first."""
        tenant_id = self._tenant_of(principal, Action.ENTITY_READ, "er_model")
        with self._engine.connect() as conn:
            rows = repo.list_models(conn, tenant_id, _optional_type(entity_type))
        return [
            {
                "entityType": r.entity_type,
                "seq": r.seq,
                "modelVersion": r.model_version,
                "configVersion": r.config_version,
                "records": r.record_count,
                "trainedBy": r.trained_by,
                "reason": r.reason,
                "createdAt": isoformat(r.created_at),
            }
            for r in rows
        ]

    # --- configs per entity type ----------------------------------------------------------

    def set_config(
        self,
        principal: Principal,
        document: str,
        *,
        entity_type: str | None = None,
        reason: str | None = None,
        source: str = "config",
    ) -> ConfigChange:
        """Store a comparisons config (YAML/JSON text) as the next version of the tenant's
        type, audited; a tenant admin's action.

        Raises VALIDATION naming every problem (nothing is stored), ER_STATE_CONFLICT when
        another admin stored a version at the same moment.
        """
        tenant_id = self._tenant_of(principal, Action.ADMIN_WRITE, "er_config")
        change = self.configs.set(
            tenant_id,
            document,
            entity_type=entity_type,
            actor=principal.actor,
            reason=reason,
            source=source,
        )
        is_fitted = self.live_model(tenant_id, change.config.entity_type) is not None
        return replace(change, needs_training=not is_fitted)

    def type_config(
        self, principal: Principal, entity_type: str, version: int | None = None
    ) -> TypeConfig:
        """The live config of the tenant's type (or one stored version).

        Raises ER_NOT_FOUND when the type has none (or no such version).
        """
        tenant_id = self._tenant_of(principal, Action.ENTITY_READ, "er_config")
        kind = _resolvable(entity_type)
        if version is not None:
            return self.configs.version(tenant_id, kind, version)
        found = self.configs.live(tenant_id, kind)
        if found is None:
            raise IntelGraphError(
                ER_NOT_FOUND,
                f"this tenant has no entity-resolution config for {kind}; a tenant admin "
                f"sets one with `intelgraph er config set TENANT --type {kind} FILE`",
            )
        return found

    def type_configs(self, principal: Principal) -> list[TypeConfig]:
        """Every stored config version of the tenant, then the packaged defaults in use."""
        tenant_id = self._tenant_of(principal, Action.ENTITY_READ, "er_config")
        return self.configs.listing(tenant_id)

    # --- thresholds --------------------------------------------------------------------

    def active_thresholds(self, tenant_id: str, entity_type: str) -> ThresholdsRecord:
        """The thresholds deciding the tenant's pairs of a type (defaults recorded as v1)."""
        with self._engine.connect() as conn:
            active = repo.thresholds_with_status(
                conn, tenant_id, entity_type, ThresholdStatus.ACTIVE
            )
        if active:
            return active[0]
        now = self._clock.now()
        default = ThresholdsRecord(
            id=new_id("thr"),
            tenant_id=tenant_id,
            entity_type=entity_type,
            version=0,
            thresholds=Thresholds(),
            status=ThresholdStatus.ACTIVE,
            origin=ThresholdOrigin.DEFAULT,
            proposed_by=SYSTEM_ACTOR,
            reason="packaged defaults",
            created_at=now,
            activated_at=now,
        )
        try:
            with self._engine.begin() as conn:
                return repo.insert_thresholds(conn, default)
        except IntegrityError:  # another thread recorded them first
            with self._engine.connect() as conn:
                active = repo.thresholds_with_status(
                    conn, tenant_id, entity_type, ThresholdStatus.ACTIVE
                )
            if not active:
                raise
            return active[0]

    def thresholds_history(
        self, principal: Principal, entity_type: str | None = None
    ) -> list[ThresholdsRecord]:
        """Every thresholds version of the tenant (of one type), oldest first."""
        tenant_id = self._tenant_of(principal, Action.ENTITY_READ, "er_thresholds")
        kind = _optional_type(entity_type)
        for each in [kind] if kind else self.configs.resolvable_types(tenant_id):
            self.active_thresholds(tenant_id, each)
        with self._engine.connect() as conn:
            return repo.list_thresholds(conn, tenant_id, kind)

    def tenant_of_thresholds(self, thresholds_id: str) -> str:
        """The tenant owning a thresholds record (the local CLI names records by id alone).

        Raises ER_NOT_FOUND.
        """
        with self._engine.connect() as conn:
            tenant_id = repo.tenant_of_thresholds(conn, thresholds_id)
        if tenant_id is None:
            raise IntelGraphError(ER_NOT_FOUND, f"no thresholds record {thresholds_id!r}")
        return tenant_id

    def propose_thresholds(
        self,
        principal: Principal,
        entity_type: str,
        *,
        auto_merge: float,
        review: float,
        reason: str | None,
    ) -> ThresholdsRecord:
        """Store a manual proposal; it decides nothing until another admin approves it.

        Raises VALIDATION for values outside (0, 1] or review above auto_merge.
        """
        tenant_id = self._tenant_of(principal, Action.ADMIN_WRITE, "er_thresholds")
        kind = _resolvable(entity_type)
        try:
            values = Thresholds(auto_merge=auto_merge, review=review)
        except ValueError as exc:
            raise IntelGraphError(VALIDATION, f"invalid thresholds: {_first_error(exc)}") from None
        return self._propose(
            tenant_id, kind, values, ThresholdOrigin.MANUAL, principal.actor, reason, None
        )

    def suggest_thresholds(
        self,
        principal: Principal,
        entity_type: str,
        *,
        precision_floor: float = DEFAULT_PRECISION_FLOOR,
        reason: str | None = None,
    ) -> ThresholdsRecord:
        """Sweep the latest run's scored pairs and store the best threshold as a proposal.

        Best = highest cluster-level F1 whose precision stays at or above the floor. Raises
        ER_FEATURE_DISABLED when suggestions are switched off, ER_STATE_CONFLICT without an
        evaluation run, VALIDATION when no threshold meets the floor.
        """
        tenant_id = self._tenant_of(principal, Action.ADMIN_WRITE, "er_thresholds")
        kind = _resolvable(entity_type)
        if not self._platform.get(SUGGESTIONS_SETTING, True):
            raise IntelGraphError(
                ER_FEATURE_DISABLED,
                "threshold suggestions are switched off on this platform "
                f"(platform setting {SUGGESTIONS_SETTING}); propose thresholds by hand",
            )
        if not 0.0 < precision_floor <= 1.0:
            raise IntelGraphError(VALIDATION, "the precision floor must be in (0, 1]")
        with self._engine.connect() as conn:
            latest = repo.runs(conn, tenant_id, kind, limit=1, with_pairs=True)
            golden = repo.golden_text(conn, tenant_id, latest[0].golden_id) if latest else None
        if not latest or golden is None:
            raise IntelGraphError(
                ER_STATE_CONFLICT,
                f"no evaluation of {kind} yet: add a golden set (`intelgraph er golden add`) "
                "and run `intelgraph er eval-nightly` first",
            )
        run = latest[0]
        truth = parse_golden_csv(golden.csv_text, source=golden.name).of_type(kind)
        pairs = [(str(a), str(b), float(p)) for a, b, p in run.scored_pairs]
        sweep = sweep_thresholds(pairs, truth.truth, min_precision=precision_floor)
        if sweep.best is None:
            raise IntelGraphError(
                VALIDATION,
                f"no threshold from 0.50 to 0.99 keeps cluster precision at or above "
                f"{precision_floor} on golden set {golden.name}; nothing was proposed",
            )
        active = self.active_thresholds(tenant_id, kind)
        best = sweep.best
        current = min(sweep.points, key=lambda p: abs(p.threshold - active.thresholds.auto_merge))
        expected = {
            "precision": best.precision,
            "recall": best.recall,
            "f1": best.f1,
            "precisionFloor": precision_floor,
            "runId": run.run_id,
            "goldenSet": golden.name,
            "atCurrentThresholds": {
                "autoMerge": active.thresholds.auto_merge,
                "precision": current.precision,
                "recall": current.recall,
                "f1": current.f1,
            },
        }
        values = Thresholds(
            auto_merge=best.threshold, review=min(active.thresholds.review, best.threshold)
        )
        return self._propose(
            tenant_id,
            kind,
            values,
            ThresholdOrigin.SUGGESTED,
            principal.actor,
            reason or f"suggested: best cluster F1 with precision >= {precision_floor}",
            expected,
        )

    def _propose(
        self,
        tenant_id: str,
        entity_type: str,
        values: Thresholds,
        origin: ThresholdOrigin,
        actor: str,
        reason: str | None,
        expected: dict[str, Any] | None,
    ) -> ThresholdsRecord:
        self.active_thresholds(tenant_id, entity_type)
        now = self._clock.now()
        proposal = ThresholdsRecord(
            id=new_id("thr"),
            tenant_id=tenant_id,
            entity_type=entity_type,
            version=0,
            thresholds=values,
            status=ThresholdStatus.PROPOSED,
            origin=origin,
            proposed_by=actor,
            reason=reason,
            created_at=now,
            expected=expected,
        )
        with self._engine.begin() as conn:
            stored = repo.insert_thresholds(conn, proposal)
            audit.record(
                conn,
                tenant_id=tenant_id,
                actor=actor,
                action="er.thresholds.propose",
                target=f"er_thresholds:{stored.id}",
                at=now,
                reason=reason,
                new_value=_threshold_values(stored),
            )
        return stored

    def approve_thresholds(
        self, principal: Principal, thresholds_id: str, *, reason: str | None
    ) -> ThresholdsRecord:
        """Make a proposal the live thresholds, recording baseline F1s on the golden sets.

        Raises ER_NOT_FOUND, ER_STATE_CONFLICT (not a proposal), ER_SELF_APPROVAL (the
        proposer cannot approve).
        """
        tenant_id = self._tenant_of(principal, Action.ADMIN_WRITE, "er_thresholds")
        proposal = self._thresholds(tenant_id, thresholds_id)
        try:
            check_can_decide(proposal, principal.actor, approving=True)
        except IntelGraphError:
            audit.record_now(
                self._engine,
                tenant_id=tenant_id,
                actor=principal.actor,
                action="er.thresholds.approve_refused",
                target=f"er_thresholds:{thresholds_id}",
                at=self._clock.now(),
                reason=reason,
            )
            raise
        runs, _ = self.quality.evaluate(tenant_id, proposal.entity_type, proposal, kind="approval")
        baselines = {
            run.golden_id: {
                "f1": run.f1,
                "runId": run.id,
                "recordedAt": isoformat(run.started_at),
            }
            for run in runs
        }
        now = self._clock.now()
        with self._engine.begin() as conn:
            current = repo.get_thresholds(conn, tenant_id, thresholds_id)
            assert current is not None
            check_can_decide(current, principal.actor, approving=True)
            previous = repo.thresholds_with_status(
                conn, tenant_id, proposal.entity_type, ThresholdStatus.ACTIVE
            )
            for record in previous:
                repo.update_thresholds(
                    conn, tenant_id, record.id, status=ThresholdStatus.RETIRED.value
                )
            repo.update_thresholds(
                conn,
                tenant_id,
                thresholds_id,
                status=ThresholdStatus.ACTIVE.value,
                decided_by=principal.actor,
                decided_at=now,
                decision_reason=reason,
                activated_at=now,
                baselines=baselines,
            )
            approved = repo.get_thresholds(conn, tenant_id, thresholds_id)
            assert approved is not None
            audit.record(
                conn,
                tenant_id=tenant_id,
                actor=principal.actor,
                action="er.thresholds.approve",
                target=f"er_thresholds:{thresholds_id}",
                at=now,
                reason=reason,
                old_value=_threshold_values(previous[0]) if previous else None,
                new_value=_threshold_values(approved) | {"baselines": baselines},
            )
        return approved

    def reject_thresholds(
        self, principal: Principal, thresholds_id: str, *, reason: str | None
    ) -> ThresholdsRecord:
        """Turn a proposal down; raises ER_NOT_FOUND or ER_STATE_CONFLICT."""
        tenant_id = self._tenant_of(principal, Action.ADMIN_WRITE, "er_thresholds")
        proposal = self._thresholds(tenant_id, thresholds_id)
        check_can_decide(proposal, principal.actor, approving=False)
        now = self._clock.now()
        with self._engine.begin() as conn:
            repo.update_thresholds(
                conn,
                tenant_id,
                thresholds_id,
                status=ThresholdStatus.REJECTED.value,
                decided_by=principal.actor,
                decided_at=now,
                decision_reason=reason,
            )
            audit.record(
                conn,
                tenant_id=tenant_id,
                actor=principal.actor,
                action="er.thresholds.reject",
                target=f"er_thresholds:{thresholds_id}",
                at=now,
                reason=reason,
                old_value=_threshold_values(proposal),
            )
            rejected = repo.get_thresholds(conn, tenant_id, thresholds_id)
        assert rejected is not None
        return rejected

    def rollback_thresholds(
        self, principal: Principal, entity_type: str, *, reason: str | None
    ) -> Rollback:
        """Restore the previously approved thresholds at once (timed, audited).

        Raises ER_STATE_CONFLICT when there is no earlier approved version.
        """
        tenant_id = self._tenant_of(principal, Action.ADMIN_WRITE, "er_thresholds")
        kind = _resolvable(entity_type)
        self.active_thresholds(tenant_id, kind)
        started = time.perf_counter()
        now = self._clock.now()
        with self._engine.begin() as conn:
            active = repo.thresholds_with_status(conn, tenant_id, kind, ThresholdStatus.ACTIVE)
            retired = repo.thresholds_with_status(conn, tenant_id, kind, ThresholdStatus.RETIRED)
            if not retired:
                raise IntelGraphError(
                    ER_STATE_CONFLICT,
                    f"no earlier approved {kind} thresholds to roll back to "
                    f"(live: v{active[0].version})",
                )
            undone, restored = active[0], retired[0]
            repo.update_thresholds(
                conn, tenant_id, undone.id, status=ThresholdStatus.ROLLED_BACK.value
            )
            repo.update_thresholds(
                conn,
                tenant_id,
                restored.id,
                status=ThresholdStatus.ACTIVE.value,
                activated_at=now,
            )
            audit.record(
                conn,
                tenant_id=tenant_id,
                actor=principal.actor,
                action="er.thresholds.rollback",
                target=f"er_thresholds:{restored.id}",
                at=now,
                reason=reason,
                old_value=_threshold_values(undone),
                new_value=_threshold_values(restored),
            )
            undone = repo.get_thresholds(conn, tenant_id, undone.id) or undone
            restored = repo.get_thresholds(conn, tenant_id, restored.id) or restored
        return Rollback(undone, restored, time.perf_counter() - started)

    def _thresholds(self, tenant_id: str, thresholds_id: str) -> ThresholdsRecord:
        with self._engine.connect() as conn:
            record = repo.get_thresholds(conn, tenant_id, thresholds_id)
        if record is None:
            raise IntelGraphError(
                ER_NOT_FOUND, f"no thresholds record {thresholds_id!r} in this tenant"
            )
        return record

    # --- golden sets and quality -------------------------------------------------------

    def add_golden_set(self, principal: Principal, csv_text: str, *, name: str) -> dict[str, Any]:
        """Register a golden set for the tenant; raises VALIDATION naming what is wrong."""
        tenant_id = self._tenant_of(principal, Action.ADMIN_WRITE, "er_golden_set")
        golden = parse_golden_csv(csv_text, source=name)
        unconfigured = [
            t for t in golden.entity_types if not self.configs.is_resolvable(tenant_id, t)
        ]
        if unconfigured:
            raise IntelGraphError(
                VALIDATION,
                f"golden set {name}: this tenant has no entity-resolution config for "
                f"{', '.join(unconfigured)}; store one first with `intelgraph er config set "
                f"TENANT --type {unconfigured[0]} FILE` (a misspelt entity_type shows up here "
                "too)",
            )
        counts: dict[str, int] = {}
        for record in golden.records:
            counts[record.entity_type] = counts.get(record.entity_type, 0) + 1
        now = self._clock.now()
        golden_id = new_id("gld")
        digest = hashlib.sha256(csv_text.encode("utf-8")).hexdigest()
        with self._engine.begin() as conn:
            repo.insert_golden(
                conn,
                tenant_id,
                {
                    "golden_id": golden_id,
                    "name": name[:200],
                    "csv_text": csv_text,
                    "sha256": digest,
                    "record_counts": counts,
                    "created_by": principal.actor,
                    "created_at": now,
                },
            )
            audit.record(
                conn,
                tenant_id=tenant_id,
                actor=principal.actor,
                action="er.golden.add",
                target=f"er_golden_set:{golden_id}",
                at=now,
                new_value={"name": name, "sha256": digest, "records": counts},
            )
        return {
            "id": golden_id,
            "name": name,
            "sha256": digest,
            "records": counts,
            "createdBy": principal.actor,
            "createdAt": isoformat(now),
        }

    def golden_sets(self, principal: Principal) -> list[dict[str, Any]]:
        """The tenant's golden sets (without their records)."""
        tenant_id = self._tenant_of(principal, Action.ENTITY_READ, "er_golden_set")
        with self._engine.connect() as conn:
            rows = repo.list_golden(conn, tenant_id)
        return [
            {
                "id": r.golden_id,
                "name": r.name,
                "sha256": r.sha256,
                "records": r.record_counts,
                "createdBy": r.created_by,
                "createdAt": isoformat(r.created_at),
            }
            for r in rows
        ]

    def run_nightly(self, tenant_ids: Sequence[str] | None = None) -> NightlyReport:
        """The nightly job: evaluate golden sets, store runs, raise drift alerts (job lock)."""
        return self.quality.run_nightly(tenant_ids)

    def refresh_gauges(self) -> int:
        """Set every tenant's ER gauges from the store (each replica, periodically)."""
        return self.quality.refresh_gauges()

    def runs(
        self, principal: Principal, entity_type: str | None = None, limit: int = 50
    ) -> list[StoredRun]:
        """The tenant's evaluation runs, newest first."""
        tenant_id = self._tenant_of(principal, Action.ENTITY_READ, "er_run")
        with self._engine.connect() as conn:
            rows = repo.runs(conn, tenant_id, _optional_type(entity_type), limit=limit)
        return [StoredRun.from_row(r) for r in rows]

    def alerts(
        self, principal: Principal, entity_type: str | None = None, limit: int = 50
    ) -> list[DriftAlert]:
        """The tenant's drift alerts, newest first."""
        tenant_id = self._tenant_of(principal, Action.ENTITY_READ, "er_alert")
        with self._engine.connect() as conn:
            rows = repo.alerts(conn, tenant_id, _optional_type(entity_type), limit=limit)
        return [DriftAlert.from_row(r) for r in rows]

    def drift_history(self, tenant_id: str, entity_type: str, limit: int = 365) -> DriftHistory:
        """F1 of the tenant's runs over time (oldest first), the live baseline, alerts and
        the drift checks' current measures."""
        kind = _resolvable(entity_type)
        thresholds = self.active_thresholds(tenant_id, kind)
        with self._engine.connect() as conn:
            rows = repo.runs(conn, tenant_id, kind, limit=limit)
            alert_rows = repo.alerts(conn, tenant_id, kind, limit=limit)
        baselines = [float(b["f1"]) for b in thresholds.baselines.values()]
        return DriftHistory(
            tenant_id,
            kind,
            [StoredRun.from_row(r) for r in reversed(rows)],
            min(baselines) if baselines else None,
            self.quality.policy.max_f1_drop,
            [DriftAlert.from_row(r) for r in alert_rows],
            self.quality.measure(tenant_id, kind, thresholds),
        )

    # --- clusters ----------------------------------------------------------------------

    def resolution_of(self, principal: Principal, entity_id: str) -> EntityResolution | None:
        """Where an entity stands (cluster, members, decision); None for an unknown entity
        or a type that is not resolved."""
        tenant_id = self._tenant_of(principal, Action.ENTITY_READ, "entity")
        with self._engine.connect() as conn:
            membership = repo.membership_of(conn, tenant_id, entity_id)
            kind = None
            if membership is None:
                kind = repo.entity_types_of(conn, tenant_id, [entity_id]).get(entity_id)
        if membership is None:
            if kind is None or not self.configs.is_resolvable(tenant_id, kind):
                return None
            return EntityResolution(entity_id, kind, None, (), "UNRESOLVED")
        with self._engine.connect() as conn:
            members = repo.members_of(conn, tenant_id, [membership.cluster_id])
            in_review = repo.has_open_review(conn, tenant_id, entity_id)
        return EntityResolution(
            entity_id,
            membership.entity_type,
            membership.cluster_id,
            tuple(members.get(membership.cluster_id, [entity_id])),
            "REVIEW" if in_review else membership.decision.value,
        )

    def cluster(self, principal: Principal, cluster_id: str) -> dict[str, Any]:
        """A cluster's members and merge history; raises ER_NOT_FOUND."""
        tenant_id = self._tenant_of(principal, Action.ENTITY_READ, "er_cluster")
        with self._engine.connect() as conn:
            row = repo.cluster_row(conn, tenant_id, cluster_id)
            if row is None:
                raise IntelGraphError(ER_NOT_FOUND, f"no cluster {cluster_id!r} in this tenant")
            members = repo.members_of(conn, tenant_id, [cluster_id]).get(cluster_id, [])
            events = repo.events_of_clusters(conn, tenant_id, [cluster_id])
        return {
            "clusterId": cluster_id,
            "entityType": row.entity_type,
            "members": members,
            "createdAt": isoformat(row.created_at),
            "retiredAt": _now_iso(row.retired_at),
            "mergedInto": row.merged_into,
            "history": [e.as_dict() for e in events],
        }

    def split(
        self, principal: Principal, entity_ids: Sequence[str], *, reason: str | None
    ) -> MergeEvent:
        """Detach entities (of one cluster) into a new cluster, audited and revertible.

        Raises VALIDATION, ER_NOT_FOUND.
        """
        tenant_id = self._tenant_of(principal, Action.ADMIN_WRITE, "er_cluster")
        ids = sorted(set(entity_ids))
        entity_type = self._type_of_resolved(tenant_id, ids)

        def change(
            conn: Any, next_ordinal: int
        ) -> tuple[MergeEvent | None, curation.ClusterChange]:
            return curation.split_records(
                conn,
                tenant_id,
                ids,
                actor=principal.actor,
                reason=reason,
                now=self._clock.now(),
                next_ordinal=next_ordinal,
            )

        event = self._curate(tenant_id, entity_type, principal.actor, "er.split", reason, change)
        assert event is not None
        return event

    def revert(self, principal: Principal, event_id: str, *, reason: str | None) -> MergeEvent:
        """Undo a merge or split event, audited; raises ER_NOT_FOUND, ER_STATE_CONFLICT."""
        tenant_id = self._tenant_of(principal, Action.ADMIN_WRITE, "er_cluster")
        with self._engine.connect() as conn:
            event = repo.get_event(conn, tenant_id, event_id)
        if event is None:
            raise IntelGraphError(ER_NOT_FOUND, f"no merge event {event_id!r} in this tenant")

        def change(
            conn: Any, next_ordinal: int
        ) -> tuple[MergeEvent | None, curation.ClusterChange]:
            return curation.revert_event(
                conn,
                tenant_id,
                event_id,
                actor=principal.actor,
                reason=reason,
                now=self._clock.now(),
                next_ordinal=next_ordinal,
            )

        reverted = self._curate(
            tenant_id, event.entity_type, principal.actor, "er.revert", reason, change
        )
        assert reverted is not None
        return reverted

    def _type_of_resolved(self, tenant_id: str, ids: Sequence[str]) -> str:
        if not ids:
            raise IntelGraphError(VALIDATION, "name at least one entity")
        with self._engine.connect() as conn:
            found = repo.memberships_of(conn, tenant_id, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise IntelGraphError(
                ER_NOT_FOUND,
                f"entities not in any cluster of this tenant: {', '.join(missing[:5])}",
            )
        return found[ids[0]].entity_type

    def _curate(
        self,
        tenant_id: str,
        entity_type: str,
        actor: str,
        action: str,
        reason: str | None,
        change: Callable[[Any, int], tuple[MergeEvent | None, curation.ClusterChange]],
        before: Callable[[Any], None] | None = None,
    ) -> MergeEvent | None:
        """Run a cluster change in one transaction after bumping the revision; audit it;
        keep this process's in-memory index in step."""
        with self.online.tenant_lock(tenant_id):
            now = self._clock.now()
            with self._engine.begin() as conn:
                revision, next_ordinal = repo.bump_state(conn, tenant_id, entity_type, now)
                if before is not None:
                    before(conn)
                event, made = change(conn, next_ordinal)
                if event is not None:
                    audit.record(
                        conn,
                        tenant_id=tenant_id,
                        actor=actor,
                        action=action,
                        target=f"er_cluster:{event.cluster_id}",
                        at=now,
                        reason=reason,
                        old_value={"before": event.before},
                        new_value={"after": event.after, "eventId": event.id},
                    )
            live = self.online.cached(tenant_id, entity_type)
            if live is not None and live.revision == revision - 1:
                live.index.assignment = made.apply(live.index.assignment)
                live.revision = revision
            elif live is not None:
                self.online.drop(tenant_id, entity_type)
        return event

    def explain_match(self, principal: Principal, a: str, b: str) -> MatchExplanation:
        """Each comparison's level and weight for two entities under the live model.

        Raises ENTITY_NOT_FOUND, VALIDATION (different or unresolved types, same entity),
        ER_NO_MODEL (nothing trained yet).
        """
        tenant_id = self._tenant_of(principal, Action.ENTITY_READ, "entity")
        if a == b:
            raise IntelGraphError(VALIDATION, "explainMatch needs two different entities")
        with self._engine.connect() as conn:
            types = repo.entity_types_of(conn, tenant_id, [a, b])
        for wanted in (a, b):
            if wanted not in types:
                raise IntelGraphError(
                    ENTITY_NOT_FOUND, f"no entity with id {wanted!r} in this tenant", {"id": wanted}
                )
        if types[a] != types[b]:
            raise IntelGraphError(
                VALIDATION, f"{a} is {types[a]} and {b} is {types[b]}: only like types match"
            )
        kind = types[a]
        if not self.configs.is_resolvable(tenant_id, kind):
            raise IntelGraphError(
                VALIDATION,
                f"{kind} entities are not resolved in this tenant: it has no entity-resolution "
                f"config for {kind} (a tenant admin sets one with `intelgraph er config set`)",
            )
        live = self.live_model(tenant_id, kind)
        if live is None:
            raise IntelGraphError(
                ER_NO_MODEL,
                f"no {kind} model fitting the live config has been trained for this tenant "
                "yet; run `intelgraph er train` or ingest more records",
            )
        seq, model = live
        with self._engine.connect() as conn:
            rows = {r.entity_id: r for r in repo.entity_rows(conn, tenant_id, kind, [a, b])}
        left, right = (
            entity_record(rows[x].entity_id, rows[x].type, rows[x].label, rows[x].attributes)
            for x in (a, b)
        )
        with self.online.tenant_lock(tenant_id):
            index, _ = self.online.index_for(tenant_id, kind)
            frequencies = index.index.frequencies
            pair = explain(model, self._config(tenant_id, kind), left, right, frequencies)
        thresholds = self.active_thresholds(tenant_id, kind)
        return MatchExplanation.of(
            pair,
            entity_type=kind,
            model_seq=seq,
            model_version=model.model_version,
            thresholds_version=thresholds.version,
            decision=decide(pair.match_probability, thresholds.thresholds).value,
        )

    # --- review queue ------------------------------------------------------------------

    def review_items(
        self,
        principal: Principal,
        *,
        status: str | None = "OPEN",
        entity_type: str | None = None,
        limit: int = 100,
    ) -> list[ReviewItem]:
        """The tenant's review items (open ones by default), oldest first."""
        tenant_id = self._tenant_of(principal, Action.ENTITY_READ, "er_review")
        wanted = None
        if status is not None:
            try:
                wanted = ReviewStatus(status.upper()).value
            except ValueError:
                known = ", ".join(s.value for s in ReviewStatus)
                raise IntelGraphError(
                    VALIDATION, f"unknown review status {status!r}: one of {known}"
                ) from None
        with self._engine.connect() as conn:
            return repo.list_review_items(
                conn, tenant_id, wanted, _optional_type(entity_type), limit
            )

    def approve_review(
        self, principal: Principal, item_id: str, *, reason: str | None
    ) -> ReviewItem:
        """Merge the item's records (oldest cluster id survives), audited.

        Raises ER_NOT_FOUND, ER_STATE_CONFLICT (already decided).
        """
        tenant_id = self._tenant_of(principal, Action.ADMIN_WRITE, "er_review")
        item = self._open_item(tenant_id, item_id)

        def close(conn: Any) -> None:
            if not repo.decide_review_item(
                conn,
                tenant_id,
                item_id,
                ReviewStatus.APPROVED,
                principal.actor,
                reason,
                self._clock.now(),
            ):
                raise IntelGraphError(
                    ER_STATE_CONFLICT, f"review item {item_id} was already decided"
                )
            audit.record(
                conn,
                tenant_id=tenant_id,
                actor=principal.actor,
                action="er.review.approve",
                target=f"er_review:{item_id}",
                at=self._clock.now(),
                reason=reason,
                new_value={"members": list(item.members)},
            )

        def merge(conn: Any, next_ordinal: int) -> tuple[MergeEvent | None, curation.ClusterChange]:
            return curation.merge_clusters(
                conn,
                tenant_id,
                item.entity_type,
                list(item.members),
                actor=principal.actor,
                reason=reason,
                evidence={
                    "reviewItem": item_id,
                    "matchProbability": item.match_probability,
                    "matchWeight": item.match_weight,
                },
                now=self._clock.now(),
                next_ordinal=next_ordinal,
            )

        self._curate(
            tenant_id, item.entity_type, principal.actor, "er.merge", reason, merge, before=close
        )
        with self._engine.connect() as conn:
            decided = repo.get_review_item(conn, tenant_id, item_id)
        assert decided is not None
        return decided

    def reject_review(
        self, principal: Principal, item_id: str, *, reason: str | None
    ) -> ReviewItem:
        """Keep the item's records apart from now on (a NO_MATCH decision), audited.

        Raises ER_NOT_FOUND, ER_STATE_CONFLICT (already decided).
        """
        tenant_id = self._tenant_of(principal, Action.ADMIN_WRITE, "er_review")
        item = self._open_item(tenant_id, item_id)
        now = self._clock.now()
        with self._engine.begin() as conn:
            if not repo.decide_review_item(
                conn, tenant_id, item_id, ReviewStatus.REJECTED, principal.actor, reason, now
            ):
                raise IntelGraphError(
                    ER_STATE_CONFLICT, f"review item {item_id} was already decided"
                )
            if item.kind is ReviewKind.PAIR:
                repo.set_override(
                    conn,
                    tenant_id,
                    item.entity_type,
                    (item.members[0], item.members[1]),
                    curation.NO_MATCH,
                    principal.actor,
                    reason,
                    now,
                )
            audit.record(
                conn,
                tenant_id=tenant_id,
                actor=principal.actor,
                action="er.review.reject",
                target=f"er_review:{item_id}",
                at=now,
                reason=reason,
                new_value={"members": list(item.members)},
            )
            decided = repo.get_review_item(conn, tenant_id, item_id)
        assert decided is not None
        return decided

    def _open_item(self, tenant_id: str, item_id: str) -> ReviewItem:
        with self._engine.connect() as conn:
            item = repo.get_review_item(conn, tenant_id, item_id)
        if item is None:
            raise IntelGraphError(ER_NOT_FOUND, f"no review item {item_id!r} in this tenant")
        if item.status is not ReviewStatus.OPEN:
            raise IntelGraphError(
                ER_STATE_CONFLICT,
                f"review item {item_id} was already {item.status.value} by {item.decided_by}",
            )
        return item

    # --- status ------------------------------------------------------------------------

    def tenant_status(self, principal: Principal) -> list[dict[str, Any]]:
        """``status`` of the principal's tenant."""
        return self.status(self._tenant_of(principal, Action.ENTITY_READ, "er_status"))

    def status(self, tenant_id: str) -> list[dict[str, Any]]:
        """Per resolvable type: records, resolved, waiting, model, thresholds, open review."""
        pending = self.worker.pending().get(tenant_id, 0)
        report = []
        for kind in self.configs.resolvable_types(tenant_id):
            with self._engine.connect() as conn:
                total = repo.count_entities(conn, tenant_id, kind)
                unresolved = len(repo.unresolved_entity_ids(conn, tenant_id, kind))
                seq = repo.latest_model_seq(conn, tenant_id, kind)
                open_items = len(
                    repo.list_review_items(conn, tenant_id, ReviewStatus.OPEN.value, kind, 10_000)
                )
            thresholds = self.active_thresholds(tenant_id, kind)
            live = self.live_model(tenant_id, kind)
            live_config = self.configs.live(tenant_id, kind)
            if live is None and seq is not None and total >= self.min_training_records:
                state = (
                    f"model v{seq} predates the live config: retrained when the next {kind} "
                    "entities arrive (or run `intelgraph er train`)"
                )
            elif live is None and seq is not None:
                state = "model predates the live config: run `intelgraph er train`"
            elif live is None and total < self.min_training_records:
                state = (
                    f"waiting: {total} of {self.min_training_records} records needed to train "
                    "on first use (or run `intelgraph er train`)"
                )
            elif unresolved:
                state = f"{unresolved} record(s) waiting for online resolution"
            else:
                state = "up to date"
            report.append(
                {
                    "entityType": kind,
                    "records": total,
                    "resolved": total - unresolved,
                    "unresolved": unresolved,
                    "queuedInWorker": pending,
                    "modelSeq": seq,
                    "modelVersion": live[1].model_version if live else None,
                    "configOrigin": live_config.origin if live_config else None,
                    "configVersion": live_config.version if live_config else None,
                    "thresholdsVersion": thresholds.version,
                    "autoMerge": thresholds.thresholds.auto_merge,
                    "review": thresholds.thresholds.review,
                    "openReviewItems": open_items,
                    "state": state,
                }
            )
        return report

    # --- helpers -------------------------------------------------------------------------

    def _config(self, tenant_id: str, entity_type: str) -> ResolutionConfig:
        return self.configs.config_for(tenant_id, entity_type)

    def _tenant_of(self, principal: Principal, action: Action, kind: str) -> str:
        self._policy.authorize(principal, action, kind, principal.tenant_id)
        if principal.tenant_id is None:
            raise IntelGraphError(VALIDATION, "this action needs a tenant API key")
        return principal.tenant_id


def _resolvable(entity_type: str) -> str:
    return parse_entity_type(entity_type)


def _optional_type(entity_type: str | None) -> str | None:
    return None if entity_type is None else _resolvable(entity_type)


def _threshold_values(record: ThresholdsRecord) -> dict[str, Any]:
    return {
        "version": record.version,
        "autoMerge": record.thresholds.auto_merge,
        "review": record.thresholds.review,
        "status": record.status.value,
    }


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        found = errors()
        if found:
            return str(found[0].get("msg", exc)).removeprefix("Value error, ")
    return str(exc)
