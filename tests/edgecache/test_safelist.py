"""The safelist is data operators change (REST or CLI), every change audited; only
operations the purges can keep exact may be listed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import Harness, person
from edgecache.support import GET_ENTITY, auth, cached_read
from intelgraph.cli.context import services as cli_services
from intelgraph.cli.main import app as cli
from intelgraph.kernel.errors import IntelGraphError
from intelgraph.kernel.tenancy import local_operator
from intelgraph.persisted.safelist import cacheability, shipped_safelist


def test_the_shipped_safelist_is_live_with_its_ttls(harness: Harness) -> None:
    assert shipped_safelist() == {"getEntityById:v1": {"ttl": 30}, "pagerankTop:v1": {"ttl": 60}}
    rows = harness.client.get("/v1/admin/cache/safelist", headers=harness.operator_headers)
    listed = {
        r["operationId"]: (r["ttl"], r["graphDerived"], r["cached"])
        for r in rows.json()["safelist"]
    }
    assert listed == {GET_ENTITY: (30, False, True), "pagerankTop:v1": (60, True, True)}


@pytest.fixture
def restores_safelist(harness: Harness) -> Iterator[None]:
    """The PostgreSQL database is shared by the session: put the shipped entry back."""
    yield
    harness.services.edge_cache.safelist.set_entry(
        local_operator("test"), GET_ENTITY, 30, reason="restore the shipped entry"
    )


@pytest.mark.usefixtures("restores_safelist")
def test_an_operator_changes_and_removes_entries_and_each_change_is_audited(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    ada = harness.ingest(tenant.admin_key, [person("ada", "Ada")]).json()["ids"]["ada"]
    changed = harness.client.put(
        f"/v1/admin/cache/safelist/{GET_ENTITY}",
        json={"ttl": 5, "reason": "hot entity churn"},
        headers=harness.operator_headers,
    )
    assert changed.status_code == 200, changed.text
    read = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada})
    assert 0 < int(read.headers["cache-control"].split("max-age=")[1]) <= 5

    removed = harness.client.request(
        "DELETE",
        f"/v1/admin/cache/safelist/{GET_ENTITY}",
        json={"reason": "incident 42"},
        headers=harness.operator_headers,
    )
    assert removed.status_code == 204, removed.text
    bypassed = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada})
    assert bypassed.headers["x-ig-cache"] == "BYPASS"

    records = harness.client.get("/v1/admin/audit", headers=harness.operator_headers).json()
    actions = [(r["action"], r["target"], r["reason"]) for r in records["records"]]
    assert ("edge_cache.safelist.set", f"operation:{GET_ENTITY}", "hot entity churn") in actions
    assert ("edge_cache.safelist.remove", f"operation:{GET_ENTITY}", "incident 42") in actions


def test_tenant_keys_cannot_change_the_safelist(harness: Harness) -> None:
    tenant = harness.new_tenant()
    refused = harness.client.put(
        f"/v1/admin/cache/safelist/{GET_ENTITY}",
        json={"ttl": 500, "reason": "mine"},
        headers=auth(tenant.admin_key),
    )
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"ttl": 0, "reason": "r"}, "ttl must be between"),
        ({"ttl": 30}, "reason"),
        ({"ttl": 30, "reason": " "}, "reason is required"),
    ],
)
def test_bad_safelist_changes_say_what_to_fix(
    harness: Harness, body: dict[str, object], fragment: str
) -> None:
    response = harness.client.put(
        f"/v1/admin/cache/safelist/{GET_ENTITY}", json=body, headers=harness.operator_headers
    )
    assert response.status_code == 400
    assert fragment in response.json()["errors"][0]["message"]


def test_operations_the_purges_cannot_follow_are_refused(harness: Harness) -> None:
    for operation in ("searchEntities:v1", "unknownOp:v1"):
        response = harness.client.put(
            f"/v1/admin/cache/safelist/{operation}",
            json={"ttl": 30, "reason": "try"},
            headers=harness.operator_headers,
        )
        assert response.status_code == 400, operation
    with pytest.raises(IntelGraphError, match="entity resolution"):
        cacheability("query($id: ID!) { entity(id: $id) { id canonicalId } }")
    with pytest.raises(IntelGraphError, match="exactly one query"):
        cacheability("mutation { ingest(entities: []) { rejected } }")
    assert cacheability("query { pagerankTop { score } }") is True
    assert cacheability("query($id: ID!) { entity(id: $id) { id label degree } }") is False


def test_the_cli_sets_lists_and_removes_safelist_entries(tmp_path: Path) -> None:
    env = {
        "INTELGRAPH_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        "INTELGRAPH_DATA_DIR": str(tmp_path / "data"),
        "INTELGRAPH_OPERATOR_KEY": "igo_test_operator_key",
        "INTELGRAPH_RUN_BACKGROUND_JOBS": "false",
    }
    runner = CliRunner()

    def run(*args: str) -> str:
        cli_services.cache_clear()
        try:
            result = runner.invoke(cli, list(args), env=env)
        finally:
            cli_services.cache_clear()
        assert result.exit_code == 0, result.output
        return result.output

    run("db", "upgrade")  # what `serve` or an operator does first
    assert "getEntityById:v1 cached for 12 s" in run(
        "cache", "safelist", "set", GET_ENTITY, "--ttl", "12", "--reason", "tune"
    )
    assert "12 s" in run("cache", "safelist", "list")
    assert "no longer cached" in run("cache", "safelist", "remove", GET_ENTITY, "--reason", "off")
    from intelgraph.audit.service import list_records
    from intelgraph.store.engine import create_store_engine

    engine = create_store_engine(env["INTELGRAPH_DATABASE_URL"])
    actions = {(r.action, r.actor.startswith("cli:")) for r in list_records(engine)}
    engine.dispose()
    assert {("edge_cache.safelist.set", True), ("edge_cache.safelist.remove", True)} <= actions
    cli_services.cache_clear()
    refused = runner.invoke(
        cli, ["cache", "safelist", "set", "nope:v1", "--ttl", "5", "--reason", "x"], env=env
    )
    assert refused.exit_code == 1 and "not a platform persisted operation" in refused.output
