"""/v1/admin/cache: the edge cache safelist (operator) and purges (operator or tenant admin).

The services decide who may: these routes parse, call with the caller and present.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from intelgraph.api.admin_http import json_object, require_string
from intelgraph.api.rest_models.body import parse_body
from intelgraph.api.rest_models.cache import SafelistEntryBody, SafelistRemoval
from intelgraph.edgecache.keys import variables_hash
from intelgraph.edgecache.service import EdgeCache
from intelgraph.http.responses import JSONResponse
from intelgraph.http.scope import require_principal
from intelgraph.kernel.errors import VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.tenants.service import TenantService


class EdgeCacheApi:
    def __init__(self, cache: EdgeCache, tenants: TenantService) -> None:
        self.cache = cache
        self.tenants = tenants

    def routes(self) -> list[Route]:
        return [
            Route("/v1/admin/cache/safelist", self.list_safelist, methods=["GET"]),
            Route("/v1/admin/cache/safelist/{operation_id}", self.set_entry, methods=["PUT"]),
            Route("/v1/admin/cache/safelist/{operation_id}", self.remove_entry, methods=["DELETE"]),
            Route("/v1/admin/cache/purge", self.purge, methods=["POST"]),
        ]

    async def list_safelist(self, request: Request) -> Response:
        principal = require_principal(request.scope)
        return JSONResponse({"safelist": self.cache.safelist.list_entries(principal)})

    async def set_entry(self, request: Request) -> Response:
        """Body ``{"ttl": 30, "reason": "…", "graphDerived": false}``."""
        principal = require_principal(request.scope)
        body = parse_body(SafelistEntryBody, await json_object(request))
        entry = self.cache.safelist.set_entry(
            principal,
            request.path_params["operation_id"],
            body.ttl,
            reason=body.reason,
            is_graph_derived=body.graphDerived,
        )
        return JSONResponse({"entry": entry.as_dict()})

    async def remove_entry(self, request: Request) -> Response:
        """Body ``{"reason": "…"}`` (or ``?reason=``)."""
        principal = require_principal(request.scope)
        body = parse_body(SafelistRemoval, await json_object(request, required=False))
        reason = body.reason or request.query_params.get("reason") or ""
        self.cache.safelist.remove_entry(
            principal, request.path_params["operation_id"], reason=reason
        )
        return Response(status_code=204)

    async def purge(self, request: Request) -> Response:
        """Body ``{"opId": "getEntityById:v1", "varsHash": "<sha256>"|"*"}`` or ``"variables":
        {…}`` instead of the hash; the operator also names ``"tenant"`` (slug or id). The
        operator's ``{"all": true, "reason": "…"}`` purges every tenant's entries."""
        principal: Principal = require_principal(request.scope)
        body = await json_object(request)
        if body.get("all") is not None:
            return await self._purge_all(principal, body)
        if principal.is_operator:
            tenant_id = self.tenants.tenant_for(principal, require_string(body, "tenant")).id
        else:
            named = body.get("tenant")
            tenant_id = (
                self.tenants.tenant_for(principal, str(named)).id
                if named is not None
                else principal.tenant_id or ""
            )
        operation_id = require_string(body, "opId")
        variables: Any = body.get("variables")
        if variables is not None:
            if not isinstance(variables, dict):
                raise IntelGraphError(VALIDATION, "'variables' must be a JSON object")
            vars_hash = variables_hash(variables)
        else:
            vars_hash = require_string(body, "varsHash")
        reason = body.get("reason")
        removed = await run_in_threadpool(
            self.cache.purge_operation,
            principal,
            tenant_id,
            operation_id,
            vars_hash,
            str(reason) if reason else "",
        )
        return JSONResponse(
            {"purged": removed, "tenantId": tenant_id, "opId": operation_id, "varsHash": vars_hash}
        )

    async def _purge_all(self, principal: Principal, body: dict[str, Any]) -> Response:
        if body["all"] is not True or "opId" in body or "tenant" in body:
            raise IntelGraphError(
                VALIDATION,
                'to purge every tenant\'s entries send {"all": true, "reason": "…"} alone; to '
                'purge one operation send "opId" (and "tenant") without "all"',
            )
        reason = body.get("reason")
        tenant_ids = [tenant.id for tenant in self.tenants.list_tenants()]
        removed = await run_in_threadpool(
            self.cache.purge_all, principal, tenant_ids, str(reason) if reason else ""
        )
        return JSONResponse({"purged": removed, "tenants": len(tenant_ids), "all": True})
