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
        key = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
        decoded = key.decode("utf-8")
    except (ValueError, UnicodeError) as exc:
        raise _invalid() from exc
    if not decoded:
        raise _invalid()
    return decoded


def _invalid() -> IntelGraphError:
    return IntelGraphError(
        VALIDATION, "cursor is not valid: pass the nextCursor from a previous page"
    )
