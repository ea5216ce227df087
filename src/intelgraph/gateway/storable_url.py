"""Gateway stage: refuse a URL whose path or query, percent-decoded, is not storable text.

``%00`` decodes to U+0000, which PostgreSQL cannot store or compare, and ``%ED%A0%80`` to
the UTF-8 form of a lone surrogate; both reached the stores through path parameters
(``/v1/er/entities/{id}``) and query parameters. The server decodes invalid UTF-8 to U+FFFD
silently, so this stage decodes the raw bytes itself and answers 400 UNSTORABLE_VALUE
(category VALIDATION) naming the parameter, before authentication or any route runs.
Pure ASGI: it reads only the scope.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from intelgraph.gateway.request_log import request_id_of
from intelgraph.http.responses import error_response
from intelgraph.kernel.errors import UNSTORABLE_VALUE, IntelGraphError
from intelgraph.kernel.storable import text_problem

NUL_REASON = "contains %00 (U+0000), which cannot be stored; remove it"
UTF8_REASON = (
    "is not UTF-8 once percent-decoded (for instance a lone surrogate, %ED%A0%80); "
    "percent-encode the UTF-8 bytes of valid text"
)


class StorableUrlMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = unstorable_url(scope)
            if refusal is not None:
                request_id = request_id_of(cast(dict[str, Any], scope))
                await error_response(refusal, request_id)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def unstorable_url(scope: Scope) -> IntelGraphError | None:
    """The refusal for a scope whose path or a query parameter is not storable, or None."""
    raw_path: bytes | None = scope.get("raw_path")  # optional in ASGI; else the decoded path
    reason = _problem(raw_path) if raw_path is not None else text_problem(scope["path"])
    if reason is not None:
        return _refusal("path", "path", reason)
    query: bytes = scope.get("query_string", b"")
    if _is_plain(query):
        return None
    for pair in query.split(b"&"):
        name, _, value = pair.partition(b"=")
        for part in (name, value):
            reason = _problem(part.replace(b"+", b" "))
            if reason is not None:
                shown = unquote_to_bytes(name).decode("utf-8", "backslashreplace")
                return _refusal(shown.replace("\x00", "\\u0000"), "query", reason)
    return None


def _is_plain(raw: bytes) -> bool:
    """ASCII with no escapes and no NUL: nothing to decode (the common case)."""
    return raw.isascii() and b"%" not in raw and b"\x00" not in raw


def _problem(raw: bytes) -> str | None:
    """Why ``raw``, percent-decoded, is not storable text, or None."""
    if _is_plain(raw):
        return None
    decoded = unquote_to_bytes(raw)
    if b"\x00" in decoded:
        return NUL_REASON
    try:
        decoded.decode("utf-8")
    except UnicodeDecodeError:
        return UTF8_REASON
    return None


def _refusal(field: str, location: str, reason: str) -> IntelGraphError:
    where = "the URL path" if location == "path" else f"query parameter '{field}'"
    return IntelGraphError(
        UNSTORABLE_VALUE, f"{where} {reason}", {"field": field, "in": location, "reason": reason}
    )
