"""Gateway stage: turn ``Authorization: Bearer <key>`` into a Principal on the scope.

Checking a key costs a hash and a database round trip, about a fifth of the CPU of an
``entity(id)`` read, on every request. A replica therefore trusts a key it has checked for
``INTELGRAPH_AUTHN_CACHE_SECONDS`` (default 1 s). That is the bound on revocation: a key
revoked, or a tenant suspended, through another replica or the CLI is refused here at most
that long after the change commits; through this replica's admin API, at once (any admin
write empties the cache). Refusals are never cached, so a new key or a reactivated tenant
works at once everywhere. 0 checks every request against the database.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from intelgraph.gateway.request_log import request_id_of
from intelgraph.http.responses import error_response
from intelgraph.http.scope import set_principal
from intelgraph.kernel.clock import Clock, SystemClock
from intelgraph.kernel.errors import AUTH_MISSING_KEY, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.tenants.keys import hash_key
from intelgraph.tenants.service import TenantService
from intelgraph.web.assets import STATIC_PREFIX

JWKS_PATH = "/.well-known/intelgraph/jwks.json"
PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/readyz",
        "/metrics",
        "/graphiql",
        "/favicon.ico",
        "/docs/api/deprecations.md",
        "/openapi.json",  # the API's contract and its reference page (api/reference_http.py)
        "/docs",
        JWKS_PATH,
    }
)
# Vendored browser assets (web/assets.py): public files, like the page that loads them.
PUBLIC_PREFIXES = (f"{STATIC_PREFIX}/",)
ADMIN_PREFIX = "/v1/admin/"
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_CACHED_PRINCIPALS = 10_000


class PrincipalCache:
    """Principals of recently checked keys, by key hash, each trusted for ``ttl_seconds``.

    Only the event loop thread uses it. Holds hashes, never key plaintext; bounded to
    ``max_entries`` (the oldest entry goes first).
    """

    def __init__(
        self, clock: Clock, ttl_seconds: float, max_entries: int = MAX_CACHED_PRINCIPALS
    ) -> None:
        self._clock = clock
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}

    @property
    def is_enabled(self) -> bool:
        return self._ttl > 0

    def get(self, key_hash: str) -> Principal | None:
        found = self._entries.get(key_hash)
        if found is None:
            return None
        if self._clock.monotonic() - found[0] >= self._ttl:
            del self._entries[key_hash]
            return None
        return found[1]

    def put(self, key_hash: str, principal: Principal) -> None:
        self._entries.pop(key_hash, None)  # re-inserted last: insertion order is age order
        if len(self._entries) >= self._max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[key_hash] = (self._clock.monotonic(), principal)

    def clear(self) -> None:
        self._entries.clear()


class AuthenticationMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        tenants: TenantService,
        principals: PrincipalCache | None = None,
    ) -> None:
        self.app = app
        self.tenants = tenants
        self.principals = principals or PrincipalCache(SystemClock(), ttl_seconds=0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        try:
            principal = self._authenticate(_bearer(scope))
        except IntelGraphError as err:
            err.headers.setdefault("WWW-Authenticate", 'Bearer realm="intelgraph"')
            await error_response(err, request_id_of(scope))(scope, receive, send)
            return
        set_principal(scope, principal)
        scope.setdefault("state", {})["tenant_id"] = principal.tenant_id
        if scope["method"] in _READ_METHODS or not scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        try:  # a key, tenant status or API setting may have changed: trust nothing cached
            await self.app(scope, receive, send)
        finally:
            self.principals.clear()

    def _authenticate(self, presented: str) -> Principal:
        """Raises AUTH_INVALID_KEY or TENANT_SUSPENDED (never cached)."""
        if not self.principals.is_enabled:
            return self.tenants.authenticate(presented)
        key_hash = hash_key(presented)
        principal = self.principals.get(key_hash)
        if principal is None:
            principal = self.tenants.authenticate(presented)
            self.principals.put(key_hash, principal)
        return principal


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _bearer(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key == b"authorization":
            header: str = value.decode("latin-1")
            scheme, _, credential = header.partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                return credential.strip()
            break
    raise IntelGraphError(AUTH_MISSING_KEY, "send your API key as 'Authorization: Bearer <key>'")
