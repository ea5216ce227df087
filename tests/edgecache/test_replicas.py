"""Several replicas on one Redis share entries and see each other's purges; a Redis that is
down makes requests go around the cache, never fail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from conftest import Harness, person
from edgecache.support import GET_ENTITY, cached_read, truth
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.settings import Settings

REDIS_URL = "redis://127.0.0.1:6379/0"
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"


def replica(database_url: str, data_dir: Path, cache_redis_url: str) -> Iterator[Harness]:
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        operator_key="igo_test_operator_key",
        run_background_jobs=False,
        cache_redis_url=cache_redis_url,
    )
    services = start_services(settings)
    with TestClient(create_app(services=services)) as client:
        yield Harness(client, services, {"Authorization": "Bearer igo_test_operator_key"})


@pytest.fixture
def replicas(database_url: str, tmp_path: Path) -> Iterator[tuple[Harness, Harness]]:
    first = replica(database_url, tmp_path / "data", REDIS_URL)
    second = replica(database_url, tmp_path / "data", REDIS_URL)
    one, two = next(first), next(second)
    yield one, two
    for generator in (first, second):
        next(generator, None)


def test_replicas_share_entries_and_see_each_others_purges(
    replicas: tuple[Harness, Harness],
) -> None:
    one, two = replicas
    assert one.services.edge_cache.backend.name == "redis"
    tenant = one.new_tenant()
    ada = one.ingest(tenant.admin_key, [person("ada", "Ada")]).json()["ids"]["ada"]
    assert (
        cached_read(one, tenant.admin_key, GET_ENTITY, {"id": ada}).headers["x-ig-cache"] == "MISS"
    )
    assert (
        cached_read(two, tenant.admin_key, GET_ENTITY, {"id": ada}).headers["x-ig-cache"] == "HIT"
    )

    two.ingest(tenant.admin_key, [person("ada", "Ada King")])  # purged by replica two
    after = cached_read(one, tenant.admin_key, GET_ENTITY, {"id": ada})
    assert after.json()["data"]["entity"]["label"] == "Ada King"
    assert after.json() == truth(one, tenant.admin_key, GET_ENTITY, {"id": ada})

    assert (
        cached_read(two, tenant.admin_key, GET_ENTITY, {"id": ada}).headers["x-ig-cache"] == "HIT"
    )
    purged = one.client.post(
        "/v1/admin/cache/purge",
        json={"tenant": tenant.slug, "opId": GET_ENTITY, "varsHash": "*"},
        headers=one.operator_headers,
    )
    assert purged.json()["purged"] == 1
    assert (
        cached_read(two, tenant.admin_key, GET_ENTITY, {"id": ada}).headers["x-ig-cache"] == "MISS"
    )


def test_pagerank_recompute_on_one_replica_purges_for_all(
    replicas: tuple[Harness, Harness],
) -> None:
    one, two = replicas
    tenant = one.new_tenant()
    one.ingest(tenant.admin_key, [person("ada", "Ada")])
    cached_read(two, tenant.admin_key, "pagerankTop:v1", {"limit": 3})
    one.services.graph.recompute_pagerank(tenant.id)
    fresh = cached_read(two, tenant.admin_key, "pagerankTop:v1", {"limit": 3})
    assert fresh.headers["x-ig-cache"] == "MISS"
    assert [s["entity"]["label"] for s in fresh.json()["data"]["pagerankTop"]] == ["Ada"]


def test_with_redis_down_requests_are_served_around_the_cache(
    database_url: str, tmp_path: Path
) -> None:
    generator = replica(database_url, tmp_path / "data", DEAD_REDIS_URL)
    harness = next(generator)
    try:
        tenant = harness.new_tenant()
        ingested = harness.ingest(tenant.admin_key, [person("ada", "Ada")])
        assert ingested.status_code == 200  # the purge failed, the ingest did not
        ada = ingested.json()["ids"]["ada"]
        for _ in range(3):
            response = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada})
            assert response.status_code == 200
            assert response.json()["data"]["entity"]["label"] == "Ada"
            assert response.headers["x-ig-cache"] == "BYPASS"
        errors = harness.services.metrics.cache_backend_errors
        assert errors.labels("purge")._value.get() >= 1
    finally:
        next(generator, None)
