"""Tenants and their API keys as the rest of the system sees them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class TenantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    slug: str
    name: str
    region: str
    plan: str
    status: str
    is_sandbox: bool
    created_at: datetime
    default_api_version: str | None = None
    is_safelisted: bool = False
    allows_apq: bool = True
    allows_introspection: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "slug": self.slug,
            "name": self.name,
            "region": self.region,
            "plan": self.plan,
            "status": self.status,
            "sandbox": self.is_sandbox,
            "createdAt": self.created_at.isoformat(),
            "defaultApiVersion": self.default_api_version,
            "safelistMode": self.is_safelisted,
            "allowsApq": self.allows_apq,
            "allowsIntrospection": self.allows_introspection,
        }


@dataclass(frozen=True, slots=True)
class ApiKey:
    tenant_id: str
    id: str
    name: str
    prefix: str
    roles: list[str]
    created_at: datetime
    revoked_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenantId": self.tenant_id,
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "roles": self.roles,
            "createdAt": self.created_at.isoformat(),
            "revokedAt": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key as returned at creation: the only time its plaintext is visible."""

    key: ApiKey
    plaintext: str
