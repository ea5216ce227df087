"""Moving windows with a cost: in memory, or in Redis shared by every replica.

api_rpm is a 60 s window and ingest_eps a 1 s window. A window is a log of admitted charges
(time, cost), oldest first, and the sum of their costs; a charge is admitted when the sum of
the charges of the last ``w`` seconds plus its cost stays within the quota, so "no more than
q in any w seconds" holds exactly — across replicas on Redis, where one Lua script expires,
checks, records and reports in a single round trip, on the Redis server's clock.

This is the moving-window algorithm of the ``limits`` package, kept as a log of charges
rather than one entry per unit. We measured ``limits`` first (``bench/bench_quota_overhead.py
--compare-limits``): its in-memory storage expires entries from a timer thread that takes the
window's lock every 10 ms, which stalled checks on the event loop for milliseconds under load;
and it needs a second Redis round trip (``get_window_stats``) for the ``RateLimit`` header
every admitted response carries. Figures: docs/adr/005-quota-windows-and-egress-tally.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import deque
from collections.abc import Awaitable
from typing import Any, NamedTuple, Protocol, cast

import redis
import redis.asyncio
from redis.exceptions import NoScriptError, RedisError

from intelgraph.quotas.decisions import WINDOW_SECONDS
from intelgraph.tenants.plans import LimitName

BACKEND_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)
"""What a backend raises when it cannot answer (the engine then fails open)."""

SWEEP_EVERY_SECONDS = 30.0


class WindowState(NamedTuple):
    """The outcome of a charge: admitted or not, what remains, and when quota frees up.

    ``reset_after`` is seconds until the oldest charge leaves the window (admitted), or until
    enough has left for this charge to fit (refused); 0 for an empty window.
    """

    is_acquired: bool
    remaining: int
    reset_after: float

    def reset_seconds(self) -> int:
        """``reset_after`` in whole seconds, rounded up."""
        return max(0, int(-(-self.reset_after // 1)))


class MovingWindows(Protocol):
    """Per-tenant moving windows; raises one of BACKEND_ERRORS when the storage is down."""

    name: str

    def acquire(self, limit: LimitName, tenant_id: str, quota: int, cost: int) -> WindowState:
        """Charge ``cost`` if it fits (sync; safe from worker threads)."""
        ...

    async def acquire_async(
        self, limit: LimitName, tenant_id: str, quota: int, cost: int
    ) -> WindowState:
        """Charge ``cost`` if it fits, without blocking the event loop."""
        ...


class _Log:
    """One tenant's window: charges (time, cost) oldest first, and their sum."""

    __slots__ = ("charges", "total")

    def __init__(self) -> None:
        self.charges: deque[tuple[float, int]] = deque()
        self.total = 0

    def charge(self, now: float, window: float, quota: int, cost: int) -> WindowState:
        charges = self.charges
        horizon = now - window
        while charges and charges[0][0] <= horizon:
            self.total -= charges.popleft()[1]
        admitted = self.total + cost <= quota
        if admitted and cost:
            charges.append((now, cost))
            self.total += cost
        need = 1 if admitted else self.total + cost - quota
        freed = 0
        reset_after = 0.0
        for at, amount in charges:
            if freed >= need:
                break
            freed += amount
            reset_after = at + window - now
        return WindowState(admitted, max(0, quota - self.total), reset_after)


class MemoryWindows:
    """Windows of one process (the default single-process deployment)."""

    name = "memory"

    def __init__(self) -> None:
        self._logs: dict[tuple[str, LimitName], _Log] = {}
        self._lock = threading.Lock()
        self._next_sweep = time.monotonic() + SWEEP_EVERY_SECONDS

    def acquire(self, limit: LimitName, tenant_id: str, quota: int, cost: int) -> WindowState:
        key = (tenant_id, limit)
        now = time.monotonic()
        with self._lock:
            log = self._logs.get(key)
            if log is None:
                log = self._logs[key] = _Log()
            state = log.charge(now, WINDOW_SECONDS[limit], quota, cost)
            if now >= self._next_sweep:
                self._sweep(now)
        return state

    async def acquire_async(
        self, limit: LimitName, tenant_id: str, quota: int, cost: int
    ) -> WindowState:
        # A few microseconds of in-process work: cheaper than any hand-off.
        return self.acquire(limit, tenant_id, quota, cost)

    def _sweep(self, now: float) -> None:
        """Drop the logs of tenants whose last charge has left its window."""
        self._next_sweep = now + SWEEP_EVERY_SECONDS
        for key, log in list(self._logs.items()):
            if not log.charges or log.charges[-1][0] <= now - WINDOW_SECONDS[key[1]]:
                del self._logs[key]


# KEYS[1]: the log, a list of "<ms>:<cost>", newest first; KEYS[2]: the sum of its costs.
# ARGV: window (ms), quota, cost. Returns {admitted (0/1), remaining, reset_after (ms)}.
CHARGE_SCRIPT = """
if redis.replicate_commands then
  redis.replicate_commands()  -- Redis 5/6: writes after TIME need effects replication
end
local window = tonumber(ARGV[1])
local quota = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function parse(entry)
  local sep = string.find(entry, ':', 1, true)
  return tonumber(string.sub(entry, 1, sep - 1)), tonumber(string.sub(entry, sep + 1))
end
local stored = redis.call('GET', KEYS[2])
local total = 0
if stored then
  total = tonumber(stored)
else  -- no sum (first charge, or evicted): count the log
  for _, entry in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
    local _, amount = parse(entry)
    total = total + amount
  end
end
while true do
  local oldest = redis.call('LINDEX', KEYS[1], -1)
  if not oldest then
    total = 0
    break
  end
  local at, amount = parse(oldest)
  if at > now - window then
    break
  end
  redis.call('RPOP', KEYS[1])
  total = total - amount
end
local admitted = 0
if total + cost <= quota then
  admitted = 1
  if cost > 0 then
    redis.call('LPUSH', KEYS[1], now .. ':' .. cost)
    total = total + cost
  end
end
local need = 1
if admitted == 0 then
  need = total + cost - quota
end
local freed = 0
local reset_after = 0
local index = -1
while freed < need do
  local entry = redis.call('LINDEX', KEYS[1], index)
  if not entry then
    break
  end
  local at, amount = parse(entry)
  freed = freed + amount
  reset_after = at + window - now
  index = index - 1
end
if total > 0 then
  redis.call('SET', KEYS[2], total, 'PX', window)
  redis.call('PEXPIRE', KEYS[1], window)
else
  redis.call('DEL', KEYS[1], KEYS[2])
end
return {admitted, quota - total, reset_after}
"""

CHARGE_SHA = hashlib.sha1(CHARGE_SCRIPT.encode()).hexdigest()


class RedisWindows:
    """Windows shared by every replica through one Redis, one script call per charge.

    On the request path, the charges of concurrent requests are sent together: each event
    loop has a :class:`ChargePipeline` that puts every charge queued while the previous
    batch was in flight into one Redis pipeline. A lone request still goes at once; under
    load this cuts the client's CPU per charge about four-fold (measured in
    ``bench/bench_quota_overhead.py``). Ingest charges, which run in worker threads or
    synchronous resolvers, use the synchronous client.
    """

    name = "redis"

    def __init__(self, url: str, key_prefix: str, timeout_seconds: float = 1.0) -> None:
        self._url = url
        self._prefix = key_prefix
        self._timeout = timeout_seconds
        client = redis.Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
        )
        self._sync_script = client.register_script(CHARGE_SCRIPT)
        self._pipeline: ChargePipeline | None = None

    def keys(self, limit: LimitName, tenant_id: str) -> list[str]:
        """The Redis keys of one tenant's window (a hash tag keeps them on one node)."""
        base = f"{self._prefix}:quota:{{{tenant_id}:{limit.value}}}"
        return [f"{base}:log", f"{base}:sum"]

    def acquire(self, limit: LimitName, tenant_id: str, quota: int, cost: int) -> WindowState:
        window_ms = WINDOW_SECONDS[limit] * 1000
        found = self._sync_script(keys=self.keys(limit, tenant_id), args=[window_ms, quota, cost])
        return _state(found)

    async def acquire_async(
        self, limit: LimitName, tenant_id: str, quota: int, cost: int
    ) -> WindowState:
        pipeline = self._pipeline
        if pipeline is None or not pipeline.is_on_running_loop():
            # redis-py's asyncio connections belong to the loop that opened them.
            pipeline = self._pipeline = ChargePipeline(
                redis.asyncio.Redis.from_url(
                    self._url,
                    socket_timeout=self._timeout,
                    socket_connect_timeout=self._timeout,
                )
            )
        window_ms = WINDOW_SECONDS[limit] * 1000
        return _state(await pipeline.charge(self.keys(limit, tenant_id), window_ms, quota, cost))


class ChargePipeline:
    """Runs CHARGE_SCRIPT for concurrent callers of one event loop, batched.

    One batch is in flight at a time; charges queued meanwhile form the next batch, so the
    batch size follows the load with no timer. A connection error fails every charge of
    the batch with that error (the engine then fails open).
    """

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client
        self._loop = asyncio.get_running_loop()
        self._queue: list[tuple[list[str], tuple[int, int, int], asyncio.Future[Any]]] = []
        self._sender: asyncio.Task[None] | None = None

    def is_on_running_loop(self) -> bool:
        """Whether this pipeline belongs to the event loop that is running now."""
        return self._loop is asyncio.get_running_loop()

    async def charge(self, keys: list[str], window_ms: int, quota: int, cost: int) -> Any:
        """The script's answer ``[admitted, remaining, reset_ms]`` for one charge."""
        future: asyncio.Future[Any] = self._loop.create_future()
        self._queue.append((keys, (window_ms, quota, cost), future))
        if self._sender is None:
            self._sender = self._loop.create_task(self._send_batches())
        return await future

    async def _send_batches(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                await self._send(batch)
        finally:
            self._sender = None

    async def _send(
        self, batch: list[tuple[list[str], tuple[int, int, int], asyncio.Future[Any]]]
    ) -> None:
        try:
            results = await self._execute(batch)
            if any(isinstance(r, NoScriptError) for r in results):  # Redis restarted
                await self._client.script_load(CHARGE_SCRIPT)
                results = await self._execute(batch)
        except BaseException as exc:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, _, future), result in zip(batch, results, strict=True):
            if future.done():  # the request went away meanwhile
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _execute(
        self, batch: list[tuple[list[str], tuple[int, int, int], asyncio.Future[Any]]]
    ) -> list[Any]:
        if len(batch) == 1:  # a lone charge: a plain call is cheaper than a pipeline
            keys, args, _ = batch[0]
            try:
                call = self._client.evalsha(CHARGE_SHA, len(keys), *keys, *args)
                return [await cast(Awaitable[Any], call)]
            except NoScriptError as exc:
                return [exc]
        pipe = self._client.pipeline(transaction=False)
        for keys, args, _ in batch:
            pipe.evalsha(CHARGE_SHA, len(keys), *keys, *args)
        results: list[Any] = await pipe.execute(raise_on_error=False)
        return results


def _state(found: Any) -> WindowState:
    admitted, remaining, reset_ms = found
    return WindowState(bool(admitted), max(0, int(remaining)), int(reset_ms) / 1000)
