"""``service.thresholds``: the match-probability thresholds deciding a tenant's pairs of a
type, changed only by a proposal (manual or suggested from the latest run) that another
admin approves; approvals record baseline F1s, rollbacks restore the previous version."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from intelgraph.audit import service as audit
from intelgraph.er.components.dependencies import SYSTEM_ACTOR, ERDependencies
from intelgraph.er.components.evaluation import EREvaluation
from intelgraph.er.engine.decisions import Thresholds
from intelgraph.er.engine.drift import sweep_thresholds
from intelgraph.er.engine.golden import parse_golden_csv
from intelgraph.er.engine.records import parse_entity_type, parse_optional_entity_type
from intelgraph.er.governance import (
    SUGGESTIONS_SETTING,
    ThresholdOrigin,
    ThresholdsRecord,
    ThresholdStatus,
    check_can_decide,
)
from intelgraph.er.repository import golden_sets as golden_repo
from intelgraph.er.repository import quality as quality_repo
from intelgraph.er.repository import thresholds as threshold_repo
from intelgraph.er.type_configs import TypeConfigs
from intelgraph.kernel.clock import isoformat
from intelgraph.kernel.errors import (
    ER_FEATURE_DISABLED,
    ER_NOT_FOUND,
    ER_STATE_CONFLICT,
    VALIDATION,
    IntelGraphError,
)
from intelgraph.kernel.ids import new_id
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy.actions import Action

DEFAULT_PRECISION_FLOOR = 0.985


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


class ERThresholds:
    """Thresholds versions per tenant and type, and their governance."""

    def __init__(
        self, deps: ERDependencies, configs: TypeConfigs, evaluation: EREvaluation
    ) -> None:
        self._deps = deps
        self._configs = configs
        self._evaluation = evaluation

    def active(self, tenant_id: str, entity_type: str) -> ThresholdsRecord:
        """The thresholds deciding the tenant's pairs of a type (defaults recorded as v1)."""
        engine = self._deps.engine
        with engine.connect() as conn:
            active = threshold_repo.thresholds_with_status(
                conn, tenant_id, entity_type, ThresholdStatus.ACTIVE
            )
        if active:
            return active[0]
        now = self._deps.clock.now()
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
            with engine.begin() as conn:
                return threshold_repo.insert_thresholds(conn, default)
        except IntegrityError:  # another thread recorded them first
            with engine.connect() as conn:
                active = threshold_repo.thresholds_with_status(
                    conn, tenant_id, entity_type, ThresholdStatus.ACTIVE
                )
            if not active:
                raise
            return active[0]

    def history(
        self, principal: Principal, entity_type: str | None = None
    ) -> list[ThresholdsRecord]:
        """Every thresholds version of the tenant (of one type), oldest first."""
        tenant_id = self._deps.tenant_of(principal, Action.ENTITY_READ, "er_thresholds")
        kind = parse_optional_entity_type(entity_type)
        for each in [kind] if kind else self._configs.resolvable_types(tenant_id):
            self.active(tenant_id, each)
        with self._deps.engine.connect() as conn:
            return threshold_repo.list_thresholds(conn, tenant_id, kind)

    def tenant_of(self, thresholds_id: str) -> str:
        """The tenant owning a thresholds record (the local CLI names records by id alone).

        Raises ER_NOT_FOUND.
        """
        with self._deps.engine.connect() as conn:
            tenant_id = threshold_repo.tenant_of_thresholds(conn, thresholds_id)
        if tenant_id is None:
            raise IntelGraphError(ER_NOT_FOUND, f"no thresholds record {thresholds_id!r}")
        return tenant_id

    def propose(
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
        tenant_id = self._deps.tenant_of(principal, Action.ADMIN_WRITE, "er_thresholds")
        kind = parse_entity_type(entity_type)
        try:
            values = Thresholds(auto_merge=auto_merge, review=review)
        except ValueError as exc:
            raise IntelGraphError(VALIDATION, f"invalid thresholds: {_first_error(exc)}") from None
        return self._propose(
            tenant_id, kind, values, ThresholdOrigin.MANUAL, principal.actor, reason, None
        )

    def suggest(
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
        tenant_id = self._deps.tenant_of(principal, Action.ADMIN_WRITE, "er_thresholds")
        kind = parse_entity_type(entity_type)
        if not self._deps.platform.get(SUGGESTIONS_SETTING, True):
            raise IntelGraphError(
                ER_FEATURE_DISABLED,
                "threshold suggestions are switched off on this platform "
                f"(platform setting {SUGGESTIONS_SETTING}); propose thresholds by hand",
            )
        if not 0.0 < precision_floor <= 1.0:
            raise IntelGraphError(VALIDATION, "the precision floor must be in (0, 1]")
        with self._deps.engine.connect() as conn:
            latest = quality_repo.runs(conn, tenant_id, kind, limit=1, with_pairs=True)
            golden = (
                golden_repo.golden_text(conn, tenant_id, latest[0].golden_id) if latest else None
            )
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
        active = self.active(tenant_id, kind)
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
        self.active(tenant_id, entity_type)
        now = self._deps.clock.now()
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
        with self._deps.engine.begin() as conn:
            stored = threshold_repo.insert_thresholds(conn, proposal)
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

    def approve(
        self, principal: Principal, thresholds_id: str, *, reason: str | None
    ) -> ThresholdsRecord:
        """Make a proposal the live thresholds, recording baseline F1s on the golden sets.

        Raises ER_NOT_FOUND, ER_STATE_CONFLICT (not a proposal), ER_SELF_APPROVAL (the
        proposer cannot approve).
        """
        tenant_id = self._deps.tenant_of(principal, Action.ADMIN_WRITE, "er_thresholds")
        proposal = self._get(tenant_id, thresholds_id)
        try:
            check_can_decide(proposal, principal.actor, approving=True)
        except IntelGraphError:
            audit.record_now(
                self._deps.engine,
                tenant_id=tenant_id,
                actor=principal.actor,
                action="er.thresholds.approve_refused",
                target=f"er_thresholds:{thresholds_id}",
                at=self._deps.clock.now(),
                reason=reason,
            )
            raise
        runs, _ = self._evaluation.evaluate(
            tenant_id, proposal.entity_type, proposal, kind="approval"
        )
        baselines = {
            run.golden_id: {
                "f1": run.f1,
                "runId": run.id,
                "recordedAt": isoformat(run.started_at),
            }
            for run in runs
        }
        now = self._deps.clock.now()
        with self._deps.engine.begin() as conn:
            current = threshold_repo.get_thresholds(conn, tenant_id, thresholds_id)
            assert current is not None
            check_can_decide(current, principal.actor, approving=True)
            previous = threshold_repo.thresholds_with_status(
                conn, tenant_id, proposal.entity_type, ThresholdStatus.ACTIVE
            )
            for record in previous:
                threshold_repo.update_thresholds(
                    conn, tenant_id, record.id, status=ThresholdStatus.RETIRED.value
                )
            threshold_repo.update_thresholds(
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
            approved = threshold_repo.get_thresholds(conn, tenant_id, thresholds_id)
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

    def reject(
        self, principal: Principal, thresholds_id: str, *, reason: str | None
    ) -> ThresholdsRecord:
        """Turn a proposal down; raises ER_NOT_FOUND or ER_STATE_CONFLICT."""
        tenant_id = self._deps.tenant_of(principal, Action.ADMIN_WRITE, "er_thresholds")
        proposal = self._get(tenant_id, thresholds_id)
        check_can_decide(proposal, principal.actor, approving=False)
        now = self._deps.clock.now()
        with self._deps.engine.begin() as conn:
            threshold_repo.update_thresholds(
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
            rejected = threshold_repo.get_thresholds(conn, tenant_id, thresholds_id)
        assert rejected is not None
        return rejected

    def rollback(self, principal: Principal, entity_type: str, *, reason: str | None) -> Rollback:
        """Restore the previously approved thresholds at once (timed, audited).

        Raises ER_STATE_CONFLICT when there is no earlier approved version.
        """
        tenant_id = self._deps.tenant_of(principal, Action.ADMIN_WRITE, "er_thresholds")
        kind = parse_entity_type(entity_type)
        self.active(tenant_id, kind)
        started = time.perf_counter()
        now = self._deps.clock.now()
        with self._deps.engine.begin() as conn:
            active = threshold_repo.thresholds_with_status(
                conn, tenant_id, kind, ThresholdStatus.ACTIVE
            )
            retired = threshold_repo.thresholds_with_status(
                conn, tenant_id, kind, ThresholdStatus.RETIRED
            )
            if not retired:
                raise IntelGraphError(
                    ER_STATE_CONFLICT,
                    f"no earlier approved {kind} thresholds to roll back to "
                    f"(live: v{active[0].version})",
                )
            undone, restored = active[0], retired[0]
            threshold_repo.update_thresholds(
                conn, tenant_id, undone.id, status=ThresholdStatus.ROLLED_BACK.value
            )
            threshold_repo.update_thresholds(
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
            undone = threshold_repo.get_thresholds(conn, tenant_id, undone.id) or undone
            restored = threshold_repo.get_thresholds(conn, tenant_id, restored.id) or restored
        return Rollback(undone, restored, time.perf_counter() - started)

    def _get(self, tenant_id: str, thresholds_id: str) -> ThresholdsRecord:
        with self._deps.engine.connect() as conn:
            record = threshold_repo.get_thresholds(conn, tenant_id, thresholds_id)
        if record is None:
            raise IntelGraphError(
                ER_NOT_FOUND, f"no thresholds record {thresholds_id!r} in this tenant"
            )
        return record


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
