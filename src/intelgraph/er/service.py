"""The entity-resolution area's face: one ``EntityResolutionService`` per process, built by
``app.py``, whose namespaces are the area's components (Splink's ``Linker`` layout):

* ``training`` — train and store match models, the live model per type
* ``configs`` — comparisons configs per entity type
* ``resolution`` — online resolution (ingest listener, worker, sweep), explanations, status
* ``clustering`` — clusters, splits, reverts and the review queue
* ``evaluation`` — golden sets and evaluation runs
* ``thresholds`` — proposals, approvals, rollbacks
* ``drift`` — the nightly job, drift alerts, gauges

User actions take the caller's principal (the tenant comes from it; reads need
``entity.read``, every change ``admin.write``) and write an audit record in the same
transaction as the change. Job entry points (online resolution, the nightly evaluation,
gauges) take a tenant id.

PERSON and ORGANIZATION are resolved for every tenant under their packaged configs; any
other type is resolved for a tenant once a tenant admin stored a config for it
(``type_configs.py``). A model is live only while it fits the type's live config.
"""

from __future__ import annotations

from sqlalchemy import Engine

from intelgraph.er.components.clustering import ERClustering
from intelgraph.er.components.configs import ERConfigs
from intelgraph.er.components.dependencies import ERDependencies
from intelgraph.er.components.drift import ERDrift
from intelgraph.er.components.evaluation import EREvaluation
from intelgraph.er.components.resolution import ERResolution
from intelgraph.er.components.thresholds import ERThresholds
from intelgraph.er.components.training import MIN_TRAINING_RECORDS, ERTraining
from intelgraph.er.engine.clustering import ChainingGuard
from intelgraph.er.engine.drift_checks import DriftPolicy
from intelgraph.er.type_configs import TypeConfigs
from intelgraph.kernel.clock import Clock
from intelgraph.obs.metrics import Metrics
from intelgraph.policy.engine import PolicyEngine
from intelgraph.tenants.platform_settings import PlatformSettings


class EntityResolutionService:
    """Entity resolution for every tenant: its components, wired once."""

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
        deps = ERDependencies(engine, clock, policy, metrics, platform)
        type_configs = TypeConfigs(engine, clock)
        self.training = ERTraining(deps, type_configs, min_training_records=min_training_records)
        self.configs = ERConfigs(deps, type_configs, self.training)
        self.evaluation = EREvaluation(deps, type_configs, self.training)
        self.thresholds = ERThresholds(deps, type_configs, self.evaluation)
        self.drift = ERDrift(deps, type_configs, self.evaluation, self.thresholds, drift_policy)
        self.resolution = ERResolution(deps, type_configs, self.training, self.thresholds, guard)
        self.clustering = ERClustering(deps, self.resolution.online)

    def start(self) -> None:
        """Start the area's background work: the online-resolution worker thread."""
        self.resolution.start()

    def stop(self) -> None:
        """Stop the background work (what is still queued is picked up by the next sweep)."""
        self.resolution.stop()
