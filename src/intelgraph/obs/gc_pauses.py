"""Keep the garbage collector's pauses out of the request latency, and measure them.

A server worker holds ~140,000 container objects after start-up (schemas, SQLAlchemy and
graphql-core internals, services). CPython's oldest-generation collection walks all of them
while holding the GIL: 90-150 ms on this project's 2-core machine, measured, every few
seconds under load — the whole event loop stalls, and at 200 requests/s some thirty requests
wait behind each pause (it was the p95/p99 of ``bench/bench_entity_load.py``).

``gc.freeze()`` after start-up moves those objects to a permanent generation the collector
never walks, so a full collection only visits what was allocated since (request garbage
and bounded caches): well under a millisecond to a few. Frozen objects are still freed by
reference counting; only cycles among them are kept, which for start-up objects is the
intent. Called by the server factory only, never by tests (they build many apps).

The thresholds stay at CPython's defaults: a young collection then costs ~0.1 ms of CPU
under the entity(id) workload; a 10x larger first threshold made each ~2 ms and their total
larger (measured, 3,000 requests in process).
"""

from __future__ import annotations

import gc
import time
from typing import Any

from prometheus_client import Histogram


def freeze_startup_heap() -> int:
    """Collect once, then freeze every surviving object; returns the number frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class GcPauseMeter:
    """Observes each collection's duration into ``histogram`` (label: generation)."""

    def __init__(self, histogram: Histogram) -> None:
        # Children bound now: ``labels()`` takes the metric's lock and allocates, and a
        # collection can start while some thread holds that lock (the callback runs on the
        # thread that triggered the collection), which would deadlock.
        self._by_generation = [histogram.labels(str(generation)) for generation in range(3)]
        self._started = 0.0

    def install(self) -> None:
        if self._on_gc not in gc.callbacks:
            gc.callbacks.append(self._on_gc)

    def uninstall(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        # Runs inside the collector with the GIL held: no allocation-heavy work here.
        if phase == "start":
            self._started = time.perf_counter()
        else:
            elapsed = time.perf_counter() - self._started
            self._by_generation[info["generation"]].observe(elapsed)
