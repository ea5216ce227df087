"""/healthz (process up), /readyz (database reachable, migrations current), /metrics."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response

from intelgraph.http.responses import JSONResponse
from intelgraph.obs.metrics import Metrics
from intelgraph.store import migrate


class HealthApi:
    def __init__(self, engine: Engine, metrics: Metrics) -> None:
        self.engine = engine
        self.metrics = metrics

    async def healthz(self, _: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, _: Request) -> Response:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            current = migrate.is_current(self.engine)
        except SQLAlchemyError as exc:
            return JSONResponse(
                {"status": "unavailable", "database": f"unreachable: {type(exc).__name__}"},
                status_code=503,
            )
        if not current:
            return JSONResponse(
                {
                    "status": "unavailable",
                    "database": "migrations pending: run intelgraph db upgrade",
                },
                status_code=503,
            )
        return JSONResponse({"status": "ready", "database": "ok"})

    async def metrics_endpoint(self, _: Request) -> Response:
        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)
