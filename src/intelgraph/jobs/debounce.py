"""Debounced per-tenant work: run a job once a tenant has been quiet for a while.

Used to recompute PageRank after ingests without recomputing after every batch. The job
runs in this debouncer's thread; a job that does heavy work elsewhere (PageRank in a worker
process) gets ``on_stop`` to end that work, so stopping never waits for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from intelgraph.kernel.clock import Clock

log = logging.getLogger(__name__)


class TenantDebouncer:
    """Calls ``job(tenant_id)`` in a background thread ``delay`` seconds after the last poke."""

    def __init__(
        self,
        name: str,
        job: Callable[[str], object],
        delay: float,
        clock: Clock,
        *,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        """``on_stop`` is called by ``stop`` to end a job in flight (and refuse new ones)."""
        self.name = name
        self._on_stop = on_stop
        self._job = job
        self._delay = delay
        self._clock = clock
        self._due: dict[str, float] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def poke(self, tenant_id: str, _touched: object = None) -> None:
        """Schedule (or push back) the job for this tenant."""
        with self._lock:
            self._due[tenant_id] = self._clock.monotonic() + self._delay
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Run no further jobs, end the one in flight (``on_stop``) and join the thread."""
        self._stopping.set()
        self._wake.set()
        if self._on_stop is not None:
            try:
                self._on_stop()
            except Exception:
                log.exception("stopping debounced work failed", extra={"job": self.name})
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def pending(self) -> list[str]:
        with self._lock:
            return sorted(self._due)

    def run_due(self) -> list[str]:
        """Run the job for every tenant whose quiet time has passed; returns those tenants."""
        now = self._clock.monotonic()
        with self._lock:
            ready = [t for t, due in self._due.items() if due <= now]
            for tenant_id in ready:
                del self._due[tenant_id]
        for tenant_id in ready:
            if self._stopping.is_set():  # shutting down; the next ingest pokes it again
                log.info("debounced job skipped", extra={"job": self.name, "tenant_id": tenant_id})
                continue
            try:
                self._job(tenant_id)
            except Exception:
                if self._stopping.is_set():
                    log.info(
                        "debounced job stopped", extra={"job": self.name, "tenant_id": tenant_id}
                    )
                    continue
                log.exception(
                    "debounced job failed", extra={"job": self.name, "tenant_id": tenant_id}
                )
        return ready

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(timeout=0.5)
            self._wake.clear()
            self.run_due()
