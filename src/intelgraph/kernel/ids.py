"""Opaque, stable identifiers: a short prefix naming the kind, then time-ordered base32.

48 bits of milliseconds then 72 random bits, in base32hex (0-9a-v) so text order is time
order: new rows land at the end of every index instead of scattering across it.
"""

from __future__ import annotations

import base64
import re
import secrets
import time

_MILLIS_BYTES = 6
_RANDOM_BYTES = 9
_ID_BYTES = _MILLIS_BYTES + _RANDOM_BYTES  # 15 bytes = 120 bits = 24 base32 characters
_ID_CHARS = _ID_BYTES * 8 // 5
# A sha256 digest as lower-case hex: how persisted operations and APQ hashes are named.
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def new_id(prefix: str) -> str:
    """A new id like ``ent_0kqg7…`` (prefix, then 24 lower-case base32hex characters)."""
    millis = time.time_ns() // 1_000_000
    raw = millis.to_bytes(_MILLIS_BYTES, "big") + secrets.token_bytes(_RANDOM_BYTES)
    return f"{prefix}_{base64.b32hexencode(raw).decode('ascii').lower()}"


def new_ids(prefix: str, count: int) -> list[str]:
    """``count`` new ids of ``new_id``'s format, in increasing order, made in one go.

    They share one clock reading, so they sort after every id made in an earlier
    millisecond and before every id made in a later one, as ``new_id``'s do; within the
    list they increase, so rows inserted in list order append to an index. An ingest of
    1,000 entities draws its ids here: one random draw and one base32 encoding instead of
    a thousand of each (2 ms of the 2.5 ms its ids cost, per 1,000).
    """
    if count <= 0:
        return []
    millis = (time.time_ns() // 1_000_000).to_bytes(_MILLIS_BYTES, "big")
    randomness = secrets.token_bytes(_RANDOM_BYTES * count)
    # 15 bytes encode to exactly 24 characters with no padding, so encoding the
    # concatenation equals concatenating the encodings: slice it into ids afterwards.
    raw = b"".join(
        [
            millis + randomness[start : start + _RANDOM_BYTES]
            for start in range(0, len(randomness), _RANDOM_BYTES)
        ]
    )
    text = base64.b32hexencode(raw).decode("ascii").lower()
    head = f"{prefix}_"
    ids = [head + text[start : start + _ID_CHARS] for start in range(0, len(text), _ID_CHARS)]
    ids.sort()
    return ids
