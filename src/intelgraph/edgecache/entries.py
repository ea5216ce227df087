"""A cached response and what is derived from its body: validator, tags, freshness.

An entry remembers the tenant it was stored for, so every hit can check it again against
the request (a key-building bug or a corrupted shared store must never serve another
tenant's data), and the tenant's cache epoch it was filled under (``epochs``: it is served
only while that is still the tenant's epoch). Its tags are the entity ids the body
mentions (plus those the variables name): an ingest that touches one of them purges it.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

ID_FIELDS = frozenset({"id", "fromId", "toId"})
MAX_TAGS = 2_000  # a body naming more entities than this is not worth caching
PRE_EPOCH = -1  # the epoch of an entry written before entries had one: never current


@dataclass(frozen=True, slots=True)
class CacheEntry:
    tenant_id: str
    operation_id: str
    operation_label: str  # what the request log names the operation (as the resolver said)
    body: bytes
    etag: str
    stored_at: float  # Unix seconds
    ttl: int
    epoch: int = 0  # the tenant's cache epoch when the request that filled it began

    @property
    def expires_at(self) -> float:
        return self.stored_at + self.ttl

    @property
    def size(self) -> int:
        """Bytes this entry costs against its tenant's cap (body plus bookkeeping)."""
        return len(self.body) + 256

    def is_fresh(self, now: float) -> bool:
        return now < self.expires_at

    def age(self, now: float) -> int:
        """Whole seconds since it was stored (the ``Age`` header)."""
        return max(0, int(now - self.stored_at))

    def remaining_ttl(self, now: float) -> int:
        """Whole seconds of freshness left (``max-age``), 0 once expired."""
        return max(0, math.floor(self.expires_at - now))

    def encode(self) -> bytes:
        """One Redis value: a JSON header line, then the body (JSON holds no raw newline)."""
        head = [
            self.tenant_id,
            self.operation_id,
            self.operation_label,
            self.etag,
            self.stored_at,
            self.ttl,
            self.epoch,
        ]
        return orjson.dumps(head) + b"\n" + self.body

    @classmethod
    def decode(cls, raw: bytes) -> CacheEntry:
        """Raises ValueError for a value that is not an encoded entry."""
        head, separator, body = raw.partition(b"\n")
        if not separator:
            raise ValueError("not a cache entry")
        fields = orjson.loads(head)
        if not isinstance(fields, list) or len(fields) not in (6, 7):
            raise ValueError("not a cache entry")
        if len(fields) == 6:
            fields.append(PRE_EPOCH)
        tenant_id, operation_id, label, etag, stored_at, ttl, epoch = fields
        return cls(
            str(tenant_id), str(operation_id), str(label), body, str(etag), stored_at, ttl, epoch
        )


def strong_etag(body: bytes) -> str:
    """A strong validator derived from the body alone: the same bytes, the same ETag."""
    digest = hashlib.sha256(body).digest()[:18]
    return '"' + base64.urlsafe_b64encode(digest).decode("ascii") + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of an ``If-None-Match`` list against our ETag."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


def entity_tags(body: dict[str, Any], variables: dict[str, Any] | None) -> set[str] | None:
    """Entity ids the response depends on: ids in the body and string variables.

    None when there are too many to track (the response is then not cached).
    """
    tags: set[str] = set()
    for value in _id_values(body.get("data")):
        tags.add(value)
    for value in _strings(variables or {}):
        tags.add(value)
    return tags if len(tags) <= MAX_TAGS else None


def _id_values(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for name, value in node.items():
            if name in ID_FIELDS and isinstance(value, str):
                yield value
            else:
                yield from _id_values(value)
    elif isinstance(node, list):
        for item in node:
            yield from _id_values(item)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        if len(node) <= 200:
            yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
