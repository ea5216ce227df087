"""API keys: high-entropy secrets shown once, stored only as a sha256 hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

TENANT_KEY_PREFIX = "igk_"
OPERATOR_KEY_PREFIX = "igo_"


@dataclass(frozen=True, slots=True)
class NewKey:
    plaintext: str
    prefix: str
    key_hash: str


def hash_key(plaintext: str) -> str:
    """sha256 hex of a key. Keys carry 256 bits of randomness, so no slow hash is needed."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def generate_key(kind_prefix: str = TENANT_KEY_PREFIX) -> NewKey:
    """A new random key like ``igk_…``; its first 12 characters identify it in listings."""
    plaintext = kind_prefix + secrets.token_urlsafe(32)
    return NewKey(plaintext=plaintext, prefix=plaintext[:12], key_hash=hash_key(plaintext))
