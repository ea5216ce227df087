"""A GraphQL request's budget: a deadline, a cancel flag and the bytes its answer may take.

The budget is checked between the phases of a request and, as a graphql-core field
middleware, before every field a query resolves; the size of each leaf is added as it is
resolved, so a query is stopped when its answer grows past the limit, not after a 500 MB
body was built (docs/adr/012-graphql-off-the-event-loop.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLResolveInfo, get_named_type, is_leaf_type

from intelgraph.kernel.errors import (
    QUERY_TIMEOUT,
    REQUEST_CANCELLED,
    RESPONSE_TOO_LARGE,
    IntelGraphError,
)

# Bytes a field costs in the JSON answer besides its value: quotes, colon, comma.
FIELD_OVERHEAD = 4
# A number, boolean or null is counted as this many bytes.
SCALAR_BYTES = 8


@dataclass(frozen=True)
class BudgetLimits:
    timeout_seconds: float
    max_response_bytes: int


class BudgetExhausted(BaseException):
    """Unwinds a query's execution at once when its budget is spent.

    A BaseException, like ``asyncio.CancelledError``: graphql-core turns every ``Exception``
    from a field into a located error and goes on with the sibling fields and list items;
    this one passes through the executor (and any resolver's ``except Exception``).
    """

    def __init__(self, error: IntelGraphError) -> None:
        super().__init__(error.message)
        self.error = error


class RequestBudget:
    """One request's deadline, cancel flag and answer size; shared by the loop and a thread."""

    def __init__(self, limits: BudgetLimits, monotonic: Callable[[], float]) -> None:
        self.limits = limits
        self._monotonic = monotonic
        self._deadline = monotonic() + limits.timeout_seconds
        self._cancelled = threading.Event()
        self.is_disconnected = False
        # Set when a mutation starts executing: its writes are then seen through to the end.
        self.is_committing = False
        self.response_bytes = 0

    def seconds_left(self) -> float:
        return max(0.0, self._deadline - self._monotonic())

    def cancel(self, *, disconnected: bool = False) -> None:
        """Stop the work at its next check (called from the event loop)."""
        self.is_disconnected = self.is_disconnected or disconnected
        self._cancelled.set()

    @property
    def is_spent(self) -> bool:
        return self._cancelled.is_set() or self._monotonic() >= self._deadline

    def check(self) -> None:
        """Raise QUERY_TIMEOUT (or REQUEST_CANCELLED) when the budget is spent."""
        if self.is_spent:
            raise self.stopped()

    def stopped(self) -> IntelGraphError:
        """The error a request stopped by its deadline or by its client's leaving answers."""
        if self.is_disconnected:
            return IntelGraphError(
                REQUEST_CANCELLED, "the client closed the connection; the request was stopped"
            )
        seconds = self.limits.timeout_seconds
        return IntelGraphError(
            QUERY_TIMEOUT,
            f"the request did not finish within its budget of {seconds:g} s; ask for fewer "
            "fields, smaller pages or fewer hops, or split it into several requests",
            {"timeoutSeconds": seconds},
        )

    def too_large(self, size: int) -> IntelGraphError:
        """RESPONSE_TOO_LARGE for an answer of at least ``size`` bytes."""
        limit = self.limits.max_response_bytes
        return IntelGraphError(
            RESPONSE_TOO_LARGE,
            f"the answer is larger than the limit of {limit} bytes; ask for fewer fields or "
            "smaller pages (limit/after), or split the query",
            {"maxResponseBytes": limit, "responseBytes": size},
        )

    def check_size(self, size: int) -> None:
        """Raise RESPONSE_TOO_LARGE when an encoded answer of ``size`` bytes is over."""
        if size > self.limits.max_response_bytes:
            raise self.too_large(size)

    def resolve(self, next_: Any, root: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
        """graphql-core field middleware: check the budget, resolve, count the answer."""
        if self._cancelled.is_set() or self._monotonic() >= self._deadline:
            raise BudgetExhausted(self.stopped())
        value = next_(root, info, **args)
        key = info.path.key
        self.response_bytes += FIELD_OVERHEAD + (len(key) if isinstance(key, str) else 0)
        self.response_bytes += _leaf_bytes(value, info)
        if self.response_bytes > self.limits.max_response_bytes:
            raise BudgetExhausted(self.too_large(self.response_bytes))
        return value


def _leaf_bytes(value: Any, info: GraphQLResolveInfo[Any]) -> int:
    """About the bytes ``value`` takes in the answer; objects count through their fields."""
    if type(value) is str:
        return len(value) + 2
    if value is None or type(value) in (int, float, bool):
        return SCALAR_BYTES
    if is_leaf_type(get_named_type(info.return_type)):  # JSON, DateTime, enums, [ID!]
        return len(orjson.dumps(value, default=str))
    return 0
