"""`intelgraph usage show`: a tenant's metered usage over a period (from the durable ledger)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import typer
from rich.table import Table

from intelgraph.cli.context import cli_operator, console, friendly_errors, services

app = typer.Typer(help="Metered usage.", no_args_is_help=True)
FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


@app.command("show")
@friendly_errors
def show(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    start: datetime = typer.Option(
        None, "--from", formats=FORMATS, help="UTC start (default: today)"
    ),
    end: datetime = typer.Option(
        None, "--to", formats=FORMATS, help="UTC end, exclusive (default: now)"
    ),
) -> None:
    """Totals of api_calls, ingest_events and egress bytes between --from and --to (UTC)."""
    from intelgraph.quotas import GIGABYTE

    svc = services()
    found = svc.tenants.get_tenant(tenant)
    now = svc.clock.now()
    period_start = (
        start.replace(tzinfo=UTC)
        if start
        else now.replace(hour=0, minute=0, second=0, microsecond=0)
    )
    period_end = end.replace(tzinfo=UTC) if end else now + timedelta(minutes=1)
    totals = svc.metering.usage_for(cli_operator(), found.id, period_start, period_end)
    table = Table(
        "meter",
        "total",
        title=f"{found.slug}: {period_start:%Y-%m-%d %H:%M} → {period_end:%Y-%m-%d %H:%M} UTC",
    )
    for meter, value in totals.items():
        table.add_row(meter, f"{value:,}")
    table.add_row("egress_gb", f"{totals.get('egress_bytes', 0) / GIGABYTE:.6f}")
    console.print(table)
