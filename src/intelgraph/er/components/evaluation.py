"""``service.evaluation``: a tenant's golden sets, and evaluations of them with the live
model (stored as runs: each nightly pass, each thresholds approval)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from intelgraph.audit import service as audit
from intelgraph.er.components.dependencies import ERDependencies
from intelgraph.er.components.training import ERTraining
from intelgraph.er.engine.golden import GoldenSet, parse_golden_csv
from intelgraph.er.engine.records import parse_optional_entity_type
from intelgraph.er.engine.runs import evaluate_golden
from intelgraph.er.governance import ThresholdsRecord
from intelgraph.er.repository import golden_sets as golden_repo
from intelgraph.er.repository import quality as quality_repo
from intelgraph.er.repository import thresholds as threshold_repo
from intelgraph.er.type_configs import TypeConfigs
from intelgraph.kernel.clock import isoformat
from intelgraph.kernel.errors import VALIDATION, IntelGraphError
from intelgraph.kernel.ids import new_id
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy.actions import Action
from intelgraph.store.engine import as_utc


@dataclass(frozen=True)
class StoredRun:
    """One evaluation of one golden set and entity type, as stored."""

    id: str
    tenant_id: str
    entity_type: str
    golden_id: str
    kind: str
    model_seq: int | None
    model_version: str | None
    thresholds_id: str | None
    thresholds_version: int | None
    f1: float
    metrics: dict[str, Any]
    record_count: int
    duration_seconds: float
    started_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> StoredRun:
        return cls(
            id=row.run_id,
            tenant_id=row.tenant_id,
            entity_type=row.entity_type,
            golden_id=row.golden_id,
            kind=row.kind,
            model_seq=row.model_seq,
            model_version=row.model_version,
            thresholds_id=row.thresholds_id,
            thresholds_version=row.thresholds_version,
            f1=float(row.f1),
            metrics=row.metrics,
            record_count=int(row.record_count),
            duration_seconds=float(row.duration_seconds),
            started_at=as_utc(row.started_at),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entityType": self.entity_type,
            "goldenSetId": self.golden_id,
            "kind": self.kind,
            "modelSeq": self.model_seq,
            "modelVersion": self.model_version,
            "thresholdsId": self.thresholds_id,
            "thresholdsVersion": self.thresholds_version,
            "f1": self.f1,
            "metrics": self.metrics,
            "records": self.record_count,
            "durationSeconds": self.duration_seconds,
            "startedAt": isoformat(self.started_at),
        }


class EREvaluation:
    """Golden sets (registered by tenant admins) and the runs that evaluate them."""

    def __init__(self, deps: ERDependencies, configs: TypeConfigs, training: ERTraining) -> None:
        self._deps = deps
        self._configs = configs
        self._training = training

    # --- golden sets -----------------------------------------------------------------------

    def add_golden_set(self, principal: Principal, csv_text: str, *, name: str) -> dict[str, Any]:
        """Register a golden set for the tenant; raises VALIDATION naming what is wrong."""
        tenant_id = self._deps.tenant_of(principal, Action.ADMIN_WRITE, "er_golden_set")
        golden = parse_golden_csv(csv_text, source=name)
        unconfigured = [
            t for t in golden.entity_types if not self._configs.is_resolvable(tenant_id, t)
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
        now = self._deps.clock.now()
        golden_id = new_id("gld")
        digest = hashlib.sha256(csv_text.encode("utf-8")).hexdigest()
        with self._deps.engine.begin() as conn:
            golden_repo.insert_golden(
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
        tenant_id = self._deps.tenant_of(principal, Action.ENTITY_READ, "er_golden_set")
        with self._deps.engine.connect() as conn:
            rows = golden_repo.list_golden(conn, tenant_id)
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

    def parsed_golden_sets(self, tenant_id: str) -> list[tuple[str, str, GoldenSet]]:
        """(id, name, parsed set) of each of the tenant's golden sets."""
        with self._deps.engine.connect() as conn:
            listed = golden_repo.list_golden(conn, tenant_id)
            texts = [golden_repo.golden_text(conn, tenant_id, row.golden_id) for row in listed]
        return [
            (row.golden_id, row.name, parse_golden_csv(row.csv_text, source=row.name))
            for row in texts
            if row is not None
        ]

    # --- runs ------------------------------------------------------------------------------

    def evaluate(
        self,
        tenant_id: str,
        entity_type: str,
        thresholds: ThresholdsRecord,
        *,
        kind: str,
    ) -> tuple[list[StoredRun], list[str]]:
        """Evaluate the tenant's golden sets of one type with its live model and the given
        thresholds; store and return the runs, with why any set was skipped."""
        live = self._training.live_model(tenant_id, entity_type)
        runs: list[StoredRun] = []
        skipped: list[str] = []
        for golden_id, name, golden in self.parsed_golden_sets(tenant_id):
            if len(golden.of_type(entity_type).records) < 2:
                continue
            if live is None:
                skipped.append(
                    f"{tenant_id} {entity_type} {name}: no trained model fitting the live "
                    "config yet"
                )
                continue
            seq, model = live
            started = self._deps.clock.now()
            begun = time.perf_counter()
            outcome = evaluate_golden(
                golden,
                entity_type,
                self._configs.config_for(tenant_id, entity_type),
                model=model,
                thresholds=thresholds.thresholds,
                clock=self._deps.clock,
            )
            duration = time.perf_counter() - begun
            metrics = outcome.metrics() | {"goldenSet": name}
            run = StoredRun(
                id=new_id("run"),
                tenant_id=tenant_id,
                entity_type=entity_type,
                golden_id=golden_id,
                kind=kind,
                model_seq=seq,
                model_version=model.model_version,
                thresholds_id=thresholds.id,
                thresholds_version=thresholds.version,
                f1=outcome.f1,
                metrics=metrics,
                record_count=outcome.record_count,
                duration_seconds=duration,
                started_at=started,
            )
            with self._deps.engine.begin() as conn:
                quality_repo.insert_run(
                    conn,
                    tenant_id,
                    {
                        "run_id": run.id,
                        "entity_type": entity_type,
                        "golden_id": golden_id,
                        "kind": kind,
                        "model_seq": seq,
                        "model_version": model.model_version,
                        "thresholds_id": thresholds.id,
                        "thresholds_version": thresholds.version,
                        "f1": run.f1,
                        "metrics": metrics,
                        "record_count": run.record_count,
                        "duration_seconds": duration,
                        "scored_pairs": [list(p) for p in outcome.scored_pairs],
                        "started_at": started,
                    },
                )
            runs.append(run)
        return runs, skipped

    def establish_baselines(self, thresholds: ThresholdsRecord, runs: Sequence[StoredRun]) -> None:
        """Record each run's F1 as the thresholds' baseline for its golden set, if none yet."""
        baselines = dict(thresholds.baselines)
        added = False
        for run in runs:
            if run.thresholds_id != thresholds.id or run.golden_id in baselines:
                continue
            baselines[run.golden_id] = {
                "f1": run.f1,
                "runId": run.id,
                "recordedAt": isoformat(run.started_at),
            }
            added = True
        if added:
            with self._deps.engine.begin() as conn:
                threshold_repo.update_thresholds(
                    conn, thresholds.tenant_id, thresholds.id, baselines=baselines
                )

    def runs(
        self, principal: Principal, entity_type: str | None = None, limit: int = 50
    ) -> list[StoredRun]:
        """The tenant's evaluation runs, newest first."""
        tenant_id = self._deps.tenant_of(principal, Action.ENTITY_READ, "er_run")
        with self._deps.engine.connect() as conn:
            rows = quality_repo.runs(
                conn, tenant_id, parse_optional_entity_type(entity_type), limit=limit
            )
        return [StoredRun.from_row(r) for r in rows]

    def latest_runs(self, tenant_id: str, entity_type: str) -> list[StoredRun]:
        """The newest run of each golden set of the type."""
        with self._deps.engine.connect() as conn:
            rows = quality_repo.runs(conn, tenant_id, entity_type, limit=500)
        latest: dict[str, StoredRun] = {}
        for row in rows:
            latest.setdefault(row.golden_id, StoredRun.from_row(row))
        return list(latest.values())
