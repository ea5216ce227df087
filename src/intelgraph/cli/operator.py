"""`intelgraph operator create|list|revoke`: named operators, each with a key and a role.

A request made with a named operator's key is audited as ``operator:<name>``; the shared
operator key (INTELGRAPH_OPERATOR_KEY or DATA_DIR/operator.key) stays platform-admin.
The service is imported when a command runs, so `intelgraph --help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from intelgraph.cli.context import cli_operator, console, friendly_errors, services

if TYPE_CHECKING:
    from datetime import datetime

app = typer.Typer(
    help="Named operators: create one (a key per person, with a role), list, revoke.",
    no_args_is_help=True,
)


@app.command("create")
@friendly_errors
def create(
    name: str = typer.Option(..., "--name", help="Who holds the key, e.g. alice (audit name)"),
    role: str = typer.Option(
        ..., "--role", help="platform-admin, billing-admin, trust-admin or auditor"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON for scripts"),
) -> None:
    """Create an operator key for one person; the key is printed once, stored as a hash."""
    issued = services().operators.create(cli_operator(), name=name, role=role)
    if as_json:
        payload = {"apiKey": issued.plaintext, "operator": issued.operator.as_dict()}
        typer.echo(orjson.dumps(payload).decode())
        return
    operator = issued.operator
    console.print(
        f"[green]created operator[/] {escape(operator.name)} ({operator.role}, "
        f"key {operator.key_id})"
    )
    console.print(f"operator key (shown once): [bold]{issued.plaintext}[/]")
    console.print(
        f"hand it to {escape(operator.name)} only: requests made with it are audited as "
        f"operator:{escape(operator.name)}"
    )


@app.command("list")
@friendly_errors
def list_operators(
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON for scripts"),
) -> None:
    """Every named operator with role, creation and revocation (never the key)."""
    operators = services().operators.list_operators(cli_operator())
    if as_json:
        typer.echo(orjson.dumps({"operators": [o.as_dict() for o in operators]}).decode())
        return
    if not operators:
        console.print("no named operators yet: `intelgraph operator create --name … --role …`")
        return
    table = Table("name", "role", "key id", "created", "created by", "revoked", "reason")
    for operator in operators:
        table.add_row(
            operator.name,
            operator.role,
            operator.key_id,
            _when(operator.created_at),
            operator.created_by,
            f"{_when(operator.revoked_at)} by {operator.revoked_by}" if operator.revoked_at else "",
            operator.revoke_reason or "",
        )
    console.print(table)


@app.command("revoke")
@friendly_errors
def revoke(
    name: str = typer.Argument(..., help="The operator's name (see `intelgraph operator list`)"),
    reason: str = typer.Option(..., "--reason", help="Why (required; kept in the audit log)"),
) -> None:
    """Revoke an operator's key: refused by the API within INTELGRAPH_AUTHN_CACHE_SECONDS."""
    operator = services().operators.revoke(cli_operator(), name, reason=reason)
    console.print(f"revoked operator {escape(operator.name)} ({operator.role})")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else ""
