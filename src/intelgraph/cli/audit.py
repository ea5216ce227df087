"""`intelgraph audit list`."""

from __future__ import annotations

import typer
from rich.table import Table

from intelgraph.cli.context import admin_services, cli_operator, console, friendly_errors

app = typer.Typer(help="The audit log.", no_args_is_help=True)


@app.command("list")
@friendly_errors
def list_records(
    tenant: str = typer.Option(None, "--tenant", help="Only this tenant (slug or id)"),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000),
) -> None:
    """Show audit records, newest first."""
    svc = admin_services()
    tenant_id = svc.tenants.get_tenant(tenant).id if tenant else None
    table = Table("time (UTC)", "tenant", "actor", "action", "target", "old", "new", "reason")
    for item in svc.audit_log.list_records(cli_operator(), tenant_id, limit):
        table.add_row(
            item.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            item.tenant_id,
            item.actor,
            item.action,
            item.target,
            _short(item.old_value),
            _short(item.new_value),
            item.reason or "",
        )
    console.print(table)


def _short(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "…"
