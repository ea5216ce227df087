"""SQLAlchemy Core tables. Every row of tenant data leads with ``tenant_id``.

Only this package defines tables; each area's ``repository`` module is the one place of
that area that queries them (see docs/adr/001-area-repositories.md).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# The same class as sqlalchemy.dialects.postgresql.VARCHAR, without importing the PostgreSQL
# dialect (tens of ms of CLI start-up) on SQLite.
from sqlalchemy.types import VARCHAR

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
    # GraphQL __schema/__type allowed (migration 0013).
    Column("allows_introspection", Boolean, nullable=False, server_default="1"),
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
    # Binary collation on PostgreSQL (migration 0006): prefix ranges need code-point order.
    Column(
        "term", String(128).with_variant(VARCHAR(128, collation="C"), "postgresql"), nullable=False
    ),
    Column("entity_id", String(40), nullable=False),
    PrimaryKeyConstraint("tenant_id", "term", "entity_id"),
    # Migration 0012: the rows are their key, so on SQLite the key is the table.
    sqlite_with_rowid=False,
)
# No (tenant_id, entity_id) index (dropped by migration 0012): a re-ingest deletes an
# entity's old terms by this key, recomputed from its stored label and attributes.

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
    Column("state", String(16), nullable=False),  # active, rotated, retired
    Column("public_key", LargeBinary, nullable=False),
    Column("private_key_sealed", LargeBinary, nullable=True),  # AES-GCM; only while active
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("rotated_at", DateTime(timezone=True), nullable=True),  # stopped signing
    Column("retired_at", DateTime(timezone=True), nullable=True),  # stopped verifying
    Column("retire_reason", String(200), nullable=True),
)
Index("ix_signing_keys_state", signing_keys.c.state)

# --- named operators (tenants/operators_repository.py; migration 0017; platform rows, not
# tenant data) ---------------------------------------------------------------------------
# One row per person's operator key, stored only as a sha256 hash. Names stay unique after a
# revoke, so "operator:<name>" in the audit log always means one person.
operator_keys = Table(
    "operator_keys",
    metadata,
    Column("key_id", String(40), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("role", String(32), nullable=False),  # kernel.tenancy.OperatorRole
    Column("key_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_by", String(200), nullable=True),
    Column("revoke_reason", Text, nullable=True),
    UniqueConstraint("name", name="uq_operator_keys_name"),
    UniqueConstraint("key_hash", name="uq_operator_keys_hash"),  # authentication looks up here
)

# --- usage exports (billing/exports.py; platform records, not tenant data) --------------------

# One row per daily usage export written to a directory: lets the scheduled job on any
# replica see that a day is already exported, and records what was signed.
usage_exports = Table(
    "usage_exports",
    metadata,
    Column("day", Date, nullable=False),
    Column("directory", String(1024), nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("totals", JSON, nullable=False),
    Column("manifest_sha256", String(64), nullable=False),
    Column("kid", String(64), nullable=False),  # key that signed the manifest
    Column("exported_by", String(200), nullable=False),
    Column("exported_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("day", "directory"),
)

# --- billing outbox, live toggles, provider customers (billing/outbox.py, toggles.py,
# customers.py) ---------------------------------------------------------------------------

# One delivery per (export row, adapter, meter). The columns up to `receipt` are a contract
# read by reconciliation (billing/reconcile.py): add columns, never rename these.
# `delivery_id` is sha256(tenant|period_start|meter|adapter): also the provider's
# idempotency key, so a resend can never bill twice.
billing_outbox = Table(
    "billing_outbox",
    metadata,
    Column("delivery_id", String(64), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("adapter", String(16), nullable=False),
    Column("meter", String(32), nullable=False),
    Column("value", Numeric(20, 6), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("state", String(8), nullable=False),  # pending, sent, failed, dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("receipt", JSON, nullable=True),
    # Claim lease: the worker holding claim_token sends it until claimed_until; a crashed
    # worker's claims expire and another replica resends with the same idempotency key.
    Column("claim_token", String(32), nullable=True),
    Column("claimed_until", DateTime(timezone=True), nullable=True),
    UniqueConstraint(
        "tenant_id", "period_start", "adapter", "meter", name="uq_billing_outbox_delivery"
    ),
    CheckConstraint(
        "state IN ('pending', 'sent', 'failed', 'dead')", name="ck_billing_outbox_state"
    ),
)
Index("ix_billing_outbox_due", billing_outbox.c.state, billing_outbox.c.next_attempt_at)

# Live toggles (the backout switch): tenant_id "platform" switches an adapter for everyone;
# a tenant's row switches one adapter for that tenant. No row = on.
billing_toggles = Table(
    "billing_toggles",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("adapter", String(16), nullable=False),
    Column("is_on", Boolean, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "adapter"),
)

# A tenant's customer id at a billing provider (Stripe needs one per meter event).
billing_customers = Table(
    "billing_customers",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("adapter", String(16), nullable=False),
    Column("customer_id", String(255), nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "adapter"),
)

# --- entity resolution (er/repository.py) -------------------------------------------------

# One row per tenant and entity type: a revision bumped by every change to its clusters
# (the first statement of each ER write, so it also serialises ER writers of that tenant
# and type), and the next cluster ordinal (older clusters have smaller ordinals).
er_state = Table(
    "er_state",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("entity_type", String(24), nullable=False),
    Column("revision", BigInteger, nullable=False),
    Column("next_ordinal", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "entity_type"),
)

# Trained Fellegi-Sunter models, versioned per tenant and type (the highest seq is live).
er_models = Table(
    "er_models",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("entity_type", String(24), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("model_version", String(40), nullable=False),  # content hash, fs1-…
    Column("config_version", String(64), nullable=False),
    Column("model", Text, nullable=False),  # MatchModel JSON
    Column("record_count", Integer, nullable=False),
    Column("trained_by", String(200), nullable=False),
    Column("reason", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "entity_type", "seq"),
)

# Versioned thresholds: proposed -> active (approved by another principal) -> retired, or
# rejected; a rollback marks the active one rolled_back and re-activates the last retired.
er_thresholds = Table(
    "er_thresholds",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("thresholds_id", String(40), nullable=False),
    Column("entity_type", String(24), nullable=False),
    Column("version", Integer, nullable=False),
    Column("auto_merge", Float, nullable=False),
    Column("review", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("origin", String(16), nullable=False),  # default, manual, suggested
    Column("proposed_by", String(200), nullable=False),
    Column("reason", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("activated_at", DateTime(timezone=True), nullable=True),
    Column("expected", JSON, nullable=True),  # expected metrics of a suggestion
    Column("baselines", JSON, nullable=False),  # golden set id -> baseline F1 and run
    PrimaryKeyConstraint("tenant_id", "thresholds_id"),
    UniqueConstraint("tenant_id", "entity_type", "version", name="uq_er_thresholds_version"),
)
Index("ix_er_thresholds_status", er_thresholds.c.tenant_id, er_thresholds.c.status)

er_clusters = Table(
    "er_clusters",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("cluster_id", String(40), nullable=False),
    Column("entity_type", String(24), nullable=False),
    Column("ordinal", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True), nullable=True),
    Column("merged_into", String(40), nullable=True),
    PrimaryKeyConstraint("tenant_id", "cluster_id"),
)

er_memberships = Table(
    "er_memberships",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("entity_id", String(40), nullable=False),
    Column("entity_type", String(24), nullable=False),
    Column("cluster_id", String(40), nullable=False),
    Column("decision", String(16), nullable=False),  # how the record got into its cluster
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "entity_id"),
)
Index("ix_er_memberships_cluster", er_memberships.c.tenant_id, er_memberships.c.cluster_id)

# Merge history: every merge, split and revert with its evidence, revertible.
er_merge_events = Table(
    "er_merge_events",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("event_id", String(40), nullable=False),
    Column("entity_type", String(24), nullable=False),
    Column("kind", String(16), nullable=False),  # MERGE, SPLIT, REVERT
    Column("cluster_id", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text, nullable=True),
    Column("evidence", JSON, nullable=False),
    Column("before", JSON, nullable=False),  # entity id -> cluster id before (null: new)
    Column("after", JSON, nullable=False),  # entity id -> cluster id after
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("reverted_by", String(40), nullable=True),
    PrimaryKeyConstraint("tenant_id", "event_id"),
)
Index(
    "ix_er_merge_events_cluster",
    er_merge_events.c.tenant_id,
    er_merge_events.c.cluster_id,
    er_merge_events.c.created_at,
)

# Pairs a person decided: NO_MATCH keeps the two records' clusters apart from then on.
er_pair_overrides = Table(
    "er_pair_overrides",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("left_id", String(40), nullable=False),
    Column("right_id", String(40), nullable=False),
    Column("entity_type", String(24), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "left_id", "right_id"),
)

er_review_items = Table(
    "er_review_items",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("item_id", String(40), nullable=False),
    Column("entity_type", String(24), nullable=False),
    Column("kind", String(16), nullable=False),  # PAIR, HELD
    Column("left_id", String(40), nullable=True),
    Column("right_id", String(40), nullable=True),
    Column("members", JSON, nullable=False),
    Column("match_probability", Float, nullable=True),
    Column("match_weight", Float, nullable=True),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),  # OPEN, APPROVED, REJECTED
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("decision_reason", Text, nullable=True),
    PrimaryKeyConstraint("tenant_id", "item_id"),
)
Index(
    "ix_er_review_items_status",
    er_review_items.c.tenant_id,
    er_review_items.c.status,
    er_review_items.c.created_at,
)
Index(
    "ix_er_review_items_pair",
    er_review_items.c.tenant_id,
    er_review_items.c.left_id,
    er_review_items.c.right_id,
)

er_golden_sets = Table(
    "er_golden_sets",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("golden_id", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("csv_text", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("record_counts", JSON, nullable=False),  # entity type -> records
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "golden_id"),
)

# Evaluations against golden sets (nightly, on approval, on demand) and what they found.
er_eval_runs = Table(
    "er_eval_runs",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("run_id", String(40), nullable=False),
    Column("entity_type", String(24), nullable=False),
    Column("golden_id", String(40), nullable=False),
    Column("kind", String(16), nullable=False),  # nightly, approval, manual
    Column("model_seq", Integer, nullable=True),
    Column("model_version", String(40), nullable=True),
    Column("thresholds_id", String(40), nullable=True),
    Column("thresholds_version", Integer, nullable=True),
    Column("f1", Float, nullable=False),
    Column("metrics", JSON, nullable=False),
    Column("record_count", Integer, nullable=False),
    Column("duration_seconds", Float, nullable=False),
    Column("scored_pairs", JSON, nullable=False),  # [[left, right, probability]] >= 0.5
    Column("started_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "run_id"),
)
Index(
    "ix_er_eval_runs_time",
    er_eval_runs.c.tenant_id,
    er_eval_runs.c.entity_type,
    er_eval_runs.c.started_at,
)

er_drift_alerts = Table(
    "er_drift_alerts",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("alert_id", String(40), nullable=False),
    Column("entity_type", String(24), nullable=False),
    Column("kind", String(32), nullable=False),  # F1_DROP, WEIGHT_PSI, LINK_SHARE, …
    Column("value", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("message", Text, nullable=False),
    Column("run_id", String(40), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "alert_id"),
)
Index("ix_er_drift_alerts_time", er_drift_alerts.c.tenant_id, er_drift_alerts.c.created_at)

# One row per online resolution batch: how many records, how many linked, weights, latency.
er_ingest_batches = Table(
    "er_ingest_batches",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("batch_id", String(40), nullable=False),
    Column("entity_type", String(24), nullable=False),
    Column("record_count", Integer, nullable=False),
    Column("linked_count", Integer, nullable=False),
    Column("candidate_count", Integer, nullable=False),
    Column("weight_counts", JSON, nullable=False),  # histogram on er.drift_checks edges
    Column("latency_seconds", Float, nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "batch_id"),
)
Index(
    "ix_er_ingest_batches_time",
    er_ingest_batches.c.tenant_id,
    er_ingest_batches.c.entity_type,
    er_ingest_batches.c.resolved_at,
)

# --- usage reconciliation (billing/reconcile.py) -------------------------------------------

# The latest check of one source (export, adapter:<name>, prometheus) against the ledger for
# one tenant, period and billed meter. Re-running a period replaces its rows in one
# transaction; `status` is ok, mismatch (delta above 1%) or unavailable (with `detail`).
billing_reconciliations = Table(
    "billing_reconciliations",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("period_end", DateTime(timezone=True), nullable=False),
    Column("meter", String(32), nullable=False),
    Column("source", String(48), nullable=False),
    Column("status", String(12), nullable=False),
    Column("ledger_value", Numeric(24, 6), nullable=False),
    Column("source_value", Numeric(24, 6), nullable=True),
    Column("delta_ratio", Float, nullable=True),
    Column("detail", Text, nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "period_start", "period_end", "meter", "source"),
    CheckConstraint(
        "status IN ('ok', 'mismatch', 'unavailable')", name="ck_billing_reconciliations_status"
    ),
)
Index(
    "ix_billing_reconciliations_checked",
    billing_reconciliations.c.tenant_id,
    billing_reconciliations.c.checked_at,
)

# --- edge cache safelist (persisted/safelist.py; migration 0010; platform data) ----
# The persisted operations the gateway edge cache may serve, with their TTL. Shipped entries
# (persisted/safelist.json) are inserted once; an operator's removal stays as a row
# with is_cached false, so a restart does not bring a removed shipped entry back. Changes
# are audited (tenant "platform").
edge_cache_safelist = Table(
    "edge_cache_safelist",
    metadata,
    Column("operation_id", String(128), primary_key=True),
    Column("ttl_seconds", Integer, nullable=False),
    Column("is_graph_derived", Boolean, nullable=False),  # purged when analytics recompute
    Column("is_cached", Boolean, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("reason", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# --- edge cache epochs (edgecache/epochs.py; migration 0014; docs/adr/013) -------
# A tenant's cache epoch: every edge cache entry records the epoch it was filled under and
# is served only while it is still the tenant's epoch. A write whose Redis purge failed
# bumps it before it is acknowledged. No row = epoch 0.
edge_cache_epochs = Table(
    "edge_cache_epochs",
    metadata,
    Column("tenant_id", String(40), primary_key=True),
    Column("epoch", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# --- entity resolution: tenant configs per entity type (er/type_configs.py; migration 0011)
# A tenant admin's comparisons config for an entity type (VEHICLE, ACCOUNT… or an override
# of a built-in type), versioned: the highest version is live; older ones stay for audit.
er_type_configs = Table(
    "er_type_configs",
    metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("entity_type", String(24), nullable=False),
    Column("version", Integer, nullable=False),
    Column("config_version", String(64), nullable=False),  # the config's own version label
    Column("fingerprint", String(64), nullable=False),  # sha256 of the validated config
    Column("document", Text, nullable=False),  # the YAML/JSON as the admin gave it
    Column("created_by", String(200), nullable=False),
    Column("reason", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "entity_type", "version"),
)

# --- scheduled jobs (jobs/repository.py; migration 0015; platform records) ----------------
# One row per job: the first day a daily job covers (its catch-up never goes further back)
# and whether an operator paused it. Every replica reads it before a run, so a pause holds
# everywhere. No row = not paused (and, for a daily job, not run yet).
job_state = Table(
    "job_state",
    metadata,
    Column("job", String(64), primary_key=True),
    Column("first_day", Date, nullable=True),
    Column("is_paused", Boolean, nullable=False, server_default="0"),
    Column("paused_by", String(200), nullable=True),
    Column("pause_reason", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The latest attempt of a daily job at one day it covers (jobs/catch_up.py): running,
# succeeded or failed (with the error). A day without a succeeded row is run again.
job_runs = Table(
    "job_runs",
    metadata,
    Column("job", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("error", Text, nullable=True),
    PrimaryKeyConstraint("job", "day"),
    CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="ck_job_runs_status"),
)
