"""Tenant cache epochs: an entry is served only under the epoch it was filled in; a purge
that cannot reach Redis moves the epoch before the write is answered, and when the epoch
cannot move either, the write is answered 503 CACHE_PURGE_FAILED (it stays stored)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from conftest import NDJSON, Harness, person
from edgecache.support import GET_ENTITY, cached_read, truth
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.edgecache.entries import PRE_EPOCH, CacheEntry, strong_etag
from intelgraph.edgecache.epochs import TenantEpochs
from intelgraph.kernel.clock import ManualClock
from intelgraph.settings import Settings
from intelgraph.store import migrate
from intelgraph.store.engine import create_store_engine

EPOCH_SECONDS = 0.5
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def app(settings: Settings, clock: ManualClock) -> Iterator[Harness]:
    services = start_services(settings, clock=clock)
    with TestClient(create_app(services=services)) as client:
        yield Harness(client, services, {"Authorization": f"Bearer {settings.operator_key}"})


def settings_for(database_url: str, data_dir: Path, **cache: Any) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        operator_key="igo_test_operator_key",
        run_background_jobs=False,
        cache_epoch_seconds=EPOCH_SECONDS,
        **cache,
    )


@pytest.fixture
def harness(database_url: str, tmp_path: Path, clock: ManualClock) -> Iterator[Harness]:
    """One app on the in-memory cache backend and a clock the test moves."""
    yield from app(settings_for(database_url, tmp_path / "data"), clock)


@pytest.fixture
def cut_off(database_url: str, tmp_path: Path, clock: ManualClock) -> Iterator[Harness]:
    """One app whose cache Redis never answers: every purge fails."""
    yield from app(
        settings_for(database_url, tmp_path / "data", cache_redis_url=DEAD_REDIS_URL), clock
    )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_store_engine(database_url)
    migrate.upgrade_if_behind(engine)
    yield engine
    engine.dispose()


def epoch_queries(engine: Engine) -> list[str]:
    """Every statement that reads or writes the epochs table from now on."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "edge_cache_epochs" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    return seen


def database_gone(*_args: Any) -> int:
    raise OperationalError("UPDATE edge_cache_epochs", {}, Exception("the database went away"))


def test_an_epoch_moved_by_one_process_reaches_another_within_the_bound(
    engine: Engine, clock: ManualClock
) -> None:
    writer = TenantEpochs(engine, clock, EPOCH_SECONDS)
    reader = TenantEpochs(engine, clock, EPOCH_SECONDS)
    tenant_id = f"t_epoch_{secrets.token_hex(6)}"
    assert reader.current(tenant_id) == 0  # no row yet

    assert writer.bump(tenant_id) == 1
    assert writer.bump(tenant_id) == 2
    assert writer.current(tenant_id) == 2  # its own bump at once
    clock.advance(EPOCH_SECONDS)

    assert reader.current(tenant_id) == 2
    assert reader.read(tenant_id) == 2


def test_a_cache_hit_reads_the_epoch_at_most_once_per_bound(
    harness: Harness, clock: ManualClock
) -> None:
    tenant = harness.new_tenant()
    ada = harness.ingest(tenant.admin_key, [person("ada", "Ada")]).json()["ids"]["ada"]
    cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada})
    queries = epoch_queries(harness.services.engine)

    hits = [cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada}) for _ in range(20)]
    assert {hit.headers["x-ig-cache"] for hit in hits} == {"HIT"}
    assert queries == []  # within the bound: no query per hit
    clock.advance(EPOCH_SECONDS)
    assert (
        cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada}).headers["x-ig-cache"]
        == "HIT"
    )
    assert len(queries) == 1  # past it: read once again


def test_an_entry_filled_before_the_epoch_moved_is_not_served(harness: Harness) -> None:
    tenant = harness.new_tenant()
    ada = harness.ingest(tenant.admin_key, [person("ada", "Ada")]).json()["ids"]["ada"]
    cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada})
    assert (
        cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada}).headers["x-ig-cache"]
        == "HIT"
    )

    harness.services.edge_cache.epochs.bump(tenant.id)

    after = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada})
    assert after.headers["x-ig-cache"] == "MISS"
    refilled = cached_read(harness, tenant.admin_key, GET_ENTITY, {"id": ada})
    assert refilled.headers["x-ig-cache"] == "HIT"


def test_a_write_whose_purge_reaches_neither_redis_nor_the_epoch_is_answered_503_but_stored(
    cut_off: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = cut_off.services.edge_cache
    tenant = cut_off.new_tenant()
    ada = cut_off.ingest(tenant.admin_key, [person("ada", "Ada")]).json()["ids"]["ada"]
    monkeypatch.setattr(cache.epochs, "bump", database_gone)
    body = orjson.dumps(person("ada", "Ada King"))
    headers = tenant.headers | NDJSON | {"Idempotency-Key": "king-1"}

    refused = cut_off.client.post("/v1/ingest", content=body, headers=headers)

    assert refused.status_code == 503
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "CACHE_PURGE_FAILED"
    assert error["extensions"]["retryable"] is True
    assert error["extensions"]["stored"] is True
    assert error["extensions"]["cacheEpochSeconds"] == EPOCH_SECONDS
    assert "stored; retry is safe with the same Idempotency-Key" in error["message"]
    assert refused.headers["retry-after"] == "1"
    stored = truth(cut_off, tenant.admin_key, GET_ENTITY, {"id": ada})
    assert stored["data"]["entity"]["label"] == "Ada King"
    # This replica serves the tenant around the cache until the epoch has moved.
    assert (
        cached_read(cut_off, tenant.admin_key, GET_ENTITY, {"id": ada}).headers["x-ig-cache"]
        == "BYPASS"
    )
    retried = cut_off.client.post("/v1/ingest", content=body, headers=headers)
    assert retried.status_code == 200
    assert retried.headers["idempotent-replayed"] == "true"

    monkeypatch.undo()  # the database is back: the owed bump lands
    assert cache.settle_owed_epochs() == 0
    assert cache.epochs.read(tenant.id) >= 1


def test_an_admin_purge_that_reaches_neither_redis_nor_the_epoch_is_refused_retryable(
    cut_off: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = cut_off.new_tenant()
    monkeypatch.setattr(cut_off.services.edge_cache.epochs, "bump", database_gone)

    refused = cut_off.client.post(
        "/v1/admin/cache/purge",
        json={"tenant": tenant.slug, "opId": GET_ENTITY, "varsHash": "*"},
        headers=cut_off.operator_headers,
    )

    assert refused.status_code == 503
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "CACHE_PURGE_FAILED"
    assert error["extensions"]["stored"] is False
    assert "retry the purge" in error["message"]


def test_an_entry_keeps_its_epoch_in_redis_and_one_written_before_epochs_never_matches() -> None:
    body = b'{"data":{"entity":null}}'
    entry = CacheEntry("t1", GET_ENTITY, "entity", body, strong_etag(body), 1e9, 30, epoch=7)
    assert CacheEntry.decode(entry.encode()) == entry

    legacy = orjson.dumps(["t1", GET_ENTITY, "entity", strong_etag(body), 1e9, 30])
    assert CacheEntry.decode(legacy + b"\n" + body).epoch == PRE_EPOCH
