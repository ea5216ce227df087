"""The storage backends on their own: LRU per tenant under a byte cap, TTLs, tag and
operation purges, and the generation that refuses a store racing a purge — in memory and
on Redis."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator

import pytest

from intelgraph.edgecache.backend import CacheBackend
from intelgraph.edgecache.entries import CacheEntry, strong_etag
from intelgraph.edgecache.keys import CacheKey
from intelgraph.edgecache.memory import MemoryCacheBackend
from intelgraph.edgecache.redis_backend import RedisCacheBackend
from intelgraph.kernel.clock import ManualClock

REDIS_URL = "redis://127.0.0.1:6379/0"


def key(tenant: str, entity: str, operation: str = "getEntityById:v1") -> CacheKey:
    return CacheKey(tenant, "local", operation, "1.0", "admin", f"{entity:0>64}"[-64:])


def entry(tenant: str, body: bytes = b'{"data":{}}', ttl: int = 30, at: float = 0) -> CacheEntry:
    return CacheEntry(tenant, "getEntityById:v1", "entity", body, strong_etag(body), at, ttl)


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[CacheBackend]:
    if request.param == "memory":
        yield MemoryCacheBackend(10_000, ManualClock())
    else:
        store = RedisCacheBackend(REDIS_URL, key_prefix=f"igtest{secrets.token_hex(3)}")
        yield store
        store.close()


def run(coroutine: object) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


def test_an_entry_is_found_under_its_key_only(backend: CacheBackend) -> None:
    tenant = f"ten_{secrets.token_hex(4)}"
    stored = entry(tenant, b'{"data":{"entity":{"id":"e1"}}}', at=4e9)
    assert run(backend.store(key(tenant, "1"), stored, {"e1"}, 0, 60)) is True
    found = run(backend.lookup(key(tenant, "1")))
    assert found.entry == stored  # type: ignore[attr-defined]
    assert run(backend.lookup(key(tenant, "2"))).entry is None  # type: ignore[attr-defined]
    assert run(backend.lookup(key("ten_other", "1"))).entry is None  # type: ignore[attr-defined]


def test_a_tag_purge_removes_tagged_entries_and_refuses_racing_stores(
    backend: CacheBackend,
) -> None:
    tenant = f"ten_{secrets.token_hex(4)}"
    run(backend.store(key(tenant, "1"), entry(tenant), {"e1"}, 0, 60))
    run(backend.store(key(tenant, "2"), entry(tenant), {"e2"}, 0, 60))
    generation = run(backend.lookup(key(tenant, "3"))).generation  # type: ignore[attr-defined]
    assert backend.purge_tags(tenant, ["e1"]) == 1
    assert run(backend.lookup(key(tenant, "1"))).entry is None  # type: ignore[attr-defined]
    assert run(backend.lookup(key(tenant, "2"))).entry is not None  # type: ignore[attr-defined]
    # a miss that started before the purge may have read old data: its store is refused
    assert run(backend.store(key(tenant, "3"), entry(tenant), {"e9"}, generation, 60)) is False
    newer = run(backend.lookup(key(tenant, "3"))).generation  # type: ignore[attr-defined]
    assert run(backend.store(key(tenant, "3"), entry(tenant), {"e9"}, newer, 60)) is True


def test_an_operation_purge_takes_one_variable_set_or_all(backend: CacheBackend) -> None:
    tenant = f"ten_{secrets.token_hex(4)}"
    for name in ("1", "2"):
        run(backend.store(key(tenant, name), entry(tenant), set(), 0, 60))
    run(backend.store(key(tenant, "3", "pagerankTop:v1"), entry(tenant), set(), 0, 60))
    assert backend.purge_operation(tenant, "getEntityById:v1", key(tenant, "1").vars_hash) == 1
    assert run(backend.lookup(key(tenant, "2"))).entry is not None  # type: ignore[attr-defined]
    assert backend.purge_operation(tenant, "getEntityById:v1", None) == 1
    found = run(backend.lookup(key(tenant, "3", "pagerankTop:v1")))
    assert found.entry is not None  # type: ignore[attr-defined]


def test_memory_cap_evicts_the_tenants_least_recently_used_entries_only() -> None:
    clock = ManualClock()
    body = b"x" * 744  # 1,000 bytes with the bookkeeping
    held: dict[str, int] = {}
    backend = MemoryCacheBackend(3_000, clock, on_bytes=lambda t, b: held.__setitem__(t, b))
    for name in ("1", "2", "3"):
        assert backend.store_now(key("a", name), entry("a", body), set(), 0, 60)
    backend.store_now(key("b", "1"), entry("b", body), set(), 0, 60)
    assert backend.lookup_now(key("a", "1")).entry is not None  # now 2 is the oldest
    backend.store_now(key("a", "4"), entry("a", body), set(), 0, 60)
    assert backend.lookup_now(key("a", "2")).entry is None
    assert [k.split("|")[-1][-1] for k in backend.keys_of("a")] == ["3", "1", "4"]
    assert backend.lookup_now(key("b", "1")).entry is not None  # other tenants keep theirs
    assert held == {"a": 3_000, "b": 1_000}
    assert backend.bytes_of("a") == 3_000


def test_memory_entries_are_dropped_once_kept_long_enough() -> None:
    clock = ManualClock()
    backend = MemoryCacheBackend(10_000, clock)
    backend.store_now(key("a", "1"), entry("a"), {"e1"}, 0, 35)
    clock.advance(34)
    assert backend.lookup_now(key("a", "1")).entry is not None
    clock.advance(2)
    assert backend.lookup_now(key("a", "1")).entry is None
    assert backend.bytes_of("a") == 0


def test_an_entry_larger_than_the_cap_is_not_stored() -> None:
    backend = MemoryCacheBackend(1_000, ManualClock())
    assert backend.store_now(key("a", "1"), entry("a", b"x" * 2_000), set(), 0, 60) is False
