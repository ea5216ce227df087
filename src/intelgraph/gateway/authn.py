"""Gateway stage: turn ``Authorization: Bearer <key>`` into a Principal on the scope."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from intelgraph.api.responses import error_response
from intelgraph.gateway.request_log import request_id_of
from intelgraph.kernel.errors import AUTH_MISSING_KEY, IntelGraphError
from intelgraph.tenants.service import TenantService

JWKS_PATH = "/.well-known/intelgraph/jwks.json"
PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/readyz",
        "/metrics",
        "/graphiql",
        "/favicon.ico",
        "/docs/api/deprecations.md",
        JWKS_PATH,
    }
)
PRINCIPAL = "intelgraph.principal"


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp, tenants: TenantService) -> None:
        self.app = app
        self.tenants = tenants

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            principal = self.tenants.authenticate(_bearer(scope))
        except IntelGraphError as err:
            err.headers.setdefault("WWW-Authenticate", 'Bearer realm="intelgraph"')
            await error_response(err, request_id_of(scope))(scope, receive, send)
            return
        scope[PRINCIPAL] = principal
        scope.setdefault("state", {})["tenant_id"] = principal.tenant_id
        await self.app(scope, receive, send)


def _bearer(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                return credential.strip()
            break
    raise IntelGraphError(AUTH_MISSING_KEY, "send your API key as 'Authorization: Bearer <key>'")
