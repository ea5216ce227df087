"""Opaque, stable identifiers: a short prefix naming the kind, then random base32."""

from __future__ import annotations

import base64
import secrets


def new_id(prefix: str) -> str:
    """A new id like ``ent_5k2j…`` (prefix + 16 random bytes, lowercase base32)."""
    raw = base64.b32encode(secrets.token_bytes(15)).decode("ascii").lower()
    return f"{prefix}_{raw}"
