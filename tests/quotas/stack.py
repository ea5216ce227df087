"""A small real ASGI stack for the quota and metering tests.

principal stage → QuotaMiddleware → MeteringMiddleware → a tiny Starlette app. The principal
stage stands in for gateway/authn.py: it puts a real ``Principal`` on the scope from the
``x-tenant`` header (``x-operator`` for the operator) so tests can choose tenants freely;
public paths get none, as with authn.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from intelgraph.gateway.authn import PUBLIC_PATHS
from intelgraph.gateway.metering import MeteringMiddleware
from intelgraph.gateway.quotas import QuotaMiddleware
from intelgraph.http.responses import JSONResponse, error_response
from intelgraph.http.scope import PRINCIPAL
from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.errors import VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.metering.meters import UsageMeters
from intelgraph.obs.metrics import Metrics
from intelgraph.quotas.limiter import QuotaEngine, memory_quota_engine, redis_quota_engine
from intelgraph.tenants.plans import EffectiveLimit, EffectiveLimits, LimitName

REDIS_URL = "redis://127.0.0.1:6379/0"
START = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)


def limits(
    api_rpm: int = 100, ingest_eps: int = 10, egress_gb_day: int = 1, plan: str = "starter"
) -> Callable[[str], EffectiveLimits]:
    """A limits_for that gives every tenant these values (plain data, like the plan table)."""
    values = {
        LimitName.API_RPM: api_rpm,
        LimitName.INGEST_EPS: ingest_eps,
        LimitName.EGRESS_GB_DAY: egress_gb_day,
    }

    def limits_for(tenant_id: str) -> EffectiveLimits:
        return EffectiveLimits(
            tenant_id,
            plan,
            {name: EffectiveLimit(name, value, f"plan:{plan}") for name, value in values.items()},
        )

    return limits_for


class PrincipalStage:
    """Stands in for authn: a Principal from ``x-tenant`` / ``x-operator``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in PUBLIC_PATHS:
            headers = dict(scope["headers"])
            if b"x-operator" in headers:
                scope[PRINCIPAL] = Principal(
                    None, "operator", "operator", ("platform-admin",), is_operator=True
                )
            elif b"x-tenant" in headers:
                tenant = headers[b"x-tenant"].decode()
                scope[PRINCIPAL] = Principal(tenant, f"key-{tenant}", "test key", ("admin",))
        await self.app(scope, receive, send)


def tiny_app(engine: QuotaEngine, limits_for: Callable[[str], EffectiveLimits]) -> Starlette:
    """Routes a tenant can call: sized JSON, a stream, an error, a stand-in ingest."""

    async def things(request: Request) -> Response:
        size = int(request.query_params.get("size", "10"))
        return JSONResponse({"pad": "x" * size})

    async def stream(request: Request) -> Response:
        chunks = int(request.query_params.get("chunks", "5"))

        async def body() -> AsyncIterator[bytes]:
            for n in range(chunks):
                yield b"chunk-%d;" % n

        return StreamingResponse(body(), media_type="text/plain")

    async def fail(_: Request) -> Response:
        raise IntelGraphError(VALIDATION, "this route always fails")

    async def ingest(request: Request) -> Response:
        # What api/ingest_http.py does once wired: count records, charge, then store.
        tenant_id = request.scope[PRINCIPAL].tenant_id
        records = int(request.query_params["records"])
        limit = limits_for(tenant_id).value(LimitName.INGEST_EPS)
        decision = engine.charge_ingest(tenant_id, records, limit)
        decision.raise_if_refused()
        return JSONResponse({"accepted": records}, headers=decision.headers())

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def on_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, IntelGraphError)
        return error_response(exc)

    return Starlette(
        routes=[
            Route("/v1/things", things),
            Route("/v1/stream", stream),
            Route("/v1/fail", fail),
            Route("/v1/ingest", ingest, methods=["POST"]),
            Route("/healthz", healthz),
        ],
        exception_handlers={IntelGraphError: on_error},
    )


@dataclass
class Stack:
    """One replica: its engine, meters, metrics and clock around the tiny app."""

    app: ASGIApp
    engine: QuotaEngine
    meters: UsageMeters
    metrics: Metrics
    clock: ManualClock
    limits_for: Callable[[str], EffectiveLimits]
    tenants: list[str] = field(default_factory=list)

    def tenant(self) -> str:
        tenant = f"ten_{secrets.token_hex(6)}"
        self.tenants.append(tenant)
        return tenant

    def sample(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(name, labels)
        return value or 0.0

    def let_time_pass(self, seconds: float) -> None:
        """Move the windows' clock on: the stack's ManualClock in memory. On Redis the
        windows run on the Redis server's clock (its TIME, shared by every replica), which no
        test can move: there real time has to pass."""
        self.clock.advance(seconds)
        if self.engine.backend_name == "redis":
            time.sleep(seconds)


def build_stack(
    limits_for: Callable[[str], EffectiveLimits],
    redis_url: str | None = None,
    key_prefix: str = "intelgraph",
    clock: ManualClock | None = None,
) -> Stack:
    clock = clock or ManualClock(START)
    metrics = Metrics()
    engine = (
        redis_quota_engine(clock, metrics, redis_url, key_prefix=key_prefix)
        if redis_url
        else memory_quota_engine(clock, metrics)
    )
    meters = UsageMeters(metrics, clock)
    inner = MeteringMiddleware(tiny_app(engine, limits_for), meters)
    app = PrincipalStage(QuotaMiddleware(inner, engine, limits_for))
    return Stack(app, engine, meters, metrics, clock, limits_for)


@contextmanager
def running(stack: Stack) -> Iterator[TestClient]:
    """A TestClient on the stack, with the engine's background work started and stopped."""
    stack.engine.start()
    try:
        with TestClient(stack.app) as client:
            yield client
    finally:
        stack.engine.stop()


def unique_prefix() -> str:
    return f"igtest-{secrets.token_hex(6)}"


def delete_prefix(prefix: str, url: str = REDIS_URL) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
