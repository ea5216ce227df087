"""`intelgraph pq …`: persisted-query manifests. `rewrite` moves them off deprecated fields."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rich.markup import escape
from rich.table import Table

from intelgraph.cli.context import console, friendly_errors
from intelgraph.kernel.errors import VALIDATION, IntelGraphError

if TYPE_CHECKING:
    from graphql import GraphQLSchema

    from intelgraph.api.rewrite import Rewrite

app = typer.Typer(help="Persisted queries (operation manifests).", no_args_is_help=True)


@app.callback()
def pq() -> None:
    """Persisted queries (operation manifests)."""


OPERATION_ID = re.compile(r"^(?P<name>[^:\s]+):v(?P<version>[1-9][0-9]*)$")


class ManifestOperation(BaseModel):
    """One manifest entry; fields this command does not know are kept as they are."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    id: str = Field(pattern=OPERATION_ID.pattern)
    document: str = Field(min_length=1)
    roles: list[str] = Field(default_factory=list)


class Manifest(BaseModel):
    """``{"operations": [...]}`` plus whatever else the file holds (kept on output)."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    operations: list[ManifestOperation]


def v1_schema() -> GraphQLSchema:
    """The v1 schema, built as the app builds it."""
    from intelgraph.api.schemas import build_schema

    return build_schema("1.0")


def load_manifest(path: Path) -> tuple[dict[str, Any], Manifest]:
    """The raw JSON and its validated form. Raises VALIDATION when unreadable or invalid."""
    try:
        raw = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise IntelGraphError(VALIDATION, f"cannot read {path}: {exc.strerror}") from exc
    except orjson.JSONDecodeError as exc:
        raise IntelGraphError(VALIDATION, f"{path} is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise IntelGraphError(VALIDATION, f'{path}: expected an object {{"operations": [...]}}')
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        hint = " (ids look like getEntityById:v1)" if first["loc"][-1:] == ("id",) else ""
        raise IntelGraphError(VALIDATION, f"{path}: {where}: {first['msg']}{hint}") from exc
    seen: set[str] = set()
    for operation in manifest.operations:
        if operation.id in seen:
            raise IntelGraphError(VALIDATION, f"{path}: the id {operation.id} appears twice")
        seen.add(operation.id)
    return raw, manifest


def rewritten_manifest(
    raw: dict[str, Any], manifest: Manifest, results: list[Rewrite]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The new manifest and ``old id → new id`` for the rewritten operations.

    A rewritten operation is replaced in place by its rewrite under the next free version
    of its name (``getEntityById:v1`` → ``getEntityById:v2``, or later when v2 is taken),
    keeping its other fields; unchanged and unrewritable operations are kept as they are.
    """
    highest: dict[str, int] = {}
    for operation in manifest.operations:
        name, version = _split(operation.id)
        highest[name] = max(highest.get(name, 0), version)
    renamed: dict[str, str] = {}
    operations: list[dict[str, Any]] = []
    for position, (operation, result) in enumerate(zip(manifest.operations, results, strict=True)):
        entry = dict(raw["operations"][position])
        if result.status == "rewritten" and result.document is not None:
            name, _ = _split(operation.id)
            highest[name] += 1
            new_id = f"{name}:v{highest[name]}"
            renamed[operation.id] = new_id
            entry |= {"id": new_id, "document": result.document}
            if "sha256" in entry:
                entry["sha256"] = result.sha256
        operations.append(entry)
    return raw | {"operations": operations}, renamed


@app.command("rewrite")
@friendly_errors
def rewrite(
    manifest_path: Path = typer.Argument(
        ..., metavar="MANIFEST", help='JSON file {"operations": [{"id", "document", "roles"}]}'
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write a manifest with the rewritten operations under new versions"
    ),
) -> None:
    """Rewrite every operation of a manifest to use the replacements of deprecated fields."""
    from intelgraph.api.rewrite import rewrite_document

    raw, manifest = load_manifest(manifest_path)
    schema = v1_schema()
    results = [rewrite_document(schema, op.document) for op in manifest.operations]
    new_manifest, renamed = rewritten_manifest(raw, manifest, results)

    table = Table(title=f"rewrite of {manifest_path.name}")
    table.add_column("operation")
    table.add_column("result")
    table.add_column("deprecated fields")
    table.add_column("new id / reason")
    styles = {"rewritten": "green", "unchanged": "dim", "not_rewritable": "red"}
    for operation, result in zip(manifest.operations, results, strict=True):
        table.add_row(
            escape(operation.id),
            f"[{styles[result.status]}]{result.status}[/]",
            ", ".join(result.changed_fields),
            escape(renamed.get(operation.id) or result.reason or ""),
        )
    console.print(table)
    counts = {status: sum(r.status == status for r in results) for status in styles}
    console.print(
        f"{counts['rewritten']} rewritten automatically, {counts['unchanged']} needed nothing, "
        f"{counts['not_rewritable']} could not be rewritten"
    )
    for operation, result in zip(manifest.operations, results, strict=True):
        if result.status == "not_rewritable":
            console.print(f"  [red]{escape(operation.id)}[/]: {escape(result.reason or '')}")
    if out is not None:
        out.write_bytes(orjson.dumps(new_manifest, option=orjson.OPT_INDENT_2) + b"\n")
        console.print(f"wrote {escape(str(out))} ({len(new_manifest['operations'])} operations)")


def _split(operation_id: str) -> tuple[str, int]:
    found = OPERATION_ID.match(operation_id)
    assert found is not None  # ids are validated when the manifest is loaded
    return found["name"], int(found["version"])


@app.command("register")
@friendly_errors
def register(
    manifest_path: Path = typer.Argument(
        ..., metavar="FILE", help='JSON file {"operations": [{"id", "document", "roles"}]}'
    ),
    tenant: str = typer.Option(
        None, "--tenant", help="Register for one tenant only (default: every tenant)"
    ),
) -> None:
    """Register a manifest's operations (validated against the newest schema first).

    Nothing is registered when they would take the scope past its persisted-operation caps.
    """
    from intelgraph.api.evolution_http import check_document
    from intelgraph.api.schemas import build_schema
    from intelgraph.cli.context import cli_operator, services

    raw, manifest = load_manifest(manifest_path)
    svc = services()
    newest = build_schema("1.1")
    for operation in manifest.operations:
        try:
            check_document(newest, operation.document)
        except IntelGraphError as err:
            raise IntelGraphError(VALIDATION, f"{operation.id}: {err.message}") from err
    tenant_id = svc.tenants.get_tenant(tenant).id if tenant else None
    # All or nothing against the scope's caps (PERSISTED_QUERY_LIMIT), not half a manifest.
    registered = svc.persisted_queries.register_manifest(cli_operator(), raw, tenant_id=tenant_id)
    table = Table("operation", "documentId", "scope")
    for operation, found in zip(manifest.operations, registered, strict=True):
        table.add_row(operation.id, f"sha256:{found.sha256[:16]}…", found.tenant_id)
    console.print(table)
    console.print(f"{len(manifest.operations)} operation(s) registered")
