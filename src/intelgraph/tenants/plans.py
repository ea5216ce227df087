"""Plans and their quota presets: data shipped with the package, validated, versioned."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field


class LimitName(StrEnum):
    API_RPM = "api_rpm"
    INGEST_EPS = "ingest_eps"
    EGRESS_GB_DAY = "egress_gb_day"


class PlanLimits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    api_rpm: int = Field(gt=0)
    ingest_eps: int = Field(gt=0)
    egress_gb_day: int = Field(gt=0)

    def value(self, name: LimitName) -> int:
        result: int = getattr(self, name.value)
        return result


class PlanCatalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    catalog_version: int = Field(ge=1)
    plans: dict[str, PlanLimits] = Field(min_length=1)


def shipped_catalog() -> PlanCatalog:
    """The plan table packaged with this release (``tenants/plans.json``)."""
    text = resources.files("intelgraph.tenants").joinpath("plans.json").read_text("utf-8")
    return PlanCatalog.model_validate_json(text)


@dataclass(frozen=True)
class EffectiveLimit:
    name: LimitName
    value: int
    origin: str  # "plan:standard" or "override:<id>"
    expires_at: datetime | None = None


@dataclass(frozen=True)
class EffectiveLimits:
    """A tenant's limits: its plan's preset merged with its live overrides."""

    tenant_id: str
    plan: str
    limits: dict[LimitName, EffectiveLimit] = field(default_factory=dict)

    def value(self, name: LimitName) -> int:
        return self.limits[name].value

    def as_dict(self) -> dict[str, object]:
        return {
            "tenantId": self.tenant_id,
            "plan": self.plan,
            "limits": {
                name.value: {
                    "value": limit.value,
                    "origin": limit.origin,
                    "expiresAt": limit.expires_at.isoformat() if limit.expires_at else None,
                }
                for name, limit in self.limits.items()
            },
        }
