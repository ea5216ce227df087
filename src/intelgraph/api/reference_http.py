"""GET /openapi.json and GET /docs: the API's contract and its reference page (public)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from intelgraph.api.openapi import build_document
from intelgraph.api.reference_page import render_reference
from intelgraph.api.rest_models import OPERATIONS
from intelgraph.http.responses import JSONResponse

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
_CACHE = {"Cache-Control": "public, max-age=300"}


class ApiReference:
    """Builds the document from the serving app's routes once, on the first request."""

    def __init__(self) -> None:
        self._document: dict[str, Any] | None = None
        self._page: str | None = None

    def document(self, request: Request) -> dict[str, Any]:
        if self._document is None:
            self._document = build_document(request.app.routes, OPERATIONS)
        return self._document

    async def openapi_json(self, request: Request) -> Response:
        return JSONResponse(self.document(request), headers=_CACHE)

    async def docs(self, request: Request) -> Response:
        if self._page is None:
            self._page = render_reference(self.document(request))
        return HTMLResponse(self._page, headers=_CACHE)
