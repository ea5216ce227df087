"""Opaque cursors for keyset pagination."""

from __future__ import annotations

import base64

from intelgraph.kernel.errors import VALIDATION, IntelGraphError


def encode_cursor(last_key: str) -> str:
    return base64.urlsafe_b64encode(last_key.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The key a cursor stands for; raises IntelGraphError(VALIDATION) if it is not ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (ValueError, UnicodeError) as exc:
        raise IntelGraphError(
            VALIDATION, "cursor is not valid: pass the nextCursor from a previous page"
        ) from exc
