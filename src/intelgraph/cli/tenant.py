"""`intelgraph tenant …`: create, list, show, suspend, activate tenants."""

from __future__ import annotations

import orjson
import typer
from rich.table import Table

from intelgraph.cli.context import console, friendly_errors, local_actor, services
from intelgraph.tenants.model import Tenant, TenantStatus

app = typer.Typer(help="Tenants: create, list, show, suspend, activate.", no_args_is_help=True)


@app.command("create")
@friendly_errors
def create(
    name: str = typer.Option(..., "--name", help="Display name", prompt="Tenant name"),
    slug: str = typer.Option(..., "--slug", help="URL-safe short name", prompt="Slug"),
    plan: str = typer.Option("standard", "--plan", help="starter|standard|premium|enterprise"),
    region: str = typer.Option("local", "--region", help="Region label, e.g. eu-west-1"),
    sandbox: bool = typer.Option(False, "--sandbox", help="Mark as a sandbox tenant"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON for scripts"),
) -> None:
    """Create a tenant and print its first admin API key (shown only once)."""
    svc = services()
    tenant, issued = svc.tenants.create_tenant(
        name=name, slug=slug, plan=plan, region=region, is_sandbox=sandbox, actor=local_actor()
    )
    if as_json:
        payload = {"tenant": tenant.as_dict(), "apiKey": issued.plaintext, "key": issued.key.as_dict()}
        typer.echo(orjson.dumps(payload).decode())
        return
    console.print(f"[green]created tenant[/] {tenant.slug} ({tenant.id}) on plan {tenant.plan}")
    console.print(f"admin API key (shown once): [bold]{issued.plaintext}[/]")
    url = f"http://{svc.settings.host}:{svc.settings.port}"
    console.print("next: start the service with `intelgraph serve`, then try:")
    console.print(
        f"  curl -s {url}/graphql -H 'Authorization: Bearer {issued.plaintext}' "
        "-H 'Content-Type: application/json' -d '{\"query\": \"{ pagerankTop(limit: 5) { score } }\"}'",
        soft_wrap=True,
    )


@app.command("list")
@friendly_errors
def list_tenants() -> None:
    """List every tenant."""
    table = Table("slug", "id", "name", "plan", "region", "status", "created")
    for tenant in services().tenants.list_tenants():
        table.add_row(
            tenant.slug, tenant.id, tenant.name, tenant.plan, tenant.region, tenant.status,
            tenant.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@app.command("show")
@friendly_errors
def show(tenant: str = typer.Argument(..., help="Tenant slug or id")) -> None:
    """Show a tenant, its API keys and its graph size."""
    svc = services()
    found = svc.tenants.get_tenant(tenant)
    _print_tenant(found)
    counts = svc.graph.counts(found.id)
    console.print(f"graph: {counts['entities']} entities, {counts['relationships']} relationships")
    keys = Table("key id", "name", "prefix", "roles", "created", "revoked")
    for key in svc.tenants.list_keys(found.id):
        keys.add_row(
            key.id, key.name, key.prefix + "…", ",".join(key.roles),
            key.created_at.strftime("%Y-%m-%d %H:%M"),
            key.revoked_at.strftime("%Y-%m-%d %H:%M") if key.revoked_at else "",
        )
    console.print(keys)


@app.command("suspend")
@friendly_errors
def suspend(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    reason: str = typer.Option(None, "--reason", help="Why (kept in the audit log)"),
) -> None:
    """Suspend a tenant: its keys get 403 TENANT_SUSPENDED until it is activated."""
    found = services().tenants.set_status(
        tenant, TenantStatus.SUSPENDED, actor=local_actor(), reason=reason
    )
    _print_tenant(found)


@app.command("activate")
@friendly_errors
def activate(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    reason: str = typer.Option(None, "--reason", help="Why (kept in the audit log)"),
) -> None:
    """Reactivate a suspended tenant."""
    found = services().tenants.set_status(
        tenant, TenantStatus.ACTIVE, actor=local_actor(), reason=reason
    )
    _print_tenant(found)


def _print_tenant(tenant: Tenant) -> None:
    console.print(
        f"[bold]{tenant.slug}[/] {tenant.id} name={tenant.name!r} plan={tenant.plan} "
        f"region={tenant.region} status={tenant.status} sandbox={tenant.is_sandbox}"
    )
