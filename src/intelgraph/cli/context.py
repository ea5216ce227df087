"""What every CLI command shares: settings, services, console, and the local principal."""

from __future__ import annotations

import functools
import getpass
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from rich.console import Console

from intelgraph.app import Services, build_services
from intelgraph.kernel.errors import IntelGraphError
from intelgraph.kernel.tenancy import Principal, Role
from intelgraph.settings import Settings
from intelgraph.tenants.model import Tenant

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


@functools.cache
def services() -> Services:
    return build_services(Settings())


def local_actor() -> str:
    """How audit records name the person at this terminal."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def local_principal(tenant: Tenant) -> Principal:
    """The CLI acts for a tenant as a local admin (it already holds the database)."""
    return Principal(
        tenant_id=tenant.id,
        key_id="cli-local",
        name=local_actor(),
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
            err_console.print(f"[bold red]error[/] [{err.code}] {err.message}")
            sys.exit(1)

    return wrapper  # type: ignore[return-value]
