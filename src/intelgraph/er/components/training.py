"""``service.training``: train, store and look up a tenant's match models per entity type.

A model is live only while it fits the type's live config (a config whose comparisons
changed needs a new model). Online resolution trains a type on first use once the tenant
holds ``min_training_records`` entities of it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from intelgraph.audit import service as audit
from intelgraph.er.components.dependencies import SYSTEM_ACTOR, ERDependencies
from intelgraph.er.engine.config import ResolutionConfig, comparison_fingerprint
from intelgraph.er.engine.mapping import entity_record
from intelgraph.er.engine.preparation import prepare
from intelgraph.er.engine.records import parse_entity_type, parse_optional_entity_type
from intelgraph.er.engine.scoring import MatchModel
from intelgraph.er.engine.training import train_model
from intelgraph.er.repository import entities as entity_repo
from intelgraph.er.repository import models as model_repo
from intelgraph.er.type_configs import TypeConfigs
from intelgraph.kernel.clock import isoformat
from intelgraph.kernel.errors import VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy.actions import Action

MIN_TRAINING_RECORDS = 100
MIN_EXPLICIT_TRAINING_RECORDS = 10

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


class ERTraining:
    """Models per tenant and type: training, storing, the live version (cached)."""

    def __init__(
        self,
        deps: ERDependencies,
        configs: TypeConfigs,
        *,
        min_training_records: int = MIN_TRAINING_RECORDS,
    ) -> None:
        self._deps = deps
        self._configs = configs
        self.min_training_records = min_training_records
        self._models: dict[tuple[str, str], tuple[int, MatchModel]] = {}
        self._training_lock = threading.Lock()

    def live_model(self, tenant_id: str, entity_type: str) -> tuple[int, MatchModel] | None:
        """(version, model) the tenant's type is resolved with: its newest model, if that
        fits the type's live config; else None."""
        newest = self._newest_model(tenant_id, entity_type)
        if newest is None:
            return None
        live_config = self._configs.live(tenant_id, entity_type)
        if live_config is None or newest[1].comparison_fingerprint != comparison_fingerprint(
            live_config.config
        ):
            return None
        return newest

    def _newest_model(self, tenant_id: str, entity_type: str) -> tuple[int, MatchModel] | None:
        with self._deps.engine.connect() as conn:
            seq = model_repo.latest_model_seq(conn, tenant_id, entity_type)
            if seq is None:
                return None
            cached = self._models.get((tenant_id, entity_type))
            if cached is not None and cached[0] == seq:
                return cached
            row = model_repo.latest_model(conn, tenant_id, entity_type)
        assert row is not None
        newest = (int(row.seq), MatchModel.from_json(row.model))
        self._models[(tenant_id, entity_type)] = newest
        return newest

    def model_for_resolution(
        self, tenant_id: str, entity_type: str
    ) -> tuple[int, MatchModel] | None:
        """The live model, trained on first use when there is none and the tenant holds at
        least ``min_training_records`` entities of the type; None while it holds fewer."""
        live = self.live_model(tenant_id, entity_type)
        if live is not None:
            return live
        with self._deps.engine.connect() as conn:
            count = entity_repo.count_entities(conn, tenant_id, entity_type)
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
        tenant_id = self._deps.tenant_of(principal, Action.ADMIN_WRITE, "er_model")
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
        kind = parse_entity_type(entity_type)
        config = self._config(tenant_id, kind)
        report = on_progress or (lambda _stage: None)
        started = time.perf_counter()
        with self._training_lock:
            report("load")
            with self._deps.engine.connect() as conn:
                rows = entity_repo.entity_rows(conn, tenant_id, kind)
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
            model = train_model(prepared, clock=self._deps.clock)
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
        tenant_id = self._deps.tenant_of(principal, Action.ADMIN_WRITE, "er_model")
        model.check_fits(self._config(tenant_id, model.entity_type))
        return self._store_model(
            tenant_id, model.entity_type, model, actor=principal.actor, reason=reason
        )

    def _store_model(
        self, tenant_id: str, entity_type: str, model: MatchModel, *, actor: str, reason: str | None
    ) -> int:
        now = self._deps.clock.now()
        record_count = model.training.record_count if model.training else 0
        with self._deps.engine.begin() as conn:
            seq = model_repo.insert_model(
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
        tenant_id = self._deps.tenant_of(principal, Action.ENTITY_READ, "er_model")
        with self._deps.engine.connect() as conn:
            rows = model_repo.list_models(conn, tenant_id, parse_optional_entity_type(entity_type))
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

    def _config(self, tenant_id: str, entity_type: str) -> ResolutionConfig:
        return self._configs.config_for(tenant_id, entity_type)
