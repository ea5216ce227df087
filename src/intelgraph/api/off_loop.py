"""Run a request's CPU-bound work in a worker thread, never on the event loop.

The loop only waits: until the work is done, until the request's deadline, or until the
client closes the connection (``http.disconnect`` on the ASGI receive channel). When it
stops waiting it cancels the budget, so the thread stops at its next field; a mutation that
has started writing is waited for, so its answer says what was written.

The pool has ``threads`` threads. Work the loop stopped waiting for keeps its thread (and
its tenant's place) until it ends, so a thread stuck in one slow call still counts: no more
than ``threads`` threads ever do GraphQL work. The disconnect watcher starts only for a
request still running after ``WATCH_DISCONNECT_AFTER``: most answers come sooner, and a
task per request cost more than the hand-off to the thread itself.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from starlette.types import Receive

from intelgraph.api.budget import RequestBudget
from intelgraph.api.tenant_concurrency import TenantConcurrency

T = TypeVar("T")
WATCH_DISCONNECT_AFTER = 0.05  # seconds


class _Work(Generic[T]):
    """The thread's side: runs the work once and keeps its value or error."""

    def __init__(self, work: Callable[[], T], budget: RequestBudget) -> None:
        self._work = work
        self._budget = budget
        self._value: T | None = None
        self._error: Exception | None = None

    def run(self) -> None:
        try:
            self._budget.check()  # it waited for a thread past the deadline, or the client left
            self._value = self._work()
        except Exception as exc:
            self._error = exc

    def result(self) -> T:
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class OffLoopRunner:
    """Worker threads for GraphQL: ``threads`` of them, and a bounded share per tenant."""

    def __init__(self, threads: int, tenants: TenantConcurrency) -> None:
        self.threads = threads
        self.tenants = tenants
        self._pool: ThreadPoolExecutor | None = None  # started by the first request
        self._running: set[RequestBudget] = set()  # stopped by close()

    async def run(
        self, tenant: str, work: Callable[[], T], budget: RequestBudget, receive: Receive
    ) -> T:
        """``work()`` in a worker thread. Raises what it raises, QUERY_TIMEOUT at the
        deadline (waiting for a place included) or REQUEST_CANCELLED when the client left."""
        if not await self.tenants.acquire(tenant, budget.seconds_left()):
            raise budget.stopped()
        job = _Work(work, budget)
        try:
            context = contextvars.copy_context()  # the request id for log lines
            done = asyncio.get_running_loop().run_in_executor(self._threads(), context.run, job.run)
        except BaseException:
            self.tenants.release(tenant)
            raise
        self._running.add(budget)

        def ended(_: asyncio.Future[None]) -> None:
            self.tenants.release(tenant)
            self._running.discard(budget)

        # Called on the loop when the thread ends, even after the loop stopped waiting. The
        # future is never cancelled: that would call this while the thread still runs.
        done.add_done_callback(ended)
        if await _finished(done, budget, receive):
            return job.result()
        budget.cancel()  # the thread stops at its next field
        if budget.is_committing and not budget.is_disconnected:
            # A mutation's writes commit whole; answer what was written, not a timeout.
            await asyncio.wait({done})
            return job.result()
        raise budget.stopped()

    def close(self) -> None:
        """Stop the work in progress at its next field and let the threads end (a running
        mutation finishes); a later request starts new ones. Called on shutdown."""
        for budget in list(self._running):
            budget.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _threads(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="graphql")
        return self._pool


async def _finished(done: asyncio.Future[None], budget: RequestBudget, receive: Receive) -> bool:
    """Whether the work ended before the deadline; False too when the client left."""
    await asyncio.wait({done}, timeout=min(WATCH_DISCONNECT_AFTER, budget.seconds_left()))
    if done.done():
        return True
    watcher = asyncio.ensure_future(_disconnect(receive))
    try:
        await asyncio.wait(
            {done, watcher}, timeout=budget.seconds_left(), return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        watcher.cancel()
    if done.done():
        return True
    if watcher.done() and not watcher.cancelled():
        budget.cancel(disconnected=True)
    return False


async def _disconnect(receive: Receive) -> None:
    """Returns when the client has closed the connection (the body is already read)."""
    try:
        while (await receive())["type"] != "http.disconnect":
            pass
    except Exception:  # a receive channel that fails tells nothing: wait for the work alone
        await asyncio.get_running_loop().create_future()
