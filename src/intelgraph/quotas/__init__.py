"""Quota enforcement: per-tenant api_rpm, ingest_eps and egress_gb_day over memory or Redis.

The face of the area is ``limiter.QuotaEngine`` (built by ``limiter.memory_quota_engine`` or
``limiter.redis_quota_engine``; ``app.py`` chooses);
``decisions.QuotaDecision`` is what it answers, and knows its HTTP headers and error.
"""

from intelgraph.quotas.decisions import GIGABYTE, QuotaDecision
from intelgraph.quotas.limiter import (
    IngestCharge,
    QuotaEngine,
    memory_quota_engine,
    redis_quota_engine,
)
from intelgraph.quotas.limits_cache import CachedLimits

__all__ = [
    "GIGABYTE",
    "CachedLimits",
    "IngestCharge",
    "QuotaDecision",
    "QuotaEngine",
    "memory_quota_engine",
    "redis_quota_engine",
]
