"""/v1/admin: tenants, API keys, limits and overrides, plans, usage and the audit log."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from intelgraph.api.rest_models.body import RequestBody
from intelgraph.api.rest_models.contract import Key, Operation
from intelgraph.api.rest_models.fields import OptionalReason, Rfc3339, Truthy
from intelgraph.kernel import errors as e

TAG = "admin"

# --- request bodies -------------------------------------------------------------------------


class CreateTenant(RequestBody):
    name: StrictStr = Field(description="display name, 1 to 200 characters")
    slug: StrictStr = Field(description="lower-case id used in URLs, e.g. acme")
    plan: StrictStr = "standard"
    region: StrictStr = "local"
    sandbox: Truthy = Field(default=False, description="a sandbox tenant is never billed")
    adminKeyName: StrictStr = "first admin key"

    problems: ClassVar[dict[str, str]] = {
        name: f"'{name}' is required and must be a string"
        for name in ("name", "slug", "plan", "region", "adminKeyName")
    }


class StatusChange(RequestBody):
    reason: OptionalReason = None


class CreateKey(RequestBody):
    name: StrictStr = Field(description="who or what uses the key")
    roles: list[StrictStr] = Field(default=["viewer"], description="role names, e.g. analyst")

    problems: ClassVar[dict[str, str]] = {
        "roles": "'roles' must be a list of role names",
        "name": "'name' is required and must be a string",
    }


class SetOverride(RequestBody):
    value: StrictInt = Field(description="the limit's new value while the override lives")
    expiresAt: Rfc3339 | None = Field(default=None, description="when the override ends")
    limit: StrictStr = Field(description="the limit's name, e.g. api_rpm")
    reason: StrictStr = ""

    problems: ClassVar[dict[str, str]] = {
        "value": "'value' is required and must be a whole number",
        "expiresAt": "'expiresAt' must be an RFC 3339 time, e.g. 2026-12-31T00:00:00Z",
        "limit": "'limit' is required and must be a string",
        "reason": "'reason' is required and must be a string",
    }


class ChangePlan(RequestBody):
    plan: StrictStr = Field(description="the plan's name, e.g. enterprise")
    reason: OptionalReason = None

    problems: ClassVar[dict[str, str]] = {"plan": "'plan' is required and must be a string"}


# --- query strings --------------------------------------------------------------------------


class UsageQuery(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    start: Rfc3339 | None = Field(default=None, alias="from", description="default: today 00:00")
    end: Rfc3339 | None = Field(default=None, alias="to", description="default: now")


class AuditQuery(BaseModel):
    tenant: str | None = Field(default=None, description="operator only: a tenant's slug or id")
    limit: int = Field(default=100, ge=1, le=1000)


class ReasonQuery(BaseModel):
    reason: str = Field(default="", description="why (kept in the audit log)")


# --- answers --------------------------------------------------------------------------------


class Tenant(BaseModel):
    id: str
    slug: str
    name: str
    region: str
    plan: str
    status: str
    sandbox: bool
    createdAt: str
    defaultApiVersion: str | None
    safelistMode: bool
    allowsApq: bool
    allowsIntrospection: bool


class ApiKey(BaseModel):
    tenantId: str
    id: str
    name: str
    prefix: str
    roles: list[str]
    createdAt: str
    revokedAt: str | None


class TenantCreated(BaseModel):
    tenant: Tenant
    apiKey: str = Field(description="the admin key's plaintext: shown this once")
    key: ApiKey


class TenantAnswer(BaseModel):
    tenant: Tenant


class TenantList(BaseModel):
    tenants: list[Tenant]


class KeyIssued(BaseModel):
    apiKey: str = Field(description="the key's plaintext: shown this once")
    key: ApiKey


class KeyList(BaseModel):
    keys: list[ApiKey]


class EffectiveLimit(BaseModel):
    value: int
    origin: str
    expiresAt: str | None


class Limits(BaseModel):
    tenantId: str
    plan: str
    limits: dict[str, EffectiveLimit]


class OverrideSet(Limits):
    overrideId: str


class Usage(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    tenantId: str
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    totals: dict[str, int]


class AuditRecord(BaseModel):
    tenantId: str | None
    id: Any
    actor: str
    action: str
    target: str | None
    reason: str | None
    oldValue: Any
    newValue: Any
    createdAt: str


class AuditLog(BaseModel):
    records: list[AuditRecord]


# --- the routes -----------------------------------------------------------------------------

_TENANT = (e.TENANT_NOT_FOUND, e.NOT_FOUND)
_NEEDS_BODY = (e.VALIDATION,)

OPERATIONS: dict[Key, Operation] = {
    ("POST", "/v1/admin/tenants"): Operation(
        "Create a tenant and its first admin key (operator)",
        TAG,
        TenantCreated,
        201,
        body=CreateTenant,
        errors=(*_NEEDS_BODY, e.TENANT_EXISTS),
    ),
    ("GET", "/v1/admin/tenants"): Operation("List every tenant (operator)", TAG, TenantList),
    ("GET", "/v1/admin/tenants/{tenant}"): Operation(
        "Show a tenant (operator, or its own admin)", TAG, TenantAnswer, errors=_TENANT
    ),
    ("POST", "/v1/admin/tenants/{tenant}/suspend"): Operation(
        "Suspend a tenant: its keys get 403 TENANT_SUSPENDED (operator)",
        TAG,
        TenantAnswer,
        body=StatusChange,
        is_body_required=False,
        errors=_TENANT,
    ),
    ("POST", "/v1/admin/tenants/{tenant}/activate"): Operation(
        "Activate a suspended tenant (operator)",
        TAG,
        TenantAnswer,
        body=StatusChange,
        is_body_required=False,
        errors=_TENANT,
    ),
    ("POST", "/v1/admin/tenants/{tenant}/keys"): Operation(
        "Issue an API key (operator, or the tenant's admin)",
        TAG,
        KeyIssued,
        201,
        body=CreateKey,
        errors=(*_TENANT, *_NEEDS_BODY),
    ),
    ("GET", "/v1/admin/tenants/{tenant}/keys"): Operation(
        "List a tenant's API keys (never their plaintext)", TAG, KeyList, errors=_TENANT
    ),
    ("DELETE", "/v1/admin/tenants/{tenant}/keys/{key_id}"): Operation(
        "Revoke an API key", TAG, None, 204, errors=(*_TENANT, e.KEY_NOT_FOUND)
    ),
    ("GET", "/v1/admin/tenants/{tenant}/limits"): Operation(
        "The tenant's effective limits: plan values and live overrides",
        TAG,
        Limits,
        errors=(*_TENANT, e.VALIDATION),
    ),
    ("POST", "/v1/admin/tenants/{tenant}/overrides"): Operation(
        "Override one limit, until a time or until removed (operator)",
        TAG,
        OverrideSet,
        201,
        body=SetOverride,
        errors=(*_TENANT, *_NEEDS_BODY),
    ),
    ("DELETE", "/v1/admin/tenants/{tenant}/overrides/{limit}"): Operation(
        "Remove a limit's live override (operator; ?reason= is required)",
        TAG,
        Limits,
        query=ReasonQuery,
        errors=(*_TENANT, e.VALIDATION),
    ),
    ("PUT", "/v1/admin/tenants/{tenant}/plan"): Operation(
        "Move a tenant to another plan (operator)",
        TAG,
        Limits,
        body=ChangePlan,
        errors=(*_TENANT, *_NEEDS_BODY),
    ),
    ("GET", "/v1/admin/tenants/{tenant}/usage"): Operation(
        "Metered totals over [from, to)",
        TAG,
        Usage,
        query=UsageQuery,
        errors=(*_TENANT, e.VALIDATION),
    ),
    ("GET", "/v1/admin/audit"): Operation(
        "The audit log, newest first (operator: any tenant; a tenant admin: its own)",
        TAG,
        AuditLog,
        query=AuditQuery,
        errors=(*_TENANT, e.VALIDATION),
    ),
}
