"""The shared cache backend: entries, tag and operation indexes and purge generations in
one Redis, so every replica serves the same entries and sees every purge at once.

No per-process layer is kept in front of it, so there is nothing to invalidate by pub/sub.
A tenant's keys share a hash tag (``{tenant}``), so each script touches one slot.
Connect and socket timeouts are short (``INTELGRAPH_CACHE_REDIS_TIMEOUT_SECONDS``) and a
failed command is not retried: a purge over a cut link gives up quickly, and the service
moves the tenant's cache epoch instead (``epochs``).
Reads and stores run on the event loop with the asyncio client (one per loop); purges come
from worker threads and the CLI, with the synchronous client. Each operation is one round
trip: ``MGET`` for a lookup, one Lua script for a store or a purge.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError
from redis.retry import Retry

from intelgraph.edgecache.backend import Lookup
from intelgraph.edgecache.entries import CacheEntry
from intelgraph.edgecache.keys import CacheKey

BACKEND_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError, ValueError)
"""What a lookup, store or purge raises when Redis cannot answer (or answers garbage)."""

# KEYS: generation, entry, operation index, tag sets...; ARGV: generation, value, keep ms
STORE_SCRIPT = """
local current = redis.call('GET', KEYS[1]) or '0'
if current ~= ARGV[1] then return 0 end
local keep = tonumber(ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', keep)
for i = 3, #KEYS do
  redis.call('SADD', KEYS[i], KEYS[2])
  if redis.call('PTTL', KEYS[i]) < keep then redis.call('PEXPIRE', KEYS[i], keep) end
end
return 1
"""

# KEYS: generation, tag sets...; removes every entry a tag set names, then the sets
PURGE_TAGS_SCRIPT = """
redis.call('INCR', KEYS[1])
local removed = 0
for i = 2, #KEYS do
  local members = redis.call('SMEMBERS', KEYS[i])
  for _, member in ipairs(members) do removed = removed + redis.call('DEL', member) end
  redis.call('DEL', KEYS[i])
end
return removed
"""

# KEYS: generation, operation index; ARGV: suffix to match ("" = every entry of the op)
PURGE_OPERATION_SCRIPT = """
redis.call('INCR', KEYS[1])
local removed = 0
local suffix = ARGV[1]
for _, member in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if suffix == '' or string.sub(member, -string.len(suffix)) == suffix then
    removed = removed + redis.call('DEL', member)
    redis.call('SREM', KEYS[2], member)
  end
end
return removed
"""


class RedisCacheBackend:
    name = "redis"

    def __init__(self, url: str, key_prefix: str = "intelgraph", timeout_seconds: float = 0.5):
        self._url = url
        self._prefix = key_prefix
        self._timeout = timeout_seconds
        self._sync = redis.Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 0),
        )
        self._purge_tags = self._sync.register_script(PURGE_TAGS_SCRIPT)
        self._purge_operation = self._sync.register_script(PURGE_OPERATION_SCRIPT)
        self._async: redis.asyncio.Redis | None = None
        self._async_store: AsyncScript | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None

    # --- keys ------------------------------------------------------------------------------

    def _base(self, tenant_id: str) -> str:
        return f"{self._prefix}:ec:{{{tenant_id}}}"

    def entry_key(self, key: CacheKey) -> str:
        return f"{self._base(key.tenant_id)}:e:{key.text}"

    def _generation_key(self, tenant_id: str) -> str:
        return f"{self._base(tenant_id)}:gen"

    def _tag_key(self, tenant_id: str, tag: str) -> str:
        return f"{self._base(tenant_id)}:tag:{tag}"

    def _operation_key(self, tenant_id: str, operation_id: str) -> str:
        return f"{self._base(tenant_id)}:op:{operation_id}"

    # --- request path (event loop) --------------------------------------------------------

    def _client(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        if self._async is None or self._async_loop is not loop:
            # redis-py's asyncio connections belong to the loop that opened them.
            self._async = redis.asyncio.Redis.from_url(
                self._url,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._timeout,
                retry=AsyncRetry(NoBackoff(), 0),
            )
            self._async_store = self._async.register_script(STORE_SCRIPT)
            self._async_loop = loop
        return self._async

    async def lookup(self, key: CacheKey) -> Lookup:
        raw, generation = await self._client().mget(
            self.entry_key(key), self._generation_key(key.tenant_id)
        )
        entry = CacheEntry.decode(raw) if raw is not None else None
        return Lookup(entry, int(generation or 0))

    async def store(
        self, key: CacheKey, entry: CacheEntry, tags: Iterable[str], generation: int, keep: float
    ) -> bool:
        entry_key = self.entry_key(key)
        keys = [
            self._generation_key(key.tenant_id),
            entry_key,
            self._operation_key(key.tenant_id, key.operation_id),
            *(self._tag_key(key.tenant_id, tag) for tag in sorted(tags)),
        ]
        self._client()
        assert self._async_store is not None
        stored = await self._async_store(
            keys=keys, args=[str(generation), entry.encode(), int(keep * 1000)]
        )
        return bool(stored)

    # --- purges (worker threads, CLI) -----------------------------------------------------

    def purge_tags(self, tenant_id: str, tags: Iterable[str]) -> int:
        keys = [self._generation_key(tenant_id)]
        keys += [self._tag_key(tenant_id, tag) for tag in sorted(set(tags))]
        return int(self._purge_tags(keys=keys))

    def purge_operation(self, tenant_id: str, operation_id: str, vars_hash: str | None) -> int:
        keys = [self._generation_key(tenant_id), self._operation_key(tenant_id, operation_id)]
        suffix = "" if vars_hash in (None, "*") else f"|{vars_hash}"
        return int(self._purge_operation(keys=keys, args=[suffix]))

    def put_raw(self, key: CacheKey, entry: CacheEntry, keep: float) -> None:
        """Store without checks or indexes (tests use it to plant a corrupted entry)."""
        self._sync.set(self.entry_key(key), entry.encode(), px=int(keep * 1000))

    def close(self) -> None:
        self._sync.close()
