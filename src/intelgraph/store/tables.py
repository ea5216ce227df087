"""SQLAlchemy Core tables. Every row of tenant data leads with ``tenant_id``.

Only this package defines tables; each area's ``repository`` module is the one place of
that area that queries them (see docs/adr/001-area-repositories.md).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

tenants = Table(
    "tenants",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("region", String(40), nullable=False),
    Column("plan", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("is_sandbox", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # API evolution: the version served when a request names none, safelist mode, APQ.
    Column("default_api_version", String(8), nullable=True),
    Column("is_safelisted", Boolean, nullable=False, server_default="0"),
    Column("allows_apq", Boolean, nullable=False, server_default="1"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("key_id", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("prefix", String(24), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("tenant_id", "key_id"),
    UniqueConstraint("key_hash", name="uq_api_keys_hash"),
)

entities = Table(
    "entities",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("entity_id", String(40), nullable=False),
    Column("external_id", String(256), nullable=False),
    Column("type", String(24), nullable=False),
    Column("label", String(1024), nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("source", String(128), nullable=True),
    Column("purposes", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "entity_id"),
    UniqueConstraint("tenant_id", "external_id", name="uq_entities_external_id"),
)
Index("ix_entities_type", entities.c.tenant_id, entities.c.type, entities.c.entity_id)

# Search terms: lower-cased tokens of the label and chosen attributes, for prefix search.
entity_terms = Table(
    "entity_terms",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("term", String(128), nullable=False),
    Column("entity_id", String(40), nullable=False),
    PrimaryKeyConstraint("tenant_id", "term", "entity_id"),
)
Index("ix_entity_terms_entity", entity_terms.c.tenant_id, entity_terms.c.entity_id)

relationships = Table(
    "relationships",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("relationship_id", String(40), nullable=False),
    Column("type", String(32), nullable=False),
    Column("from_id", String(40), nullable=False),
    Column("to_id", String(40), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "relationship_id"),
    UniqueConstraint("tenant_id", "from_id", "type", "to_id", name="uq_relationships_edge"),
)
Index("ix_relationships_to", relationships.c.tenant_id, relationships.c.to_id)

provenance = Table(
    "provenance",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("target", String(256), nullable=False),
    Column("payload_digest", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "seq"),
)

# One row per tenant: the head of its provenance chain. Updating it first in a write
# transaction serialises that tenant's writers on both SQLite and PostgreSQL.
provenance_heads = Table(
    "provenance_heads",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("request_digest", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "idempotency_key"),
)

pagerank_scores = Table(
    "pagerank_scores",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("entity_id", String(40), nullable=False),
    Column("score", Float, nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "entity_id"),
)
Index("ix_pagerank_rank", pagerank_scores.c.tenant_id, pagerank_scores.c.score)

audit_log = Table(
    "audit_log",
    metadata,
    Column("tenant_id", String(40), nullable=False),  # "platform" for platform-wide actions
    Column("audit_id", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(256), nullable=False),
    Column("reason", Text, nullable=True),
    Column("old_value", JSON, nullable=True),
    Column("new_value", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "audit_id"),
)
Index("ix_audit_time", audit_log.c.tenant_id, audit_log.c.created_at)

# --- plans, overrides, usage (plans/quotas/metering) ---------------------------------------

plans = Table(
    "plans",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("catalog_version", Integer, nullable=False),
    Column("api_rpm", BigInteger, nullable=False),
    Column("ingest_eps", BigInteger, nullable=False),
    Column("egress_gb_day", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

quota_overrides = Table(
    "quota_overrides",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("override_id", String(40), nullable=False),
    Column("limit_name", String(32), nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("ended_at", DateTime(timezone=True), nullable=True),  # removed, replaced or expired
    Column("end_reason", String(32), nullable=True),
    PrimaryKeyConstraint("tenant_id", "override_id"),
)
Index("ix_quota_overrides_live", quota_overrides.c.tenant_id, quota_overrides.c.ended_at)

# Durable usage: one row per tenant, meter and UTC minute; writers add to `value`.
usage_ledger = Table(
    "usage_ledger",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("meter", String(32), nullable=False),
    Column("bucket_start", DateTime(timezone=True), nullable=False),
    Column("value", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "meter", "bucket_start"),
)


# --- API evolution -----------------------------------------------------------------------

# Registered GraphQL operations. tenant_id "platform" holds the shipped and operator ones.
persisted_queries = Table(
    "persisted_queries",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("operation_id", String(128), nullable=True),
    Column("document", Text, nullable=False),
    Column("roles", JSON, nullable=False),
    Column("origin", String(16), nullable=False),  # manifest, operator, tenant, apq, rewrite
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "sha256"),
)
Index(
    "ix_persisted_queries_operation",
    persisted_queries.c.tenant_id,
    persisted_queries.c.operation_id,
)

# Platform-wide switches an operator flips at once for every replica (e.g. the API default).
platform_settings = Table(
    "platform_settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# --- key ring (platform keys; not tenant data) -------------------------------------------

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),  # RFC 7638 JWK thumbprint
    Column("state", String(16), nullable=False),  # active, verify-only, retired
    Column("public_key", LargeBinary, nullable=False),
    Column("private_key_sealed", LargeBinary, nullable=True),  # AES-GCM; dropped on retire
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("verify_until", DateTime(timezone=True), nullable=True),
    Column("retired_at", DateTime(timezone=True), nullable=True),
)
Index("ix_signing_keys_state", signing_keys.c.state)
