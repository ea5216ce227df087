"""Field types the REST bodies share, each validating as the API always has."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BeforeValidator, StrictBool, StrictStr, WithJsonSchema


def parse_rfc3339(raw: object) -> datetime:
    """An RFC 3339 time (``Z`` or an offset; none means UTC); raises ValueError."""
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError("not an RFC 3339 time")


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def refuse_null(value: object) -> object:
    """A BeforeValidator for an optional field that, when given, may not be null."""
    if value is None:
        raise ValueError("null is not allowed here")
    return value


Rfc3339 = Annotated[
    datetime,
    BeforeValidator(parse_rfc3339),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""An RFC 3339 time, e.g. 2026-12-31T00:00:00Z."""

OptionalReason = Annotated[
    str | None,
    BeforeValidator(_text_or_none),
    WithJsonSchema({"type": "string", "description": "why (kept in the audit log)"}),
]
"""A reason for the audit log; a value that is not text is ignored, as it always was."""

Reason = Annotated[
    StrictStr | None,
    WithJsonSchema({"type": "string", "description": "why (kept in the audit log)"}),
]
"""A reason for the audit log; a value that is not text is refused."""

Switch = Annotated[
    StrictBool | None,
    BeforeValidator(refuse_null),
    WithJsonSchema({"type": "boolean"}),
]
"""true or false when given (null is refused); None means "not given"."""

Truthy = Annotated[bool, BeforeValidator(bool), WithJsonSchema({"type": "boolean"})]
"""A flag read as its truth value (any JSON value is accepted), as it always was."""


def whole_number(raw: str, low: int, high: int | None = None) -> int | None:
    """``raw`` as a whole number in [low, high], or None: ASCII digits only, so neither ``²``
    (a digit to str.isdigit, not to int) nor 5,000 digits (past int's limit) raise."""
    limit = len(str(high)) if high is not None else 18
    if not (raw.isascii() and raw.isdigit() and len(raw) <= limit):
        return None
    value = int(raw)
    if value < low or (high is not None and value > high):
        return None
    return value
