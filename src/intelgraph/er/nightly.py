"""Resolution quality over time: golden-set evaluations, stored runs, drift, gauges.

``QualityMonitor.run_nightly`` evaluates every tenant's golden sets with the tenant's live
model and thresholds, stores one run per golden set and entity type, then measures drift
(``drift_checks``) and turns every finding over its bound into an alert: a stored event, a
counter, a gauge at 1 and a WARNING log line (Prometheus rules in
``deploy/prometheus/er_alerts.yml`` fire on the gauges).

The first run of a golden set under thresholds that have no baseline for it records its
F1 as the baseline; approving thresholds records baselines right away when it can.
``refresh_gauges`` recomputes the gauges from the store, so every replica exports the same
figures whichever one ran the job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from intelgraph.er import repository as repo
from intelgraph.er.config import ResolutionConfig, default_config
from intelgraph.er.drift_checks import (
    DriftFinding,
    DriftKind,
    DriftPolicy,
    check_cluster_sizes,
    check_f1,
    check_link_share,
    check_weight_psi,
)
from intelgraph.er.golden import GoldenSet, parse_golden_csv
from intelgraph.er.governance import ThresholdsRecord
from intelgraph.er.mapping import RESOLVABLE_TYPES
from intelgraph.er.runs import evaluate_golden
from intelgraph.er.scoring import MatchModel
from intelgraph.kernel.clock import Clock, isoformat
from intelgraph.kernel.ids import new_id
from intelgraph.obs.metrics import Metrics
from intelgraph.store.engine import as_utc
from intelgraph.store.locks import try_job_lock

log = logging.getLogger(__name__)

NIGHTLY_JOB = "er.nightly_eval"
WINDOW = timedelta(days=1)


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


@dataclass(frozen=True)
class DriftAlert:
    """A drift finding over its bound, as stored."""

    id: str
    tenant_id: str
    entity_type: str
    kind: str
    value: float
    threshold: float
    message: str
    run_id: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> DriftAlert:
        return cls(
            row.alert_id,
            row.tenant_id,
            row.entity_type,
            row.kind,
            float(row.value),
            float(row.threshold),
            row.message,
            row.run_id,
            as_utc(row.created_at),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entityType": self.entity_type,
            "kind": self.kind,
            "value": self.value,
            "threshold": self.threshold,
            "message": self.message,
            "runId": self.run_id,
            "createdAt": isoformat(self.created_at),
        }


@dataclass
class NightlyReport:
    """What one nightly pass did."""

    runs: list[StoredRun]
    alerts: list[DriftAlert]
    skipped: list[str]
    seconds: float = 0.0
    is_locked_out: bool = False


class QualityMonitor:
    """Evaluates golden sets, stores runs, measures drift, raises alerts, sets gauges."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        metrics: Metrics,
        live_model: Callable[[str, str], tuple[int, MatchModel] | None],
        active_thresholds: Callable[[str, str], ThresholdsRecord],
        policy: DriftPolicy | None = None,
        config_for: Callable[[str, str], ResolutionConfig] = lambda _tenant, t: default_config(t),
        resolvable_types: Callable[[str], Sequence[str]] = lambda _tenant: RESOLVABLE_TYPES,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._metrics = metrics
        self._live_model = live_model
        self._active_thresholds = active_thresholds
        self.policy = policy or DriftPolicy()
        self._config_for = config_for
        self._resolvable_types = resolvable_types

    # --- evaluations ---------------------------------------------------------------------

    def golden_sets(self, tenant_id: str) -> list[tuple[str, str, GoldenSet]]:
        """(id, name, parsed set) of each of the tenant's golden sets."""
        with self._engine.connect() as conn:
            listed = repo.list_golden(conn, tenant_id)
            texts = [repo.golden_text(conn, tenant_id, row.golden_id) for row in listed]
        return [
            (row.golden_id, row.name, parse_golden_csv(row.csv_text, source=row.name))
            for row in texts
            if row is not None
        ]

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
        live = self._live_model(tenant_id, entity_type)
        runs: list[StoredRun] = []
        skipped: list[str] = []
        for golden_id, name, golden in self.golden_sets(tenant_id):
            if len(golden.of_type(entity_type).records) < 2:
                continue
            if live is None:
                skipped.append(
                    f"{tenant_id} {entity_type} {name}: no trained model fitting the live "
                    "config yet"
                )
                continue
            seq, model = live
            started = self._clock.now()
            begun = time.perf_counter()
            outcome = evaluate_golden(
                golden,
                entity_type,
                self._config_for(tenant_id, entity_type),
                model=model,
                thresholds=thresholds.thresholds,
                clock=self._clock,
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
            with self._engine.begin() as conn:
                repo.insert_run(
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
            with self._engine.begin() as conn:
                repo.update_thresholds(
                    conn, thresholds.tenant_id, thresholds.id, baselines=baselines
                )

    # --- the nightly job -----------------------------------------------------------------

    def run_nightly(self, tenant_ids: Sequence[str] | None = None) -> NightlyReport:
        """Evaluate and check every tenant (or the given ones) under the nightly job lock."""
        begun = time.perf_counter()
        with self._engine.begin() as lock_conn:
            if not try_job_lock(lock_conn, NIGHTLY_JOB):
                log.info("ER nightly evaluation is running on another replica")
                return NightlyReport([], [], [], is_locked_out=True)
            report = NightlyReport([], [], [])
            for tenant_id, entity_type in self._targets(tenant_ids):
                try:
                    runs, alerts, skipped = self.check_tenant(tenant_id, entity_type)
                except Exception:
                    log.exception(
                        "ER nightly evaluation failed",
                        extra={"tenant_id": tenant_id, "entity_type": entity_type},
                    )
                    report.skipped.append(f"{tenant_id} {entity_type}: failed (see logs)")
                    continue
                report.runs.extend(runs)
                report.alerts.extend(alerts)
                report.skipped.extend(skipped)
        report.seconds = time.perf_counter() - begun
        return report

    def _targets(self, tenant_ids: Sequence[str] | None) -> list[tuple[str, str]]:
        with self._engine.connect() as conn:
            pairs = set(repo.tenants_with_state(conn))
            golden_tenants = repo.tenants_with_golden(conn)
        for tenant_id in golden_tenants:
            pairs.update((tenant_id, t) for t in self._resolvable_types(tenant_id))
        wanted = None if tenant_ids is None else set(tenant_ids)
        return sorted(p for p in pairs if wanted is None or p[0] in wanted)

    def check_tenant(
        self, tenant_id: str, entity_type: str
    ) -> tuple[list[StoredRun], list[DriftAlert], list[str]]:
        """Evaluate one tenant's type, record baselines and alerts, set its gauges."""
        thresholds = self._active_thresholds(tenant_id, entity_type)
        runs, skipped = self.evaluate(tenant_id, entity_type, thresholds, kind="nightly")
        self.establish_baselines(thresholds, runs)
        thresholds = self._active_thresholds(tenant_id, entity_type)
        findings = self.measure(tenant_id, entity_type, thresholds)
        alerts = self._raise_alerts(tenant_id, entity_type, findings, runs)
        self._set_gauges(tenant_id, entity_type, thresholds, findings)
        return runs, alerts, skipped

    # --- drift ---------------------------------------------------------------------------

    def latest_runs(self, tenant_id: str, entity_type: str) -> list[StoredRun]:
        """The newest run of each golden set of the type."""
        with self._engine.connect() as conn:
            rows = repo.runs(conn, tenant_id, entity_type, limit=500)
        latest: dict[str, StoredRun] = {}
        for row in rows:
            latest.setdefault(row.golden_id, StoredRun.from_row(row))
        return list(latest.values())

    def measure(
        self, tenant_id: str, entity_type: str, thresholds: ThresholdsRecord
    ) -> list[DriftFinding]:
        """Every drift check that has enough data, for one tenant and type."""
        findings: list[DriftFinding] = []
        for run in self.latest_runs(tenant_id, entity_type):
            baseline = thresholds.baseline_f1(run.golden_id)
            if run.thresholds_id != thresholds.id or baseline is None:
                continue
            finding = check_f1(
                str(run.metrics.get("goldenSet", run.golden_id)), baseline, run.f1, self.policy
            )
            findings.append(replace(finding, run_id=run.id))
        now = self._clock.now()
        activated = thresholds.activated_at or thresholds.created_at
        with self._engine.connect() as conn:
            if now - WINDOW >= activated + WINDOW:
                base = repo.batch_window(
                    conn, tenant_id, entity_type, activated, activated + WINDOW
                )
                current = repo.batch_window(conn, tenant_id, entity_type, now - WINDOW, now)
                if base[2] is not None and current[2] is not None:
                    psi = check_weight_psi(base[2], current[2], self.policy)
                    if psi is not None:
                        findings.append(psi)
                share = check_link_share((base[1], base[0]), (current[1], current[0]), self.policy)
                if share is not None:
                    findings.append(share)
            largest, oversized = repo.cluster_sizes(
                conn, tenant_id, entity_type, self.policy.max_cluster_size
            )
        findings.append(check_cluster_sizes(largest, oversized, self.policy))
        return findings

    def _raise_alerts(
        self,
        tenant_id: str,
        entity_type: str,
        findings: Sequence[DriftFinding],
        runs: Sequence[StoredRun],
    ) -> list[DriftAlert]:
        now = self._clock.now()
        run_id = runs[0].id if runs else None
        alerts = [
            DriftAlert(
                new_id("alr"),
                tenant_id,
                entity_type,
                f.kind.value,
                f.value,
                f.threshold,
                f.message,
                f.run_id or run_id,
                now,
            )
            for f in findings
            if f.is_alert
        ]
        if not alerts:
            return []
        with self._engine.begin() as conn:
            for alert in alerts:
                repo.insert_alert(
                    conn,
                    tenant_id,
                    {
                        "alert_id": alert.id,
                        "entity_type": entity_type,
                        "kind": alert.kind,
                        "value": alert.value,
                        "threshold": alert.threshold,
                        "message": alert.message,
                        "run_id": alert.run_id,
                        "created_at": now,
                    },
                )
        for alert in alerts:
            self._metrics.er_drift_alerts.labels(tenant_id, entity_type, alert.kind).inc()
            log.warning(
                "entity resolution drift: %s",
                alert.message,
                extra={
                    "tenant_id": tenant_id,
                    "entity_type": entity_type,
                    "drift_kind": alert.kind,
                    "value": alert.value,
                    "threshold": alert.threshold,
                },
            )
        return alerts

    # --- gauges --------------------------------------------------------------------------

    def _set_gauges(
        self,
        tenant_id: str,
        entity_type: str,
        thresholds: ThresholdsRecord,
        findings: Sequence[DriftFinding],
    ) -> None:
        labels = (tenant_id, entity_type)
        runs = self.latest_runs(tenant_id, entity_type)
        if runs:
            worst = min(runs, key=lambda r: r.f1)
            pairwise = worst.metrics.get("pairwise", {})
            self._metrics.er_f1.labels(*labels).set(worst.f1)
            self._metrics.er_precision.labels(*labels).set(float(pairwise.get("precision", 0.0)))
            self._metrics.er_recall.labels(*labels).set(float(pairwise.get("recall", 0.0)))
            newest = max(r.started_at for r in runs)
            self._metrics.er_last_evaluation.labels(*labels).set(newest.timestamp())
        baselines = [float(b["f1"]) for b in thresholds.baselines.values()]
        if baselines:
            self._metrics.er_f1_baseline.labels(*labels).set(min(baselines))
        firing = {kind: False for kind in DriftKind}
        for finding in findings:
            firing[finding.kind] = firing[finding.kind] or finding.is_alert
            if finding.kind is DriftKind.WEIGHT_PSI:
                self._metrics.er_weight_psi.labels(*labels).set(finding.value)
            elif finding.kind is DriftKind.LINK_SHARE:
                self._metrics.er_link_share.labels(*labels).set(finding.value)
            elif finding.kind is DriftKind.OVERSIZED_CLUSTER:
                self._metrics.er_largest_cluster.labels(*labels).set(finding.value)
        for kind, is_firing in firing.items():
            self._metrics.er_drift_alert.labels(tenant_id, entity_type, kind.value).set(
                1 if is_firing else 0
            )

    def refresh_gauges(self) -> int:
        """Recompute every tenant's ER gauges from the store; returns how many were set."""
        count = 0
        for tenant_id, entity_type in self._targets(None):
            try:
                thresholds = self._active_thresholds(tenant_id, entity_type)
                findings = self.measure(tenant_id, entity_type, thresholds)
                self._set_gauges(tenant_id, entity_type, thresholds, findings)
                count += 1
            except Exception:
                log.exception("ER gauge refresh failed", extra={"tenant_id": tenant_id})
        with self._engine.connect() as conn:
            for (tenant_id, entity_type), open_items in repo.open_review_counts(conn).items():
                self._metrics.er_review_open.labels(tenant_id, entity_type).set(open_items)
        return count
