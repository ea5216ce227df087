"""Single flight: concurrent misses for one key run the resolver once.

The first caller (the leader) runs the work; callers arriving while it runs wait for its
outcome — its result, or its exception re-raised in each of them — never for a timeout.
Flights live on one event loop (one per worker process), so a dict needs no lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self, on_wait: Callable[[], None] | None = None) -> None:
        self._flights: dict[Hashable, asyncio.Future[T]] = {}
        self._on_wait = on_wait or (lambda: None)

    def is_in_flight(self, key: Hashable) -> bool:
        return key in self._flights

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """``work()``'s result and whether this caller led (False = it waited for a leader).

        Raises whatever the leader's ``work()`` raised, in the leader and in every waiter.
        """
        flight = self._flights.get(key)
        if flight is not None:
            self._on_wait()
            # shield: a waiter that is cancelled must not cancel the leader's future
            return await asyncio.shield(flight), False
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        # Marks the exception retrieved even when nobody waited (no "never retrieved" noise).
        future.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._flights[key] = future
        try:
            result = await work()
        except BaseException as exc:
            future.set_exception(
                exc if isinstance(exc, Exception) else RuntimeError("the leader was cancelled")
            )
            raise
        else:
            future.set_result(result)
            return result, True
        finally:
            del self._flights[key]
