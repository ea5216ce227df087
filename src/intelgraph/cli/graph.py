"""`intelgraph ingest`, `analytics pagerank`, `provenance verify`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from intelgraph.cli.context import console, err_console, friendly_errors, local_principal, services

analytics_app = typer.Typer(help="Graph analytics.", no_args_is_help=True)
provenance_app = typer.Typer(help="The provenance hash chain.", no_args_is_help=True)


@friendly_errors
def ingest(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="NDJSON file"),
    batch_size: int = typer.Option(1000, "--batch-size", min=1, max=100_000),
    partial: bool = typer.Option(False, "--partial", help="Store valid lines, report the rest"),
) -> None:
    """Load an NDJSON file into a tenant in atomic batches, with a progress bar."""
    from intelgraph.graph.bulk import ingest_stream

    svc = services()
    found = svc.tenants.get_tenant(tenant)
    with file.open("rb") as handle:
        total = sum(1 for _ in handle)
    with (
        Progress(
            TextColumn("[bold]ingest[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("lines"),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
        file.open("rb") as handle,
    ):
        task = progress.add_task("ingest", total=total)
        report = ingest_stream(
            svc.graph,
            local_principal(found),
            handle,
            batch_size=batch_size,
            partial=partial,
            on_batch=lambda n: progress.advance(task, n),
        )
    console.print(
        f"stored {report.entities} entities and {report.relationships} relationships "
        f"from {report.lines_read} lines"
    )
    for problem in report.rejected[:50]:
        err_console.print(f"  line {problem.line} {problem.field}: {problem.reason}")
    if report.refusal is not None and report.refused_batch is not None:
        first, last = report.refused_batch
        err_console.print(
            f"[red]batch of lines {first}-{last} refused:[/] {report.refusal.message}"
        )
        for problem in report.refusal.details.get("lineErrors", [])[:50]:
            err_console.print(f"  line {problem['line']} {problem['field']}: {problem['reason']}")
        err_console.print(f"lines before {first} are stored; fix the file and resume from {first}")
        raise typer.Exit(1)


@analytics_app.command("pagerank")
@friendly_errors
def pagerank(tenant: str = typer.Argument(..., help="Tenant slug or id")) -> None:
    """Recompute PageRank for a tenant now."""
    svc = services()
    found = svc.tenants.get_tenant(tenant)
    with console.status("computing PageRank…"):
        scored = svc.graph.recompute_pagerank(found.id)
    console.print(f"PageRank stored for {scored} entities of {found.slug}")


@provenance_app.command("verify")
@friendly_errors
def verify(tenant: str = typer.Argument(..., help="Tenant slug or id")) -> None:
    """Recompute the tenant's provenance chain; exit 1 at the first broken link."""
    svc = services()
    found = svc.tenants.get_tenant(tenant)
    report = svc.graph.verify_provenance(found.id)
    if report.is_intact:
        console.print(f"[green]provenance chain intact[/]: {report.links} links")
        return
    err_console.print(
        f"[red]provenance chain broken[/] at seq {report.first_broken_seq}: {report.reason}"
    )
    raise typer.Exit(1)
