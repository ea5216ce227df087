"""Outermost gateway stage: refuse over-long URLs and over-large header sets with a coded error.

The HTTP servers have their own limits (h11 under uvicorn: a 16 KiB request head; hyper
under granian: 100 headers), but they answer with an empty 414/431 a client cannot act on.
Ours sit below theirs, so a client sees the one JSON error body naming the limit it crossed.
Nothing is read from the body: the check costs one pass over the request head.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from intelgraph.http.responses import error_response
from intelgraph.kernel.errors import HEADERS_TOO_LARGE, URI_TOO_LONG, IntelGraphError

HEADER_LINE_OVERHEAD = len(b": \r\n")  # each header is sent as `name: value\r\n`


class RequestLimitsMiddleware:
    def __init__(
        self, app: ASGIApp, max_url_bytes: int, max_header_bytes: int, max_header_count: int
    ) -> None:
        self.app = app
        self.max_url_bytes = max_url_bytes
        self.max_header_bytes = max_header_bytes
        self.max_header_count = max_header_count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        # Never worth storing: a shared cache in front must not keep the refusal.
        refusal.headers.setdefault("Cache-Control", "no-store")
        await error_response(refusal)(scope, receive, send)

    def _refusal(self, scope: Scope) -> IntelGraphError | None:
        url_bytes = url_length(scope)
        if url_bytes > self.max_url_bytes:
            return IntelGraphError(
                URI_TOO_LONG,
                f"the URL is {url_bytes} bytes, over the limit of {self.max_url_bytes}; "
                "send long GraphQL documents with POST, or as a persisted operation id",
                {"limit": "INTELGRAPH_MAX_URL_BYTES", "limitBytes": self.max_url_bytes},
            )
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        if len(headers) > self.max_header_count:
            return IntelGraphError(
                HEADERS_TOO_LARGE,
                f"the request has {len(headers)} headers, over the limit of "
                f"{self.max_header_count}; send fewer headers",
                {"limit": "INTELGRAPH_MAX_HEADER_COUNT", "limitCount": self.max_header_count},
            )
        header_bytes = sum(len(name) + len(value) + HEADER_LINE_OVERHEAD for name, value in headers)
        if header_bytes > self.max_header_bytes:
            return IntelGraphError(
                HEADERS_TOO_LARGE,
                f"the request headers are {header_bytes} bytes, over the limit of "
                f"{self.max_header_bytes}; send smaller headers (cookies, tokens)",
                {"limit": "INTELGRAPH_MAX_HEADER_BYTES", "limitBytes": self.max_header_bytes},
            )
        return None


def url_length(scope: Scope) -> int:
    """Bytes of the request target as sent: the raw path, and ``?query`` when there is one."""
    raw_path: bytes | None = scope.get("raw_path")
    path = raw_path if raw_path is not None else scope["path"].encode("utf-8")
    query: bytes = scope.get("query_string", b"")
    return len(path) + (1 + len(query) if query else 0)
