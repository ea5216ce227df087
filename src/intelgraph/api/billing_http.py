"""/v1/admin/exports: list and download the signed daily usage exports (operator key)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from intelgraph.billing.exports import MANIFEST_NAME, UsageExporter
from intelgraph.http.responses import JSONResponse
from intelgraph.http.scope import (
    require_principal,
)
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine

MEDIA_TYPES = {".csv": "text/csv; charset=utf-8", ".parquet": "application/vnd.apache.parquet"}


class BillingApi:
    """Operators fetch exports here; the files are what `intelgraph export verify` checks."""

    def __init__(self, exports: UsageExporter, policy: PolicyEngine) -> None:
        self.exports = exports
        self.policy = policy

    def routes(self) -> list[Route]:
        return [
            Route("/v1/admin/exports", self.list_exports, methods=["GET"]),
            Route("/v1/admin/exports/{day}/{file}", self.download, methods=["GET"]),
        ]

    async def list_exports(self, request: Request) -> Response:
        """Days exported, newest first, with the manifest's row count and file sizes."""
        self._allow(request)
        return JSONResponse({"exports": [e.as_dict() for e in self.exports.list_exports()]})

    async def download(self, request: Request) -> Response:
        """One of a day's three files (400 for a bad day or name, 404 when absent)."""
        self._allow(request)
        path = self.exports.export_file(request.path_params["day"], request.path_params["file"])
        media_type = "application/json" if path.name == MANIFEST_NAME else MEDIA_TYPES[path.suffix]
        return FileResponse(path, media_type=media_type, filename=path.name)

    def _allow(self, request: Request) -> None:
        # Exports hold every tenant's usage: platform administration, the operator only.
        self.policy.authorize(
            require_principal(request.scope), Action.TENANT_ADMIN, "usage_export", None
        )
