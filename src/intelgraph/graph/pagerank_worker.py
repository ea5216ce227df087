"""A tenant's PageRank recompute (load, compute, store), run in a worker process when large.

Why another process: igraph's C core and the string-id -> index mapping hold the interpreter
lock. Run in the API worker, a recompute of 10^6 relationships froze every request of that
worker for as long as the longest igraph call (1.1-1.8 s measured; bench/bench_pagerank.py
``--process`` prints the figures). In another process, the API worker only waits on a pipe,
which releases the lock.

How: one long-lived worker process per runner (so per API worker), started with ``spawn``
(never ``fork`` from a threaded server) on the first large recompute and reused: a request
costs a pipe round trip and a new database connection, where a fresh process per recompute
paid its imports each time (~0.9 s with ``spawn``; ~15 ms with a forkserver, plus ~0.4 s
because multiprocessing re-imports the main module in every child, the ``intelgraph``
command's included: a forkserver's ``__main__`` preload does not take on Python 3.11).
Memory is not a reason to recycle it: after recomputes of 10^6 relationships a process kept
~35 MiB more than before. It is not a ProcessPoolExecutor: on Python 3.11 that cannot end a
task in flight, so stopping the service would wait for the recompute. The worker opens its
own engine from the database URL for each recompute (``create_store_engine``: the same
SQLite pragmas), loads the edges, computes, writes the kept scores in one transaction and
sends back a small ``PagerankRun``. A recompute that fails or a worker that is killed
leaves the previous scores in place: the transaction never commits. A dead worker is
replaced on the next recompute.

Graphs under ``min_edges`` relationships are computed in the calling process: there the
whole recompute costs about as much as the hop, and its longest pause is shorter than the
API's latency target.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

import numpy as np
from sqlalchemy import Engine

from intelgraph.graph import analytics_repository as analytics_repo
from intelgraph.graph import repository as repo
from intelgraph.graph.analytics_repository import GraphBlocks
from intelgraph.graph.id_lookup import FixedWidthIds
from intelgraph.graph.pagerank import (
    compute_pagerank,
    compute_pagerank_arrays,
    ranked_indexes,
    ranked_subset,
)
from intelgraph.kernel.errors import INTERNAL, SERVICE_UNAVAILABLE, IntelGraphError
from intelgraph.obs.metrics import Metrics
from intelgraph.store.engine import create_store_engine

__all__ = [
    "DEFAULT_PROCESS_MIN_EDGES",
    "PagerankProcessRunner",
    "PagerankRun",
    "RecomputeJob",
    "rank_blocks",
    "recompute_stored",
]

DEFAULT_PROCESS_MIN_EDGES = 20_000
"""Below this many relationships a recompute stays in the API process. Measured with
``bench/bench_pagerank.py --process --sweep`` (2 loaded cores): up to 20,000 relationships
the in-process recompute's longest pause stayed at 7-10 ms (the idle machine alone: ~5 ms)
and the worker made the recompute 5-20 ms slower (pipe, new connection); from there on the
two took the same wall time while the pause grew (12 ms at 50,000, 20-26 ms at 100,000,
over a second at 10^6)."""

_STOP_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class PagerankRun:
    """What one recompute did; small, so the worker process can send it back."""

    scored: int
    """Entities scored."""
    edges: int
    """Relationships read."""
    kept: int
    """Scores stored (the ranked subset ``pagerankTop`` can return)."""
    load_seconds: float
    compute_seconds: float
    write_seconds: float
    cpu_seconds: float
    """CPU time of the thread that did the work (load, compute, write)."""
    compute_window: tuple[float, float]
    """``time.monotonic()`` around ``compute_pagerank`` (the part that holds the interpreter
    lock longest); one host's processes share that clock, so a caller can line the
    worker's work up with its own."""
    pid: int
    """The process that computed."""


RecomputeJob = Callable[[Engine, str, datetime, int], PagerankRun]
"""``(engine, tenant_id, computed_at, keep) -> PagerankRun``: load, compute, store."""


def recompute_stored(
    engine: Engine, tenant_id: str, computed_at: datetime, keep: int
) -> PagerankRun:
    """Load the tenant's graph, compute PageRank and replace its stored scores.

    The scores are written in one transaction: if anything fails (or the process dies)
    before it commits, the previous scores stay. ``keep`` bounds what is stored (see
    ``ranked_subset``).
    """
    started, cpu_started = time.perf_counter(), time.thread_time()
    with engine.connect() as conn:
        blocks = analytics_repo.load_graph_blocks(conn, tenant_id)
    loaded = time.perf_counter()
    window_start = time.monotonic()
    ranked = rank_blocks(blocks, keep) if blocks is not None else None
    if ranked is None:  # ids of several widths (or a hash collision): read rows
        with engine.connect() as conn:
            nodes, types, edges = repo.all_edges(conn, tenant_id)
        loaded = time.perf_counter()
        window_start = time.monotonic()
        scores = compute_pagerank(nodes, edges)
        kept = ranked_subset(scores, dict(zip(nodes, types, strict=True)), keep)
        ranked = len(scores), len(edges), kept
        del nodes, types, edges, scores
    window_end = time.monotonic()
    del blocks
    scored, n_edges, kept = ranked
    computed = time.perf_counter()
    with engine.begin() as conn:
        repo.replace_pagerank(conn, tenant_id, kept, computed_at)
    return PagerankRun(
        scored=scored,
        edges=n_edges,
        kept=len(kept),
        load_seconds=loaded - started,
        compute_seconds=computed - loaded,
        write_seconds=time.perf_counter() - computed,
        cpu_seconds=time.thread_time() - cpu_started,
        compute_window=(window_start, window_end),
        pid=os.getpid(),
    )


def rank_blocks(blocks: GraphBlocks, keep: int) -> tuple[int, int, dict[str, float]] | None:
    """``(entities scored, relationships read, kept scores)`` from the byte blocks; None
    when their ids cannot be looked up as fixed-width bytes (too short, a hash collision)."""
    n_nodes = len(blocks.types) if blocks.width else 0
    if n_nodes == 0:
        return 0, 0, {}
    try:
        ids = FixedWidthIds(blocks.node_ids, blocks.width)
    except ValueError:
        return None
    ends = [ids.indexes_of(block) for block in blocks.edge_ends]
    both = np.concatenate(ends) if ends else np.zeros(0, dtype=np.int32)
    del ends
    scores = compute_pagerank_arrays(n_nodes, both[0::2], both[1::2])
    n_edges = len(both) // 2
    del both
    code_of: dict[str, int] = {}
    codes = np.fromiter(
        (code_of.setdefault(name, len(code_of)) for name in blocks.types),
        dtype=np.int32,
        count=n_nodes,
    )
    order = ids.sorted_order()
    id_order = None if order is None else np.argsort(order)
    chosen = ranked_indexes(scores, codes, keep, id_order)
    return n_nodes, n_edges, {ids.id_at(int(i)): float(scores[i]) for i in chosen}


class PagerankProcessRunner:
    """A ``RecomputeJob`` that runs large graphs in a worker process and waits for it.

    Metrics (count by where and outcome, wall time) are recorded here, in the API process.
    A failed recompute raises IntelGraphError INTERNAL with the worker's traceback as the
    cause; one ended by ``close`` raises SERVICE_UNAVAILABLE. Either way the previous
    scores are kept. Recomputes run one at a time; safe to call from several threads.
    """

    def __init__(
        self,
        *,
        min_edges: int = DEFAULT_PROCESS_MIN_EDGES,
        metrics: Metrics | None = None,
        job: RecomputeJob = recompute_stored,
    ) -> None:
        """``job`` runs in the worker (a module-level function: it is pickled by name)."""
        self._min_edges = min_edges
        self._metrics = metrics
        self._job = job
        self._run_lock = threading.Lock()  # one recompute at a time
        self._state_lock = threading.Lock()  # the worker handle and the closed flag
        self._worker: _Worker | None = None
        self._is_closed = False
        # Relationships each tenant had at its last recompute here: a tenant known to be
        # large skips the count (266 ms on PostgreSQL for 10^6 relationships).
        self._edges_seen: dict[str, int] = {}

    def __call__(
        self, engine: Engine, tenant_id: str, computed_at: datetime, keep: int
    ) -> PagerankRun:
        where = "process" if self.is_worker_worth_it(engine, tenant_id) else "in_process"
        started = time.perf_counter()
        outcome = "failed"
        try:
            if where == "process":
                request = _Request(
                    self._job,
                    engine.url.render_as_string(hide_password=False),
                    tenant_id,
                    computed_at,
                    keep,
                )
                run = self._run_in_worker(request)
            else:
                run = self._job(engine, tenant_id, computed_at, keep)
            outcome = "ok"
            self._edges_seen[tenant_id] = run.edges
            return run
        except IntelGraphError as exc:
            if exc.error is SERVICE_UNAVAILABLE:
                outcome = "cancelled"
            raise
        finally:
            if self._metrics is not None:
                self._metrics.pagerank_recomputes.labels(where, outcome).inc()
                self._metrics.pagerank_recompute_seconds.labels(where).observe(
                    time.perf_counter() - started
                )

    def is_worker_worth_it(self, engine: Engine, tenant_id: str) -> bool:
        """Whether this tenant's graph is large enough to leave the API process.

        An in-memory SQLite database cannot be opened by another process: always here. A
        tenant that was large at its last recompute is taken as large still (graphs grow;
        one that shrank costs the worker a few milliseconds more than here).
        """
        if _is_in_memory(engine):
            return False
        if self._min_edges <= 0 or self._edges_seen.get(tenant_id, 0) >= self._min_edges:
            return True
        with engine.connect() as conn:
            return repo.count_rows(conn, tenant_id)["relationships"] >= self._min_edges

    @property
    def worker_pid(self) -> int | None:
        """The worker process's id, None before the first large recompute (or after close)."""
        worker = self._worker
        return worker.process.pid if worker is not None else None

    def close(self) -> None:
        """Refuse further recomputes and end the worker, even mid-recompute (the service
        stops). A recompute it was running never commits: the previous scores stay."""
        with self._state_lock:
            self._is_closed = True
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.end()

    def _run_in_worker(self, request: _Request) -> PagerankRun:
        with self._run_lock:
            worker = self._live_worker(request.tenant_id)
            try:
                worker.connection.send(request)
                answer = worker.answer()
            except (EOFError, OSError):  # it died before or while answering
                answer = None
            if answer is None:
                self._discard(worker)
                if self._is_closed:
                    raise _stopping(request.tenant_id) from None
                raise IntelGraphError(
                    INTERNAL,
                    f"the PageRank worker process died while recomputing tenant "
                    f"{request.tenant_id} (exit code {worker.process.exitcode}; killed? out "
                    "of memory?); the previous scores are kept, a new worker takes the next "
                    "recompute",
                )
            if answer.run is None:
                raise IntelGraphError(
                    INTERNAL,
                    f"PageRank recompute of tenant {request.tenant_id} failed in its worker "
                    f"process ({answer.error}); the previous scores are kept. The traceback "
                    "is in the log; the next ingest recomputes",
                ) from WorkerTraceback(answer.traceback)
            return answer.run

    def _live_worker(self, tenant_id: str) -> _Worker:
        """The worker, started if there is none or it died since the last recompute."""
        with self._state_lock:
            if self._is_closed:
                raise _stopping(tenant_id)
            if self._worker is not None and not self._worker.process.is_alive():
                self._worker.end()
                self._worker = None
            if self._worker is None:
                self._worker = _Worker.start()
            return self._worker

    def _discard(self, worker: _Worker) -> None:
        with self._state_lock:
            if self._worker is worker:
                self._worker = None
        worker.end()


class WorkerTraceback(Exception):
    """The traceback of a failure in the worker process, chained to the error raised here."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f"\n--- in the PageRank worker process ---\n{self.text}"


@dataclass(frozen=True)
class _Request:
    job: RecomputeJob
    database_url: str
    tenant_id: str
    computed_at: datetime
    keep: int


@dataclass(frozen=True)
class _Answer:
    run: PagerankRun | None = None
    error: str = ""
    traceback: str = ""


@dataclass
class _Worker:
    """The worker process and the parent's end of its pipe."""

    process: BaseProcess
    connection: Connection

    @classmethod
    def start(cls) -> _Worker:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=_worker_main,
            args=(theirs,),
            name="pagerank-worker",
            daemon=True,  # ended with the API process
        )
        process.start()
        theirs.close()  # the worker holds the only other end: EOF here when it dies
        return cls(process, ours)

    def answer(self) -> _Answer | None:
        """Wait (the interpreter lock released) for the answer; None if the worker died."""
        wait([self.connection, self.process.sentinel])
        if not self.connection.poll():
            return None
        answer: _Answer = self.connection.recv()
        return answer

    def end(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL) and reap it."""
        self.connection.close()
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(_STOP_GRACE_SECONDS)
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


def _worker_main(connection: Connection) -> None:
    """The worker process: one recompute per request, each with its own engine, until the
    API process closes its end of the pipe (or dies)."""
    while True:
        try:
            request: _Request = connection.recv()
        except (EOFError, OSError):
            return
        try:
            engine = create_store_engine(request.database_url)
            try:
                run = request.job(engine, request.tenant_id, request.computed_at, request.keep)
            finally:
                engine.dispose()
            answer = _Answer(run=run)
        except Exception as exc:  # everything goes back to the API process, which logs it
            answer = _Answer(error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        del request
        try:
            connection.send(answer)
        except (BrokenPipeError, OSError):  # the API process is gone
            return


def _is_in_memory(engine: Engine) -> bool:
    database = engine.url.database or ""
    return engine.dialect.name == "sqlite" and (
        database in ("", ":memory:") or "mode=memory" in str(engine.url)
    )


def _stopping(tenant_id: str) -> IntelGraphError:
    return IntelGraphError(
        SERVICE_UNAVAILABLE,
        f"PageRank recompute of tenant {tenant_id} was stopped: the service is shutting "
        "down; the previous scores are kept",
    )
