"""The provenance hash chain: one link per stored ingest, and any tampering is found."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import delete, select, update
from starlette.testclient import TestClient
from typer.testing import CliRunner

from conftest import PG_ADMIN_URL, Harness, edge, person
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.cli.context import services as cli_services
from intelgraph.cli.main import app as cli
from intelgraph.settings import Settings
from intelgraph.store.tables import provenance


def links(harness: Harness, tenant_id: str) -> list[Any]:
    with harness.services.engine.connect() as conn:
        return list(
            conn.execute(
                select(provenance)
                .where(provenance.c.tenant_id == tenant_id)
                .order_by(provenance.c.seq)
            )
        )


def tamper(harness: Harness, tenant_id: str, seq: int, **values: str) -> None:
    with harness.services.engine.begin() as conn:
        conn.execute(
            update(provenance)
            .where(provenance.c.tenant_id == tenant_id, provenance.c.seq == seq)
            .values(**values)
        )


def three_ingests(harness: Harness) -> Any:
    tenant = harness.new_tenant()
    for n in range(3):
        response = harness.ingest(
            tenant.admin_key,
            [person(f"a{n}", f"A {n}"), person(f"b{n}", f"B {n}"), edge("OWNS", f"a{n}", f"b{n}")],
        )
        assert response.status_code == 200, response.text
    return tenant


def test_each_stored_ingest_appends_one_link_to_an_intact_chain(harness: Harness) -> None:
    tenant = three_ingests(harness)

    report = harness.services.graph.verify_provenance(tenant.id)

    assert report.is_intact
    assert report.links == 3
    assert report.first_broken_seq is None
    rows = links(harness, tenant.id)
    assert [row.seq for row in rows] == [1, 2, 3]
    assert rows[0].prev_hash == "0" * 64
    assert [row.prev_hash for row in rows[1:]] == [row.hash for row in rows[:-1]]
    assert {row.action for row in rows} == {"ingest"}
    assert {row.target for row in rows} == {"entities:2,relationships:1"}
    assert len({row.payload_digest for row in rows}) == 3
    assert all(row.actor.startswith("key:key_") for row in rows)


def test_refused_and_empty_ingests_append_no_link(harness: Harness) -> None:
    tenant = harness.new_tenant()
    harness.ingest(tenant.admin_key, [person("a", "A")])
    harness.ingest(tenant.admin_key, [{**person("b", "B"), "type": "ALIEN"}])
    harness.ingest(tenant.admin_key, [{**person("b", "B"), "type": "ALIEN"}], partial="true")
    harness.ingest(tenant.admin_key, b"")

    report = harness.services.graph.verify_provenance(tenant.id)

    assert report.is_intact
    assert report.links == 1


def test_the_ingest_mutation_appends_a_link_too(harness: Harness) -> None:
    tenant = harness.new_tenant()
    response = harness.graphql(
        tenant.admin_key,
        'mutation { ingest(entities: [{externalId: "m", type: PERSON, label: "M"}]) '
        "{ acceptedEntities } }",
    )
    assert response.status_code == 200, response.text
    report = harness.services.graph.verify_provenance(tenant.id)
    assert report.is_intact
    assert report.links == 1
    assert links(harness, tenant.id)[0].target == "entities:1,relationships:0"


@pytest.mark.parametrize(
    ("seq", "column"),
    [(2, "payload_digest"), (1, "actor"), (3, "target"), (2, "action")],
)
def test_a_tampered_link_is_reported_at_its_seq(harness: Harness, seq: int, column: str) -> None:
    tenant = three_ingests(harness)
    bystander = three_ingests(harness)
    forged = "f" * 64 if column == "payload_digest" else "forged"

    tamper(harness, tenant.id, seq, **{column: forged})

    report = harness.services.graph.verify_provenance(tenant.id)
    assert not report.is_intact
    assert report.first_broken_seq == seq
    assert report.reason is not None and "hash" in report.reason
    assert harness.services.graph.verify_provenance(bystander.id).is_intact


def test_a_forged_link_hash_is_reported_at_that_link(harness: Harness) -> None:
    tenant = three_ingests(harness)
    tamper(harness, tenant.id, 2, hash="e" * 64)

    report = harness.services.graph.verify_provenance(tenant.id)

    assert report.first_broken_seq == 2


def test_a_deleted_link_is_reported_as_a_gap(harness: Harness) -> None:
    tenant = three_ingests(harness)
    with harness.services.engine.begin() as conn:
        conn.execute(
            delete(provenance).where(provenance.c.tenant_id == tenant.id, provenance.c.seq == 2)
        )

    report = harness.services.graph.verify_provenance(tenant.id)

    assert report.first_broken_seq == 3
    assert report.reason is not None and "gap" in report.reason


def test_tampering_stays_visible_after_later_ingests(harness: Harness) -> None:
    tenant = three_ingests(harness)
    tamper(harness, tenant.id, 1, payload_digest="0" * 64)
    harness.ingest(tenant.admin_key, [person("later", "Later")])

    report = harness.services.graph.verify_provenance(tenant.id)

    assert report.links == 4
    assert report.first_broken_seq == 1


# --- the CLI -------------------------------------------------------------------------------------


@pytest.fixture
def run_cli(harness: Harness) -> Iterator[Any]:
    """Run `intelgraph …` in process against the harness's database."""
    env = {
        "INTELGRAPH_DATABASE_URL": harness.services.settings.database_url,
        "INTELGRAPH_DATA_DIR": str(harness.services.settings.data_dir),
        "INTELGRAPH_OPERATOR_KEY": harness.services.settings.operator_key or "",
        "INTELGRAPH_RUN_BACKGROUND_JOBS": "false",
        "COLUMNS": "200",
    }
    runner = CliRunner()
    cli_services.cache_clear()

    def run(*args: str) -> Any:
        return runner.invoke(cli, list(args), env=env)

    yield run
    cli_services.cache_clear()


def test_the_cli_verifies_an_intact_chain_and_exits_1_on_a_broken_one(
    harness: Harness, run_cli: Any
) -> None:
    tenant = three_ingests(harness)

    intact = run_cli("provenance", "verify", tenant.slug)
    assert intact.exit_code == 0, intact.output
    assert "intact" in intact.output
    assert "3 links" in intact.output

    tamper(harness, tenant.id, 2, payload_digest="f" * 64)
    broken = run_cli("provenance", "verify", tenant.slug)

    assert broken.exit_code == 1, broken.output
    assert "broken" in broken.output
    assert "seq 2" in broken.output


def test_the_cli_names_an_unknown_tenant_without_a_traceback(
    harness: Harness, run_cli: Any
) -> None:
    result = run_cli("provenance", "verify", "no-such-tenant")
    assert result.exit_code == 1
    assert "TENANT_NOT_FOUND" in result.output
    assert "Traceback" not in result.output


# --- a PostgreSQL database whose session time zone is not UTC ------------------------------------


@pytest.fixture
def non_utc_postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database whose default TimeZone is America/New_York."""
    name = f"intelgraph_tz_{secrets.token_hex(4)}"
    admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.execute(f"ALTER DATABASE \"{name}\" SET timezone TO 'America/New_York'")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_an_untouched_chain_verifies_on_a_postgres_server_outside_utc(
    non_utc_postgres_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=non_utc_postgres_url,
        data_dir=tmp_path / "data",
        operator_key="igo_test_operator_key",
        run_background_jobs=False,
    )
    services = start_services(settings)
    with TestClient(create_app(services=services)) as client:
        harness = Harness(client, services, {"Authorization": "Bearer igo_test_operator_key"})
        tenant = three_ingests(harness)
        report = services.graph.verify_provenance(tenant.id)
    assert report.is_intact, report
