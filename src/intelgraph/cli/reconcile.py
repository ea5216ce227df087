"""`intelgraph billing reconcile --date D`: the ledger against export, adapters and Prometheus.

Prints a table (every check for one tenant; for all tenants, the checks that are not ok and
a summary) and writes the whole report as JSON. Exits 2 when a source disagrees with the
ledger by more than 1 %, so a cron job or CI step notices; unavailable sources do not fail.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from intelgraph.kernel.private_files import make_private_dir

MISMATCH_EXIT_CODE = 2
STATUS_STYLE = {"ok": "green", "mismatch": "bold red", "unavailable": "yellow"}


def reconcile(
    date: str = typer.Option(..., "--date", help="UTC day to reconcile, YYYY-MM-DD"),
    tenant: str | None = typer.Option(
        None, "--tenant", help="One tenant (slug or id); default: every tenant"
    ),
    json_out: Path | None = typer.Option(
        None,
        "--json",
        help="Where to write the JSON report (default: DATA_DIR/reconciliation/"
        "reconciliation-YYYY-MM-DD.json)",
    ),
) -> None:
    """Compare each tenant's ledger with its export row, adapter receipts and Prometheus
    for a UTC day; exit 2 when a source is more than 1 % off the ledger."""
    from intelgraph.cli.context import friendly_errors

    friendly_errors(_reconcile)(date, tenant, json_out)


def _reconcile(day_text: str, tenant: str | None, json_out: Path | None) -> None:
    from intelgraph.billing.exports import parse_day
    from intelgraph.billing.reconcile import TOLERANCE, Reconciliation
    from intelgraph.cli.context import cli_operator, console, err_console, services

    day = parse_day(day_text)
    svc = services()
    operator = cli_operator()
    results: list[Reconciliation]
    if tenant is not None:
        tenant_id = svc.tenants.get_tenant(tenant).id
        results = [svc.reconciler.reconcile(tenant_id, day, operator)]
    else:
        with Progress(
            TextColumn(f"[bold]reconciling {day.isoformat()}[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            transient=True,
        ) as progress:
            task = progress.add_task("tenants", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            results = svc.reconciler.reconcile_day(day, operator, advance)
    _print_table(console, results, is_single_tenant=tenant is not None)
    summary = _summary(results)
    report = {
        "day": day.isoformat(),
        "generated_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "tolerance": TOLERANCE,
        "summary": summary,
        "tenants": [result.as_dict() for result in results],
    }
    target = json_out or (
        svc.settings.data_dir / "reconciliation" / f"reconciliation-{day.isoformat()}.json"
    )
    _write_atomically(target, report)
    console.print(
        f"{summary['tenants']} tenant(s): {summary['ok']} checks ok, "
        f"{summary['mismatch']} mismatched, {summary['unavailable']} unavailable; "
        f"report: {target}"
    )
    if summary["mismatch"]:
        raise typer.Exit(MISMATCH_EXIT_CODE)


def _print_table(console: Console, results: list[Any], *, is_single_tenant: bool) -> None:
    table = Table("tenant", "meter", "source", "ledger", "source value", "delta", "status", "note")
    for result in results:
        for check in result.checks:
            if not is_single_tenant and check.status.value == "ok":
                continue
            style = STATUS_STYLE[check.status.value]
            table.add_row(
                result.tenant_id,
                check.meter,
                check.source,
                _number(check.ledger),
                "—" if check.value is None else _number(check.value),
                "—" if check.delta_ratio is None else f"{check.delta_ratio:.2%}",
                f"[{style}]{check.status.value}[/]",
                check.detail,
            )
    if table.row_count:
        console.print(table)


def _summary(results: list[Any]) -> dict[str, int]:
    counts = {"tenants": len(results), "ok": 0, "mismatch": 0, "unavailable": 0}
    for result in results:
        for check in result.checks:
            counts[check.status.value] += 1
    return counts


def _number(value: Any) -> str:
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _write_atomically(target: Path, report: dict[str, Any]) -> None:
    """Write the report under a temporary name and rename it: never a half-written file."""
    make_private_dir(target.parent)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
