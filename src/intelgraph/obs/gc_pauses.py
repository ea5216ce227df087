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
"""

from __future__ import annotations

import gc
import time
from typing import Any

from prometheus_client import Histogram

# Young collections run every GEN0_THRESHOLD net allocations; a larger first threshold lets
# short-lived request objects die by refcount before a collection promotes them, so fewer
# reach the older generations (the default 700 is a few requests' worth).
GEN0_THRESHOLD = 7_000
OLDER_THRESHOLDS = (10, 10)


def freeze_startup_heap() -> int:
    """Collect once, then freeze every surviving object; returns the number frozen."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, *OLDER_THRESHOLDS)
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
