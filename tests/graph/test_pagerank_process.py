"""PageRank recomputed in a worker process: same scores, the API keeps answering meanwhile,
and a failed or killed worker leaves the previous scores in place."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from conftest import Harness, TenantHandle
from intelgraph.demo.records import random_graph_edges
from intelgraph.graph import repository as repo
from intelgraph.graph.pagerank_worker import PagerankProcessRunner, PagerankRun
from intelgraph.jobs.debounce import TenantDebouncer
from intelgraph.kernel.clock import SystemClock
from intelgraph.kernel.errors import INTERNAL, SERVICE_UNAVAILABLE, IntelGraphError
from intelgraph.obs.metrics import Metrics

PAGERANK_TOP = "{ pagerankTop(limit: 500) { score computedAt entity { id } } }"
TYPES = ("PERSON", "ORGANIZATION", "ACCOUNT")


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    return module_harness


def seed_graph(harness: Harness, n_nodes: int, n_edges: int, seed: int) -> TenantHandle:
    """A tenant whose graph is written straight to the store (ingesting 10^5 relationships
    through the API would take most of the test)."""
    tenant = harness.new_tenant()
    now = harness.services.clock.now()
    ids = [f"ent_{seed:04x}{i:020x}" for i in range(n_nodes)]
    pairs = dict.fromkeys((a, b) for a, b in random_graph_edges(n_nodes, n_edges, seed) if a != b)
    with harness.services.engine.begin() as conn:
        repo.insert_entities(
            conn,
            [
                (tenant.id, entity_id, f"x{i}", TYPES[i % 3], f"node {i}", "{}", 0.9, None, "[]")
                for i, entity_id in enumerate(ids)
            ],
            now,
        )
        repo.insert_relationships(
            conn,
            [
                (tenant.id, f"rel_{seed:04x}{n:020x}", "CONNECTED_TO", ids[a], ids[b], 0.9, "{}")
                for n, (a, b) in enumerate(pairs)
            ],
            now,
        )
    return tenant


def stored_top(harness: Harness, tenant: TenantHandle) -> list[tuple[str, float, str]]:
    """What a client reads: (entity id, score, computedAt) of the top 500."""
    response = harness.graphql(tenant.admin_key, PAGERANK_TOP)
    assert response.status_code == 200, response.text
    rows = response.json()["data"]["pagerankTop"]
    return [(row["entity"]["id"], row["score"], row["computedAt"]) for row in rows]


def test_worker_process_stores_the_same_scores_as_the_api_process(harness: Harness) -> None:
    tenant = seed_graph(harness, 400, 3_000, seed=11)
    graph = harness.services.graph
    assert graph.recompute_pagerank(tenant.id) == 400  # in this process (the CLI's path)
    here = stored_top(harness, tenant)
    runner = PagerankProcessRunner(min_edges=0)
    try:
        assert graph.recompute_pagerank(tenant.id, runner=runner) == 400
        worker_pid = runner.worker_pid
    finally:
        runner.close()
    there = stored_top(harness, tenant)
    assert worker_pid is not None and worker_pid != os.getpid()
    assert len(here) == 400
    assert [entity_id for entity_id, _, _ in there] == [entity_id for entity_id, _, _ in here]
    assert [score for _, score, _ in there] == [score for _, score, _ in here]


def test_small_graphs_stay_in_the_api_process_and_large_ones_go_to_the_worker(
    harness: Harness,
) -> None:
    small = seed_graph(harness, 50, 200, seed=12)
    large = seed_graph(harness, 300, 2_500, seed=17)
    metrics = Metrics()
    runner = PagerankProcessRunner(min_edges=1_000, metrics=metrics)
    try:
        harness.services.graph.recompute_pagerank(small.id, runner=runner)
        assert runner.worker_pid is None  # no worker was started
        assert _count(metrics, "in_process", "ok") == 1
        harness.services.graph.recompute_pagerank(large.id, runner=runner)
        assert runner.worker_pid is not None
        assert _count(metrics, "process", "ok") == 1
    finally:
        runner.close()
    assert stored_top(harness, small) and stored_top(harness, large)


def test_the_api_keeps_answering_while_a_worker_computes(harness: Harness) -> None:
    tenant = seed_graph(harness, 20_000, 150_000, seed=13)
    answered_at: list[float] = []
    computing = threading.Event()

    def client_requests() -> None:
        while computing.is_set():
            response = harness.client.get("/healthz")
            assert response.status_code == 200
            answered_at.append(time.monotonic())

    runs: list[PagerankRun] = []
    runner = PagerankProcessRunner(min_edges=0)

    def recording(engine: Engine, tenant_id: str, at: datetime, keep: int) -> PagerankRun:
        runs.append(runner(engine, tenant_id, at, keep))
        return runs[-1]

    try:
        harness.services.graph.recompute_pagerank(tenant.id, runner=runner)  # start the worker
        computing.set()
        requests = threading.Thread(target=client_requests)
        requests.start()
        waiter_cpu = time.thread_time()
        scored = harness.services.graph.recompute_pagerank(tenant.id, runner=recording)
        waiter_cpu = time.thread_time() - waiter_cpu
        computing.clear()
        requests.join()
    finally:
        computing.clear()
        runner.close()
    run = runs[0]
    assert scored == 20_000 and run.pid != os.getpid()
    # The work was done elsewhere: waiting for it cost this thread a sliver of its CPU.
    assert waiter_cpu < run.cpu_seconds / 2
    began, ended = run.compute_window
    answered_while_computing = [at for at in answered_at if began <= at <= ended]
    assert len(answered_while_computing) > 0


def write_then_fail(engine: Engine, tenant_id: str, at: datetime, keep: int) -> PagerankRun:
    """Run in the worker: wipes the scores inside the transaction, then fails before commit."""
    with engine.begin() as conn:
        repo.replace_pagerank(conn, tenant_id, {}, at)
        raise RuntimeError("disk full while writing the scores")


def wipe_then_hang(engine: Engine, tenant_id: str, at: datetime, keep: int) -> PagerankRun:
    """Run in the worker: wipes the scores inside the transaction, says so, then hangs."""
    with engine.begin() as conn:
        repo.replace_pagerank(conn, tenant_id, {}, at)
        marker = Path(os.environ["PAGERANK_TEST_MARKER"])
        marker.write_text(str(os.getpid()))
        time.sleep(3_600)
    raise AssertionError("unreachable")


def test_a_failing_worker_is_reported_and_the_previous_scores_stay(harness: Harness) -> None:
    tenant = seed_graph(harness, 300, 2_000, seed=14)
    graph = harness.services.graph
    graph.recompute_pagerank(tenant.id)
    before = stored_top(harness, tenant)
    purged: list[str] = []
    graph.on_analytics_recomputed(purged.append)
    metrics = Metrics()
    runner = PagerankProcessRunner(min_edges=0, metrics=metrics, job=write_then_fail)
    try:
        with pytest.raises(IntelGraphError) as failure:
            graph.recompute_pagerank(tenant.id, runner=runner)
    finally:
        runner.close()
    assert failure.value.error is INTERNAL
    assert "disk full while writing the scores" in failure.value.message
    assert "disk full" in str(failure.value.__cause__)  # the worker's traceback, for the log
    assert stored_top(harness, tenant) == before
    assert tenant.id not in purged  # nothing changed, nothing purged
    assert _count(metrics, "process", "failed") == 1


def test_a_killed_worker_keeps_the_previous_scores_and_is_replaced(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = seed_graph(harness, 300, 2_000, seed=15)
    graph = harness.services.graph
    graph.recompute_pagerank(tenant.id)
    before = stored_top(harness, tenant)
    marker = tmp_path / "worker.pid"
    monkeypatch.setenv("PAGERANK_TEST_MARKER", str(marker))  # read by the worker it spawns
    runner = PagerankProcessRunner(min_edges=0, job=wipe_then_hang)
    outcome: dict[str, Any] = {}

    def recompute() -> None:
        try:
            graph.recompute_pagerank(tenant.id, runner=runner)
        except IntelGraphError as exc:
            outcome["error"] = exc

    try:
        recomputing = threading.Thread(target=recompute)
        recomputing.start()
        worker_pid = _wait_for_pid(marker)
        assert stored_top(harness, tenant) == before  # the wipe is not committed
        os.kill(worker_pid, signal.SIGKILL)
        recomputing.join()
        assert outcome["error"].error is INTERNAL
        assert "died" in outcome["error"].message
        assert stored_top(harness, tenant) == before
        # The store is not left locked and a new worker takes the next recompute.
        replacement = PagerankProcessRunner(min_edges=0)
        try:
            assert graph.recompute_pagerank(tenant.id, runner=replacement) == 300
        finally:
            replacement.close()
    finally:
        runner.close()


def test_stopping_the_jobs_ends_a_recompute_in_flight(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = seed_graph(harness, 300, 2_000, seed=16)
    graph = harness.services.graph
    graph.recompute_pagerank(tenant.id)
    before = stored_top(harness, tenant)
    marker = tmp_path / "worker.pid"
    monkeypatch.setenv("PAGERANK_TEST_MARKER", str(marker))
    metrics = Metrics()
    runner = PagerankProcessRunner(min_edges=0, metrics=metrics, job=wipe_then_hang)
    jobs = TenantDebouncer(
        "pagerank-stop-test",
        lambda tenant_id: graph.recompute_pagerank(tenant_id, runner=runner),
        0.0,
        SystemClock(),
        on_stop=runner.close,
    )
    jobs.poke(tenant.id)
    jobs.start()
    worker_pid = _wait_for_pid(marker)
    thread = next(t for t in threading.enumerate() if t.name == "pagerank-stop-test")
    jobs.stop()
    assert not thread.is_alive()  # the hung recompute did not hold up the stop
    with pytest.raises(ProcessLookupError):
        os.kill(worker_pid, 0)  # ended and reaped
    assert stored_top(harness, tenant) == before
    assert _count(metrics, "process", "cancelled") == 1
    with pytest.raises(IntelGraphError) as refused:
        graph.recompute_pagerank(tenant.id, runner=runner)
    assert refused.value.error is SERVICE_UNAVAILABLE


def _wait_for_pid(marker: Path) -> int:
    """The worker's pid, once it has wiped the scores (it hangs after that)."""
    for _ in range(6_000):
        if marker.exists() and marker.read_text():
            return int(marker.read_text())
        time.sleep(0.01)
    raise AssertionError("the worker never reached its transaction")


def _count(metrics: Metrics, where: str, outcome: str) -> float:
    value = metrics.registry.get_sample_value(
        "intelgraph_pagerank_recomputes_total", {"where": where, "outcome": outcome}
    )
    return value or 0.0
