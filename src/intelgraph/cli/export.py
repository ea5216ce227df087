"""`intelgraph export usage|verify`: write and check the signed daily usage exports."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(help="Signed daily usage exports.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


@app.command("usage")
def usage(
    day: datetime = typer.Option(
        None, "--date", formats=["%Y-%m-%d"], help="UTC day to export (default: yesterday)"
    ),
    out: Path = typer.Option(
        None, "--out", file_okay=False, help="Parent directory (default: INTELGRAPH_EXPORT_DIR)"
    ),
) -> None:
    """Export one UTC day: signed CSV, Parquet and manifest in <dir>/YYYY-MM-DD/."""
    from intelgraph.billing.exports import EXPORT_STEPS
    from intelgraph.cli.context import cli_operator, services
    from intelgraph.kernel.errors import IntelGraphError

    try:
        svc = services()
        wanted = day.date() if day else (svc.clock.now() - timedelta(days=1)).date()
        with Progress(
            TextColumn("[bold]export[/] {task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(EXPORT_STEPS[0], total=len(EXPORT_STEPS))

            def step(name: str) -> None:
                progress.update(task, description=name, completed=EXPORT_STEPS.index(name))

            result = svc.exports.export(wanted, cli_operator(), out, on_step=step)
            progress.update(task, description="done", completed=len(EXPORT_STEPS))
    except IntelGraphError as err:
        err_console.print(f"[bold red]error[/] \\[{err.code}] {escape(err.message)}")
        raise typer.Exit(1) from None
    console.print(
        f"exported {result.day.isoformat()}: {result.row_count:,} rows to {result.directory} "
        f"(manifest signed by {result.kid})"
    )
    for name, digest in result.digests.items():
        size = (result.directory / name).stat().st_size
        console.print(f"  {name:<28} {size:>12,} B  sha256 {digest}")


@app.command("verify")
def verify(
    directory: Path = typer.Argument(..., help="A day's export directory (…/YYYY-MM-DD)"),
    jwks: str = typer.Option(
        None,
        "--jwks",
        help="JWKS file (e.g. one saved years ago; no database needed) or URL to verify "
        "against (default: the local key ring)",
    ),
    day: datetime = typer.Option(
        None, "--date", formats=["%Y-%m-%d"], help="The UTC day the export must be of"
    ),
) -> None:
    """Check manifest signature, the day (folder, file names, --date), digests, row counts,
    every row; exit 1 at the first failure."""
    from intelgraph.billing.verify import load_jwks, verify_export
    from intelgraph.cli.context import services
    from intelgraph.kernel.errors import IntelGraphError

    try:
        keys = load_jwks(jwks) if jwks else services().keyring
    except IntelGraphError as err:
        err_console.print(f"[bold red]error[/] \\[{err.code}] {escape(err.message)}")
        raise typer.Exit(1) from None
    with console.status("verifying…"):
        report = verify_export(directory, keys, expected_day=day.date() if day else None)
    if report.problem is not None:
        err_console.print(f"[bold red]FAILED[/] {escape(str(report.problem))}", highlight=False)
        raise typer.Exit(1)
    verified_day = report.day.isoformat() if report.day else "?"
    console.print(
        f"OK {verified_day}: {report.row_count:,} rows in CSV and Parquet, "
        f"{report.signatures_checked:,} row signatures and the manifest verified "
        f"(keys: {', '.join(report.kids)})",
        highlight=False,
    )
