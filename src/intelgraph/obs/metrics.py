"""Prometheus meters of one app instance (its own registry, so tests can build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "intelgraph_http_requests_total",
            "HTTP requests by operation and status",
            ["operation", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "intelgraph_http_request_duration_seconds",
            "HTTP request latency by operation",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # server workers only (obs/gc_pauses.py): a collection stalls every request in flight
        self.gc_pauses = Histogram(
            "intelgraph_gc_pause_seconds",
            "Garbage collector pauses of this worker, by generation",
            ["generation"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
            registry=self.registry,
        )
        self.api_requests_by_version = Counter(
            "intelgraph_api_requests",
            "Authenticated API requests by tenant and negotiated API version",
            ["tenant", "version"],
            registry=self.registry,
        )
        self.deprecated_field_usage = Counter(
            "intelgraph_deprecated_field_usage",
            "Executions of deprecated GraphQL fields",
            ["field", "tenant"],
            registry=self.registry,
        )
        # quotas (gateway/quotas.py, quotas/limiter.py)
        self.quota_rejections = Counter(
            "intelgraph_quota_rejections_total",
            "Requests refused by a quota, by tenant and limit",
            ["tenant", "reason"],
            registry=self.registry,
        )
        self.quota_backend_errors = Counter(
            "intelgraph_quota_backend_errors_total",
            "Quota checks that could not reach the shared-state backend (request admitted)",
            ["operation"],
            registry=self.registry,
        )
        # metering (metering/meters.py, metering/ledger.py)
        self.api_calls = Counter(
            "intelgraph_api_calls_total",
            "Authenticated API requests metered, by tenant (quota rejections excluded)",
            ["tenant"],
            registry=self.registry,
        )
        self.ingest_events = Counter(
            "intelgraph_ingest_events_total",
            "Ingested records stored, by tenant",
            ["tenant"],
            registry=self.registry,
        )
        self.egress_bytes = Counter(
            "intelgraph_egress_bytes_total",
            "Response body bytes sent to tenants, by tenant",
            ["tenant"],
            registry=self.registry,
        )
        self.usage_flush_errors = Counter(
            "intelgraph_usage_ledger_flush_errors_total",
            "Usage ledger flushes that failed (rows kept in memory for the next flush)",
            registry=self.registry,
        )
        # usage reconciliation (billing/reconcile.py); every replica sets it from the store
        self.recon_delta_ratio = Gauge(
            "intelgraph_recon_delta_ratio",
            "|source - ledger| / ledger of the tenant's latest reconciled period (> 0.01 = "
            "mismatch); absent while the source is unavailable",
            ["tenant", "meter", "source"],
            registry=self.registry,
        )
        # edge cache (edgecache/)
        self.cache_hits = Counter(
            "intelgraph_cache_hits_total",
            "Safelisted reads answered from the edge cache (304s included), by tenant and op",
            ["tenant", "operation"],
            registry=self.registry,
        )
        self.cache_misses = Counter(
            "intelgraph_cache_misses_total",
            "Safelisted reads the edge cache had to resolve, by tenant and operation",
            ["tenant", "operation"],
            registry=self.registry,
        )
        self.cache_stale = Counter(
            "intelgraph_cache_stale_total",
            "Expired entries served while their refresh was in flight, by tenant and op",
            ["tenant", "operation"],
            registry=self.registry,
        )
        self.cache_bypass = Counter(
            "intelgraph_cache_bypass_total",
            "GraphQL requests that went around the edge cache, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.cache_not_modified = Counter(
            "intelgraph_cache_not_modified_total",
            "304 Not Modified answers from the edge cache, by tenant",
            ["tenant"],
            registry=self.registry,
        )
        self.cache_purges = Counter(
            "intelgraph_cache_purges_total",
            "Edge cache purges, by tenant and what caused them",
            ["tenant", "trigger"],
            registry=self.registry,
        )
        self.cache_purged_entries = Counter(
            "intelgraph_cache_purged_entries_total",
            "Edge cache entries removed by purges, by tenant",
            ["tenant"],
            registry=self.registry,
        )
        self.cache_bytes = Gauge(
            "intelgraph_cache_bytes",
            "Bytes the in-memory edge cache holds, by tenant",
            ["tenant"],
            registry=self.registry,
        )
        self.cache_coalesced = Counter(
            "intelgraph_cache_coalesced_waiters_total",
            "Misses that waited for an identical miss already resolving, by tenant",
            ["tenant"],
            registry=self.registry,
        )
        self.cache_leak_suspected = Counter(
            "intelgraph_cache_leak_suspected_total",
            "Cache entries refused because they belong to another tenant than the request's",
            registry=self.registry,
        )
        self.cache_backend_errors = Counter(
            "intelgraph_cache_backend_errors_total",
            "Edge cache storage errors (the request is served around the cache), by operation",
            ["operation"],
            registry=self.registry,
        )
        self.cache_purge_hook_errors = Counter(
            "intelgraph_cache_purge_hook_errors_total",
            "Purge notifications a hook URL did not accept",
            registry=self.registry,
        )
        # entity resolution (er/service.py, er/nightly.py)
        self.er_f1 = Gauge(
            "intelgraph_er_f1",
            "Pairwise F1 of the latest evaluation on the tenant's golden sets (worst set)",
            ["tenant", "type"],
            registry=self.registry,
        )
        self.er_precision = Gauge(
            "intelgraph_er_precision",
            "Pairwise precision of the latest golden-set evaluation",
            ["tenant", "type"],
            registry=self.registry,
        )
        self.er_recall = Gauge(
            "intelgraph_er_recall",
            "Pairwise recall of the latest golden-set evaluation",
            ["tenant", "type"],
            registry=self.registry,
        )
        self.er_f1_baseline = Gauge(
            "intelgraph_er_f1_baseline",
            "F1 recorded when the live thresholds were approved (worst golden set)",
            ["tenant", "type"],
            registry=self.registry,
        )
        self.er_weight_psi = Gauge(
            "intelgraph_er_weight_psi",
            "Population stability index of live match weights against the baseline",
            ["tenant", "type"],
            registry=self.registry,
        )
        self.er_link_share = Gauge(
            "intelgraph_er_link_share",
            "Share of ingested records linked to another record over the last day",
            ["tenant", "type"],
            registry=self.registry,
        )
        self.er_largest_cluster = Gauge(
            "intelgraph_er_largest_cluster",
            "Members of the tenant's largest cluster",
            ["tenant", "type"],
            registry=self.registry,
        )
        self.er_drift_alert = Gauge(
            "intelgraph_er_drift_alert",
            "1 while the latest nightly check found this drift, else 0",
            ["tenant", "type", "kind"],
            registry=self.registry,
        )
        self.er_drift_alerts = Counter(
            "intelgraph_er_drift_alerts_total",
            "Drift alerts raised, by tenant, type and kind",
            ["tenant", "type", "kind"],
            registry=self.registry,
        )
        self.er_last_evaluation = Gauge(
            "intelgraph_er_last_evaluation_timestamp_seconds",
            "When the tenant's golden sets were last evaluated (Unix time)",
            ["tenant", "type"],
            registry=self.registry,
        )
        self.er_records_resolved = Counter(
            "intelgraph_er_records_resolved_total",
            "Ingested records resolved online, by tenant and type",
            ["tenant", "type"],
            registry=self.registry,
        )
        self.er_resolution_latency = Histogram(
            "intelgraph_er_resolution_latency_seconds",
            "Time from an ingest's commit to its records being resolved",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.er_review_open = Gauge(
            "intelgraph_er_review_open",
            "Open review items, by tenant and type",
            ["tenant", "type"],
            registry=self.registry,
        )
        # billing outbox (billing/outbox.py)
        self.billing_deliveries = Counter(
            "intelgraph_billing_deliveries_total",
            "Billing delivery attempts by adapter and outcome (sent, failed, dead, held)",
            ["adapter", "outcome"],
            registry=self.registry,
        )
        # PageRank recomputes (graph/pagerank_worker.py), counted in the API process
        self.pagerank_recomputes = Counter(
            "intelgraph_pagerank_recomputes_total",
            "PageRank recomputes by where they ran (process, in_process) and outcome "
            "(ok, failed, cancelled)",
            ["where", "outcome"],
            registry=self.registry,
        )
        self.pagerank_recompute_seconds = Histogram(
            "intelgraph_pagerank_recompute_seconds",
            "Wall time of a PageRank recompute (load, compute, write), by where it ran",
            ["where"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
            registry=self.registry,
        )
