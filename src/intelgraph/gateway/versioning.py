"""Gateway stage: negotiate the API version from ``X-IG-Api-Version``.

Absent (or blank) → the tenant's default, unless the operator forced 1.0 for everyone;
``1``/``1.0`` → 1.0; ``1.1`` → 1.1; anything else, or the header sent twice → 400
UNSUPPORTED_API_VERSION. Every response served says which version served it. The stage runs
inside the quota stage (ADR 017): its 400s are charged and carry the RateLimit headers, and
a 429 answered before it names no version.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intelgraph.gateway.request_log import request_id_of
from intelgraph.http.responses import error_response
from intelgraph.http.scope import (
    principal_of,
    set_api_version,
)
from intelgraph.kernel.errors import UNSUPPORTED_API_VERSION, IntelGraphError
from intelgraph.kernel.tenancy import Principal

SUPPORTED_VERSIONS = ("1.0", "1.1")
_ACCEPTED = {"1": "1.0", "1.0": "1.0", "1.1": "1.1"}
HEADER = b"x-ig-api-version"


def negotiate(values: list[str], tenant_default: str | None, is_forced_v1: bool) -> str:
    """The version to serve. Raises UNSUPPORTED_API_VERSION naming the supported ones."""
    if len(values) > 1:
        raise _unsupported("X-IG-Api-Version was sent more than once; send it once")
    requested = values[0].strip() if values else ""
    if not requested:
        if is_forced_v1 or tenant_default not in SUPPORTED_VERSIONS:
            return "1.0"
        return tenant_default or "1.0"
    if requested in _ACCEPTED:
        return _ACCEPTED[requested]
    return _raise_unsupported(requested)


def _raise_unsupported(requested: str) -> str:
    raise _unsupported(f"API version {requested[:20]!r} is not supported")


def _unsupported(why: str) -> IntelGraphError:
    return IntelGraphError(
        UNSUPPORTED_API_VERSION,
        f"{why}; supported versions: {', '.join(SUPPORTED_VERSIONS)} (header X-IG-Api-Version)",
        {"supportedVersions": list(SUPPORTED_VERSIONS)},
    )


class VersioningMiddleware:
    def __init__(
        self, app: ASGIApp, is_forced_v1: Callable[[], bool], requests_by_version: Counter
    ) -> None:
        self.app = app
        self.is_forced_v1 = is_forced_v1
        self.requests_by_version = requests_by_version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal: Principal | None = principal_of(scope)
        if principal is None:
            await self.app(scope, receive, send)
            return
        values = [v.decode("latin-1") for k, v in scope.get("headers", []) if k == HEADER]
        try:
            version = negotiate(values, principal.api_version_default, self.is_forced_v1())
        except IntelGraphError as err:
            await error_response(err, request_id_of(scope))(scope, receive, send)
            return
        set_api_version(scope, version)
        self.requests_by_version.labels(principal.tenant_id or "operator", version).inc()
        served = version.encode("ascii")

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-ig-api-version", served)]
            await send(message)

        await self.app(scope, receive, send_with_version)
