"""What every CLI command shares: settings, services, console, and the local principal.

Start-up time is part of the product here (onboarding is measured from `tenant create` to
the first API call), so this module imports only typer/rich-level modules; services and
the store are imported when a command first asks for them.
"""

from __future__ import annotations

import functools
import getpass
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from rich.console import Console
from rich.markup import escape

from intelgraph.kernel.errors import IntelGraphError
from intelgraph.kernel.tenancy import Principal, Role, local_operator

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from intelgraph.app import Services
    from intelgraph.audit.log import AuditLog
    from intelgraph.kernel.clock import Clock
    from intelgraph.policy.engine import PolicyEngine
    from intelgraph.settings import Settings
    from intelgraph.tenants.entitlements import EntitlementService
    from intelgraph.tenants.model import Tenant
    from intelgraph.tenants.operator import OperatorKey
    from intelgraph.tenants.service import TenantService

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class AdminServices:
    """The services tenant, key and audit commands use: no API, graph, ER or quota stack.

    A deliberate second, light wiring of the same constructors ``app.build_services`` calls
    (ADR 021): it writes nothing either, and importing it costs a fraction of the full set
    (`intelgraph tenant list`: 0.55 s against 1.45 s), which keeps onboarding fast.
    """

    settings: Settings
    engine: Engine
    clock: Clock
    policy: PolicyEngine
    operator_key: OperatorKey
    entitlements: EntitlementService
    tenants: TenantService

    @functools.cached_property
    def audit_log(self) -> AuditLog:
        """The audit log's reader (it asks policy), built when a command first reads it."""
        from intelgraph.audit.log import AuditLog

        return AuditLog(self.engine, self.policy)


def build_admin_services(settings: Settings) -> AdminServices:
    """Wire engine, entitlements and tenants as `build_services` does; SCHEMA_BEHIND unless
    the database is at this release's schema (`intelgraph db upgrade` brings it there)."""
    from intelgraph.graph.repository import start_provenance_chain
    from intelgraph.kernel.clock import SystemClock
    from intelgraph.policy.engine import PolicyEngine
    from intelgraph.store.engine import create_store_engine
    from intelgraph.tenants.entitlements import EntitlementService
    from intelgraph.tenants.operator import load_operator_key
    from intelgraph.tenants.service import TenantService

    clock = SystemClock()
    engine = create_store_engine(settings.database_url)
    from intelgraph.store import migrate

    migrate.require_current(engine)
    operator_key = load_operator_key(settings.operator_key, settings.data_dir)
    policy = PolicyEngine()
    entitlements = EntitlementService(engine, clock, policy)
    tenants = TenantService(
        engine,
        clock,
        operator_key,
        entitlements,
        policy,
        on_tenant_created=[start_provenance_chain],
    )
    return AdminServices(settings, engine, clock, policy, operator_key, entitlements, tenants)


class _ServiceCache:
    """The CLI builds its services once per process; tests clear them between commands.

    Commands call `services()` for everything, or `admin_services()` for the light set. If
    the full set already exists the light set is taken from it, so one process never holds
    two engines for long.
    """

    def __init__(self) -> None:
        self._full: Services | None = None
        self._admin: AdminServices | None = None

    def __call__(self) -> Services:
        if self._full is None:
            from intelgraph.app import build_services
            from intelgraph.settings import Settings
            from intelgraph.store import migrate

            full = build_services(Settings())
            try:
                migrate.require_current(full.engine)
            except IntelGraphError:
                full.engine.dispose()
                raise
            self._full = full
            if self._admin is not None:
                self._admin.engine.dispose()
                self._admin = None
        return self._full

    def admin(self) -> AdminServices:
        if self._full is not None:
            full = self._full
            return AdminServices(
                full.settings,
                full.engine,
                full.clock,
                full.policy,
                full.operator_key,
                full.entitlements,
                full.tenants,
            )
        if self._admin is None:
            from intelgraph.settings import Settings

            self._admin = build_admin_services(Settings())
        return self._admin

    def cache_clear(self) -> None:
        self._full = None
        self._admin = None


services = _ServiceCache()
admin_services = services.admin


def local_operator_name() -> str:
    """Who is at this terminal: INTELGRAPH_OPERATOR_NAME, else the login name."""
    configured = os.environ.get("INTELGRAPH_OPERATOR_NAME", "").strip()
    if configured:
        return configured
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def cli_operator() -> Principal:
    """The person at this terminal as a platform-admin operator: every operator command
    goes through the same policy checks as the REST API, as this principal."""
    return local_operator(local_operator_name())


def local_actor() -> str:
    """How audit records name the person at this terminal (``cli:<name>``)."""
    return cli_operator().actor


def local_principal(tenant: Tenant) -> Principal:
    """The CLI acts for a tenant as a local admin (it already holds the database)."""
    return Principal(
        tenant_id=tenant.id,
        key_id="cli-local",
        name=local_operator_name(),
        roles=(Role.ADMIN.value,),
        region=tenant.region,
        plan=tenant.plan,
    )


def friendly_errors(command: F) -> F:
    """Print an IntelGraphError as one red line and exit 1, instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except IntelGraphError as err:
            err_console.print(f"[bold red]error[/] {escape(f'[{err.code}] {err.message}')}")
            sys.exit(1)

    return wrapper  # type: ignore[return-value]
