"""``service.resolution``: online resolution of ingested entities (``online.py`` does the
work in a background worker), where an entity stands, why two entities match, and the
status of each resolvable type.

A tenant without a trained model for a type trains one on first use once it holds
``min_training_records`` entities of that type; until then its entities wait unresolved
and ``status`` says so.
"""

from __future__ import annotations

from typing import Any

from intelgraph.er.components.dependencies import ERDependencies
from intelgraph.er.components.thresholds import ERThresholds
from intelgraph.er.components.training import ERTraining
from intelgraph.er.engine.clustering import ChainingGuard
from intelgraph.er.engine.decisions import decide
from intelgraph.er.engine.explanation import MatchExplanation
from intelgraph.er.engine.mapping import RESOLVABLE_TYPES, entity_record
from intelgraph.er.engine.scoring import explain
from intelgraph.er.history import EntityResolution
from intelgraph.er.online import OnlineOutcome, OnlineResolver
from intelgraph.er.repository import clusters as cluster_repo
from intelgraph.er.repository import entities as entity_repo
from intelgraph.er.repository import models as model_repo
from intelgraph.er.repository import review_queue as review_repo
from intelgraph.er.repository import type_configs as config_repo
from intelgraph.er.review import ReviewStatus
from intelgraph.er.type_configs import TypeConfigs
from intelgraph.er.worker import ResolutionWorker
from intelgraph.kernel.errors import ENTITY_NOT_FOUND, ER_NO_MODEL, VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy.actions import Action


class ERResolution:
    """The online resolver and its worker, and the reads about resolved entities."""

    def __init__(
        self,
        deps: ERDependencies,
        configs: TypeConfigs,
        training: ERTraining,
        thresholds: ERThresholds,
        guard: ChainingGuard | None = None,
    ) -> None:
        self._deps = deps
        self._configs = configs
        self._training = training
        self._thresholds = thresholds
        self.online = OnlineResolver(deps, configs, training, thresholds, guard)
        self.worker = ResolutionWorker(self.online, deps.clock)

    # --- the worker ------------------------------------------------------------------------

    def on_ingested(self, tenant_id: str, touched: list[str]) -> None:
        """Ingest listener: queue the touched entities for online resolution (returns at once)."""
        self.worker.submit(tenant_id, touched)

    def start(self) -> None:
        """Start the online-resolution worker thread (``serve`` does, tests do not)."""
        self.worker.start()

    def stop(self) -> None:
        """Stop the worker thread (what is still queued is picked up by the next sweep)."""
        self.worker.stop()

    def sweep_unresolved(self) -> list[str]:
        """Queue every tenant holding unresolved entities of a type it resolves for the
        worker (entities ingested by another process, or a batch that failed); returns them."""
        with self._deps.engine.connect() as conn:
            found = set(entity_repo.tenants_with_unresolved(conn, RESOLVABLE_TYPES))
            for tenant_id, entity_type in config_repo.all_configured_types(conn):
                if tenant_id not in found and entity_repo.has_unresolved(
                    conn, tenant_id, entity_type
                ):
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

    # --- reads -----------------------------------------------------------------------------

    def resolution_of(self, principal: Principal, entity_id: str) -> EntityResolution | None:
        """Where an entity stands (cluster, members, decision); None for an unknown entity
        or a type that is not resolved."""
        tenant_id = self._deps.tenant_of(principal, Action.ENTITY_READ, "entity")
        with self._deps.engine.connect() as conn:
            membership = cluster_repo.membership_of(conn, tenant_id, entity_id)
            kind = None
            if membership is None:
                kind = entity_repo.entity_types_of(conn, tenant_id, [entity_id]).get(entity_id)
        if membership is None:
            if kind is None or not self._configs.is_resolvable(tenant_id, kind):
                return None
            return EntityResolution(entity_id, kind, None, (), "UNRESOLVED")
        with self._deps.engine.connect() as conn:
            members = cluster_repo.members_of(conn, tenant_id, [membership.cluster_id])
            in_review = review_repo.has_open_review(conn, tenant_id, entity_id)
        return EntityResolution(
            entity_id,
            membership.entity_type,
            membership.cluster_id,
            tuple(members.get(membership.cluster_id, [entity_id])),
            "REVIEW" if in_review else membership.decision.value,
        )

    def explain_match(self, principal: Principal, a: str, b: str) -> MatchExplanation:
        """Each comparison's level and weight for two entities under the live model.

        Raises ENTITY_NOT_FOUND, VALIDATION (different or unresolved types, same entity),
        ER_NO_MODEL (nothing trained yet).
        """
        tenant_id = self._deps.tenant_of(principal, Action.ENTITY_READ, "entity")
        if a == b:
            raise IntelGraphError(VALIDATION, "explainMatch needs two different entities")
        with self._deps.engine.connect() as conn:
            types = entity_repo.entity_types_of(conn, tenant_id, [a, b])
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
        if not self._configs.is_resolvable(tenant_id, kind):
            raise IntelGraphError(
                VALIDATION,
                f"{kind} entities are not resolved in this tenant: it has no entity-resolution "
                f"config for {kind} (a tenant admin sets one with `intelgraph er config set`)",
            )
        live = self._training.live_model(tenant_id, kind)
        if live is None:
            raise IntelGraphError(
                ER_NO_MODEL,
                f"no {kind} model fitting the live config has been trained for this tenant "
                "yet; run `intelgraph er train` or ingest more records",
            )
        seq, model = live
        with self._deps.engine.connect() as conn:
            rows = {r.entity_id: r for r in entity_repo.entity_rows(conn, tenant_id, kind, [a, b])}
        left, right = (
            entity_record(rows[x].entity_id, rows[x].type, rows[x].label, rows[x].attributes)
            for x in (a, b)
        )
        with self.online.tenant_lock(tenant_id):
            index, _ = self.online.index_for(tenant_id, kind)
            frequencies = index.index.frequencies
            config = self._configs.config_for(tenant_id, kind)
            pair = explain(model, config, left, right, frequencies)
        thresholds = self._thresholds.active(tenant_id, kind)
        return MatchExplanation.of(
            pair,
            entity_type=kind,
            model_seq=seq,
            model_version=model.model_version,
            thresholds_version=thresholds.version,
            decision=decide(pair.match_probability, thresholds.thresholds).value,
        )

    # --- status ----------------------------------------------------------------------------

    def tenant_status(self, principal: Principal) -> list[dict[str, Any]]:
        """``status`` of the principal's tenant."""
        return self.status(self._deps.tenant_of(principal, Action.ENTITY_READ, "er_status"))

    def status(self, tenant_id: str) -> list[dict[str, Any]]:
        """Per resolvable type: records, resolved, waiting, model, thresholds, open review."""
        pending = self.worker.pending().get(tenant_id, 0)
        minimum = self._training.min_training_records
        report = []
        for kind in self._configs.resolvable_types(tenant_id):
            with self._deps.engine.connect() as conn:
                total = entity_repo.count_entities(conn, tenant_id, kind)
                unresolved = len(entity_repo.unresolved_entity_ids(conn, tenant_id, kind))
                seq = model_repo.latest_model_seq(conn, tenant_id, kind)
                open_items = len(
                    review_repo.list_review_items(
                        conn, tenant_id, ReviewStatus.OPEN.value, kind, 10_000
                    )
                )
            thresholds = self._thresholds.active(tenant_id, kind)
            live = self._training.live_model(tenant_id, kind)
            live_config = self._configs.live(tenant_id, kind)
            if live is None and seq is not None and total >= minimum:
                state = (
                    f"model v{seq} predates the live config: retrained when the next {kind} "
                    "entities arrive (or run `intelgraph er train`)"
                )
            elif live is None and seq is not None:
                state = "model predates the live config: run `intelgraph er train`"
            elif live is None and total < minimum:
                state = (
                    f"waiting: {total} of {minimum} records needed to train "
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
