"""/v1/admin/exports: list and download the signed daily usage exports (billing operators)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from intelgraph.billing.exports import MANIFEST_NAME, UsageExporter
from intelgraph.http.responses import JSONResponse
from intelgraph.http.scope import require_principal

MEDIA_TYPES = {".csv": "text/csv; charset=utf-8", ".parquet": "application/vnd.apache.parquet"}


class BillingApi:
    """Operators fetch exports here; the files are what `intelgraph export verify` checks.

    Who may is the exporter's decision (``billing.admin``): these handlers only parse,
    call it with the caller and present.
    """

    def __init__(self, exports: UsageExporter) -> None:
        self.exports = exports

    def routes(self) -> list[Route]:
        return [
            Route("/v1/admin/exports", self.list_exports, methods=["GET"]),
            Route("/v1/admin/exports/{day}/{file}", self.download, methods=["GET"]),
        ]

    async def list_exports(self, request: Request) -> Response:
        """Days exported, newest first, with the manifest's row count and file sizes."""
        listings = self.exports.list_exports(require_principal(request.scope))
        return JSONResponse({"exports": [e.as_dict() for e in listings]})

    async def download(self, request: Request) -> Response:
        """One of a day's three files (400 for a bad day or name, 404 when absent)."""
        path = self.exports.export_file(
            request.path_params["day"],
            request.path_params["file"],
            require_principal(request.scope),
        )
        media_type = "application/json" if path.name == MANIFEST_NAME else MEDIA_TYPES[path.suffix]
        return FileResponse(path, media_type=media_type, filename=path.name)
