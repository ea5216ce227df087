"""The `intelgraph` command: one sub-command group per area."""

from __future__ import annotations

import typer

from intelgraph.cli import audit, er, graph, keys, platform, pq, serve, tenant, usage
from intelgraph.cli import billing as billing_cli
from intelgraph.cli import cache as cache_cli
from intelgraph.cli import export as export_cli
from intelgraph.cli import jobs as jobs_cli
from intelgraph.cli import operator as operator_cli

app = typer.Typer(
    help="IntelGraph: multi-tenant intelligence graph service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.command("ingest")(graph.ingest)
app.add_typer(tenant.app, name="tenant")
app.add_typer(keys.api_keys_app, name="api-keys")
app.add_typer(keys.signing_keys_app, name="signing-keys")
app.add_typer(keys.app, name="keys", hidden=True)  # old name, one release
app.add_typer(audit.app, name="audit")
app.add_typer(usage.app, name="usage")
app.add_typer(platform.app, name="platform")
app.add_typer(pq.app, name="pq")
app.add_typer(serve.demo_app, name="demo")
app.add_typer(serve.db_app, name="db")
app.add_typer(graph.analytics_app, name="analytics")
app.add_typer(graph.provenance_app, name="provenance")
app.add_typer(er.app, name="er")
app.add_typer(cache_cli.app, name="cache")
app.add_typer(export_cli.app, name="export")
app.add_typer(billing_cli.app, name="billing")
app.add_typer(jobs_cli.app, name="jobs")
app.add_typer(operator_cli.app, name="operator")

if __name__ == "__main__":
    app()
