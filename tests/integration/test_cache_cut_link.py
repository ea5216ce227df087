"""Two replicas on one database and one Redis: when the writing replica's link to Redis is
cut, its purge cannot land, yet the other replica stops serving the pre-write entry within
the cache epoch bound (docs/adr/013-edge-cache-epochs.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from conftest import Harness, person
from edgecache.support import GET_ENTITY, cached_read, truth
from integration.tcp_link import CuttableLink
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.kernel.clock import ManualClock
from intelgraph.settings import Settings

pytestmark = pytest.mark.integration

REDIS = ("127.0.0.1", 6379)
EPOCH_SECONDS = 0.2
OPERATOR = {"Authorization": "Bearer igo_test_operator_key"}


@pytest.fixture
def link() -> Iterator[CuttableLink]:
    link = CuttableLink(REDIS)
    yield link
    link.close()


@pytest.fixture
def clock() -> ManualClock:
    """Both replicas' clock: moving it past the epoch bound is what lets the epoch reach
    the replica that did not write."""
    return ManualClock()


@pytest.fixture
def replicas(
    database_url: str, tmp_path: Path, link: CuttableLink, clock: ManualClock
) -> Iterator[tuple[Harness, Harness]]:
    """Replica one reaches Redis through ``link``; replica two directly."""
    clients: list[TestClient] = []
    harnesses: list[Harness] = []
    for name, port in (("one", link.port), ("two", REDIS[1])):
        settings = Settings(
            database_url=database_url,
            data_dir=tmp_path / name,
            operator_key="igo_test_operator_key",
            run_background_jobs=False,
            cache_redis_url=f"redis://127.0.0.1:{port}/0",
            cache_redis_timeout_seconds=0.2,
            cache_epoch_seconds=EPOCH_SECONDS,
        )
        services = start_services(settings, clock=clock)
        client = TestClient(create_app(services=services))
        client.__enter__()
        clients.append(client)
        harnesses.append(Harness(client, services, OPERATOR))
    try:
        yield harnesses[0], harnesses[1]
    finally:
        for client in clients:
            client.__exit__(None, None, None)


def test_a_write_through_a_replica_cut_from_redis_is_not_hidden_by_the_other_replicas_cache(
    replicas: tuple[Harness, Harness], link: CuttableLink, clock: ManualClock
) -> None:
    one, two = replicas
    tenant = two.new_tenant()
    ada = two.ingest(tenant.admin_key, [person("ada", "Ada")]).json()["ids"]["ada"]
    filled = cached_read(two, tenant.admin_key, GET_ENTITY, {"id": ada})
    assert filled.headers["x-ig-cache"] == "MISS"
    cached = cached_read(two, tenant.admin_key, GET_ENTITY, {"id": ada})
    assert cached.headers["x-ig-cache"] == "HIT"  # replica two holds the pre-write entry

    link.cut()
    written = one.ingest(tenant.admin_key, [person("ada", "Ada King")])

    assert written.status_code == 200, written.text  # the epoch moved before the answer
    assert one.services.metrics.cache_backend_errors.labels("purge")._value.get() >= 1
    clock.advance(EPOCH_SECONDS + 0.05)  # just past the bound
    after = cached_read(two, tenant.admin_key, GET_ENTITY, {"id": ada})
    assert after.headers["x-ig-cache"] != "HIT"
    assert after.json()["data"]["entity"]["label"] == "Ada King"
    assert after.json() == truth(two, tenant.admin_key, GET_ENTITY, {"id": ada})
    # The entry filled now, under the new epoch, is served again.
    again = cached_read(two, tenant.admin_key, GET_ENTITY, {"id": ada})
    assert again.headers["x-ig-cache"] == "HIT"
    assert again.json()["data"]["entity"]["label"] == "Ada King"
