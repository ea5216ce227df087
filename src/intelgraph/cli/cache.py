"""`intelgraph cache …`: the edge cache safelist (audited) and purges."""

from __future__ import annotations

import json

import typer

from intelgraph.cli.context import console, friendly_errors, local_actor, local_principal, services

app = typer.Typer(help="The gateway edge cache: safelist and purges.", no_args_is_help=True)
safelist_app = typer.Typer(
    help="Which persisted operations are cached, and for how long (audited).",
    no_args_is_help=True,
)
app.add_typer(safelist_app, name="safelist")


@safelist_app.command("list")
@friendly_errors
def safelist_list() -> None:
    """Every safelist row (removed ones show cached = no)."""
    from rich.table import Table

    table = Table("operation", "ttl", "graph-derived", "cached", "by", "reason", "at")
    for row in services().edge_cache.safelist.list_entries():
        table.add_row(
            row["operationId"],
            f"{row['ttl']} s",
            "yes" if row["graphDerived"] else "no",
            "yes" if row["cached"] else "no",
            row["updatedBy"],
            row["reason"] or "",
            row["updatedAt"],
        )
    console.print(table)


@safelist_app.command("set")
@friendly_errors
def safelist_set(
    operation: str = typer.Argument(..., help="Persisted operation id, e.g. getEntityById:v1"),
    ttl: int = typer.Option(..., "--ttl", help="Seconds an entry stays fresh"),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit log)"),
    graph_derived: bool = typer.Option(
        False, "--graph-derived", help="Also purge it whenever analytics are recomputed"
    ),
) -> None:
    """Cache a platform persisted operation (add, or change its TTL); every replica within ~5 s."""
    entry = services().edge_cache.safelist.set_entry(
        operation, ttl, actor=local_actor(), reason=reason, is_graph_derived=graph_derived
    )
    derived = " (graph-derived)" if entry.is_graph_derived else ""
    console.print(f"{entry.operation_id} cached for {entry.ttl} s{derived}")


@safelist_app.command("remove")
@friendly_errors
def safelist_remove(
    operation: str = typer.Argument(..., help="Persisted operation id"),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit log)"),
) -> None:
    """Stop caching an operation; entries already stored are no longer served."""
    services().edge_cache.safelist.remove_entry(operation, actor=local_actor(), reason=reason)
    console.print(f"{operation} is no longer cached")


@app.command("purge")
@friendly_errors
def purge(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    operation: str = typer.Option(..., "--op", help="Persisted operation id"),
    vars_hash: str = typer.Option(
        "*", "--vars-hash", help="X-IG-Cache-Vars-Hash of the entry; * = every variable set"
    ),
    variables: str = typer.Option(
        None, "--variables", help='The variables as JSON instead of the hash, e.g. \'{"id": "…"}\''
    ),
    reason: str = typer.Option("", "--reason", help="Why (kept in the audit log)"),
) -> None:
    """Purge a tenant's entries of an operation (shared Redis cache; audited)."""
    from intelgraph.gateway.edgecache.keys import variables_hash

    svc = services()
    found = svc.tenants.get_tenant(tenant)
    if variables is not None:
        try:
            parsed = json.loads(variables)
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"--variables is not JSON: {exc}") from exc
        if not isinstance(parsed, dict):
            raise typer.BadParameter("--variables must be a JSON object")
        vars_hash = variables_hash(parsed)
    if svc.edge_cache.backend.name == "memory":
        console.print(
            "[yellow]note:[/] the cache is in memory inside each `serve` process; this purge "
            "reaches none of them. Use POST /v1/admin/cache/purge against the server."
        )
    removed = svc.edge_cache.purge_operation(
        local_principal(found), found.id, operation, vars_hash, reason
    )
    console.print(f"purged {removed} entr{'y' if removed == 1 else 'ies'} of {operation}")
