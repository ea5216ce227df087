"""What every ER component is built with, and how a principal becomes its tenant."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from intelgraph.kernel.clock import Clock
from intelgraph.kernel.errors import VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.obs.metrics import Metrics
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine
from intelgraph.tenants.platform_settings import PlatformSettings

# The actor of everything ER does by itself (online merges, first-use training, defaults).
SYSTEM_ACTOR = "system:er"


@dataclass(frozen=True)
class ERDependencies:
    """The store, clock, policy, metrics and platform settings the components share."""

    engine: Engine
    clock: Clock
    policy: PolicyEngine
    metrics: Metrics
    platform: PlatformSettings

    def tenant_of(self, principal: Principal, action: Action, kind: str) -> str:
        """The principal's tenant once policy allows ``action`` on ``kind``.

        Raises POLICY_DENIED, VALIDATION for a principal without a tenant.
        """
        self.policy.authorize(principal, action, kind, principal.tenant_id)
        if principal.tenant_id is None:
            raise IntelGraphError(VALIDATION, "this action needs a tenant API key")
        return principal.tenant_id
