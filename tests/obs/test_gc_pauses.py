"""Collector pauses are measured, and the start-up heap is frozen out of their reach."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from intelgraph.obs.gc_pauses import GcPauseMeter, freeze_startup_heap
from intelgraph.obs.metrics import Metrics


def pause_count(metrics: Metrics, generation: str) -> float:
    value = metrics.registry.get_sample_value(
        "intelgraph_gc_pause_seconds_count", {"generation": generation}
    )
    return value or 0.0


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Whatever a test freezes goes back to the collector afterwards."""
    yield
    gc.unfreeze()


def test_every_full_collection_is_observed_by_generation() -> None:
    metrics = Metrics()
    meter = GcPauseMeter(metrics.gc_pauses)
    meter.install()
    try:
        gc.collect()
        gc.collect()
    finally:
        meter.uninstall()
    gc.collect()  # after uninstall: not observed

    assert pause_count(metrics, "2") == 2
    assert (
        metrics.registry.get_sample_value("intelgraph_gc_pause_seconds_sum", {"generation": "2"})
        or 0
    ) > 0


def test_freezing_leaves_the_collector_nothing_of_the_startup_heap(unfrozen: None) -> None:
    survivors = [[n] for n in range(10_000)]  # start-up objects that live on

    frozen = freeze_startup_heap()

    assert frozen >= len(survivors)
    still_walked = {id(obj) for obj in gc.get_objects()}  # the generations a collection visits
    assert not any(id(survivor) in still_walked for survivor in survivors)
