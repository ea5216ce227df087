"""`intelgraph billing …`: the outbox that pushes export rows to billing providers.

status, push, backfill, resend, toggle (the backout switch), customer set|list; reconcile
lives in cli/reconcile.py. The runbook is docs/runbooks/billing.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from intelgraph.cli import reconcile

app = typer.Typer(
    help="Billing: push usage to billing providers through the durable outbox.",
    no_args_is_help=True,
)
customer_app = typer.Typer(help="Tenants' customer ids at billing providers.", no_args_is_help=True)
app.add_typer(customer_app, name="customer")
app.command("reconcile")(reconcile.reconcile)

console = Console()
DATE_FORMATS = ["%Y-%m-%d"]
STATES = ("pending", "failed", "sent", "dead")
STATE_STYLE = {"pending": "cyan", "failed": "yellow", "sent": "green", "dead": "bold red"}


def _friendly(work: Callable[..., None], *args: Any) -> None:
    """Run ``work`` with services imported late (keeps `intelgraph --help` fast)."""
    from intelgraph.cli.context import friendly_errors

    friendly_errors(work)(*args)


def _day(value: datetime) -> date:
    return value.date()


@app.command("status")
def status(
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON"),
    dead_limit: int = typer.Option(20, "--dead", help="Dead letters to list"),
) -> None:
    """Deliveries per adapter and state, dead letters, why deliveries wait, live toggles."""
    _friendly(_status, as_json, dead_limit)


def _status(as_json: bool, dead_limit: int) -> None:
    from intelgraph.cli.context import cli_operator, services

    outbox = services().outbox
    report_of = outbox.status(cli_operator(), dead_limit)
    counts, toggles, dead, held = (
        report_of.counts,
        report_of.toggles,
        report_of.dead,
        report_of.held,
    )
    toggle_rows = report_of.toggle_rows
    enabled = outbox.adapters
    names = list(enabled) + sorted({a for a, _ in counts} - set(enabled))
    if as_json:
        report = {
            "adapters": [
                {
                    "adapter": name,
                    "enabled": name in enabled,
                    "live": enabled[name].is_live if name in enabled else None,
                    "on": toggles.is_on(name),
                    "problem": enabled[name].configuration_problem() if name in enabled else None,
                    "states": {state: counts.get((name, state), 0) for state in STATES},
                }
                for name in names
            ],
            "dead": [
                {
                    "deliveryId": d.delivery_id,
                    "tenantId": d.tenant_id,
                    "day": d.period_start.date().isoformat(),
                    "adapter": d.adapter,
                    "meter": d.meter,
                    "attempts": d.attempts,
                    "lastError": d.last_error,
                }
                for d in dead
            ],
            "waiting": [{"reason": reason, "count": n} for reason, n in held],
            "toggles": [
                {
                    "adapter": t.adapter,
                    "tenantId": t.tenant_id,
                    "on": t.is_on,
                    "actor": t.actor,
                    "reason": t.reason,
                    "updatedAt": t.updated_at.isoformat(),
                }
                for t in toggle_rows
            ],
            "sandbox": "sandbox tenants are sent only to the file adapter, never to live ones",
        }
        typer.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table("adapter", "enabled", "live", "toggle", *STATES, title="billing outbox")
    for name in names:
        adapter = enabled.get(name)
        problem = adapter.configuration_problem() if adapter is not None else None
        table.add_row(
            name,
            ("yes" if problem is None else "[yellow]not configured[/]") if adapter else "no",
            ("live" if adapter.is_live else "local") if adapter else "",
            "[green]on[/]" if toggles.is_on(name) else "[bold red]off[/]",
            *(
                f"[{STATE_STYLE[state]}]{counts.get((name, state), 0):,}[/]"
                if counts.get((name, state), 0)
                else "0"
                for state in STATES
            ),
        )
    console.print(table)
    for name, adapter in enabled.items():
        problem = adapter.configuration_problem()
        if problem:
            console.print(f"[yellow]{name}[/]: {problem}")
    console.print(
        "sandbox tenants are billed only through [bold]file[/]; live adapters "
        "(stripe, openmeter, webhook) never receive them"
    )
    if held:
        waiting = Table("deliveries", "waiting because", title="pending with a reason")
        for reason, n in held:
            waiting.add_row(f"{n:,}", reason)
        console.print(waiting)
    if dead:
        letters = Table(
            "delivery",
            "tenant",
            "day",
            "adapter",
            "meter",
            "tries",
            "last error",
            title=f"dead letters (newest {dead_limit}); `intelgraph billing resend` re-queues",
        )
        for d in dead:
            letters.add_row(
                d.delivery_id[:12],
                d.tenant_id,
                d.period_start.date().isoformat(),
                d.adapter,
                d.meter,
                str(d.attempts),
                (d.last_error or "")[:120],
            )
        console.print(letters)
    else:
        console.print("no dead letters")
    if toggle_rows:
        switched = Table("adapter", "tenant", "state", "by", "reason", "since", title="toggles")
        for t in toggle_rows:
            switched.add_row(
                t.adapter,
                t.tenant_id or "(all tenants)",
                "[green]on[/]" if t.is_on else "[bold red]off[/]",
                t.actor,
                t.reason,
                t.updated_at.strftime("%Y-%m-%d %H:%M"),
            )
        console.print(switched)


@app.command("push")
def push(
    limit: int = typer.Option(200, "--batch", help="Deliveries claimed per round"),
) -> None:
    """Deliver everything due now (`serve` does it on INTELGRAPH_BILLING_PUSH_INTERVAL_SECONDS)."""
    _friendly(_push, limit)


def _push(limit: int) -> None:
    from intelgraph.billing.outbox import DeliveryCounts
    from intelgraph.cli.context import cli_operator, services

    outbox = services().outbox
    operator = cli_operator()
    due = outbox.due_count(operator)
    total = DeliveryCounts()
    with Progress(
        TextColumn("delivering"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("push", total=due)
        # Bounded: a retry scheduled within this push may be due again before it ends.
        for _ in range(max(1, due // max(1, limit)) * 4 + 4):
            counts = outbox.deliver_due(operator, limit)
            total += counts
            progress.update(task, completed=min(due, total.claimed))
            if counts.claimed == 0:
                break
        progress.update(task, completed=due)
    console.print(
        f"sent {total.sent:,}, will retry {total.failed:,}, dead {total.dead:,}, "
        f"waiting {total.held:,}" + ("; see `intelgraph billing status`" if total.dead else "")
    )


@app.command("backfill")
def backfill(
    start: datetime = typer.Option(..., "--from", formats=DATE_FORMATS, help="First UTC day"),
    end: datetime = typer.Option(..., "--to", formats=DATE_FORMATS, help="Last UTC day"),
) -> None:
    """Re-export each day from --from to --to (inclusive) and queue its rows for billing.

    Deliveries already sent stay sent (same ids); the others get the fresh values.
    """
    _friendly(_backfill, _day(start), _day(end))


def _backfill(first: date, last: date) -> None:
    from intelgraph.cli.context import cli_operator, services
    from intelgraph.kernel.errors import VALIDATION, IntelGraphError

    if last < first:
        raise IntelGraphError(VALIDATION, f"--to {last} is before --from {first}")
    svc = services()
    operator = cli_operator()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    rows = 0
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("re-exporting", total=len(days))
        for day in days:
            progress.update(task, description=f"re-exporting {day}")
            result = svc.exports.export(day, operator)
            # Idempotent: the export's listener did too, but an error here is shown.
            svc.outbox.enqueue(day, result.rows, operator)
            rows += len(result.rows)
            progress.advance(task)
    adapters = ", ".join(svc.outbox.adapters) or "none"
    console.print(
        f"{len(days)} day(s), {rows:,} row(s) queued for {adapters}; "
        "`intelgraph billing push` sends them now (serve does it within "
        f"{svc.settings.billing_push_interval_seconds:g} s)"
    )


@app.command("resend")
def resend(
    tenant: str = typer.Option(..., "--tenant", help="Tenant slug or id"),
    day: datetime = typer.Option(..., "--date", formats=DATE_FORMATS, help="UTC day"),
    adapter: str | None = typer.Option(None, "--adapter", help="One adapter (default: all)"),
    reason: str | None = typer.Option(None, "--reason", help="Why (kept in the audit log)"),
    force: bool = typer.Option(
        False, "--force", help="Also resend sent deliveries older than the provider's dedupe window"
    ),
) -> None:
    """Re-queue a tenant's deliveries of a day with the same ids (providers dedupe them)."""
    _friendly(_resend, tenant, _day(day), adapter, reason, force)


def _resend(tenant: str, day: date, adapter: str | None, reason: str | None, force: bool) -> None:
    from intelgraph.cli.context import cli_operator, services

    svc = services()
    found = svc.tenants.get_tenant(tenant)
    result = svc.outbox.resend(
        found.id, day, adapter, principal=cli_operator(), reason=reason, force=force
    )
    console.print(f"re-queued {result.requeued} deliveries of {found.slug} for {day}")
    for line in result.skipped:
        console.print(f"[yellow]skipped[/] {line}")
    if result.requeued:
        console.print("`intelgraph billing push` sends them now")


@app.command("toggle")
def toggle(
    adapter: str = typer.Option(..., "--adapter", help="stripe, openmeter, webhook or file"),
    is_on: bool = typer.Option(..., "--on/--off", help="Send (on) or hold (off) deliveries"),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit log)"),
    tenant: str | None = typer.Option(None, "--tenant", help="One tenant (default: all)"),
) -> None:
    """The backout switch: while off, deliveries stay pending; on sends them at the next push."""
    _friendly(_toggle, adapter, is_on, reason, tenant)


def _toggle(adapter: str, is_on: bool, reason: str, tenant: str | None) -> None:
    from intelgraph.cli.context import cli_operator, services

    svc = services()
    tenant_id = svc.tenants.get_tenant(tenant).id if tenant else None
    svc.outbox.set_toggle(
        adapter, is_on=is_on, principal=cli_operator(), reason=reason, tenant_id=tenant_id
    )
    scope = f"tenant {tenant}" if tenant else "every tenant"
    state = "[green]on[/]" if is_on else "[bold red]off[/] (deliveries stay pending)"
    console.print(f"billing adapter {adapter} for {scope}: {state}")


@customer_app.command("set")
def customer_set(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    adapter: str = typer.Option("stripe", "--adapter", help="Billing adapter"),
    customer_id: str = typer.Option(..., "--id", help="The tenant's customer id (cus_…)"),
) -> None:
    """Map a tenant to its customer at a provider; deliveries held for it go out next push."""
    _friendly(_customer_set, tenant, adapter, customer_id)


def _customer_set(tenant: str, adapter: str, customer_id: str) -> None:
    from intelgraph.cli.context import cli_operator, services

    svc = services()
    found = svc.tenants.get_tenant(tenant)
    woken = svc.outbox.set_customer(found.id, adapter, customer_id, principal=cli_operator())
    console.print(
        f"{found.slug} is {customer_id} at {adapter}; {woken} waiting deliveries are due now"
    )


@customer_app.command("list")
def customer_list() -> None:
    """Every tenant's customer ids at billing providers."""
    _friendly(_customer_list)


def _customer_list() -> None:
    from intelgraph.cli.context import cli_operator, services

    table = Table("tenant", "adapter", "customer id", "set by", "updated")
    for mapping in services().outbox.customers.list_all(cli_operator()):
        table.add_row(
            mapping.tenant_id,
            mapping.adapter,
            mapping.customer_id,
            mapping.updated_by,
            mapping.updated_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
