"""`intelgraph platform …`: switches that apply to every tenant and replica."""

from __future__ import annotations

import typer

from intelgraph.cli.context import cli_operator, console, friendly_errors, services

app = typer.Typer(help="Platform-wide switches (audited).", no_args_is_help=True)


@app.command("force-v1")
@friendly_errors
def force_v1(
    state: str = typer.Argument(
        ..., help="on: serve 1.0 when no version is asked; off: tenant defaults"
    ),
    reason: str = typer.Option(None, "--reason", help="Why (kept in the audit log)"),
) -> None:
    """The API backout switch: revert every default to 1.0 at once (within ~2 s everywhere)."""
    from intelgraph.tenants.platform_settings import FORCE_API_V1_DEFAULT

    if state not in ("on", "off"):
        raise typer.BadParameter("state must be on or off")
    services().platform.set(cli_operator(), FORCE_API_V1_DEFAULT, state == "on", reason=reason)
    console.print(f"API default forced to 1.0: {state}")
