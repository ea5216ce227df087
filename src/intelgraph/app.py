"""The composition root: builds the running system from Settings.

This is the only module that chooses adapters (SQLite or PostgreSQL today; memory or
Redis for shared state as those areas land).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import time

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Mount, Route

from intelgraph.api.admin_http import AdminApi
from intelgraph.api.billing_http import BillingApi
from intelgraph.api.budget import BudgetLimits
from intelgraph.api.cache_http import EdgeCacheApi
from intelgraph.api.er_http import EntityResolutionApi
from intelgraph.api.evolution_http import EvolutionApi
from intelgraph.api.executor import GraphQLExecutor
from intelgraph.api.graphql_http import (
    GraphQLEndpoint,
    deprecations_page,
    graphiql,
    wants_graphql_response,
)
from intelgraph.api.health_http import HealthApi
from intelgraph.api.ingest_http import IngestEndpoint, charge_ingest
from intelgraph.api.limits import QueryLimits
from intelgraph.api.off_loop import OffLoopRunner
from intelgraph.api.reference_http import DOCS_PATH, OPENAPI_PATH, ApiReference
from intelgraph.api.schemas import build_schemas
from intelgraph.api.tenant_concurrency import TenantConcurrency
from intelgraph.audit.log import AuditLog
from intelgraph.audit.unit_of_work import UnitOfWorkFactory
from intelgraph.billing.adapters import AdapterConfig, build_adapters
from intelgraph.billing.customers import BillingCustomers
from intelgraph.billing.exports import UsageExporter
from intelgraph.billing.outbox import BillingOutbox, RetryPolicy
from intelgraph.billing.reconcile import Reconciler
from intelgraph.billing.toggles import BillingToggles
from intelgraph.crypto.field_encryption import FieldCipher, load_master_key
from intelgraph.crypto.keyring import Keyring
from intelgraph.edgecache.backend import CacheBackend
from intelgraph.edgecache.epochs import TenantEpochs
from intelgraph.edgecache.hooks import PurgeHooks
from intelgraph.edgecache.memory import MemoryCacheBackend
from intelgraph.edgecache.redis_backend import RedisCacheBackend
from intelgraph.edgecache.service import EdgeCache
from intelgraph.er.service import EntityResolutionService
from intelgraph.gateway.authn import JWKS_PATH, AuthenticationMiddleware, PrincipalCache
from intelgraph.gateway.cache_headers import CacheHeadersMiddleware
from intelgraph.gateway.edge_cache import EdgeCacheMiddleware
from intelgraph.gateway.metering import MeteringMiddleware
from intelgraph.gateway.quotas import QuotaMiddleware
from intelgraph.gateway.request_limits import RequestLimitsMiddleware
from intelgraph.gateway.request_log import RequestLogMiddleware, request_id_of
from intelgraph.gateway.storable_url import StorableUrlMiddleware
from intelgraph.gateway.versioning import VersioningMiddleware
from intelgraph.graph.pagerank_worker import PagerankProcessRunner
from intelgraph.graph.repository import start_provenance_chain
from intelgraph.graph.service import GraphService
from intelgraph.http.graphql_request import GRAPHQL_RESPONSE
from intelgraph.http.responses import JSONResponse, error_response
from intelgraph.jobs.debounce import TenantDebouncer
from intelgraph.jobs.scheduler import Scheduler
from intelgraph.jobs.service import JobsService
from intelgraph.kernel.clock import Clock, SystemClock
from intelgraph.kernel.errors import (
    INTERNAL,
    METHOD_NOT_ALLOWED,
    ROUTE_NOT_FOUND,
    VALIDATION,
    IntelGraphError,
)
from intelgraph.metering.ledger import LedgerFlusher
from intelgraph.metering.meters import UsageMeters
from intelgraph.metering.service import MeteringService
from intelgraph.obs.gc_pauses import GcPauseMeter, freeze_startup_heap
from intelgraph.obs.metrics import Metrics
from intelgraph.persisted.registry import PersistedQueryCaps, PersistedQueryRegistry
from intelgraph.persisted.safelist import Safelist
from intelgraph.policy.engine import PolicyEngine
from intelgraph.quotas import CachedLimits, QuotaEngine, memory_quota_engine, redis_quota_engine
from intelgraph.settings import Settings
from intelgraph.store.engine import WalCheckpointer, create_store_engine
from intelgraph.tenants.entitlements import EntitlementService
from intelgraph.tenants.operator import OperatorKey, load_operator_key
from intelgraph.tenants.operators import OperatorService
from intelgraph.tenants.platform_settings import FORCE_API_V1_DEFAULT, PlatformSettings
from intelgraph.tenants.service import TenantService
from intelgraph.web.assets import STATIC_PREFIX, static_files

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything the API, the CLI and the jobs call, built once from Settings."""

    settings: Settings
    engine: Engine
    clock: Clock
    policy: PolicyEngine
    operator_key: OperatorKey
    tenants: TenantService
    operators: OperatorService  # named operators' keys (ADR 023)
    entitlements: EntitlementService
    graph: GraphService
    metrics: Metrics
    pagerank_jobs: TenantDebouncer
    scheduler: Scheduler
    jobs: JobsService
    platform: PlatformSettings
    persisted_queries: PersistedQueryRegistry
    keyring: Keyring
    quotas: QuotaEngine
    limits: CachedLimits
    meters: UsageMeters
    ledger: LedgerFlusher
    metering: MeteringService
    er: EntityResolutionService
    exports: UsageExporter
    reconciler: Reconciler
    outbox: BillingOutbox
    edge_cache: EdgeCache
    checkpointer: WalCheckpointer
    audit_log: AuditLog


def build_services(settings: Settings, *, clock: Clock | None = None) -> Services:
    """Wire the services for ``settings``: no database writes (``bootstrap`` does those)."""
    clock = clock or SystemClock()
    engine = create_store_engine(settings.database_url)
    policy = PolicyEngine()
    operator_key = load_operator_key(settings.operator_key, settings.data_dir)
    metrics = Metrics()
    meters = UsageMeters(metrics, clock)
    entitlements = EntitlementService(engine, clock, policy)
    # A new tenant's graph starts its provenance chain in the create transaction.
    tenants = TenantService(
        engine,
        clock,
        operator_key,
        entitlements,
        policy,
        on_tenant_created=[start_provenance_chain],
    )
    graph = GraphService(
        engine,
        clock,
        policy,
        settings.idempotency_ttl_seconds,
        on_ingest_events=meters.count_ingest_events,
    )
    # Large graphs are computed in a child process: igraph holds the interpreter lock.
    pagerank_runner = PagerankProcessRunner(
        min_edges=settings.pagerank_process_min_edges, metrics=metrics
    )
    pagerank_jobs = TenantDebouncer(
        "pagerank",
        functools.partial(graph.recompute_pagerank, runner=pagerank_runner),
        settings.pagerank_debounce_seconds,
        clock,
        on_stop=pagerank_runner.close,
    )
    graph.on_ingested(pagerank_jobs.poke)
    platform = PlatformSettings(engine, clock, policy)
    er = EntityResolutionService(engine, clock, policy, metrics, platform)
    graph.on_ingested(er.resolution.on_ingested)
    # One thread per job; daily jobs catch up on missed days (jobs/catch_up.py) under a
    # lock per job that holds no transaction, and each job can be paused by itself.
    scheduler = Scheduler(engine, clock, retry_seconds=settings.jobs_retry_seconds)
    scheduler.every("quota.override_expiry", 30, entitlements.close_expired_overrides)
    # It judges the live model, not a day: after an outage only the latest day runs.
    scheduler.daily(
        "er.nightly_eval", time(2, 0), lambda _day: er.drift.run_nightly(), catches_up=False
    )
    scheduler.every("er.gauges", 300, er.drift.refresh_gauges)
    scheduler.every("er.sweep", 60, er.resolution.sweep_unresolved)
    # Shared state: Redis when configured (replicas share budgets and entries), else memory.
    quotas = (
        redis_quota_engine(clock, metrics, settings.redis_url)
        if settings.redis_url
        else memory_quota_engine(clock, metrics)
    )
    limits = CachedLimits(entitlements.effective_limits, clock, ttl_seconds=5.0)
    entitlements.on_limits_changed(limits.invalidate)
    persisted_queries = PersistedQueryRegistry(
        engine,
        clock,
        policy,
        PersistedQueryCaps(settings.persisted_max_operations, settings.persisted_max_bytes),
    )
    edge_cache = build_edge_cache(settings, engine, clock, persisted_queries, policy, metrics)
    # Purged before the write is acknowledged; PageRank purges its graph-derived operations.
    graph.on_reads_changed(edge_cache.purge_entities)
    graph.on_analytics_recomputed(edge_cache.purge_graph_derived)
    cipher = FieldCipher(load_master_key(settings.master_key, settings.data_dir))
    keyring = Keyring(engine, clock, cipher, policy)
    if settings.signing_key_grace_days is not None:
        log.warning(
            "INTELGRAPH_SIGNING_KEY_GRACE_DAYS is deprecated and ignored: a rotated signing "
            "key verifies until `intelgraph signing-keys retire KID --reason ...`"
        )
    exports = UsageExporter(engine, clock, keyring, settings.usage_export_dir, policy)
    # Shortly after midnight UTC, the day that just ended, and every day missed before it;
    # one replica (the scheduler's job lock). Exporting a day again rewrites the same rows.
    scheduler.daily(
        "billing.usage_export",
        time(0, 5),
        exports.run_scheduled,
    )
    reconciler = Reconciler(
        engine,
        clock,
        MeteringService(engine, policy),
        metrics,
        export_dir=settings.usage_export_dir,
        adapter_names=settings.billing_adapter_names,
        prometheus_url=settings.prometheus_url,
        tenant_ids=lambda: [tenant.id for tenant in tenants.list_tenants()],
        policy=policy,
    )
    # After the export (00:05) and the adapters' first pushes; a day waits for its export.
    scheduler.daily(
        "billing.reconcile",
        time(1, 30),
        reconciler.reconcile_scheduled,
        after="billing.usage_export",
    )
    scheduler.every("billing.recon_gauges", 60, reconciler.refresh_gauges)
    outbox = build_outbox(settings, engine, clock, tenants, policy, metrics)
    # Every export (scheduled, CLI, backfill) is queued for the billing adapters.
    exports.on_exported(outbox.enqueue_exported)
    # Claims are per delivery (SKIP LOCKED), so every replica may push: no job lock needed.
    scheduler.every("billing.push", settings.billing_push_interval_seconds, outbox.run_scheduled)
    return Services(
        settings=settings,
        engine=engine,
        clock=clock,
        policy=policy,
        operator_key=operator_key,
        tenants=tenants,
        operators=OperatorService(UnitOfWorkFactory(engine, clock), policy),
        entitlements=entitlements,
        graph=graph,
        metrics=metrics,
        pagerank_jobs=pagerank_jobs,
        scheduler=scheduler,
        jobs=JobsService(engine, clock, policy, scheduler.jobs),
        platform=platform,
        persisted_queries=persisted_queries,
        keyring=keyring,
        quotas=quotas,
        limits=limits,
        meters=meters,
        ledger=LedgerFlusher(engine, meters, metrics),
        metering=MeteringService(engine, policy),
        audit_log=AuditLog(engine, policy),
        er=er,
        exports=exports,
        reconciler=reconciler,
        outbox=outbox,
        edge_cache=edge_cache,
        checkpointer=WalCheckpointer(engine),
    )


def build_edge_cache(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    registry: PersistedQueryRegistry,
    policy: PolicyEngine,
    metrics: Metrics,
) -> EdgeCache:
    """The edge cache on Redis when a cache (or shared) Redis URL is set, else in memory.

    Nothing connects here: a Redis that is down shows up as bypassed requests.
    """
    redis_url = settings.cache_redis_url or settings.redis_url
    backend: CacheBackend
    if redis_url:
        backend = RedisCacheBackend(redis_url, timeout_seconds=settings.cache_redis_timeout_seconds)
    else:
        backend = MemoryCacheBackend(
            settings.cache_tenant_max_bytes,
            clock,
            on_bytes=lambda tenant, held: metrics.cache_bytes.labels(tenant).set(held),
        )
    safelist = Safelist(engine, clock, registry, policy)
    hooks = PurgeHooks(
        [url.strip() for url in settings.cache_purge_hooks.split(",") if url.strip()],
        on_error=metrics.cache_purge_hook_errors.inc,
    )
    return EdgeCache(
        backend,
        safelist,
        registry,
        policy,
        engine,
        clock,
        metrics,
        hooks,
        TenantEpochs(engine, clock, settings.cache_epoch_seconds),
        is_enabled=settings.cache_enabled,
        stale_seconds=settings.cache_stale_seconds,
    )


def build_outbox(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    tenants: TenantService,
    authz: PolicyEngine,
    metrics: Metrics | None = None,
) -> BillingOutbox:
    """The billing outbox with the adapters INTELGRAPH_BILLING_ADAPTERS enables."""
    config = AdapterConfig(
        stripe_api_base=settings.stripe_api_base,
        stripe_api_key=settings.stripe_api_key,
        openmeter_url=settings.openmeter_url,
        openmeter_token=settings.openmeter_token,
        webhook_url=settings.billing_webhook_url,
        webhook_secret=settings.billing_webhook_secret,
        file_dir=settings.billing_events_dir,
        timeout_seconds=settings.billing_http_timeout_seconds,
    )
    try:
        adapters = build_adapters(settings.billing_adapter_names, config, clock)
    except ValueError as exc:
        raise IntelGraphError(VALIDATION, str(exc)) from exc
    policy = RetryPolicy(
        max_attempts=settings.billing_max_attempts,
        base_seconds=settings.billing_backoff_base_seconds,
        max_seconds=settings.billing_backoff_max_seconds,
        lease_seconds=settings.billing_claim_lease_seconds,
    )
    deliveries = metrics.billing_deliveries if metrics is not None else None
    return BillingOutbox(
        engine,
        clock,
        adapters,
        BillingToggles(engine, clock, authz),
        BillingCustomers(engine, clock, authz),
        lambda: {tenant.id for tenant in tenants.list_tenants() if tenant.is_sandbox},
        policy,
        authz=authz,
        on_outcome=(
            (lambda adapter, outcome: deliveries.labels(adapter, outcome).inc())
            if deliveries is not None
            else None
        ),
    )


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> Starlette:
    """The ASGI application: gateway stages around the GraphQL and REST routes."""
    services = services or build_services(settings or Settings())
    settings = services.settings
    limits = QueryLimits(
        max_depth=settings.graphql_max_depth,
        max_cost=settings.graphql_max_cost,
        max_list=settings.graphql_max_list,
        max_tokens=settings.graphql_max_tokens,
        max_aliases=settings.graphql_max_aliases,
        max_root_fields=settings.graphql_max_root_fields,
        max_directives=settings.graphql_max_directives,
        max_introspection_depth=settings.graphql_max_introspection_depth,
    )
    executors = {
        version: GraphQLExecutor(schema, limits, settings.graphql_document_cache_size)
        for version, schema in build_schemas().items()
    }
    # GraphQL work runs in worker threads, a bounded share per tenant (ADR 012).
    off_loop = OffLoopRunner(
        settings.graphql_threads, TenantConcurrency(settings.graphql_tenant_concurrency)
    )
    graphql = GraphQLEndpoint(
        executors,
        services.graph,
        services.persisted_queries,
        services.engine,
        services.clock,
        services.metrics,
        functools.partial(charge_ingest, services.quotas, services.limits),
        services.er,
        services.edge_cache,
        budget_limits=BudgetLimits(
            settings.graphql_timeout_seconds, settings.graphql_max_response_bytes
        ),
        off_loop=off_loop,
    )
    health = HealthApi(services.engine, services.metrics)
    admin = AdminApi(services.tenants, services.entitlements, services.audit_log, services.metering)
    reference = ApiReference()  # /openapi.json and /docs, from these routes
    routes = [
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
        Route("/metrics", health.metrics_endpoint, methods=["GET"]),
        Route("/graphiql", graphiql, methods=["GET"]),
        Mount(STATIC_PREFIX, app=static_files(), name="static"),  # GraphiQL's assets
        Route(JWKS_PATH, _jwks_endpoint(services.keyring), methods=["GET"]),
        Route("/graphql", graphql.handle, methods=["GET", "POST"]),
        Route("/docs/api/deprecations.md", deprecations_page, methods=["GET"]),
        Route(OPENAPI_PATH, reference.openapi_json, methods=["GET"]),
        Route(DOCS_PATH, reference.docs, methods=["GET"]),
        Route(
            "/v1/ingest",
            IngestEndpoint(
                services.graph, settings.max_ingest_bytes, services.quotas, services.limits
            ).handle,
            methods=["POST"],
        ),
        *admin.routes(),
        *BillingApi(services.exports).routes(),
        *EntityResolutionApi(services.er).routes(),
        *EdgeCacheApi(services.edge_cache, services.tenants).routes(),
        *EvolutionApi(
            services.persisted_queries,
            executors["1.1"].schema,
            services.tenants,
            services.platform,
        ).routes(),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if settings.run_background_jobs:
            services.pagerank_jobs.start()
            services.er.start()
            services.scheduler.start()
        services.quotas.start()
        services.ledger.start()
        services.checkpointer.start()  # SQLite WAL checkpoints off the commit path
        yield
        services.ledger.stop()  # flushes the last second of usage
        services.quotas.stop()
        services.scheduler.stop()
        services.outbox.close()
        services.er.stop()
        services.pagerank_jobs.stop()
        services.edge_cache.stop()
        services.checkpointer.stop()
        off_loop.close()  # GraphQL worker threads end once idle
        services.engine.dispose()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            IntelGraphError: _intelgraph_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
    )
    app.state.services = services
    app.state.executors = executors
    app.state.graphql_off_loop = off_loop
    # Innermost: a hit is still charged (quota), metered (api call + egress bytes).
    app.add_middleware(EdgeCacheMiddleware, cache=services.edge_cache)
    app.add_middleware(MeteringMiddleware, meters=services.meters)
    app.add_middleware(
        VersioningMiddleware,
        is_forced_v1=lambda: bool(services.platform.get(FORCE_API_V1_DEFAULT, False)),
        requests_by_version=services.metrics.api_requests_by_version,
    )
    # Outside versioning: a 400 for a bad X-IG-Api-Version is charged and carries the
    # RateLimit headers like every tenant response (ADR 017); it is still never metered.
    app.add_middleware(QuotaMiddleware, quotas=services.quotas, limits_for=services.limits)
    principals = PrincipalCache(services.clock, settings.authn_cache_seconds)
    services.entitlements.on_limits_changed(lambda _tenant_id: principals.clear())
    app.add_middleware(AuthenticationMiddleware, tenants=services.tenants, principals=principals)
    # Before authentication: a path or query with %00 or a lone surrogate never reaches a store.
    app.add_middleware(StorableUrlMiddleware)
    # Outside authentication: its 401s get no-store too; it reads the principal authn set.
    app.add_middleware(CacheHeadersMiddleware)
    app.add_middleware(RequestLogMiddleware, metrics=services.metrics)
    # Outermost: an over-long URL or header set is refused before any other work.
    app.add_middleware(
        RequestLimitsMiddleware,
        max_url_bytes=settings.max_url_bytes,
        max_header_bytes=settings.max_header_bytes,
        max_header_count=settings.max_header_count,
    )
    return app


def _jwks_endpoint(keyring: Keyring) -> Callable[[Request], Awaitable[Response]]:
    async def jwks(_: Request) -> Response:
        return JSONResponse(keyring.jwks(), headers={"Cache-Control": "public, max-age=60"})

    return jwks


def create_app_from_env() -> Starlette:
    """Factory for the server processes: Settings from the environment.

    The start-up heap is frozen out of the garbage collector's reach (obs/gc_pauses.py:
    full collections stalled the event loop for ~100 ms); tests build apps with create_app.
    """
    app = create_app(Settings())
    freeze_startup_heap()
    GcPauseMeter(app.state.services.metrics.gc_pauses).install()
    return app


async def _intelgraph_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IntelGraphError)
    response = error_response(exc, request_id_of(request.scope))
    if wants_graphql_response(request):
        response.headers["content-type"] = GRAPHQL_RESPONSE
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        err = IntelGraphError(ROUTE_NOT_FOUND, f"no route {request.url.path}; see the API guide")
    elif exc.status_code == 405:
        allowed = _allowed_methods(request)
        err = IntelGraphError(
            METHOD_NOT_ALLOWED,
            f"{request.method} is not allowed on {request.url.path}; use {', '.join(allowed)}",
            {"allowedMethods": allowed},
            {"Allow": ", ".join(allowed)},
        )
    else:
        err = IntelGraphError(VALIDATION, str(exc.detail))
    err.headers = {**(exc.headers or {}), **err.headers}
    return error_response(err, request_id_of(request.scope))


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route takes on this path (Starlette's Allow names one route's)."""
    methods: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, Route) and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods or set()
    return sorted(methods)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc)
    err = IntelGraphError(INTERNAL, "internal error; the request id is in the server logs")
    # Answered outside the gateway stages (Starlette's ServerErrorMiddleware): say it here.
    err.headers["Cache-Control"] = "no-store"
    return error_response(err, request_id_of(request.scope))
