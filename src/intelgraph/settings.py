"""Every knob of IntelGraph, read from ``INTELGRAPH_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Typed configuration; ``create_app(settings)`` builds the service from one of these."""

    model_config = SettingsConfigDict(env_prefix="INTELGRAPH_", extra="ignore")

    database_url: str = Field(
        "sqlite:///./var/intelgraph.db",
        description="SQLAlchemy URL: sqlite:///path (WAL) or postgresql+psycopg://user@host/db",
    )
    redis_url: str | None = Field(
        None, description="Redis URL for shared quotas/cache across replicas; unset = in-memory"
    )
    data_dir: Path = Field(
        Path("./var"), description="Where the operator key file and other local state live"
    )
    operator_key: str | None = Field(
        None, description="Operator API key; unset = generated into DATA_DIR on first start"
    )
    master_key: str | None = Field(
        None,
        description="Base64 of 32 bytes sealing private keys at rest; unset = key file in DATA_DIR",
    )
    signing_key_grace_days: int | None = Field(
        None,
        description="Deprecated and ignored: a rotated signing key verifies until it is "
        "retired (`intelgraph signing-keys retire KID --reason compromised`); still accepted "
        "so old configurations start",
    )
    host: str = Field("127.0.0.1", description="Address `serve` listens on")
    port: int = Field(8080, description="Port `serve` listens on")
    workers: int = Field(1, description="Server worker processes for `serve`")
    server_url: str | None = Field(
        None,
        description="A running server's base URL (e.g. http://127.0.0.1:8080): `intelgraph "
        "cache purge` goes through its admin API with the operator key, reaching its "
        "in-memory edge cache",
    )
    log_level: str = Field("INFO", description="Log level (JSON logs on stderr)")
    authn_cache_seconds: float = Field(
        1.0,
        description="How long a replica trusts an API key it has checked: a key revoked or a "
        "tenant suspended through another replica or the CLI is refused at most this much "
        "later (0 = check every request)",
    )
    max_ingest_bytes: int = Field(
        16 * 1024 * 1024, description="Largest accepted ingest body in bytes (larger = 413)"
    )
    max_url_bytes: int = Field(
        8_192, description="Longest accepted request path plus query string in bytes (longer = 414)"
    )
    max_header_bytes: int = Field(
        8_192,
        description="Largest accepted total of request header lines in bytes, as sent "
        "(larger = 431); below the HTTP server's own limits so the answer is a coded error",
    )
    max_header_count: int = Field(
        64, description="Most request headers accepted (more = 431); the server allows 100"
    )
    idempotency_ttl_seconds: int = Field(
        86_400, description="How long an Idempotency-Key replays its first answer"
    )
    graphql_max_depth: int = Field(10, description="Deepest GraphQL selection accepted")
    graphql_max_cost: int = Field(
        50_000, description="Largest estimated GraphQL cost (fields x list sizes) accepted"
    )
    graphql_max_list: int = Field(500, description="Largest `limit` argument accepted")
    graphql_max_tokens: int = Field(
        1_000,
        description="Most lexical tokens (and, separately, comments) in a GraphQL document; "
        "parsing stops there (the standard introspection query has 163 to 183)",
    )
    graphql_max_aliases: int = Field(
        15, description="Most aliases in a GraphQL operation, fragments expanded"
    )
    graphql_max_root_fields: int = Field(
        20, description="Most root fields in a GraphQL operation, fragments expanded"
    )
    graphql_max_directives: int = Field(
        50, description="Most directives in a GraphQL operation, fragments expanded"
    )
    graphql_max_introspection_depth: int = Field(
        20,
        description="Deepest `__schema`/`__type` subtree accepted (introspection is left out "
        "of INTELGRAPH_GRAPHQL_MAX_DEPTH; the standard introspection query needs 15)",
    )
    graphql_timeout_seconds: float = Field(
        10.0,
        description="Time budget of one GraphQL request, from its arrival: a query still "
        "running then is stopped and answered 504 QUERY_TIMEOUT (a started mutation finishes)",
    )
    graphql_max_response_bytes: int = Field(
        10 * 1024 * 1024,
        description="Largest GraphQL answer in bytes: a query whose answer grows past it is "
        "stopped and answered 400 RESPONSE_TOO_LARGE",
    )
    graphql_threads: int = Field(
        16,
        description="GraphQL requests one worker process runs at once, each in a worker "
        "thread off the event loop; more wait for a thread, within their time budget",
    )
    graphql_tenant_concurrency: int = Field(
        8,
        description="Worker threads one tenant's GraphQL requests may use at once per worker "
        "process; its further requests wait for its own, so other tenants find threads free "
        "(0 = no bound)",
    )
    graphql_document_cache_size: int = Field(
        1024, description="Parsed+validated GraphQL documents kept, by sha256 of the text"
    )
    persisted_max_operations: int = Field(
        1_000,
        description="Most persisted operations one tenant may hold (APQ, registrations, "
        "rewrites and manifests registered for it; the platform scope has the same cap)",
    )
    persisted_max_bytes: int = Field(
        5 * 1024 * 1024,
        description="Most bytes of document text one tenant's persisted operations may hold "
        "(UTF-8; the platform scope has the same cap)",
    )
    pagerank_debounce_seconds: float = Field(
        5.0, description="Quiet time after an ingest before PageRank is recomputed"
    )
    pagerank_process_min_edges: int = Field(
        20_000,
        description="Tenants with at least this many relationships get their background "
        "PageRank recompute in a child process, so the API worker keeps answering (igraph "
        "holds the interpreter lock); smaller graphs are computed in-process (0 = always "
        "a child process)",
    )
    run_background_jobs: bool = Field(
        True, description="Run the in-process scheduler (PageRank recompute, later jobs)"
    )
    jobs_retry_seconds: float = Field(
        60.0,
        description="How long a scheduled daily job that failed waits before it tries the "
        "same day again (the days after it wait too; `intelgraph jobs list` shows the error)",
    )
    demo_tenant_slug: str = Field("demo", description="Slug of the tenant `--demo` seeds")
    # gateway edge cache (edgecache/)
    cache_enabled: bool = Field(
        True, description="Serve safelisted persisted reads from the edge cache"
    )
    cache_redis_url: str | None = Field(
        None,
        description="Redis for the edge cache shared by replicas; unset = REDIS_URL, "
        "both unset = in-memory",
    )
    cache_tenant_max_bytes: int = Field(
        512 * 1024 * 1024,
        description="In-memory edge cache: bytes one tenant may hold (least recently used "
        "entries are evicted past it)",
    )
    cache_stale_seconds: float = Field(
        5.0,
        description="How long past its TTL an entry may be served STALE to requests that "
        "arrive while the same entry is being refreshed",
    )
    cache_purge_hooks: str = Field(
        "", description="Comma list of URLs each edge cache purge is POSTed to (e.g. a CDN)"
    )
    cache_epoch_seconds: float = Field(
        1.0,
        ge=0,
        description="How long a replica trusts its reading of a tenant's cache epoch: after "
        "an acknowledged write, no replica serves pre-write cached data for longer, even when "
        "the write's Redis purge failed (the write moved the epoch in the database instead); "
        "0 = read it on every cache lookup",
    )
    cache_redis_timeout_seconds: float = Field(
        0.5,
        gt=0,
        description="Edge cache Redis connect and socket timeout: a purge or lookup over a "
        "cut link gives up after it (a purge then moves the tenant's cache epoch instead)",
    )
    export_dir: Path | None = Field(
        None,
        description="Where signed daily usage exports are written; unset = DATA_DIR/exports",
    )
    # billing adapters and outbox (billing/adapters.py, billing/outbox.py)
    billing_adapters: str = Field(
        "file",
        description="Comma list of enabled billing adapters: stripe, openmeter, webhook, file",
    )
    stripe_api_base: str = Field(
        "https://api.stripe.com", description="Stripe API base URL (meter events go to /v1/…)"
    )
    stripe_api_key: str | None = Field(
        None, description="Stripe secret key (sk_…) for meter events; required for `stripe`"
    )
    openmeter_url: str | None = Field(
        None, description="OpenMeter base URL (events go to /api/v1/events); required for it"
    )
    openmeter_token: str | None = Field(None, description="OpenMeter API token (Bearer)")
    billing_webhook_url: str | None = Field(
        None, description="URL the `webhook` adapter POSTs signed usage events to"
    )
    billing_webhook_secret: str | None = Field(
        None, description="Standard Webhooks signing secret (whsec_ + base64) for `webhook`"
    )
    billing_file_dir: Path | None = Field(
        None, description="Where the `file` adapter writes JSON lines; unset = DATA_DIR/billing"
    )
    billing_max_attempts: int = Field(
        16, description="Attempts per delivery before it becomes a dead letter"
    )
    billing_backoff_base_seconds: float = Field(
        2.0, description="First retry delay cap; doubles each attempt (full jitter)"
    )
    billing_backoff_max_seconds: float = Field(
        3600.0, description="Largest retry delay cap (Retry-After from a provider may exceed it)"
    )
    billing_http_timeout_seconds: float = Field(
        10.0, description="Timeout of one request to a billing provider"
    )
    billing_push_interval_seconds: float = Field(
        30.0, description="How often `serve` delivers due billing deliveries"
    )
    billing_claim_lease_seconds: float = Field(
        300.0, description="How long a worker owns claimed deliveries before another may retry"
    )
    # usage reconciliation (billing/reconcile.py)
    prometheus_url: str | None = Field(
        None,
        description="Prometheus server that scrapes every replica (e.g. http://127.0.0.1:9090), "
        "queried by reconciliation; unset = the Prometheus source is reported unavailable",
    )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def usage_export_dir(self) -> Path:
        """Where daily usage exports go: EXPORT_DIR, else DATA_DIR/exports."""
        return self.export_dir if self.export_dir is not None else self.data_dir / "exports"

    @property
    def billing_adapter_names(self) -> tuple[str, ...]:
        """The enabled billing adapters, in the order given."""
        return tuple(
            name.strip().lower() for name in self.billing_adapters.split(",") if name.strip()
        )

    @property
    def billing_events_dir(self) -> Path:
        """Where the `file` adapter writes: BILLING_FILE_DIR, else DATA_DIR/billing."""
        if self.billing_file_dir is not None:
            return self.billing_file_dir
        return self.data_dir / "billing"
