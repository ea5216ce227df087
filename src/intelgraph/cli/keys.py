"""`intelgraph api-keys create|revoke` (tenant API keys) and `intelgraph signing-keys
rotate|list|retire` (the key ring). `intelgraph keys …` is the old mixed group, kept hidden
for one release."""

from __future__ import annotations

import orjson
import typer

from intelgraph.cli import signing
from intelgraph.cli.context import admin_services, cli_operator, console, friendly_errors

api_keys_app = typer.Typer(
    help="Tenant API keys: create, revoke (list them with `tenant show`).",
    no_args_is_help=True,
)
signing_keys_app = typer.Typer(
    help="The signing key ring: rotate, list, retire.", no_args_is_help=True
)
signing_keys_app.command("rotate")(signing.rotate)
signing_keys_app.command("list")(signing.list_keys)
signing_keys_app.command("retire")(signing.retire)

# The old group: both kinds of key under one name (`keys list` listed signing keys).
app = typer.Typer(help="Deprecated: use `api-keys` and `signing-keys`.", no_args_is_help=True)


@app.callback()
def deprecated_keys_group() -> None:
    """Deprecated: `intelgraph api-keys …` and `intelgraph signing-keys …` replace it."""
    typer.echo(
        "note: `intelgraph keys` is deprecated and goes in the next release: use "
        "`intelgraph api-keys create|revoke` or `intelgraph signing-keys rotate|list|retire`",
        err=True,
    )


app.command("rotate")(signing.rotate)
app.command("list")(signing.list_keys)
app.command("retire")(signing.retire)


@api_keys_app.command("create")
@friendly_errors
def create(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    name: str = typer.Option(..., "--name", help="Who or what uses the key"),
    role: list[str] = typer.Option(["viewer"], "--role", help="viewer, analyst or admin (repeat)"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Create an API key; its secret is printed once and stored only as a hash."""
    issued = admin_services().tenants.create_key(cli_operator(), tenant, name=name, roles=role)
    if as_json:
        typer.echo(orjson.dumps({"apiKey": issued.plaintext, "key": issued.key.as_dict()}).decode())
        return
    console.print(
        f"key {issued.key.id} ({','.join(issued.key.roles)}): [bold]{issued.plaintext}[/]"
    )
    console.print("store it now: it cannot be shown again")


@api_keys_app.command("revoke")
@friendly_errors
def revoke(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    key_id: str = typer.Argument(..., help="Key id (see `intelgraph tenant show`)"),
) -> None:
    """Revoke an API key at once."""
    admin_services().tenants.revoke_key(cli_operator(), tenant, key_id)
    console.print(f"revoked {key_id}")


app.command("create")(create)
app.command("revoke")(revoke)
