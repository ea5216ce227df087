"""Two replicas, one Redis: budgets are shared and meters agree with what clients saw.

Each replica is its own quota engine, meters, Prometheus registry and ledger flusher around
the same tiny app (tests/quotas/stack.py), as two API processes would be; they share the
Redis server on this machine and one database.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import redis
from sqlalchemy import Engine

from intelgraph.metering.ledger import LedgerFlusher
from intelgraph.metering.service import MeteringService
from intelgraph.policy.engine import PolicyEngine
from intelgraph.quotas.decisions import GIGABYTE
from intelgraph.store import migrate
from intelgraph.store.engine import create_store_engine
from quotas.stack import REDIS_URL, START, Stack, build_stack, delete_prefix, limits

pytestmark = pytest.mark.integration

REQUESTS = 600
LOAD = 2_000  # the "few thousand requests across two replicas"
CONCURRENCY = 64


@pytest.fixture
def prefix() -> Iterator[str]:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}; run `make services`")
    name = f"igtest-{secrets.token_hex(6)}"
    yield name
    delete_prefix(name)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    created = create_store_engine(database_url)
    migrate.upgrade(created)
    yield created
    created.dispose()


def _replicas(prefix: str, api_rpm: int, egress_gb_day: int = 1) -> list[Stack]:
    limits_for = limits(api_rpm=api_rpm, egress_gb_day=egress_gb_day)
    return [build_stack(limits_for, REDIS_URL, prefix) for _ in range(2)]


async def _load(replicas: list[Stack], tenant: str, count: int) -> list[httpx.Response]:
    """``count`` requests spread round-robin over the replicas, ``CONCURRENCY`` at a time."""
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=r.app), base_url="http://replica")
        for r in replicas
    ]
    gate = asyncio.Semaphore(CONCURRENCY)
    sizes = itertools.cycle([0, 10, 300, 4000])

    async def one(client: httpx.AsyncClient, size: int) -> httpx.Response:
        async with gate:
            return await client.get(f"/v1/things?size={size}", headers={"x-tenant": tenant})

    try:
        return await asyncio.gather(
            *(one(clients[n % len(clients)], next(sizes)) for n in range(count))
        )
    finally:
        for client in clients:
            await client.aclose()


def test_two_replicas_on_one_redis_admit_no_more_than_the_limit(prefix: str) -> None:
    limit = 150
    replicas = _replicas(prefix, api_rpm=limit)
    tenant = f"ten_{secrets.token_hex(6)}"

    responses = asyncio.run(_load(replicas, tenant, REQUESTS))

    admitted = sum(1 for r in responses if r.status_code == 200)
    refused = sum(1 for r in responses if r.status_code == 429)
    assert admitted + refused == REQUESTS
    assert (
        sum(
            r.sample("intelgraph_quota_backend_errors_total", operation="api_rpm") for r in replicas
        )
        == 0
    )
    assert limit <= admitted <= limit + len(replicas)
    rejections = sum(
        r.sample("intelgraph_quota_rejections_total", tenant=tenant, reason="api_rpm")
        for r in replicas
    )
    assert rejections == refused
    assert all(
        r.json()["errors"][0]["extensions"]["code"] == "QUOTA_EXCEEDED"
        for r in responses
        if r.status_code == 429
    )


def test_ledger_prometheus_and_client_counts_agree_across_replicas(
    prefix: str, engine: Engine
) -> None:
    replicas = _replicas(prefix, api_rpm=1_500)
    tenant = f"ten_{secrets.token_hex(6)}"
    flushers = [LedgerFlusher(engine, r.meters, r.metrics, interval_seconds=0.05) for r in replicas]
    for flusher in flushers:
        flusher.start()
    try:
        responses = asyncio.run(_load(replicas, tenant, LOAD))
    finally:
        for flusher in flushers:
            flusher.stop()

    seen = [r for r in responses if r.status_code != 429]
    assert 1_500 <= len(seen) < LOAD  # the load did cross the limit
    client_calls = len(seen)
    client_bytes = sum(len(r.content) for r in seen)
    prometheus_calls = sum(r.sample("intelgraph_api_calls_total", tenant=tenant) for r in replicas)
    prometheus_bytes = sum(
        r.sample("intelgraph_egress_bytes_total", tenant=tenant) for r in replicas
    )
    ledger = MeteringService(engine, PolicyEngine()).usage_totals(
        tenant, START, START + timedelta(days=1)
    )

    assert ledger["api_calls"] == prometheus_calls == client_calls
    assert ledger["egress_bytes"] == prometheus_bytes == client_bytes


def test_a_replica_refuses_once_another_replica_spent_the_day_egress(prefix: str) -> None:
    spender, other = _replicas(prefix, api_rpm=1000)
    tenant = f"ten_{secrets.token_hex(6)}"
    for replica in (spender, other):
        replica.engine.start()
    try:
        limits_now = other.limits_for(tenant)
        assert other.engine.check_egress(tenant, limits_now).is_allowed
        spender.engine.add_egress(tenant, GIGABYTE)
        deadline = time.monotonic() + 10
        while other.engine.check_egress(tenant, limits_now).is_allowed:
            assert time.monotonic() < deadline, "the other replica never saw the bytes"
            time.sleep(0.05)
    finally:
        for replica in (spender, other):
            replica.engine.stop()
    key = f"{prefix}:egress:{tenant}:{START.date().isoformat()}"
    stored = redis.Redis.from_url(REDIS_URL).get(key)
    assert stored is not None and int(stored) == GIGABYTE
    assert re.fullmatch(r"\d+", stored.decode())
