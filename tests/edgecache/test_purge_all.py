"""Purging everything (the backout plan's "invalidate caches"), and purges from the CLI that
reach a running server's in-memory cache: through its admin API, or through tenant epochs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from conftest import Harness, TenantHandle, person
from edgecache.support import GET_ENTITY, cached_read
from intelgraph.app import create_app
from intelgraph.audit.service import list_records
from intelgraph.bootstrap import start_services
from intelgraph.cli.context import services as cli_services
from intelgraph.cli.main import app as cli
from intelgraph.settings import Settings
from live_servers import uvicorn_server

OPERATOR_KEY = "igo_test_operator_key"


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    return module_harness


def cached_entity(harness: Harness) -> tuple[TenantHandle, str]:
    """A new tenant with one entity whose cached read is a HIT."""
    tenant = harness.new_tenant()
    response = harness.ingest(tenant.admin_key, [person("ada", "Ada")])
    assert response.status_code == 200, response.text
    ada: str = response.json()["ids"]["ada"]
    cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada})
    assert cache_state(harness, tenant, ada) == "HIT"
    return tenant, ada


def cache_state(harness: Harness, tenant: TenantHandle, entity_id: str) -> str:
    response = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": entity_id})
    assert response.status_code == 200, response.text
    return str(response.headers["x-ig-cache"])


def purge_all(harness: Harness, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return harness.client.post("/v1/admin/cache/purge", json=body, headers=headers)


# --- the admin route ------------------------------------------------------------------------


def test_the_operator_purges_every_tenants_entries_audited(harness: Harness) -> None:
    cached = [cached_entity(harness) for _ in range(2)]

    response = purge_all(harness, harness.operator_headers, {"all": True, "reason": "backout"})

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["all"] is True and answer["purged"] >= 2 and answer["tenants"] >= 2
    for tenant, entity_id in cached:
        assert cache_state(harness, tenant, entity_id) == "MISS"
    records = [
        record
        for record in list_records(harness.services.engine, limit=1000)
        if record.action == "edge_cache.purge_all"
    ]
    assert records and records[0].reason == "backout"
    assert records[0].actor.startswith("operator:")
    assert records[0].new_value["removed"] == answer["purged"]


def test_a_tenant_admin_cannot_purge_every_tenant(harness: Harness) -> None:
    tenant, entity_id = cached_entity(harness)

    response = purge_all(harness, tenant.headers, {"all": True, "reason": "mine"})

    assert response.status_code == 403, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "POLICY_DENIED"
    assert cache_state(harness, tenant, entity_id) == "HIT"


@pytest.mark.parametrize(
    "body", [{"all": True, "opId": GET_ENTITY}, {"all": "yes"}, {"all": True, "tenant": "x"}]
)
def test_purge_all_mixed_with_a_single_purge_is_refused(
    harness: Harness, body: dict[str, Any]
) -> None:
    response = purge_all(harness, harness.operator_headers, body)

    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION"
    assert '{"all": true' in error["message"]


# --- the CLI and a running server with the cache in memory ----------------------------------


@dataclass
class RunningServer:
    url: str
    harness: Harness  # drives the server over its socket
    env: dict[str, str]  # INTELGRAPH_* of the server, for the CLI

    def cli(self, *args: str, **env: str) -> Any:
        cli_services.cache_clear()  # the CLI builds its services once per process
        try:
            return CliRunner().invoke(cli, list(args), env=self.env | env)
        finally:
            cli_services.cache_clear()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    """A server with the edge cache in memory; epochs trusted for 0 s, so a moved epoch
    shows on the next read."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/intelgraph.db",
        data_dir=tmp_path / "data",
        operator_key=OPERATOR_KEY,
        run_background_jobs=False,
        cache_epoch_seconds=0,
    )
    env = {
        "INTELGRAPH_DATABASE_URL": settings.database_url,
        "INTELGRAPH_DATA_DIR": str(settings.data_dir),
        "INTELGRAPH_OPERATOR_KEY": OPERATOR_KEY,
        "INTELGRAPH_RUN_BACKGROUND_JOBS": "false",
        "INTELGRAPH_CACHE_EPOCH_SECONDS": "0",
        "COLUMNS": "200",
    }
    services = start_services(settings)
    with (
        uvicorn_server(create_app(services=services)) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        operator = {"Authorization": f"Bearer {OPERATOR_KEY}"}
        yield RunningServer(url, Harness(client, services, operator), env)  # type: ignore[arg-type]


def test_the_cli_purges_a_running_servers_memory_cache_through_its_admin_api(
    server: RunningServer,
) -> None:
    tenant, entity_id = cached_entity(server.harness)

    done = server.cli(
        "cache", "purge", tenant.slug, "--op", GET_ENTITY, "--reason", "bad answer",
        "--server", server.url,
    )  # fmt: skip

    assert done.exit_code == 0, done.output
    assert "purged 1 entry" in done.output and server.url in done.output
    assert cache_state(server.harness, tenant, entity_id) == "MISS"


def test_the_cli_purges_everything_on_the_server_named_by_the_environment(
    server: RunningServer,
) -> None:
    cached = [cached_entity(server.harness) for _ in range(2)]

    done = server.cli("cache", "purge", "--all", INTELGRAPH_SERVER_URL=server.url)

    assert done.exit_code == 0, done.output
    assert "purged 2 entries of 2 tenants" in done.output
    for tenant, entity_id in cached:
        assert cache_state(server.harness, tenant, entity_id) == "MISS"


def test_without_a_server_the_cli_refuses_a_purge_it_cannot_deliver(
    server: RunningServer,
) -> None:
    tenant, entity_id = cached_entity(server.harness)

    done = server.cli("cache", "purge", tenant.slug, "--op", GET_ENTITY)

    assert done.exit_code == 1, done.output
    said = " ".join(done.output.split())
    assert "in memory" in said and "--server" in said and "--all" in said
    assert cache_state(server.harness, tenant, entity_id) == "HIT"


def test_without_a_server_purge_all_moves_the_epochs_a_running_server_follows(
    server: RunningServer,
) -> None:
    tenant, entity_id = cached_entity(server.harness)

    done = server.cli("cache", "purge", "--all", "--reason", "backout")

    assert done.exit_code == 0, done.output
    assert "cache epoch" in " ".join(done.output.split())
    assert cache_state(server.harness, tenant, entity_id) == "MISS"


def test_a_refusal_by_the_server_is_shown_with_its_code(server: RunningServer) -> None:
    done = server.cli(
        "cache", "purge", "--all", "--server", server.url, INTELGRAPH_OPERATOR_KEY="igo_wrong"
    )

    assert done.exit_code == 1, done.output
    assert "AUTH_INVALID_KEY" in done.output and server.url in " ".join(done.output.split())
