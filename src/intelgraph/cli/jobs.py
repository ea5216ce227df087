"""`intelgraph jobs list|pause|resume`: the scheduled jobs of `serve`, paused one by one.

A pause is stored in the database, so every replica honours it from its next tick; a run
in flight finishes. Pause and resume are audited (`intelgraph audit list`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from intelgraph.jobs.service import JobStatus

app = typer.Typer(
    help="Scheduled jobs: list them, pause or resume one (audited).", no_args_is_help=True
)
console = Console()


def _friendly(work: Callable[..., None], *args: Any) -> None:
    """Run ``work`` with services imported late (keeps `intelgraph --help` fast)."""
    from intelgraph.cli.context import friendly_errors

    friendly_errors(work)(*args)


@app.command("list")
def list_jobs() -> None:
    """Every scheduled job: schedule, paused or not, its newest day and how it went."""
    _friendly(_list)


@app.command("pause")
def pause(
    name: str = typer.Argument(..., help="The job, e.g. er.nightly_eval (see `jobs list`)"),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit log)"),
) -> None:
    """Stop starting runs of one job on every replica; other jobs go on."""
    _friendly(_switch, name, reason, True)


@app.command("resume")
def resume(
    name: str = typer.Argument(..., help="The job to run again"),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit log)"),
) -> None:
    """Let a paused job run again; a daily job catches up on the days it missed."""
    _friendly(_switch, name, reason, False)


def _list() -> None:
    from intelgraph.cli.context import services

    table = Table("job", "schedule", "state", "newest day", "last success", "error")
    for job in services().jobs.list_jobs():
        run = job.last_run
        table.add_row(
            job.name,
            job.schedule,
            _state(job),
            "—" if run is None else f"{run.day.isoformat()} {run.status} ({run.attempts} attempts)",
            "—" if job.last_success is None else job.last_success.isoformat(),
            escape(run.error) if run is not None and run.error else "",
        )
    console.print(table)


def _switch(name: str, reason: str, is_paused: bool) -> None:
    from intelgraph.cli.context import cli_operator, services

    jobs = services().jobs
    change = jobs.pause if is_paused else jobs.resume
    job = change(name, cli_operator(), reason=reason)
    console.print(f"{escape(job.name)}: {_state(job)}")


def _state(job: JobStatus) -> str:
    if job.is_paused:
        by, why = escape(job.paused_by or "?"), escape(job.pause_reason or "")
        return f"[bold red]paused[/] by {by}: {why}"
    return "[green]running on schedule[/]"
