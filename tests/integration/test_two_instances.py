"""Two API replicas on one PostgreSQL database behave as one service."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from conftest import Harness, edge, person
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.kernel.clock import ManualClock
from intelgraph.settings import Settings

pytestmark = pytest.mark.integration

OPERATOR = {"Authorization": "Bearer igo_test_operator_key"}


@pytest.fixture
def clock() -> ManualClock:
    """The replicas' shared clock: moving it past the authentication cache's bound shows
    that a change made through one replica reaches the other within that bound."""
    return ManualClock()


@pytest.fixture
def replicas(
    postgres_url: str, tmp_path: Path, clock: ManualClock
) -> Iterator[tuple[Harness, Harness]]:
    """Two apps, each with its own services (engine, caches), on the same database."""
    apps: list[Harness] = []
    clients: list[TestClient] = []
    for name in ("a", "b"):
        settings = Settings(
            database_url=postgres_url,
            data_dir=tmp_path / name,
            operator_key="igo_test_operator_key",
            run_background_jobs=False,
        )
        services = start_services(settings, clock=clock)
        client = TestClient(create_app(services=services))
        client.__enter__()
        clients.append(client)
        apps.append(Harness(client, services, OPERATOR))
    try:
        yield apps[0], apps[1]
    finally:
        for client in clients:
            client.__exit__(None, None, None)


ENTITY = "query($id: ID!) { entity(id: $id) { label degree } }"
SEARCH = "query($q: String!) { searchEntities(q: $q) { total items { id } } }"


def data(response: Any) -> Any:
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    return response.json()["data"]


def test_an_ingest_through_one_replica_is_readable_through_the_other(
    replicas: tuple[Harness, Harness],
) -> None:
    a, b = replicas
    tenant = a.new_tenant()
    ids = a.ingest(
        tenant.admin_key,
        [
            person("p1", "Rosalind Franklin"),
            person("p2", "Maurice Wilkins"),
            edge("OWNS", "p1", "p2"),
        ],
    ).json()["ids"]

    seen = data(b.graphql(tenant.admin_key, ENTITY, {"id": ids["p1"]}))
    found = data(b.graphql(tenant.admin_key, SEARCH, {"q": "rosa"}))

    assert seen["entity"] == {"label": "Rosalind Franklin", "degree": 1}
    assert found["searchEntities"]["total"] == 1
    assert found["searchEntities"]["items"][0]["id"] == ids["p1"]


def test_a_key_created_on_one_replica_works_on_the_other(
    replicas: tuple[Harness, Harness],
) -> None:
    a, b = replicas
    tenant = b.new_tenant()
    analyst = a.new_key(tenant, "analyst")
    assert b.ingest(analyst, [person("p1", "Ada")]).status_code == 200


def test_a_key_revoked_through_one_replica_is_refused_by_the_other(
    replicas: tuple[Harness, Harness], clock: ManualClock
) -> None:
    a, b = replicas
    tenant = a.new_tenant()
    key = a.new_key(tenant, "viewer")
    assert b.graphql(key, SEARCH, {"q": "x"}).status_code == 200  # b has seen it work
    listed = a.client.get(f"/v1/admin/tenants/{tenant.slug}/keys", headers=OPERATOR).json()
    key_id = next(k["id"] for k in listed["keys"] if key.startswith(k["prefix"]))

    revoked = a.client.delete(f"/v1/admin/tenants/{tenant.slug}/keys/{key_id}", headers=OPERATOR)

    assert revoked.status_code == 204
    clock.advance(b.services.settings.authn_cache_seconds)  # the bound across replicas
    refused = b.graphql(key, SEARCH, {"q": "x"})
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "AUTH_INVALID_KEY"


def test_a_suspension_through_one_replica_applies_on_the_other(
    replicas: tuple[Harness, Harness], clock: ManualClock
) -> None:
    a, b = replicas
    tenant = a.new_tenant()
    assert b.graphql(tenant.admin_key, SEARCH, {"q": "x"}).status_code == 200

    a.client.post(f"/v1/admin/tenants/{tenant.slug}/suspend", headers=OPERATOR)
    clock.advance(b.services.settings.authn_cache_seconds)  # the bound across replicas
    suspended = b.graphql(tenant.admin_key, SEARCH, {"q": "x"})
    b.client.post(f"/v1/admin/tenants/{tenant.slug}/activate", headers=OPERATOR)
    active_again = a.graphql(tenant.admin_key, SEARCH, {"q": "x"})

    assert suspended.status_code == 403
    assert suspended.json()["errors"][0]["extensions"]["code"] == "TENANT_SUSPENDED"
    assert active_again.status_code == 200


def test_an_idempotency_key_replays_across_replicas(replicas: tuple[Harness, Harness]) -> None:
    a, b = replicas
    tenant = a.new_tenant()
    body = b'{"kind":"entity","external_id":"p1","type":"PERSON","label":"Ada"}'
    headers = tenant.headers | {
        "content-type": "application/x-ndjson",
        "Idempotency-Key": "once-only",
    }

    first = a.client.post("/v1/ingest", content=body, headers=headers)
    second = b.client.post("/v1/ingest", content=body, headers=headers)

    assert first.status_code == second.status_code == 200
    assert second.headers.get("idempotent-replayed") == "true"
    assert second.json() == first.json()
    assert a.services.graph.verify_provenance(tenant.id).links == 1


def test_concurrent_ingests_through_both_replicas_keep_one_intact_chain(
    replicas: tuple[Harness, Harness],
) -> None:
    a, b = replicas
    tenant = a.new_tenant()
    failures: list[str] = []

    def stream(replica: Harness, name: str) -> None:
        for n in range(8):
            lines = [person(f"{name}{n}-{i}", f"{name} {n} {i}") for i in range(5)]
            response = replica.ingest(tenant.admin_key, lines)
            if response.status_code != 200:
                failures.append(response.text)

    threads = [threading.Thread(target=stream, args=(r, n)) for r, n in ((a, "a"), (b, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert a.services.graph.counts(tenant.id)["entities"] == 80
    report = b.services.graph.verify_provenance(tenant.id)
    assert report.is_intact, report
    assert report.links == 16
