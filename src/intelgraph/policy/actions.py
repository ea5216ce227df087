"""The actions a policy decides on, named so callers never type the strings."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    """A service action, as named in ``authz.rego``."""

    ENTITY_READ = "entity.read"
    ANALYTICS_READ = "analytics.read"
    INGEST_WRITE = "ingest.write"
    ADMIN_WRITE = "admin.write"
    TENANT_ADMIN = "tenant.admin"  # operators: tenants, plans, keys, caches, safelists, jobs
    BILLING_ADMIN = "billing.admin"  # operators: exports, billing customers and pushes
    TRUST_ADMIN = "trust.admin"  # operators: signing keys
    AUDIT_READ = "audit.read"  # operators: the audit log
    OPERATOR_ADMIN = "operator.admin"  # operators: other operators' keys
