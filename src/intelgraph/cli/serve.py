"""`intelgraph serve`, `demo seed`, `db upgrade`."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from intelgraph.cli.context import console, friendly_errors, services
from intelgraph.kernel.errors import PORT_IN_USE, VALIDATION, IntelGraphError

if TYPE_CHECKING:
    from intelgraph.demo.seed import DemoTenant

demo_app = typer.Typer(help="The demo tenant.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@friendly_errors
def serve(
    host: str = typer.Option(None, "--host", help="Listen address (default 127.0.0.1)"),
    port: int = typer.Option(None, "--port", help="Listen port (default 8080)"),
    workers: int = typer.Option(None, "--workers", help="Server worker processes"),
    demo: bool = typer.Option(False, "--demo", help="Create and load the demo tenant first"),
) -> None:
    """Migrate the database, then serve the API (granian, graceful shutdown on SIGTERM)."""
    from intelgraph.bootstrap import start_services
    from intelgraph.obs.logging import configure_logging
    from intelgraph.settings import Settings

    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"INTELGRAPH_{name}"] = str(value)
    settings = Settings()
    # Held until this process exits: no second `serve` may start on this port meanwhile.
    port_guard = hold_listen_address(settings.host, settings.port)
    svc = start_services(settings)  # bootstraps once (migrations too), before any worker starts
    if svc.operator_key.is_new:
        console.print(
            f"operator key (saved to {svc.operator_key.path}): {svc.operator_key.plaintext}"
        )
    url = f"http://{settings.host}:{settings.port}"
    if demo:
        seeded = _seed_with_progress(svc.settings.demo_tenant_slug)
        _print_demo(seeded, url)
    svc.engine.dispose()
    configure_logging(settings.log_level)
    from granian import Granian
    from granian.constants import Interfaces

    console.print(f"serving on {url} (GraphiQL: {url}/graphiql); Ctrl-C to stop")
    Granian(
        "intelgraph.app:create_app_from_env",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        factory=True,
        log_access=False,
        workers_kill_timeout=30,
    ).serve()
    port_guard.close()


def hold_listen_address(host: str, port: int) -> socket.socket:
    """Refuse a ``host:port`` some socket already holds; return a socket that keeps holding
    it against any later `intelgraph serve` while this one runs. Raises PORT_IN_USE.

    granian's workers each bind with SO_REUSEPORT, so a second server on a taken port would
    bind too and silently take a share of its connections. A bind without SO_REUSEPORT fails
    on any port another socket is bound to: that is the check (SO_REUSEADDR only lets it
    past connections in TIME_WAIT). The socket returned is bound with SO_REUSEPORT (so
    granian's own binds succeed beside it) but never listens (so it takes no connection);
    without SO_REUSEADDR, a later check fails on it even before granian's workers are up.
    What is left is the microseconds between closing the check and binding the guard.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise IntelGraphError(
            VALIDATION,
            f"cannot listen on {host}:{port}: {exc.strerror}; set --host or INTELGRAPH_HOST "
            "to an address of this machine, e.g. 127.0.0.1",
            {"host": host, "port": port},
        ) from exc
    check = socket.socket(family, kind, proto)
    try:
        check.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        check.bind(address)
    except OSError as exc:
        raise _port_in_use(host, port, exc) from exc
    finally:
        check.close()
    guard = socket.socket(family, kind, proto)
    try:
        guard.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        guard.bind(address)
    except OSError as exc:
        guard.close()
        raise _port_in_use(host, port, exc) from exc
    return guard


def _port_in_use(host: str, port: int, exc: OSError) -> IntelGraphError:
    return IntelGraphError(
        PORT_IN_USE,
        f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another server running "
        "there?); stop it, or choose another port with --port or INTELGRAPH_PORT",
        {"host": host, "port": port},
    )


@demo_app.command("seed")
@friendly_errors
def seed() -> None:
    """Create the demo tenant with generated data (once) and print its key."""
    from intelgraph.settings import Settings

    settings = Settings()
    seeded = _seed_with_progress(settings.demo_tenant_slug)
    _print_demo(seeded, f"http://{settings.host}:{settings.port}")


@db_app.command("upgrade")
@friendly_errors
def upgrade() -> None:
    """Bring the database to this release: schema, plan catalogue, shipped operations, keys."""
    from intelgraph.app import build_services
    from intelgraph.bootstrap import bootstrap
    from intelgraph.settings import Settings

    svc = build_services(Settings())
    report = bootstrap(svc)
    svc.engine.dispose()
    console.print(
        f"database at revision {report.revision} (plan catalogue v{report.plan_catalog_version}, "
        f"{report.persisted_operations} shipped operations, signing key {report.signing_kid})"
    )


def _seed_with_progress(slug: str) -> DemoTenant:
    from intelgraph.demo.seed import seed_demo

    svc = services()
    with Progress(
        TextColumn("[bold]demo data[/]"), BarColumn(), MofNCompleteColumn(), console=console
    ) as progress:
        task = progress.add_task("seed", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return seed_demo(svc.tenants, svc.graph, svc.settings.data_dir, slug, advance)


def _print_demo(seeded: DemoTenant, url: str) -> None:
    state = "created" if seeded.is_new else "ready"
    console.print(
        f"[green]demo tenant {state}[/]: {seeded.tenant.slug} "
        f"({seeded.entities} entities, {seeded.relationships} relationships)"
    )
    console.print(f"demo API key: [bold]{seeded.api_key}[/]")
    query = '{"query": "{ pagerankTop(limit: 5) { score entity { label type degree } } }"}'
    console.print("try:", soft_wrap=True)
    console.print(
        f"  curl -s {url}/graphql -H 'Authorization: Bearer {seeded.api_key}' "
        f"-H 'Content-Type: application/json' -d '{query}'",
        soft_wrap=True,
    )
    console.print(f"GraphiQL: {url}/graphiql (add the Authorization header in its Headers tab)")
