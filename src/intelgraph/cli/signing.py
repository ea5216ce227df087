"""`intelgraph signing-keys rotate|list|retire`: the signing key ring."""

from __future__ import annotations

import typer
from rich.table import Table

from intelgraph.cli.context import cli_operator, console, friendly_errors, services


@friendly_errors
def rotate(
    reason: str = typer.Option(None, "--reason", help="Why (kept in the audit log)"),
) -> None:
    """Make a new active signing key; the old one stops signing and keeps verifying."""
    kid = services().keyring.rotate(principal=cli_operator(), reason=reason)
    console.print(f"active signing key: {kid}")


@friendly_errors
def list_keys() -> None:
    """List signing keys with their state."""
    table = Table("kid", "state", "created", "rotated", "retired", "reason")
    for info in services().keyring.list_keys(cli_operator()):
        table.add_row(
            info.kid,
            info.state.value,
            info.created_at.strftime("%Y-%m-%d %H:%M"),
            info.rotated_at.strftime("%Y-%m-%d %H:%M") if info.rotated_at else "",
            info.retired_at.strftime("%Y-%m-%d %H:%M") if info.retired_at else "",
            info.retire_reason or "",
        )
    console.print(table)


@friendly_errors
def retire(
    kid: str = typer.Argument(..., help="Key id (see `intelgraph signing-keys list`)"),
    reason: str = typer.Option(
        ..., "--reason", help="Why, e.g. compromised (required; kept in the audit log)"
    ),
) -> None:
    """Retire a rotated signing key (e.g. compromised): nothing it signed verifies any more,
    and the JWKS stops publishing it. Rotation alone never does this."""
    services().keyring.retire(kid, principal=cli_operator(), reason=reason)
    console.print(f"retired {kid}: exports it signed no longer verify")
