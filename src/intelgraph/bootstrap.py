"""The writes a start needs, kept apart from wiring (``app.build_services`` does no I/O).

``serve`` and ``intelgraph db upgrade`` run :func:`bootstrap`: migrate the schema, sync the
shipped plan catalogue, register the shipped persisted operations and safelist, and make
sure a signing key exists. Every other CLI command only wires the services and checks the
schema is current (``store.migrate.require_current``), so reading usage or listing keys never
writes to the database. Each step is idempotent: replicas may start together.
"""

from __future__ import annotations

from dataclasses import dataclass

from intelgraph.app import Services, build_services
from intelgraph.kernel.clock import Clock
from intelgraph.kernel.private_files import tighten_tree
from intelgraph.settings import Settings
from intelgraph.store import migrate


@dataclass(frozen=True, slots=True)
class BootstrapReport:
    """What a start found or did."""

    revision: str | None  # the schema revision the database is at now
    plan_catalog_version: int  # the plan catalogue the database holds
    persisted_operations: int  # shipped operations registered
    signing_kid: str  # the key that signs from now on


def bootstrap(services: Services) -> BootstrapReport:
    """Bring storage to what this release needs; safe to run again and on every replica."""
    tighten_tree(services.settings.data_dir)  # an install from before files were made private
    migrate.upgrade_if_behind(services.engine)
    plans = services.entitlements.sync_catalog()
    operations = services.persisted_queries.sync_shipped_manifest()
    services.edge_cache.safelist.sync_shipped()
    kid = services.keyring.ensure_active()
    return BootstrapReport(migrate.head_revision(), plans, operations, kid)


def start_services(settings: Settings, *, clock: Clock | None = None) -> Services:
    """Wire the services and bootstrap their storage: what a server start does."""
    services = build_services(settings, clock=clock)
    bootstrap(services)
    return services
