"""JSON responses, including the one error shape."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from intelgraph.kernel.errors import IntelGraphError, error_body


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(err: IntelGraphError, request_id: str | None = None) -> JSONResponse:
    """The HTTP response for an IntelGraphError: its status, headers and the error body."""
    body = error_body(err)
    if request_id:
        body["errors"][0]["extensions"]["requestId"] = request_id
    return JSONResponse(body, status_code=err.status, headers=err.headers or None)
