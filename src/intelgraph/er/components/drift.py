"""``service.drift``: resolution quality over time — the nightly job, drift alerts, gauges.

``run_nightly`` evaluates every tenant's golden sets with the tenant's live model and
thresholds, stores one run per golden set and entity type, then measures drift
(``engine/drift_checks``) and turns every finding over its bound into an alert: a stored
event, a counter, a gauge at 1 and a WARNING log line (Prometheus rules in
``deploy/prometheus/er_alerts.yml`` fire on the gauges).

The first run of a golden set under thresholds that have no baseline for it records its
F1 as the baseline; approving thresholds records baselines right away when it can.
``refresh_gauges`` recomputes the gauges from the store, so every replica exports the same
figures whichever one ran the job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from intelgraph.er.components.dependencies import ERDependencies
from intelgraph.er.components.evaluation import EREvaluation, StoredRun
from intelgraph.er.components.thresholds import ERThresholds
from intelgraph.er.engine.drift_checks import (
    DriftFinding,
    DriftKind,
    DriftPolicy,
    check_cluster_sizes,
    check_f1,
    check_link_share,
    check_weight_psi,
)
from intelgraph.er.engine.records import parse_entity_type, parse_optional_entity_type
from intelgraph.er.governance import ThresholdsRecord
from intelgraph.er.repository import clusters as cluster_repo
from intelgraph.er.repository import golden_sets as golden_repo
from intelgraph.er.repository import quality as quality_repo
from intelgraph.er.repository import review_queue as review_repo
from intelgraph.er.repository import state as state_repo
from intelgraph.er.type_configs import TypeConfigs
from intelgraph.kernel.clock import isoformat
from intelgraph.kernel.ids import new_id
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy.actions import Action
from intelgraph.store.engine import as_utc
from intelgraph.store.locks import try_job_lock

# The runbook (docs/runbooks/entity-resolution.md) and log-based alerts name this logger.
log = logging.getLogger("intelgraph.er.nightly")

NIGHTLY_JOB = "er.nightly_eval"
WINDOW = timedelta(days=1)


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


class ERDrift:
    """Runs the nightly evaluation, measures drift, raises alerts, sets gauges."""

    def __init__(
        self,
        deps: ERDependencies,
        configs: TypeConfigs,
        evaluation: EREvaluation,
        thresholds: ERThresholds,
        policy: DriftPolicy | None = None,
    ) -> None:
        self._deps = deps
        self._configs = configs
        self._evaluation = evaluation
        self._thresholds = thresholds
        self.policy = policy or DriftPolicy()

    # --- the nightly job -----------------------------------------------------------------

    def run_nightly(self, tenant_ids: Sequence[str] | None = None) -> NightlyReport:
        """The nightly job: evaluate golden sets, store runs, raise drift alerts, for every
        tenant (or the given ones) under the nightly job lock."""
        begun = time.perf_counter()
        with self._deps.engine.begin() as lock_conn:
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
        with self._deps.engine.connect() as conn:
            pairs = set(state_repo.tenants_with_state(conn))
            golden_tenants = golden_repo.tenants_with_golden(conn)
        for tenant_id in golden_tenants:
            pairs.update((tenant_id, t) for t in self._configs.resolvable_types(tenant_id))
        wanted = None if tenant_ids is None else set(tenant_ids)
        return sorted(p for p in pairs if wanted is None or p[0] in wanted)

    def check_tenant(
        self, tenant_id: str, entity_type: str
    ) -> tuple[list[StoredRun], list[DriftAlert], list[str]]:
        """Evaluate one tenant's type, record baselines and alerts, set its gauges."""
        thresholds = self._thresholds.active(tenant_id, entity_type)
        runs, skipped = self._evaluation.evaluate(
            tenant_id, entity_type, thresholds, kind="nightly"
        )
        self._evaluation.establish_baselines(thresholds, runs)
        thresholds = self._thresholds.active(tenant_id, entity_type)
        findings = self.measure(tenant_id, entity_type, thresholds)
        alerts = self._raise_alerts(tenant_id, entity_type, findings, runs)
        self._set_gauges(tenant_id, entity_type, thresholds, findings)
        return runs, alerts, skipped

    # --- drift ---------------------------------------------------------------------------

    def measure(
        self, tenant_id: str, entity_type: str, thresholds: ThresholdsRecord
    ) -> list[DriftFinding]:
        """Every drift check that has enough data, for one tenant and type."""
        findings: list[DriftFinding] = []
        for run in self._evaluation.latest_runs(tenant_id, entity_type):
            baseline = thresholds.baseline_f1(run.golden_id)
            if run.thresholds_id != thresholds.id or baseline is None:
                continue
            finding = check_f1(
                str(run.metrics.get("goldenSet", run.golden_id)), baseline, run.f1, self.policy
            )
            findings.append(replace(finding, run_id=run.id))
        now = self._deps.clock.now()
        activated = thresholds.activated_at or thresholds.created_at
        with self._deps.engine.connect() as conn:
            if now - WINDOW >= activated + WINDOW:
                base = quality_repo.batch_window(
                    conn, tenant_id, entity_type, activated, activated + WINDOW
                )
                current = quality_repo.batch_window(conn, tenant_id, entity_type, now - WINDOW, now)
                if base[2] is not None and current[2] is not None:
                    psi = check_weight_psi(base[2], current[2], self.policy)
                    if psi is not None:
                        findings.append(psi)
                share = check_link_share((base[1], base[0]), (current[1], current[0]), self.policy)
                if share is not None:
                    findings.append(share)
            largest, oversized = cluster_repo.cluster_sizes(
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
        now = self._deps.clock.now()
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
        with self._deps.engine.begin() as conn:
            for alert in alerts:
                quality_repo.insert_alert(
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
            self._deps.metrics.er_drift_alerts.labels(tenant_id, entity_type, alert.kind).inc()
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

    def alerts(
        self, principal: Principal, entity_type: str | None = None, limit: int = 50
    ) -> list[DriftAlert]:
        """The tenant's drift alerts, newest first."""
        tenant_id = self._deps.tenant_of(principal, Action.ENTITY_READ, "er_alert")
        with self._deps.engine.connect() as conn:
            rows = quality_repo.alerts(
                conn, tenant_id, parse_optional_entity_type(entity_type), limit=limit
            )
        return [DriftAlert.from_row(r) for r in rows]

    def history(self, tenant_id: str, entity_type: str, limit: int = 365) -> DriftHistory:
        """F1 of the tenant's runs over time (oldest first), the live baseline, alerts and
        the drift checks' current measures."""
        kind = parse_entity_type(entity_type)
        thresholds = self._thresholds.active(tenant_id, kind)
        with self._deps.engine.connect() as conn:
            rows = quality_repo.runs(conn, tenant_id, kind, limit=limit)
            alert_rows = quality_repo.alerts(conn, tenant_id, kind, limit=limit)
        baselines = [float(b["f1"]) for b in thresholds.baselines.values()]
        return DriftHistory(
            tenant_id,
            kind,
            [StoredRun.from_row(r) for r in reversed(rows)],
            min(baselines) if baselines else None,
            self.policy.max_f1_drop,
            [DriftAlert.from_row(r) for r in alert_rows],
            self.measure(tenant_id, kind, thresholds),
        )

    # --- gauges --------------------------------------------------------------------------

    def _set_gauges(
        self,
        tenant_id: str,
        entity_type: str,
        thresholds: ThresholdsRecord,
        findings: Sequence[DriftFinding],
    ) -> None:
        metrics = self._deps.metrics
        labels = (tenant_id, entity_type)
        runs = self._evaluation.latest_runs(tenant_id, entity_type)
        if runs:
            worst = min(runs, key=lambda r: r.f1)
            pairwise = worst.metrics.get("pairwise", {})
            metrics.er_f1.labels(*labels).set(worst.f1)
            metrics.er_precision.labels(*labels).set(float(pairwise.get("precision", 0.0)))
            metrics.er_recall.labels(*labels).set(float(pairwise.get("recall", 0.0)))
            newest = max(r.started_at for r in runs)
            metrics.er_last_evaluation.labels(*labels).set(newest.timestamp())
        baselines = [float(b["f1"]) for b in thresholds.baselines.values()]
        if baselines:
            metrics.er_f1_baseline.labels(*labels).set(min(baselines))
        firing = {kind: False for kind in DriftKind}
        for finding in findings:
            firing[finding.kind] = firing[finding.kind] or finding.is_alert
            if finding.kind is DriftKind.WEIGHT_PSI:
                metrics.er_weight_psi.labels(*labels).set(finding.value)
            elif finding.kind is DriftKind.LINK_SHARE:
                metrics.er_link_share.labels(*labels).set(finding.value)
            elif finding.kind is DriftKind.OVERSIZED_CLUSTER:
                metrics.er_largest_cluster.labels(*labels).set(finding.value)
        for kind, is_firing in firing.items():
            metrics.er_drift_alert.labels(tenant_id, entity_type, kind.value).set(
                1 if is_firing else 0
            )

    def refresh_gauges(self) -> int:
        """Set every tenant's ER gauges from the store (each replica, periodically); returns
        how many tenant types were set."""
        count = 0
        for tenant_id, entity_type in self._targets(None):
            try:
                thresholds = self._thresholds.active(tenant_id, entity_type)
                findings = self.measure(tenant_id, entity_type, thresholds)
                self._set_gauges(tenant_id, entity_type, thresholds, findings)
                count += 1
            except Exception:
                log.exception("ER gauge refresh failed", extra={"tenant_id": tenant_id})
        with self._deps.engine.connect() as conn:
            for (tenant_id, entity_type), open_items in review_repo.open_review_counts(
                conn
            ).items():
                self._deps.metrics.er_review_open.labels(tenant_id, entity_type).set(open_items)
        return count
