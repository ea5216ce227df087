"""The actions a policy decides on, named so callers never type the strings."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    """A service action, as named in ``authz.rego``."""

    ENTITY_READ = "entity.read"
    ANALYTICS_READ = "analytics.read"
    INGEST_WRITE = "ingest.write"
    ADMIN_WRITE = "admin.write"
    TENANT_ADMIN = "tenant.admin"
