"""Response bytes per tenant and UTC day: the tally behind egress_gb_day.

Bytes are known only after a response is sent, so the tally is read before a request (is
the day already over?) and added to after it. In memory the tally is exact. With Redis each
replica keeps its unsent bytes and the last day totals it saw, and a background thread
sends the bytes (INCRBY, with an expiry) and reads the totals back every ``sync_interval``;
so a request never waits on Redis for egress, and replicas see each other's bytes within
that interval. A replica always sees its own bytes at once.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from typing import Protocol

import redis

from intelgraph.kernel.clock import Clock
from intelgraph.quotas.windows import BACKEND_ERRORS

log = logging.getLogger(__name__)

DayKey = tuple[str, int]  # tenant, UTC day number (days since 1970-01-01)
EPOCH_DAY = date(1970, 1, 1)
RETENTION_SECONDS = 2 * 86_400  # a day's key outlives its day, then Redis drops it
WATCH_SECONDS = 600.0  # a tenant not seen for this long stops being refreshed


@functools.lru_cache(maxsize=64)
def day_iso(day: int) -> str:
    """``2026-03-14`` for a UTC day number."""
    return (EPOCH_DAY + timedelta(days=day)).isoformat()


class EgressTally(Protocol):
    """Bytes sent per (tenant, UTC day)."""

    def used(self, tenant_id: str, day: int) -> int:
        """Bytes counted for the tenant on ``day`` (never blocks on I/O)."""
        ...

    def add(self, tenant_id: str, day: int, nbytes: int) -> None:
        """Count ``nbytes`` more for the tenant on ``day`` (never blocks on I/O)."""
        ...

    def start(self) -> None:
        """Begin background work, if any."""
        ...

    def stop(self) -> None:
        """End background work after a last sync."""
        ...


class MemoryEgressTally:
    """Exact tally of one process; days before the newest seen are dropped."""

    def __init__(self) -> None:
        self._bytes: dict[DayKey, int] = {}
        self._today: int | None = None
        self._lock = threading.Lock()

    def used(self, tenant_id: str, day: int) -> int:
        return self._bytes.get((tenant_id, day), 0)

    def add(self, tenant_id: str, day: int, nbytes: int) -> None:
        with self._lock:
            if self._today is None or day > self._today:
                self._today = day
                self._bytes = {key: n for key, n in self._bytes.items() if key[1] >= day}
            key = (tenant_id, day)
            self._bytes[key] = self._bytes.get(key, 0) + nbytes

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None


class RedisEgressTally:
    """Tally shared by replicas through Redis, synced off the request path."""

    def __init__(
        self,
        client: redis.Redis,
        key_prefix: str,
        clock: Clock,
        on_error: Callable[[Exception], None],
        sync_interval_seconds: float = 0.25,
    ) -> None:
        self._client = client
        self._prefix = key_prefix
        self._clock = clock
        self._on_error = on_error
        self._interval = sync_interval_seconds
        self._known: dict[DayKey, int] = {}  # totals last read from Redis
        self._inflight: dict[DayKey, int] = {}  # being sent now
        self._pending: defaultdict[DayKey, int] = defaultdict(int)  # not sent yet
        self._seen: dict[DayKey, float] = {}  # last asked about, for refreshes
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def key(self, tenant_id: str, day: int) -> str:
        """The Redis key of one tenant's day (``…:egress:<tenant>:2026-03-14``)."""
        return f"{self._prefix}:egress:{tenant_id}:{day_iso(day)}"

    def used(self, tenant_id: str, day: int) -> int:
        key = (tenant_id, day)
        with self._lock:
            self._seen[key] = self._clock.monotonic()
            return self._known.get(key, 0) + self._inflight.get(key, 0) + self._pending.get(key, 0)

    def add(self, tenant_id: str, day: int, nbytes: int) -> None:
        with self._lock:
            self._pending[(tenant_id, day)] += nbytes

    def sync(self) -> None:
        """Send unsent bytes and read back the day totals of the tenants seen lately."""
        with self._sync_lock:
            with self._lock:
                sending, self._pending = dict(self._pending), defaultdict(int)
                self._inflight = sending
                cutoff = self._clock.monotonic() - WATCH_SECONDS
                watched = [key for key, at in list(self._seen.items()) if at >= cutoff]
            reading = [key for key in watched if key not in sending]
            if not sending and not reading:
                return
            pipe = self._client.pipeline(transaction=False)
            for (tenant_id, day), nbytes in sending.items():
                pipe.incrby(self.key(tenant_id, day), nbytes)
                pipe.expire(self.key(tenant_id, day), RETENTION_SECONDS)
            for tenant_id, day in reading:
                pipe.get(self.key(tenant_id, day))
            try:
                results = pipe.execute()
            except BACKEND_ERRORS as exc:
                with self._lock:
                    for key, nbytes in sending.items():
                        self._pending[key] += nbytes
                    self._inflight = {}
                self._on_error(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
                return
            totals = {key: int(results[2 * i]) for i, key in enumerate(sending)}
            offset = 2 * len(sending)
            for i, key in enumerate(reading):
                totals[key] = int(results[offset + i] or 0)
            with self._lock:
                self._known.update(totals)
                self._inflight = {}
                self._forget_before(cutoff)

    def _forget_before(self, cutoff: float) -> None:
        newest = max((day for _, day in self._known), default=None)
        for key, at in list(self._seen.items()):
            if at < cutoff or (newest is not None and key[1] < newest and key not in self._pending):
                self._seen.pop(key, None)
                self._known.pop(key, None)

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="egress-sync", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.sync()

    def _loop(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.sync()
            except Exception:  # keep syncing whatever one round hit
                log.exception("egress sync failed")
