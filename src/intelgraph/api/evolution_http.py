"""REST for API evolution: persisted-query registration, tenant API settings, the backout switch."""

from __future__ import annotations

from graphql import GraphQLError, GraphQLSchema, parse, validate
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from intelgraph.api.admin_http import json_object, require_string
from intelgraph.api.executor import MAX_DOCUMENT_BYTES
from intelgraph.api.rest_models.body import parse_body
from intelgraph.api.rest_models.evolution import (
    DEFAULT_PAGE,
    MAX_PAGE,
    ApiSettings,
    ForceV1,
    Registration,
)
from intelgraph.http.responses import JSONResponse
from intelgraph.http.scope import (
    require_principal,
)
from intelgraph.kernel.errors import GRAPHQL_VALIDATION, VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.persisted.registry import PersistedQueryRegistry
from intelgraph.tenants.platform_settings import FORCE_API_V1_DEFAULT, PlatformSettings
from intelgraph.tenants.service import TenantService


class EvolutionApi:
    def __init__(
        self,
        registry: PersistedQueryRegistry,
        newest_schema: GraphQLSchema,
        tenants: TenantService,
        platform: PlatformSettings,
    ) -> None:
        self.registry = registry
        self.newest_schema = newest_schema
        self.tenants = tenants
        self.platform = platform

    def routes(self) -> list[Route]:
        return [
            Route("/v1/persisted-queries", self.register, methods=["POST"]),
            Route("/v1/persisted-queries", self.list_operations, methods=["GET"]),
            Route("/v1/admin/tenants/{tenant}/api-settings", self.api_settings, methods=["PUT"]),
            Route("/v1/admin/platform/api-default", self.force_v1, methods=["PUT"]),
        ]

    async def register(self, request: Request) -> Response:
        """Operators register platform operations; tenant admins register their own."""
        principal: Principal = require_principal(request.scope)
        raw = await json_object(request)
        # The document is checked against the schema before the other fields, as always.
        document = require_string(raw, "document")
        check_document(self.newest_schema, document)
        body = parse_body(Registration, raw)
        # Off the loop: on PostgreSQL it may wait for the scope's registration lock.
        operation = await run_in_threadpool(
            self.registry.register, principal, body.document, body.id, tuple(body.roles)
        )
        return JSONResponse(operation.as_dict(), status_code=201)

    async def list_operations(self, request: Request) -> Response:
        """The operations the caller can run, a page at a time (``?limit=``, ``?after=``)."""
        principal: Principal = require_principal(request.scope)
        limit = _page_limit(request)
        after = request.query_params.get("after") or None
        page = await run_in_threadpool(self.registry.list_page, principal, limit, after)
        return JSONResponse(
            {
                "operations": [op.as_dict() for op in page.operations],
                "nextCursor": page.next_cursor,
            }
        )

    async def api_settings(self, request: Request) -> Response:
        principal: Principal = require_principal(request.scope)
        body = parse_body(ApiSettings, await json_object(request))
        # Left out, the tenant's default version stays; null clears it.
        is_version_named = "defaultApiVersion" in body.model_fields_set
        updated = self.tenants.update_api_settings(
            principal,
            request.path_params["tenant"],
            default_api_version=body.defaultApiVersion if is_version_named else ...,
            reason=body.reason,
            is_safelisted=body.safelistMode,
            allows_apq=body.allowsApq,
            allows_introspection=body.allowsIntrospection,
        )
        return JSONResponse({"tenant": updated.as_dict()})

    async def force_v1(self, request: Request) -> Response:
        """The backout switch: serve 1.0 to every request that names no version."""
        principal: Principal = require_principal(request.scope)
        self.tenants.require_tenant_admin(principal)  # refused before the body is read
        body = parse_body(ForceV1, await json_object(request))
        forced = body.forceV1 is True  # required and never null: the model refuses both
        self.platform.set(principal, FORCE_API_V1_DEFAULT, forced, reason=body.reason)
        return JSONResponse({"forceV1": forced})


def _page_limit(request: Request) -> int:
    raw = request.query_params.get("limit", str(DEFAULT_PAGE))
    is_number = raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_PAGE))
    if not is_number or not 1 <= int(raw) <= MAX_PAGE:
        raise IntelGraphError(
            VALIDATION,
            f"?limit= must be a whole number from 1 to {MAX_PAGE}; page on with ?after=",
            {"maxLimit": MAX_PAGE},
        )
    return int(raw)


def check_document(schema: GraphQLSchema, document: str) -> None:
    """Raise GRAPHQL_VALIDATION unless ``document`` parses and validates against ``schema``
    and is short enough to run (the executor's MAX_DOCUMENT_BYTES)."""
    if len(document) > MAX_DOCUMENT_BYTES:
        raise IntelGraphError(
            GRAPHQL_VALIDATION,
            f"the document is longer than {MAX_DOCUMENT_BYTES} characters",
            {"maxDocumentCharacters": MAX_DOCUMENT_BYTES},
        )
    try:
        problems = validate(schema, parse(document))
    except GraphQLError as exc:
        raise IntelGraphError(GRAPHQL_VALIDATION, f"syntax error: {exc.message}") from exc
    if problems:
        raise IntelGraphError(GRAPHQL_VALIDATION, "; ".join(p.message for p in problems[:5]))
