"""`intelgraph tenant …`: create, list, show, suspend, activate tenants."""

from __future__ import annotations

import re
import sys
import time
from datetime import UTC, datetime

import orjson
import typer
from rich.prompt import Confirm, Prompt
from rich.table import Table

from intelgraph.cli.context import (
    admin_services,
    cli_operator,
    console,
    friendly_errors,
    services,
)
from intelgraph.kernel.errors import VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import local_operator
from intelgraph.tenants.model import Tenant, TenantStatus

app = typer.Typer(help="Tenants: create, list, show, suspend, activate.", no_args_is_help=True)


@app.command("create")
@friendly_errors
def create(
    name: str = typer.Option(None, "--name", help="Display name"),
    slug: str = typer.Option(None, "--slug", help="URL-safe short name (default: from name)"),
    plan: str = typer.Option(None, "--plan", help="starter|standard|premium|enterprise"),
    region: str = typer.Option(None, "--region", help="Region label, e.g. eu-west-1"),
    sandbox: bool = typer.Option(None, "--sandbox/--no-sandbox", help="A sandbox tenant?"),
    key_name: str = typer.Option(None, "--key-name", help="Name of the first admin key"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON for scripts"),
) -> None:
    """Create a tenant and its first admin API key (shown once).

    Without flags, an interactive wizard asks for each value; with flags it runs unattended.
    """
    svc = admin_services()
    if name is None:
        if not sys.stdin.isatty():
            raise IntelGraphError(VALIDATION, "pass --name (and optionally --slug, --plan …)")
        answers = _wizard(sorted(svc.entitlements.plans()))
        name, slug, region, plan, sandbox, key_name = answers
    started = time.perf_counter()
    tenant, issued = svc.tenants.create_tenant(
        cli_operator(),
        name=name,
        slug=slug or slug_from(name),
        plan=plan or "standard",
        region=region or "local",
        is_sandbox=bool(sandbox),
        admin_key_name=key_name or "first admin key",
    )
    elapsed = time.perf_counter() - started
    if as_json:
        payload = {
            "tenant": tenant.as_dict(),
            "apiKey": issued.plaintext,
            "key": issued.key.as_dict(),
        }
        typer.echo(orjson.dumps(payload).decode())
        return
    console.print(
        f"[green]created tenant[/] {tenant.slug} ({tenant.id}) on plan {tenant.plan} "
        f"in {elapsed * 1000:.0f} ms"
    )
    console.print(f"admin API key (shown once): [bold]{issued.plaintext}[/]")
    url = f"http://{svc.settings.host}:{svc.settings.port}"
    console.print("next: start the service with `intelgraph serve` (if it is not running), then:")
    console.print(
        f"  curl -s {url}/graphql -H 'Authorization: Bearer {issued.plaintext}' "
        "-H 'Content-Type: application/json' "
        '-d \'{"query": "{ pagerankTop(limit: 5) { score } }"}\'',
        soft_wrap=True,
    )


def slug_from(name: str) -> str:
    """A slug suggestion: lower-case words joined by '-'."""
    words = re.findall(r"[a-z0-9]+", name.lower())
    return "-".join(words)[:63] or "tenant"


def _wizard(plans: list[str]) -> tuple[str, str, str, str, bool, str]:
    console.print("[bold]New tenant[/] (Enter accepts the default in brackets)")
    name = Prompt.ask("Name", console=console)
    slug = Prompt.ask("Slug", default=slug_from(name), console=console)
    region = Prompt.ask("Region", default="local", console=console)
    plan = Prompt.ask("Plan", choices=plans, default="standard", console=console)
    sandbox = Confirm.ask("Sandbox tenant?", default=False, console=console)
    key_name = Prompt.ask("Name of the first admin key", default="first admin key", console=console)
    return name, slug, region, plan, sandbox, key_name


@app.command("list")
@friendly_errors
def list_tenants() -> None:
    """List every tenant."""
    table = Table("slug", "id", "name", "plan", "region", "status", "created")
    for tenant in admin_services().tenants.list_tenants_for(cli_operator()):
        table.add_row(
            tenant.slug,
            tenant.id,
            tenant.name,
            tenant.plan,
            tenant.region,
            tenant.status,
            tenant.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@app.command("show")
@friendly_errors
def show(tenant: str = typer.Argument(..., help="Tenant slug or id")) -> None:
    """Show a tenant, its API keys and its graph size."""
    svc = services()
    operator = cli_operator()
    found = svc.tenants.administered_tenant(operator, tenant)
    _print_tenant(found)
    limits = Table("limit", "value", "origin", "expires")
    for limit in svc.entitlements.limits_for(operator, found.id).limits.values():
        expiry = limit.expires_at.strftime("%Y-%m-%d %H:%M") if limit.expires_at else ""
        limits.add_row(limit.name.value, f"{limit.value:,}", limit.origin, expiry)
    console.print(limits)
    counts = svc.graph.counts(found.id)
    console.print(f"graph: {counts['entities']} entities, {counts['relationships']} relationships")
    keys = Table("key id", "name", "prefix", "roles", "created", "revoked")
    for key in svc.tenants.list_keys(operator, found.id):
        keys.add_row(
            key.id,
            key.name,
            key.prefix + "…",
            ",".join(key.roles),
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
    found = admin_services().tenants.set_status(
        cli_operator(), tenant, TenantStatus.SUSPENDED, reason=reason
    )
    _print_tenant(found)


@app.command("activate")
@friendly_errors
def activate(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    reason: str = typer.Option(None, "--reason", help="Why (kept in the audit log)"),
) -> None:
    """Reactivate a suspended tenant."""
    found = admin_services().tenants.set_status(
        cli_operator(), tenant, TenantStatus.ACTIVE, reason=reason
    )
    _print_tenant(found)


def _print_tenant(tenant: Tenant) -> None:
    console.print(
        f"[bold]{tenant.slug}[/] {tenant.id} name={tenant.name!r} plan={tenant.plan} "
        f"region={tenant.region} status={tenant.status} sandbox={tenant.is_sandbox}"
    )


@app.command("override")
@friendly_errors
def override(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    limit: str = typer.Option(..., "--limit", help="api_rpm, ingest_eps or egress_gb_day"),
    value: int = typer.Option(None, "--value", help="New value (omit with --remove)"),
    reason: str = typer.Option(None, "--reason", help="Why (required, kept in the audit log)"),
    expires: datetime = typer.Option(
        None, "--expires", formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"], help="UTC expiry"
    ),
    remove: bool = typer.Option(False, "--remove", help="End the live override of this limit"),
    actor: str = typer.Option(
        None, "--actor", help="Who is making it (default: your login); audited as cli:<name>"
    ),
) -> None:
    """Override one limit for one tenant, live and audited; --remove goes back to the plan."""
    svc = services()
    who = local_operator(actor) if actor is not None and actor.strip() else cli_operator()
    found = svc.tenants.get_tenant(tenant)
    if remove:
        svc.entitlements.remove_override(who, found.id, limit, reason=reason or "")
        console.print(f"override of {limit} removed for {found.slug}")
    else:
        if value is None:
            raise IntelGraphError(VALIDATION, "pass --value N (or --remove)")
        expires_at = expires.replace(tzinfo=UTC) if expires is not None else None
        override_id = svc.entitlements.set_override(
            who, found.id, limit, value, reason=reason or "", expires_at=expires_at
        )
        console.print(f"override {override_id}: {limit} = {value:,} for {found.slug}")
    show(found.id)


@app.command("plan")
@friendly_errors
def change_plan(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    plan: str = typer.Argument(..., help="New plan"),
    reason: str = typer.Option(None, "--reason", help="Why (kept in the audit log)"),
) -> None:
    """Move a tenant to another plan (audited); its limits change at once."""
    svc = services()
    found = svc.tenants.get_tenant(tenant)
    svc.entitlements.change_plan(cli_operator(), found.id, plan, reason=reason)
    show(found.id)


@app.command("api")
@friendly_errors
def api_settings(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    default_version: str = typer.Option(
        None, "--default-version", help="1.0, 1.1, or 'none' to clear the tenant default"
    ),
    safelist: bool = typer.Option(
        None, "--safelist/--no-safelist", help="Run registered operations only"
    ),
    apq: bool = typer.Option(None, "--apq/--no-apq", help="Register APQ hashes sent with text"),
    introspection: bool = typer.Option(
        None, "--introspection/--no-introspection", help="Allow GraphQL __schema and __type"
    ),
    reason: str = typer.Option(None, "--reason", help="Why (kept in the audit log)"),
) -> None:
    """Set a tenant's API default version, safelist mode, APQ and introspection (audited)."""
    changes: dict[str, object] = {}
    if default_version is not None:
        changes["default_api_version"] = None if default_version == "none" else default_version
    updated = admin_services().tenants.update_api_settings(
        cli_operator(),
        tenant,
        is_safelisted=safelist,
        allows_apq=apq,
        allows_introspection=introspection,
        reason=reason,
        **changes,
    )
    console.print(
        f"{updated.slug}: default API version {updated.default_api_version or '(platform: 1.0)'}"
        f", safelist {'on' if updated.is_safelisted else 'off'}"
        f", APQ {'on' if updated.allows_apq else 'off'}"
        f", introspection {'on' if updated.allows_introspection else 'off'}"
    )
