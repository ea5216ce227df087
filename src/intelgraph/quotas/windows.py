"""Moving windows with a cost: in memory, or in Redis shared by every replica.

api_rpm is a 60 s window and ingest_eps a 1 s window. A window is a log of admitted charges
(time, cost), oldest first, and the sum of their costs; a charge is admitted when the sum of
the charges of the last ``w`` seconds plus its cost stays within the quota, so "no more than
q in any w seconds" holds exactly — across replicas on Redis, where one Lua script expires,
checks, records and reports in a single round trip, on the Redis server's clock. A refund
lowers one logged charge (named by its stamp), so records the store did not keep free the
allowance they took, and only for as long as that charge would have held it.

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
from collections import deque
from typing import Any, NamedTuple, Protocol

import redis
import redis.asyncio
from redis.exceptions import NoScriptError, RedisError, ResponseError

from intelgraph.kernel.clock import Clock
from intelgraph.quotas.decisions import WINDOW_SECONDS
from intelgraph.tenants.plans import LimitName

BACKEND_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)
"""What a backend raises when it cannot answer (the engine then fails open)."""

SWEEP_EVERY_SECONDS = 30.0
MAX_PACKED_CHARGES = 10_000  # packed script calls kept for reuse (a few hundred bytes each)


class WindowState(NamedTuple):
    """The outcome of a charge: admitted or not, what remains, and when quota frees up.

    ``reset_after`` is seconds until the oldest charge leaves the window (admitted), or until
    enough has left for this charge to fit (refused); 0 for an empty window. ``charged_at``
    is the backend's stamp of the logged charge (its own clock and unit), which a refund
    names; None when the backend cannot refund.
    """

    is_acquired: bool
    remaining: int
    reset_after: float
    charged_at: float | None = None

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

    def refund(self, limit: LimitName, tenant_id: str, charged_at: float, amount: int) -> int:
        """Take up to ``amount`` off the charge stamped ``charged_at`` (sync); returns what was
        taken: never more than the charges of that stamp hold, 0 once they left the window.

        Charges with one stamp (one millisecond on Redis) leave the window together, so a
        refund may take from any of them: ask at most what your own charge cost, once.
        """
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
        if admitted:
            if cost:
                charges.append((now, cost))
                self.total += cost
            # Every logged charge costs at least 1: the oldest one frees the next unit.
            # min(): (t + window) - now is window plus float rounding when t == now (a
            # reset of 61 s in a 60 s window), or more if a concurrent charge was stamped later.
            reset_after = min(window, charges[0][0] + window - now) if charges else 0.0
            return WindowState(True, quota - self.total, reset_after, now)
        need = self.total + cost - quota
        freed = 0
        reset_after = 0.0
        for at, amount in charges:
            if freed >= need:
                break
            freed += amount
            reset_after = min(window, at + window - now)
        return WindowState(admitted, max(0, quota - self.total), reset_after)

    def refund(self, charged_at: float, amount: int) -> int:
        charges = self.charges
        refunded = 0
        # Newest first: a refund follows its charge closely. Charges with one stamp are
        # interchangeable (they leave the window together).
        for index in range(len(charges) - 1, -1, -1):
            at, cost = charges[index]
            if at < charged_at or refunded >= amount:
                break
            if at != charged_at:
                continue
            taken = min(cost, amount - refunded)
            if taken == cost:
                del charges[index]
            else:
                charges[index] = (at, cost - taken)
            refunded += taken
        self.total -= refunded
        return refunded


class MemoryWindows:
    """Windows of one process (the default single-process deployment), on ``clock``'s
    monotonic seconds: a charge's stamp, which a refund names, is that reading."""

    name = "memory"

    def __init__(self, clock: Clock) -> None:
        self._monotonic = clock.monotonic
        self._logs: dict[tuple[str, LimitName], _Log] = {}
        self._lock = threading.Lock()
        self._next_sweep = self._monotonic() + SWEEP_EVERY_SECONDS

    def acquire(self, limit: LimitName, tenant_id: str, quota: int, cost: int) -> WindowState:
        key = (tenant_id, limit)
        now = self._monotonic()
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

    def refund(self, limit: LimitName, tenant_id: str, charged_at: float, amount: int) -> int:
        with self._lock:
            log = self._logs.get((tenant_id, limit))
            return log.refund(charged_at, amount) if log is not None and amount > 0 else 0

    def _sweep(self, now: float) -> None:
        """Drop the logs of tenants whose last charge has left its window."""
        self._next_sweep = now + SWEEP_EVERY_SECONDS
        for key, log in list(self._logs.items()):
            if not log.charges or log.charges[-1][0] <= now - WINDOW_SECONDS[key[1]]:
                del self._logs[key]


# KEYS[1]: the log, a list of "<ms>:<cost>", newest first; KEYS[2]: the sum of its costs.
# ARGV: window (ms), quota, cost. Returns the status
# "<admitted 0/1>:<remaining>:<reset_after ms>:<now ms>" (now: the charge's stamp in the log).
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
-- One status line, not an array of three: the client parses one line per charge.
-- %d, not tostring: Lua 5.1 writes numbers from 1e14 on as 1e+14.
return {ok = string.format('%d:%d:%d:%d', admitted, quota - total, reset_after, now)}
"""

CHARGE_SHA = hashlib.sha1(CHARGE_SCRIPT.encode()).hexdigest()

# KEYS as CHARGE_SCRIPT's. ARGV: the charge's stamp (ms, as logged), the cost to give back.
# Lowers the entries of that stamp (removing those left at 0) and the sum by as much, never
# below zero; returns what it gave back (0 once the charge has left the log). No TIME call:
# the script is deterministic, so it replicates as it is.
REFUND_SCRIPT = """
local stamp = ARGV[1]
local wanted = tonumber(ARGV[2])
local refunded = 0
for index, entry in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if refunded >= wanted then
    break
  end
  local sep = string.find(entry, ':', 1, true)
  if string.sub(entry, 1, sep - 1) == stamp then
    local cost = tonumber(string.sub(entry, sep + 1))
    local taken = math.min(cost, wanted - refunded)
    redis.call('LSET', KEYS[1], index - 1, stamp .. ':' .. (cost - taken))
    refunded = refunded + taken
  end
end
if refunded > 0 then
  redis.call('LREM', KEYS[1], 0, stamp .. ':0')
  if redis.call('EXISTS', KEYS[2]) == 1 and redis.call('DECRBY', KEYS[2], refunded) <= 0 then
    redis.call('DEL', KEYS[1], KEYS[2])
  end
end
return refunded
"""


class RedisWindows:
    """Windows shared by every replica through one Redis, one script call per charge.

    On the request path, the charges of concurrent requests are sent together: each event
    loop has a :class:`ChargePipeline` that writes every charge queued while the previous
    batch was in flight in one go. A lone request still goes at once. The script call of a
    charge is packed once per (tenant, limit, quota, cost) and reused: packing its eight
    arguments cost more client CPU than the rest of the charge (measured in
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
        self._refund_script = client.register_script(REFUND_SCRIPT)
        self._pipeline: ChargePipeline | None = None
        self._commands: dict[tuple[str, LimitName, int, int], bytes] = {}

    def keys(self, limit: LimitName, tenant_id: str) -> list[str]:
        """The Redis keys of one tenant's window (a hash tag keeps them on one node)."""
        base = f"{self._prefix}:quota:{{{tenant_id}:{limit.value}}}"
        return [f"{base}:log", f"{base}:sum"]

    def acquire(self, limit: LimitName, tenant_id: str, quota: int, cost: int) -> WindowState:
        window_ms = WINDOW_SECONDS[limit] * 1000
        found = self._sync_script(keys=self.keys(limit, tenant_id), args=[window_ms, quota, cost])
        return _state(found)

    def refund(self, limit: LimitName, tenant_id: str, charged_at: float, amount: int) -> int:
        if amount <= 0:
            return 0
        found = self._refund_script(
            keys=self.keys(limit, tenant_id), args=[int(charged_at), amount]
        )
        return int(found)

    async def acquire_async(
        self, limit: LimitName, tenant_id: str, quota: int, cost: int
    ) -> WindowState:
        pipeline = self._pipeline
        if pipeline is None or not pipeline.is_on_running_loop():
            # redis-py's asyncio connections belong to the loop that opened them.
            pool = redis.asyncio.ConnectionPool.from_url(
                self._url, socket_connect_timeout=self._timeout
            )
            connection: redis.asyncio.Connection = pool.make_connection()  # type: ignore[no-untyped-call]
            pipeline = self._pipeline = ChargePipeline(connection, self._timeout)
        command = self._commands.get((tenant_id, limit, quota, cost))
        if command is None:
            command = self._pack_charge(pipeline, limit, tenant_id, quota, cost)
        return _state(await pipeline.charge(command))

    def _pack_charge(
        self, pipeline: ChargePipeline, limit: LimitName, tenant_id: str, quota: int, cost: int
    ) -> bytes:
        if len(self._commands) >= MAX_PACKED_CHARGES:  # tenants come and go; stay bounded
            self._commands.clear()
        keys = self.keys(limit, tenant_id)
        window_ms = WINDOW_SECONDS[limit] * 1000
        command = pipeline.pack("EVALSHA", CHARGE_SHA, len(keys), *keys, window_ms, quota, cost)
        self._commands[(tenant_id, limit, quota, cost)] = command
        return command


class ChargePipeline:
    """Runs packed CHARGE_SCRIPT calls for concurrent callers of one event loop, batched.

    One batch is in flight at a time, so one connection of its own suffices: a batch is
    written at once and one reply per call read back, which is what redis-py's pipeline
    does on the wire without its per-command packing and bookkeeping. Charges queued
    meanwhile form the next batch, so the batch size follows the load with no timer. A
    connection error or a batch slower than the timeout fails every charge of the batch with
    that error (the engine then fails open) and closes the connection; the next batch opens
    a new one.
    """

    def __init__(self, connection: redis.asyncio.Connection, timeout_seconds: float) -> None:
        self._connection = connection
        self._timeout = timeout_seconds
        self._loop = asyncio.get_running_loop()
        self._queue: list[tuple[bytes, asyncio.Future[Any]]] = []
        self._sender: asyncio.Task[None] | None = None
        self._load_script = self.pack("SCRIPT", "LOAD", CHARGE_SCRIPT)

    def is_on_running_loop(self) -> bool:
        """Whether this pipeline belongs to the event loop that is running now."""
        return self._loop is asyncio.get_running_loop()

    def pack(self, *args: str | int) -> bytes:
        """One command in the Redis protocol, packed by redis-py."""
        return b"".join(self._connection.pack_command(*args))

    async def charge(self, command: bytes) -> Any:
        """The script's status reply ``b"<admitted>:<remaining>:<reset ms>"`` for one charge."""
        future: asyncio.Future[Any] = self._loop.create_future()
        self._queue.append((command, future))
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

    async def _send(self, batch: list[tuple[bytes, asyncio.Future[Any]]]) -> None:
        commands = [command for command, _ in batch]
        try:
            async with asyncio.timeout(self._timeout):
                results = await self._execute(commands)
                if any(isinstance(r, NoScriptError) for r in results):  # Redis restarted
                    await self._execute([self._load_script])
                    results = await self._execute(commands)
        except BaseException as exc:
            await self._connection.disconnect(nowait=True)  # replies may be half read
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # the request went away meanwhile
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _execute(self, commands: list[bytes]) -> list[Any]:
        """The replies to ``commands``; error replies are returned, not raised.

        A connection the server closed while it sat idle (a restart, an idle timeout) fails
        on first use: the batch then goes once more on a new connection, as redis-py's
        default retry would do. A connection that could not be opened is not retried.
        """
        was_open = self._connection.is_connected
        try:
            return await self._exchange(commands)
        except redis.ConnectionError:
            if not was_open:
                raise
            await self._connection.disconnect(nowait=True)
            return await self._exchange(commands)

    async def _exchange(self, commands: list[bytes]) -> list[Any]:
        """Write the commands in one go and read one reply each."""
        connection = self._connection
        await connection.send_packed_command(commands)
        results: list[Any] = []
        for _ in commands:
            try:
                results.append(await connection.read_response())
            except ResponseError as exc:
                results.append(exc)
        return results


def _state(found: Any) -> WindowState:
    """CHARGE_SCRIPT's status reply ``b"1:99:59998:1773489600000"`` as a WindowState."""
    text = found.decode() if isinstance(found, bytes) else str(found)
    admitted, remaining, reset_ms, now_ms = text.split(":")
    return WindowState(admitted == "1", max(0, int(remaining)), int(reset_ms) / 1000, float(now_ms))
