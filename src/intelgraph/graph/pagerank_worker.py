"""A tenant's PageRank recompute (load, compute, store), run in a child process when large.

Why a child process: igraph's C core and the string-id -> index mapping hold the interpreter
lock. Run in the API worker, a recompute of 10^6 relationships froze every request of that
worker for the whole recompute: the longest pause a 1 ms ticker thread saw was as long as
the igraph call itself (bench/bench_pagerank.py ``--process`` prints the figures). In a child
the API worker only waits on a pipe, which releases the lock.

How: one child per recompute, forked by multiprocessing's *forkserver* (never plain ``fork``
from a threaded server). The forkserver is started once with this module, SQLAlchemy,
igraph and psycopg preloaded, so a child is ready in ~15 ms where a ``spawn`` child took
~0.9 s to import them; a long-lived pool worker (ProcessPoolExecutor) would save those
~15 ms only, but it keeps the high-water memory of the largest graph it ever loaded and a
killed worker breaks the pool. The child opens its own engine from the database URL
(``create_store_engine``: the same SQLite pragmas), loads the edges, computes, writes the
kept scores in one transaction and sends back a small ``PagerankRun``. A child that fails
or is killed leaves the previous scores in place: its transaction never commits.

Graphs under ``min_edges`` relationships are computed in the calling process: there the
whole recompute costs less than the hop (a fork and a new database connection), and its
pause is shorter than a request.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

from sqlalchemy import Engine

from intelgraph.graph import repository as repo
from intelgraph.graph.pagerank import compute_pagerank, ranked_subset
from intelgraph.kernel.errors import INTERNAL, SERVICE_UNAVAILABLE, IntelGraphError
from intelgraph.obs.metrics import Metrics
from intelgraph.store.engine import create_store_engine

__all__ = [
    "DEFAULT_PROCESS_MIN_EDGES",
    "PagerankProcessRunner",
    "PagerankRun",
    "RecomputeJob",
    "recompute_stored",
]

log = logging.getLogger(__name__)

DEFAULT_PROCESS_MIN_EDGES = 20_000
"""Below this many relationships a recompute stays in the API process (measured: see the
module docstring of bench/bench_pagerank.py)."""

# What the forkserver imports once, so each child starts with them loaded.
_PRELOAD = [__name__, "psycopg", "numpy"]
_STOP_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class PagerankRun:
    """What one recompute did; small, so a child process can send it back."""

    scored: int
    """Entities scored."""
    edges: int
    """Relationships read."""
    kept: int
    """Scores stored (the ranked subset ``pagerankTop`` can return)."""
    load_seconds: float
    compute_seconds: float
    write_seconds: float
    compute_window: tuple[float, float]
    """``time.monotonic()`` when computing began and ended; one host's processes share
    that clock, so a caller can line the child's work up with its own."""
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
    started = time.perf_counter()
    with engine.connect() as conn:
        nodes, types, edges = repo.all_edges(conn, tenant_id)
    loaded = time.perf_counter()
    window_start = time.monotonic()
    scores = compute_pagerank(nodes, edges)
    kept = ranked_subset(scores, dict(zip(nodes, types, strict=True)), keep)
    window_end = time.monotonic()
    computed = time.perf_counter()
    n_edges = len(edges)
    del nodes, types, edges
    with engine.begin() as conn:
        repo.replace_pagerank(conn, tenant_id, kept, computed_at)
    return PagerankRun(
        scored=len(scores),
        edges=n_edges,
        kept=len(kept),
        load_seconds=loaded - started,
        compute_seconds=computed - loaded,
        write_seconds=time.perf_counter() - computed,
        compute_window=(window_start, window_end),
        pid=os.getpid(),
    )


class PagerankProcessRunner:
    """A ``RecomputeJob`` that runs large graphs in a child process and waits for it.

    Metrics (count by where and outcome, wall time) are recorded here, in the API process.
    A failed child raises IntelGraphError INTERNAL with the child's traceback as the cause;
    a child ended by ``close`` raises SERVICE_UNAVAILABLE. Either way the previous scores
    are kept. Safe to call from several threads.
    """

    def __init__(
        self,
        *,
        min_edges: int = DEFAULT_PROCESS_MIN_EDGES,
        metrics: Metrics | None = None,
        job: RecomputeJob = recompute_stored,
    ) -> None:
        """``job`` runs in the child (a module-level function: it is pickled by name)."""
        self._min_edges = min_edges
        self._metrics = metrics
        self._job = job
        self._lock = threading.Lock()
        self._children: set[BaseProcess] = set()
        self._is_closed = False

    def __call__(
        self, engine: Engine, tenant_id: str, computed_at: datetime, keep: int
    ) -> PagerankRun:
        where = "process" if self.is_child_worth_it(engine, tenant_id) else "in_process"
        started = time.perf_counter()
        outcome = "failed"
        try:
            if where == "process":
                run = self._run_in_child(engine, tenant_id, computed_at, keep)
            else:
                run = self._job(engine, tenant_id, computed_at, keep)
            outcome = "ok"
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

    def is_child_worth_it(self, engine: Engine, tenant_id: str) -> bool:
        """Whether this tenant's graph is large enough to leave the API process.

        An in-memory SQLite database cannot be opened by another process: always here.
        """
        if _is_in_memory(engine):
            return False
        if self._min_edges <= 0:
            return True
        with engine.connect() as conn:
            return repo.count_rows(conn, tenant_id)["relationships"] >= self._min_edges

    def close(self) -> None:
        """Refuse further recomputes and end any child still computing (the service stops).

        Its transaction never commits, so the previous scores stay.
        """
        with self._lock:
            self._is_closed = True
            children = list(self._children)
        for child in children:
            child.terminate()
        for child in children:
            child.join(_STOP_GRACE_SECONDS)
            if child.is_alive():
                child.kill()
                child.join(_STOP_GRACE_SECONDS)

    def _run_in_child(
        self, engine: Engine, tenant_id: str, computed_at: datetime, keep: int
    ) -> PagerankRun:
        context = _forkserver_context()
        reader, writer = context.Pipe(duplex=False)
        database_url = engine.url.render_as_string(hide_password=False)
        child = context.Process(  # type: ignore[attr-defined]
            target=_child_main,
            args=(self._job, database_url, tenant_id, computed_at, keep, writer),
            name=f"pagerank-{tenant_id}",
            daemon=True,  # never outlives the API process
        )
        with self._lock:
            if self._is_closed:
                reader.close()
                writer.close()
                raise _stopping(tenant_id)
            child.start()
            self._children.add(child)
        writer.close()  # the child holds the only writing end: EOF when it dies
        try:
            return self._answer_of(child, reader, tenant_id)
        finally:
            reader.close()
            child.join(_STOP_GRACE_SECONDS)
            if child.is_alive():
                child.kill()
                child.join()
            with self._lock:
                self._children.discard(child)

    def _answer_of(self, child: BaseProcess, reader: Connection, tenant_id: str) -> PagerankRun:
        """Wait (the interpreter lock released) for the child's answer or its end."""
        wait([reader, child.sentinel])
        answer: _ChildAnswer | None = None
        try:
            if reader.poll():
                answer = reader.recv()
        except (EOFError, OSError):
            answer = None
        if answer is not None and answer.run is not None:
            return answer.run
        if answer is not None:
            raise IntelGraphError(
                INTERNAL,
                f"PageRank recompute of tenant {tenant_id} failed in its worker process "
                f"({answer.error}); the previous scores are kept. See the traceback in the "
                "log, fix the cause and the next ingest recomputes",
            ) from ChildTraceback(answer.traceback)
        child.join(_STOP_GRACE_SECONDS)
        if self._is_closed:
            raise _stopping(tenant_id)
        raise IntelGraphError(
            INTERNAL,
            f"PageRank worker process for tenant {tenant_id} ended with exit code "
            f"{child.exitcode} before answering (killed? out of memory?); the previous "
            "scores are kept, and the next ingest recomputes",
        )


class ChildTraceback(Exception):
    """The traceback of a failure in a worker process, chained to the error raised here."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f"\n--- in the PageRank worker process ---\n{self.text}"


@dataclass(frozen=True)
class _ChildAnswer:
    run: PagerankRun | None = None
    error: str = ""
    traceback: str = ""


def _child_main(
    job: RecomputeJob,
    database_url: str,
    tenant_id: str,
    computed_at: datetime,
    keep: int,
    answer: Connection,
) -> None:
    """The child process: its own engine (same pragmas), the job, one answer back."""
    try:
        engine = create_store_engine(database_url)
        try:
            answer.send(_ChildAnswer(run=job(engine, tenant_id, computed_at, keep)))
        finally:
            engine.dispose()
    except Exception as exc:  # everything goes back to the API process, which logs it
        answer.send(
            _ChildAnswer(error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        )
    finally:
        answer.close()


_context_lock = threading.Lock()


def _forkserver_context() -> BaseContext:
    """The forkserver context with this module preloaded; spawn where there is none."""
    with _context_lock:
        if "forkserver" not in multiprocessing.get_all_start_methods():
            return multiprocessing.get_context("spawn")
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return context


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
