"""``service.configs``: a tenant admin's comparisons configs per entity type (stored,
versioned and audited by ``type_configs.TypeConfigs``), with policy asked first."""

from __future__ import annotations

from dataclasses import replace

from intelgraph.er.components.dependencies import ERDependencies
from intelgraph.er.components.training import ERTraining
from intelgraph.er.engine.config import ResolutionConfig
from intelgraph.er.engine.records import parse_entity_type
from intelgraph.er.type_configs import ConfigChange, TypeConfig, TypeConfigs
from intelgraph.kernel.errors import ER_NOT_FOUND, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy.actions import Action


class ERConfigs:
    """Set, show and list a tenant's configs; tenant-id reads for jobs and the CLI."""

    def __init__(self, deps: ERDependencies, configs: TypeConfigs, training: ERTraining) -> None:
        self._deps = deps
        self._configs = configs
        self._training = training

    def set(
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
        tenant_id = self._deps.tenant_of(principal, Action.ADMIN_WRITE, "er_config")
        change = self._configs.set(
            tenant_id,
            document,
            entity_type=entity_type,
            actor=principal.actor,
            reason=reason,
            source=source,
        )
        is_fitted = self._training.live_model(tenant_id, change.config.entity_type) is not None
        return replace(change, needs_training=not is_fitted)

    def get(self, principal: Principal, entity_type: str, version: int | None = None) -> TypeConfig:
        """The live config of the tenant's type (or one stored version).

        Raises ER_NOT_FOUND when the type has none (or no such version).
        """
        tenant_id = self._deps.tenant_of(principal, Action.ENTITY_READ, "er_config")
        kind = parse_entity_type(entity_type)
        if version is not None:
            return self._configs.version(tenant_id, kind, version)
        found = self._configs.live(tenant_id, kind)
        if found is None:
            raise IntelGraphError(
                ER_NOT_FOUND,
                f"this tenant has no entity-resolution config for {kind}; a tenant admin "
                f"sets one with `intelgraph er config set TENANT --type {kind} FILE`",
            )
        return found

    def listing(self, principal: Principal) -> list[TypeConfig]:
        """Every stored config version of the tenant, then the packaged defaults in use."""
        tenant_id = self._deps.tenant_of(principal, Action.ENTITY_READ, "er_config")
        return self._configs.listing(tenant_id)

    def config_for(self, tenant_id: str, entity_type: str) -> ResolutionConfig:
        """The live config of a tenant's type (by tenant id, for the local CLI); raises
        VALIDATION when it has none."""
        return self._configs.config_for(tenant_id, entity_type)

    def resolvable_types(self, tenant_id: str) -> list[str]:
        """The types resolved for a tenant (by tenant id, for the local CLI)."""
        return self._configs.resolvable_types(tenant_id)
