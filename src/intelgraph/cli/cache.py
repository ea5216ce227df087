"""`intelgraph cache …`: the edge cache safelist (audited) and purges."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from intelgraph.cli.context import cli_operator, console, friendly_errors, services
from intelgraph.kernel.errors import (
    INTERNAL,
    SERVICE_UNAVAILABLE,
    VALIDATION,
    ErrorCode,
    IntelGraphError,
)

if TYPE_CHECKING:
    from intelgraph.settings import Settings

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
    for row in services().edge_cache.safelist.list_entries(cli_operator()):
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
        cli_operator(), operation, ttl, reason=reason, is_graph_derived=graph_derived
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
    services().edge_cache.safelist.remove_entry(cli_operator(), operation, reason=reason)
    console.print(f"{operation} is no longer cached")


@app.command("purge")
@friendly_errors
def purge(
    tenant: str = typer.Argument(None, help="Tenant slug or id (not with --all)"),
    operation: str = typer.Option(None, "--op", help="Persisted operation id"),
    vars_hash: str = typer.Option(
        "*", "--vars-hash", help="X-IG-Cache-Vars-Hash of the entry; * = every variable set"
    ),
    variables: str = typer.Option(
        None, "--variables", help='The variables as JSON instead of the hash, e.g. \'{"id": "…"}\''
    ),
    everything: bool = typer.Option(
        False, "--all", help="Every tenant's entries (operator; the backout's invalidate caches)"
    ),
    reason: str = typer.Option("", "--reason", help="Why (kept in the audit log)"),
    server: str = typer.Option(
        None,
        "--server",
        help="A running server's URL: purge through its admin API with the operator key "
        "(default INTELGRAPH_SERVER_URL); reaches its in-memory cache",
    ),
) -> None:
    """Purge a tenant's entries of an operation, or with --all every entry (audited)."""
    from intelgraph.settings import Settings

    settings = Settings()
    body = _purge_body(tenant, operation, vars_hash, variables, everything, reason)
    server_url = server or settings.server_url
    if server_url:
        answer = _post_to_server(server_url, _operator_key(settings), body)
        console.print(f"{server_url}: {_purged_text(answer)}")
        return
    svc = services()
    is_memory = svc.edge_cache.backend.name == "memory"
    if everything:
        tenant_ids = [found.id for found in svc.tenants.list_tenants()]
        removed = svc.edge_cache.purge_all(cli_operator(), tenant_ids, reason)
        console.print(_purged_text({"purged": removed, "tenants": len(tenant_ids), "all": True}))
        if is_memory:
            console.print(
                "[yellow]note:[/] no server named (--server or INTELGRAPH_SERVER_URL), and the "
                "cache is in memory inside each `serve` process: this removed none of its "
                "entries, but moved every tenant's cache epoch, so running servers stop "
                f"serving them within {settings.cache_epoch_seconds:g} s"
            )
        return
    if is_memory:
        raise IntelGraphError(
            VALIDATION,
            "the edge cache is in memory inside each `intelgraph serve` process, which this "
            "command cannot reach: name the running server with --server URL (or "
            "INTELGRAPH_SERVER_URL), or purge every tenant with --all",
            {"backend": "memory"},
        )
    found = svc.tenants.get_tenant(body["tenant"])
    removed = svc.edge_cache.purge_operation(
        cli_operator(), found.id, body["opId"], body["varsHash"], reason
    )
    console.print(_purged_text({"purged": removed, "opId": body["opId"]}))
    console.print("no server named: purged the shared Redis cache directly")


def _purge_body(
    tenant: str | None,
    operation: str | None,
    vars_hash: str,
    variables: str | None,
    everything: bool,
    reason: str,
) -> dict[str, Any]:
    """The admin API's purge body for these options (the CLI sends it, or acts on it)."""
    from intelgraph.edgecache.keys import variables_hash

    if everything:
        if tenant is not None or operation is not None or variables is not None:
            raise typer.BadParameter(
                "--all purges every tenant: give no tenant, --op or --variables"
            )
        return {"all": True, "reason": reason}
    if tenant is None or operation is None:
        raise typer.BadParameter("name a TENANT and --op OPERATION, or purge everything with --all")
    if variables is not None:
        try:
            parsed = json.loads(variables)
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"--variables is not JSON: {exc}") from exc
        if not isinstance(parsed, dict):
            raise typer.BadParameter("--variables must be a JSON object")
        vars_hash = variables_hash(parsed)
    return {"tenant": tenant, "opId": operation, "varsHash": vars_hash, "reason": reason}


def _purged_text(answer: dict[str, Any]) -> str:
    removed = int(answer.get("purged", 0))
    entries = f"{removed} entr{'y' if removed == 1 else 'ies'}"
    if answer.get("all"):
        return f"purged {entries} of {answer.get('tenants', 0)} tenants (every operation)"
    return f"purged {entries} of {answer.get('opId')}"


def _operator_key(settings: Settings) -> str:
    """INTELGRAPH_OPERATOR_KEY, or the key `serve` saved in DATA_DIR. Raises VALIDATION."""
    from intelgraph.tenants.operator import KEY_FILE

    if settings.operator_key:
        return settings.operator_key
    saved = settings.data_dir / KEY_FILE
    if saved.exists():
        return saved.read_text(encoding="utf-8").strip()
    raise IntelGraphError(
        VALIDATION,
        f"no operator key to call the server with: set INTELGRAPH_OPERATOR_KEY (none is saved "
        f"in {saved})",
    )


def _post_to_server(server_url: str, operator_key: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/admin/cache/purge on a running server; its answer, or its error raised as
    the IntelGraphError it was (SERVICE_UNAVAILABLE when the server cannot be reached)."""
    import httpx

    url = server_url.rstrip("/") + "/v1/admin/cache/purge"
    try:
        response = httpx.post(
            url, json=body, headers={"Authorization": f"Bearer {operator_key}"}, timeout=60
        )
    except httpx.HTTPError as exc:
        raise IntelGraphError(
            SERVICE_UNAVAILABLE,
            f"cannot reach the server at {server_url} ({exc}); check --server or "
            "INTELGRAPH_SERVER_URL",
            {"server": server_url},
        ) from exc
    try:
        answer: dict[str, Any] = response.json()
    except ValueError:
        answer = {}
    if response.is_success:
        return answer
    error = (answer.get("errors") or [{}])[0]
    extensions = dict(error.get("extensions") or {})
    raise IntelGraphError(
        _error_code(str(extensions.pop("code", "")), response.status_code),
        f"the server at {server_url} refused the purge: "
        f"{error.get('message') or f'HTTP {response.status_code}'}",
        extensions,
    )


def _error_code(code: str, status: int) -> ErrorCode:
    """The taxonomy's code of this name, else the generic code of ``status``'s category."""
    from intelgraph.kernel import errors

    codes = {value.code: value for value in vars(errors).values() if isinstance(value, ErrorCode)}
    if code in codes:
        return codes[code]
    generic = [value for value in codes.values() if value.code == value.category.value]
    return next((value for value in generic if value.http_status == status), INTERNAL)
