"""The Redis windows: shared arithmetic, and a Redis that lost its scripts."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from intelgraph.quotas.windows import RedisWindows
from intelgraph.tenants.plans import LimitName
from quotas.stack import REDIS_URL, delete_prefix, unique_prefix


@pytest.fixture(scope="module")
def windows(redis_up: None) -> Iterator[RedisWindows]:
    """Windows on the Redis server under a key prefix of this module's own."""
    prefix = unique_prefix()
    yield RedisWindows(REDIS_URL, prefix)
    delete_prefix(prefix)


@given(
    quota=st.integers(min_value=1, max_value=40),
    costs=st.lists(st.integers(min_value=0, max_value=15), min_size=1, max_size=12),
)
@settings(max_examples=60, deadline=None)
def test_a_minute_window_admits_exactly_what_fits(
    windows: RedisWindows, quota: int, costs: list[int]
) -> None:
    tenant = f"ten_{secrets.token_hex(6)}"
    used = 0
    for cost in costs:
        state = windows.acquire(LimitName.API_RPM, tenant, quota, cost)
        assert state.is_acquired == (used + cost <= quota)
        used += cost if state.is_acquired else 0
        assert state.remaining == quota - used
        assert 0 <= state.reset_after <= 60


def test_concurrent_async_charges_share_one_budget(windows: RedisWindows) -> None:
    tenant = f"ten_{secrets.token_hex(6)}"

    async def charge_many() -> list[bool]:
        states = await asyncio.gather(
            *(windows.acquire_async(LimitName.API_RPM, tenant, 25, 1) for _ in range(100))
        )
        return [state.is_acquired for state in states]

    admitted = asyncio.run(charge_many())
    assert admitted.count(True) == 25
    assert not windows.acquire(LimitName.API_RPM, tenant, 25, 1).is_acquired


def test_charges_go_on_after_redis_forgets_its_scripts(windows: RedisWindows) -> None:
    tenant = f"ten_{secrets.token_hex(6)}"

    async def charge() -> bool:
        state = await windows.acquire_async(LimitName.API_RPM, tenant, 10, 1)
        return state.is_acquired

    async def scenario() -> list[bool]:
        first = await charge()
        redis.Redis.from_url(REDIS_URL).script_flush()  # as after a Redis restart
        return [
            first,
            await charge(),
            windows.acquire(LimitName.API_RPM, tenant, 10, 1).is_acquired,
        ]

    assert asyncio.run(scenario()) == [True, True, True]
    assert windows.acquire(LimitName.API_RPM, tenant, 10, 0).remaining == 7
