"""Fixtures: the quota stack on each backend, Redis keys under a prefix of their own."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis

from quotas.stack import REDIS_URL, Stack, build_stack, delete_prefix, unique_prefix

StackFactory = Callable[..., Stack]


@pytest.fixture(scope="session")
def redis_up() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}; run `make services`")


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each test using this runs on the in-memory backend and on the Redis server."""
    if request.param == "redis":
        request.getfixturevalue("redis_up")
    return str(request.param)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = unique_prefix()
    yield prefix
    delete_prefix(prefix)


@pytest.fixture
def make_stack(backend: str, redis_prefix: str) -> StackFactory:
    """build_stack on the test's backend (a fresh key prefix on Redis)."""

    def make(limits_for: Callable[..., object], **kwargs: object) -> Stack:
        url = REDIS_URL if backend == "redis" else None
        return build_stack(limits_for, url, redis_prefix, **kwargs)  # type: ignore[arg-type]

    return make
