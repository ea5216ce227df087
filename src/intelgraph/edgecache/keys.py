"""Cache keys: everything that can change a safelisted response, and nothing else.

A key names the tenant, its region, the operation id, the negotiated API version, the
principal's authorization scope (its roles: policy decisions depend on nothing else of
the principal) and the sha256 of the canonicalised variables. Two tenants, two versions,
two scopes or two variable sets never share a key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from intelgraph.kernel.tenancy import Principal

EMPTY_VARIABLES_HASH = hashlib.sha256(b"{}").hexdigest()


def variables_hash(variables: dict[str, Any] | None) -> str:
    """sha256 of the variables as JSON with sorted keys (``None`` and ``{}`` are the same).

    Raises TypeError for values JSON cannot hold (a request never carries those).
    """
    if not variables:
        return EMPTY_VARIABLES_HASH
    canonical = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def authorization_scope(principal: Principal) -> str:
    """The part of a principal that can change a response: its roles, sorted."""
    return "+".join(sorted(set(principal.roles))) or "-"


@dataclass(frozen=True, slots=True)
class CacheKey:
    tenant_id: str
    region: str
    operation_id: str
    api_version: str
    scope: str
    vars_hash: str

    @property
    def text(self) -> str:
        """The key as one string (also the Redis key suffix); ends with the variables hash."""
        return f"{self.region}|{self.operation_id}|{self.api_version}|{self.scope}|{self.vars_hash}"

    @classmethod
    def for_request(
        cls,
        principal: Principal,
        operation_id: str,
        api_version: str,
        variables: dict[str, Any] | None,
    ) -> CacheKey:
        """The key of a tenant principal's request. Raises ValueError for an operator."""
        if principal.tenant_id is None:
            raise ValueError("the operator has no tenant data to cache")
        return cls(
            tenant_id=principal.tenant_id,
            region=principal.region,
            operation_id=operation_id,
            api_version=api_version,
            scope=authorization_scope(principal),
            vars_hash=variables_hash(variables),
        )


def matches_purge(key_text: str, operation_id: str, vars_hash: str | None) -> bool:
    """Whether a stored key is one a purge of (operation, variables hash) must remove;
    ``vars_hash`` None (or ``*``) means every variable set of the operation."""
    parts = key_text.split("|")
    if len(parts) != 5 or parts[1] != operation_id:
        return False
    return vars_hash in (None, "*") or parts[4] == vars_hash
