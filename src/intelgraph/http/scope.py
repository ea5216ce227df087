"""What an ASGI scope carries between the gateway stages and the routes.

The authentication stage puts the caller's Principal on the scope and the versioning stage
the negotiated API version; everything after them reads both through these functions, so
the keys are named in one place.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from intelgraph.kernel.errors import AUTH_MISSING_KEY, IntelGraphError
from intelgraph.kernel.tenancy import Principal

PRINCIPAL = "intelgraph.principal"
API_VERSION = "intelgraph.api_version"
DEFAULT_API_VERSION = "1.0"

Scope = MutableMapping[str, Any]


def principal_of(scope: Scope) -> Principal | None:
    """The authenticated caller of an HTTP request, or None (public path, or not HTTP)."""
    if scope.get("type") != "http":
        return None
    principal: Principal | None = scope.get(PRINCIPAL)
    return principal


def require_principal(scope: Scope) -> Principal:
    """The authenticated caller; raises AUTH_MISSING_KEY on a route the gateway left open."""
    principal = principal_of(scope)
    if principal is None:
        raise IntelGraphError(AUTH_MISSING_KEY, "this route needs an API key")
    return principal


def set_principal(scope: Scope, principal: Principal) -> None:
    """Record the caller the authentication stage found."""
    scope[PRINCIPAL] = principal


def api_version_of(scope: Scope) -> str:
    """The API version negotiated for this request (1.0 before the versioning stage)."""
    version: str = scope.get(API_VERSION, DEFAULT_API_VERSION)
    return version


def set_api_version(scope: Scope, version: str) -> None:
    """Record the version the versioning stage negotiated."""
    scope[API_VERSION] = version
