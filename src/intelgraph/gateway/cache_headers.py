"""Gateway stage: every response tells shared caches whether they may keep it.

A cache in front of the service (a CDN, Varnish) that keys by URL alone would otherwise
hand one tenant's GET answer to the next client asking for the same URL. So:

- A response to an authenticated request (a tenant's key or the operator's) is
  ``Cache-Control: private`` (with ``no-store`` unless the handler set its own directives,
  as the edge cache does with ``private, max-age=N`` on its hits; ``public`` is dropped) and
  ``Vary: Authorization, X-IG-Api-Version``, merged with any ``Vary`` already there.
- Any other response (401s, ``/healthz``, errors) is ``Cache-Control: no-store`` unless the
  handler chose its caching (the JWKS document is ``public, max-age=60``).

It sits outside authentication, so it sees that stage's 401s, and reads the principal that
stage left on the scope when the response starts. Pure ASGI: only the start message changes.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intelgraph.http.scope import (
    PRINCIPAL,
)

CACHE_CONTROL = b"cache-control"
VARY = b"vary"
PER_PRINCIPAL_VARY = ("Authorization", "X-IG-Api-Version")


class CacheHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cache_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                is_authenticated = scope.get(PRINCIPAL) is not None
                message["headers"] = cache_headers(
                    list(message.get("headers", [])), is_authenticated=is_authenticated
                )
            await send(message)

        await self.app(scope, receive, send_with_cache_headers)


def cache_headers(
    headers: list[tuple[bytes, bytes]], *, is_authenticated: bool
) -> list[tuple[bytes, bytes]]:
    """``headers`` with one Cache-Control (and for a principal one Vary) as described above."""
    directives = _values(headers, CACHE_CONTROL)
    varied = _values(headers, VARY)
    kept = [(name, value) for name, value in headers if name.lower() not in (CACHE_CONTROL, VARY)]
    if not is_authenticated:
        if varied:
            kept.append((VARY, ", ".join(varied).encode("latin-1")))
        kept.append((CACHE_CONTROL, ", ".join(directives or ["no-store"]).encode("latin-1")))
        return kept
    private = [d for d in directives if _name(d) not in ("public", "private")] or ["no-store"]
    kept.append((CACHE_CONTROL, ", ".join(["private", *private]).encode("latin-1")))
    kept.append((VARY, ", ".join(_merged_vary(varied)).encode("latin-1")))
    return kept


def _values(headers: list[tuple[bytes, bytes]], name: bytes) -> list[str]:
    """The comma-separated items of every ``name`` header, in order, blanks dropped."""
    items: list[str] = []
    for key, value in headers:
        if key.lower() == name:
            items.extend(item.strip() for item in value.decode("latin-1").split(","))
    return [item for item in items if item]


def _name(directive: str) -> str:
    return directive.split("=", 1)[0].strip().lower()


def _merged_vary(existing: list[str]) -> list[str]:
    if "*" in existing:
        return ["*"]
    merged = list(existing)
    seen = {field.lower() for field in existing}
    merged.extend(field for field in PER_PRINCIPAL_VARY if field.lower() not in seen)
    return merged
