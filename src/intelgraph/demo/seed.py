"""Seed the demo tenant: generated people, organisations, accounts, devices and places."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from intelgraph.demo.records import demo_ingest_lines
from intelgraph.graph.bulk import ingest_stream
from intelgraph.graph.service import GraphService
from intelgraph.kernel.errors import TENANT_NOT_FOUND, IntelGraphError
from intelgraph.kernel.private_files import make_private_dir
from intelgraph.kernel.tenancy import Principal, Role, local_operator
from intelgraph.tenants.model import Tenant
from intelgraph.tenants.service import TenantService

DEMO_KEY_FILE = "demo.key"


@dataclass(frozen=True)
class DemoTenant:
    tenant: Tenant
    api_key: str
    entities: int
    relationships: int
    is_new: bool


def demo_lines() -> list[bytes]:
    return [orjson.dumps(line) for line in demo_ingest_lines()]


def seed_demo(
    tenants: TenantService,
    graph: GraphService,
    data_dir: Path,
    slug: str = "demo",
    on_progress: Callable[[int, int], None] | None = None,
) -> DemoTenant:
    """Create and load the demo tenant once; later calls return it with its stored key."""
    key_file = data_dir / DEMO_KEY_FILE
    try:
        tenant: Tenant | None = tenants.get_tenant(slug)
    except IntelGraphError as err:
        if err.error is not TENANT_NOT_FOUND:
            raise
        tenant = None
    if tenant is not None and key_file.exists():
        counts = graph.counts(tenant.id)
        api_key = key_file.read_text(encoding="utf-8").strip()
        return DemoTenant(tenant, api_key, counts["entities"], counts["relationships"], False)
    seeder = local_operator("demo-seed")  # run from this machine's terminal (serve, demo seed)
    if tenant is None:
        tenant, issued = tenants.create_tenant(
            seeder, name="Demo Intelligence Unit", slug=slug, plan="standard"
        )
        api_key = issued.plaintext
    else:  # the tenant exists but its key file was lost: issue a fresh admin key
        api_key = tenants.create_key(
            seeder, tenant.id, name="demo admin", roles=[Role.ADMIN.value]
        ).plaintext
    make_private_dir(data_dir)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(api_key + "\n")
    principal = Principal(
        tenant_id=tenant.id, key_id="demo-seed", name="demo-seed", roles=(Role.ADMIN.value,)
    )
    lines = demo_lines()
    done = 0

    def progress(count: int) -> None:
        nonlocal done
        done += count
        if on_progress is not None:
            on_progress(done, len(lines))

    report = ingest_stream(graph, principal, lines, on_batch=progress)
    if report.refusal is not None:
        raise report.refusal
    graph.recompute_pagerank(tenant.id)
    return DemoTenant(tenant, api_key, report.entities, report.relationships, True)
