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
    signing_key_grace_days: int = Field(
        30, description="Days a rotated signing key still verifies before it expires"
    )
    host: str = Field("127.0.0.1", description="Address `serve` listens on")
    port: int = Field(8080, description="Port `serve` listens on")
    workers: int = Field(1, description="Server worker processes for `serve`")
    log_level: str = Field("INFO", description="Log level (JSON logs on stderr)")
    max_ingest_bytes: int = Field(
        16 * 1024 * 1024, description="Largest accepted ingest body in bytes (larger = 413)"
    )
    idempotency_ttl_seconds: int = Field(
        86_400, description="How long an Idempotency-Key replays its first answer"
    )
    graphql_max_depth: int = Field(10, description="Deepest GraphQL selection accepted")
    graphql_max_cost: int = Field(
        50_000, description="Largest estimated GraphQL cost (fields x list sizes) accepted"
    )
    graphql_max_list: int = Field(500, description="Largest `limit` argument accepted")
    graphql_document_cache_size: int = Field(
        1024, description="Parsed+validated GraphQL documents kept, by sha256 of the text"
    )
    pagerank_debounce_seconds: float = Field(
        5.0, description="Quiet time after an ingest before PageRank is recomputed"
    )
    run_background_jobs: bool = Field(
        True, description="Run the in-process scheduler (PageRank recompute, later jobs)"
    )
    demo_tenant_slug: str = Field("demo", description="Slug of the tenant `--demo` seeds")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
