"""Opaque, stable identifiers: a short prefix naming the kind, then time-ordered base32.

48 bits of milliseconds then 72 random bits, in base32hex (0-9a-v) so text order is time
order: new rows land at the end of every index instead of scattering across it.
"""

from __future__ import annotations

import base64
import secrets
import time


def new_id(prefix: str) -> str:
    """A new id like ``ent_0kqg7…`` (prefix, then 24 lower-case base32hex characters)."""
    millis = time.time_ns() // 1_000_000
    raw = millis.to_bytes(6, "big") + secrets.token_bytes(9)
    return f"{prefix}_{base64.b32hexencode(raw).decode('ascii').lower()}"
