"""/v1/admin: tenants, API keys and the audit log (operator key, or a tenant admin for keys)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from intelgraph.api.rest_models.admin import (
    ChangePlan,
    CreateKey,
    CreateTenant,
    SetOverride,
    StatusChange,
)
from intelgraph.api.rest_models.body import parse_body
from intelgraph.api.rest_models.fields import parse_rfc3339, whole_number
from intelgraph.audit.log import AuditLog
from intelgraph.http.body import read_json_object
from intelgraph.http.responses import JSONResponse
from intelgraph.http.scope import (
    require_principal,
)
from intelgraph.kernel.errors import VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.metering.service import MeteringService
from intelgraph.tenants.entitlements import EntitlementService
from intelgraph.tenants.model import TenantStatus
from intelgraph.tenants.service import TenantService

MAX_ADMIN_BODY = 64 * 1024


class AdminApi:
    def __init__(
        self,
        tenants: TenantService,
        entitlements: EntitlementService,
        audit: AuditLog,
        metering: MeteringService,
    ) -> None:
        self.metering = metering
        self.tenants = tenants
        self.entitlements = entitlements
        self.audit = audit

    def routes(self) -> list[Route]:
        return [
            Route("/v1/admin/tenants", self.create_tenant, methods=["POST"]),
            Route("/v1/admin/tenants", self.list_tenants, methods=["GET"]),
            Route("/v1/admin/tenants/{tenant}", self.show_tenant, methods=["GET"]),
            Route("/v1/admin/tenants/{tenant}/suspend", self.suspend, methods=["POST"]),
            Route("/v1/admin/tenants/{tenant}/activate", self.activate, methods=["POST"]),
            Route("/v1/admin/tenants/{tenant}/keys", self.create_key, methods=["POST"]),
            Route("/v1/admin/tenants/{tenant}/keys", self.list_keys, methods=["GET"]),
            Route("/v1/admin/tenants/{tenant}/keys/{key_id}", self.revoke_key, methods=["DELETE"]),
            Route("/v1/admin/tenants/{tenant}/limits", self.show_limits, methods=["GET"]),
            Route("/v1/admin/tenants/{tenant}/overrides", self.set_override, methods=["POST"]),
            Route(
                "/v1/admin/tenants/{tenant}/overrides/{limit}",
                self.remove_override,
                methods=["DELETE"],
            ),
            Route("/v1/admin/tenants/{tenant}/plan", self.change_plan, methods=["PUT"]),
            Route("/v1/admin/tenants/{tenant}/usage", self.usage, methods=["GET"]),
            Route("/v1/admin/audit", self.audit_log, methods=["GET"]),
        ]

    async def usage(self, request: Request) -> Response:
        """Metered totals over [from, to) (RFC 3339; default: today so far)."""
        principal = require_principal(request.scope)
        tenant = self.tenants.tenant_for(principal, request.path_params["tenant"])
        now = datetime.now(UTC)
        raw_from = request.query_params.get("from")
        raw_to = request.query_params.get("to")
        start = (
            _timestamp(raw_from, "from")
            if raw_from
            else now.replace(hour=0, minute=0, second=0, microsecond=0)
        )
        end = _timestamp(raw_to, "to") if raw_to else now
        totals = self.metering.usage_for(principal, tenant.id, start, end)
        return JSONResponse(
            {
                "tenantId": tenant.id,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "totals": totals,
            }
        )

    # The tenant and entitlement services decide who may: the routes below parse, call
    # with the caller and present.

    async def show_limits(self, request: Request) -> Response:
        limits = self.entitlements.limits_for(
            require_principal(request.scope), request.path_params["tenant"]
        )
        return JSONResponse(limits.as_dict())

    async def set_override(self, request: Request) -> Response:
        principal = require_principal(request.scope)
        # Refused, then the tenant looked up, before the body is read (the service asks again).
        self.entitlements.require_may_change_limits(principal)
        tenant_id = self.tenants.tenant_for(principal, request.path_params["tenant"]).id
        body = parse_body(SetOverride, await json_object(request))
        override_id = self.entitlements.set_override(
            principal,
            tenant_id,
            body.limit,
            body.value,
            reason=body.reason,
            expires_at=body.expiresAt,
        )
        limits = self.entitlements.limits_for(principal, tenant_id).as_dict()
        return JSONResponse({"overrideId": override_id} | limits, status_code=201)

    async def remove_override(self, request: Request) -> Response:
        principal = require_principal(request.scope)
        slug = request.path_params["tenant"]
        self.entitlements.remove_override(
            principal,
            slug,
            request.path_params["limit"],
            reason=request.query_params.get("reason", ""),
        )
        return JSONResponse(self.entitlements.limits_for(principal, slug).as_dict())

    async def change_plan(self, request: Request) -> Response:
        principal = require_principal(request.scope)
        # Refused, then the tenant looked up, before the body is read (the service asks again).
        self.entitlements.require_may_change_limits(principal)
        tenant_id = self.tenants.tenant_for(principal, request.path_params["tenant"]).id
        body = parse_body(ChangePlan, await json_object(request))
        self.entitlements.change_plan(principal, tenant_id, body.plan, reason=body.reason)
        return JSONResponse(self.entitlements.limits_for(principal, tenant_id).as_dict())

    async def create_tenant(self, request: Request) -> Response:
        principal = require_principal(request.scope)
        self.tenants.require_tenant_admin(principal)  # before the body is read
        body = parse_body(CreateTenant, await json_object(request))
        tenant, issued = self.tenants.create_tenant(
            principal,
            name=body.name,
            slug=body.slug,
            plan=body.plan,
            region=body.region,
            is_sandbox=body.sandbox,
            admin_key_name=body.adminKeyName,
        )
        payload = {
            "tenant": tenant.as_dict(),
            "apiKey": issued.plaintext,
            "key": issued.key.as_dict(),
        }
        return JSONResponse(payload, status_code=201)

    async def list_tenants(self, request: Request) -> Response:
        tenants = self.tenants.list_tenants_for(require_principal(request.scope))
        return JSONResponse({"tenants": [t.as_dict() for t in tenants]})

    async def show_tenant(self, request: Request) -> Response:
        tenant = self.tenants.administered_tenant(
            require_principal(request.scope), request.path_params["tenant"]
        )
        return JSONResponse({"tenant": tenant.as_dict()})

    async def suspend(self, request: Request) -> Response:
        return await self._set_status(request, TenantStatus.SUSPENDED)

    async def activate(self, request: Request) -> Response:
        return await self._set_status(request, TenantStatus.ACTIVE)

    async def _set_status(self, request: Request, status: TenantStatus) -> Response:
        principal = require_principal(request.scope)
        self.tenants.require_tenant_admin(principal)  # before the body is read
        body = parse_body(StatusChange, await json_object(request, required=False))
        tenant = self.tenants.set_status(
            principal, request.path_params["tenant"], status, reason=body.reason
        )
        return JSONResponse({"tenant": tenant.as_dict()})

    async def create_key(self, request: Request) -> Response:
        principal = require_principal(request.scope)
        tenant = self.tenants.administered_tenant(principal, request.path_params["tenant"])
        body = parse_body(CreateKey, await json_object(request))
        issued = self.tenants.create_key(
            principal, tenant.id, name=body.name, roles=list(body.roles)
        )
        return JSONResponse(
            {"apiKey": issued.plaintext, "key": issued.key.as_dict()}, status_code=201
        )

    async def list_keys(self, request: Request) -> Response:
        keys = self.tenants.list_keys(
            require_principal(request.scope), request.path_params["tenant"]
        )
        return JSONResponse({"keys": [k.as_dict() for k in keys]})

    async def revoke_key(self, request: Request) -> Response:
        self.tenants.revoke_key(
            require_principal(request.scope),
            request.path_params["tenant"],
            request.path_params["key_id"],
        )
        return Response(status_code=204)

    async def audit_log(self, request: Request) -> Response:
        """Operators (audit.read) read every tenant's records or ``?tenant=``'s; a tenant
        admin reads its own tenant's, whatever it names."""
        principal: Principal = require_principal(request.scope)
        wanted = request.query_params.get("tenant") if principal.is_operator else None
        tenant_id = self.tenants.get_tenant(wanted).id if wanted else None
        limit = _int_param(request, "limit", 100, 1, 1000)
        records = self.audit.list_records(principal, tenant_id, limit)
        return JSONResponse({"records": [r.as_dict() for r in records]})


async def json_object(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The JSON object body of an admin, ER, cache or evolution route (http_body.py)."""
    return await read_json_object(request, MAX_ADMIN_BODY, required=required)


def require_string(body: dict[str, Any], name: str, default: str | None = None) -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise IntelGraphError(VALIDATION, f"'{name}' is required and must be a string")
    return value


def _timestamp(raw: object, name: str) -> datetime:
    try:
        return parse_rfc3339(raw)
    except ValueError:
        raise IntelGraphError(
            VALIDATION, f"'{name}' must be an RFC 3339 time, e.g. 2026-12-31T00:00:00Z"
        ) from None


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = whole_number(raw, low, high)
    if value is None:
        raise IntelGraphError(VALIDATION, f"?{name}= must be a whole number from {low} to {high}")
    return value
