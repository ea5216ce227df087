"""Which answers are not billed: those that only ask the client to send the request again.

An Apollo-style client sends a persisted-query hash first and, on PERSISTED_QUERY_NOT_FOUND
or PERSISTED_QUERY_NOT_SUPPORTED, resends with the query text; billing both would charge
one operation twice. Such an answer is neither an api_call nor egress; the quota stage,
outside metering, still counts it against the tenant's rate limit.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from intelgraph.kernel.errors import (
    PERSISTED_QUERY_NOT_FOUND,
    PERSISTED_QUERY_NOT_SUPPORTED,
    ErrorCode,
)

UNBILLED = "intelgraph.unbilled"  # ASGI scope key: the handler answered a resend request
RESEND_REQUESTS: frozenset[ErrorCode] = frozenset(
    {PERSISTED_QUERY_NOT_FOUND, PERSISTED_QUERY_NOT_SUPPORTED}
)


def is_resend_request(error: ErrorCode) -> bool:
    """Whether an answer with ``error`` asks the client to resend (so it is not billed)."""
    return error in RESEND_REQUESTS


def mark_unbilled(scope: MutableMapping[str, Any]) -> None:
    """Tell the metering stage not to bill this request."""
    scope[UNBILLED] = True


def is_billed(scope: MutableMapping[str, Any]) -> bool:
    return not scope.get(UNBILLED, False)
