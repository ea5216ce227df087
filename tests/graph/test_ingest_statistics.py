"""A new PostgreSQL database's first bulk load: before autovacuum's first pass the planner
has no statistics, and it probed each external id of a batch by reading the whole tenant
through the type index (a batch got slower with every batch before it). The first ingest
that stores rows gathers the statistics, so the next batch's lookups take the unique index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from intelgraph.bootstrap import start_services
from intelgraph.graph import repository as repo
from intelgraph.graph.ingest import parse_ndjson
from intelgraph.kernel.tenancy import Principal, Role, local_operator
from intelgraph.settings import Settings


@pytest.fixture
def services(fresh_postgres_url: str, tmp_path: Path) -> Iterator[object]:
    running = start_services(
        Settings(
            database_url=fresh_postgres_url,
            data_dir=tmp_path / "data",
            operator_key="igo_test_operator_key",
            run_background_jobs=False,
        )
    )
    try:
        yield running
    finally:
        running.engine.dispose()


def batch_body(first: int, count: int) -> bytes:
    return b"".join(
        b'{"kind":"entity","external_id":"p-%d","type":"PERSON","label":"Person %d"}\n' % (n, n)
        for n in range(first, first + count)
    )


@pytest.mark.integration
def test_after_a_new_databases_first_ingest_external_ids_are_looked_up_by_the_unique_index(
    services: object,
) -> None:
    tenant, issued = services.tenants.create_tenant(  # type: ignore[attr-defined]
        local_operator("test"), name="Stats", slug="stats", plan="enterprise"
    )
    principal = Principal(
        tenant_id=tenant.id, key_id=issued.key.id, name="test", roles=(Role.ADMIN.value,)
    )
    graph = services.graph  # type: ignore[attr-defined]
    engine = services.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert "entities" in repo.never_analysed(conn)  # the state this test is about

    graph.ingest(principal, parse_ndjson(batch_body(0, 500)))

    wanted = [f"p-{n}" for n in range(500, 1000)]
    with engine.connect() as conn:
        assert repo.never_analysed(conn) == []
        plan = conn.exec_driver_sql(
            "EXPLAIN " + repo._PG_ENTITIES_BY_EXTERNAL_ID, (wanted, tenant.id)
        ).all()
    assert "uq_entities_external_id" in "\n".join(row[0] for row in plan)
    second = graph.ingest(principal, parse_ndjson(batch_body(500, 500)))
    assert second.body["created"]["entities"] == 500
