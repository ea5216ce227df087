"""`intelgraph keys rotate|list|retire`: the signing key ring."""

from __future__ import annotations

import typer
from rich.table import Table

from intelgraph.cli.context import console, friendly_errors, local_actor, services


@friendly_errors
def rotate(
    reason: str = typer.Option(None, "--reason", help="Why (kept in the audit log)"),
) -> None:
    """Make a new active signing key; the old one verifies for the grace period."""
    kid = services().keyring.rotate(actor=local_actor(), reason=reason)
    console.print(f"active signing key: {kid}")


@friendly_errors
def list_keys() -> None:
    """List signing keys with their state."""
    table = Table("kid", "state", "created", "verifies until", "retired")
    for info in services().keyring.list_keys():
        table.add_row(
            info.kid,
            info.state.value,
            info.created_at.strftime("%Y-%m-%d %H:%M"),
            info.verify_until.strftime("%Y-%m-%d %H:%M") if info.verify_until else "",
            info.retired_at.strftime("%Y-%m-%d %H:%M") if info.retired_at else "",
        )
    console.print(table)


@friendly_errors
def retire(
    kid: str = typer.Argument(..., help="Key id (see `intelgraph keys list`)"),
    reason: str = typer.Option(None, "--reason", help="Why (kept in the audit log)"),
) -> None:
    """Retire a verify-only signing key: what it signed stops verifying."""
    services().keyring.retire(kid, actor=local_actor(), reason=reason)
    console.print(f"retired {kid}")
