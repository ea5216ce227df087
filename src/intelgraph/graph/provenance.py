"""The provenance hash chain: each link commits to the one before it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class ProvenanceLink:
    tenant_id: str
    seq: int
    prev_hash: str
    hash: str
    action: str
    actor: str
    target: str
    payload_digest: str
    created_at: datetime


def payload_digest(payload: object) -> str:
    """sha256 of the canonical JSON of ``payload`` (sorted keys)."""
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def canonical_json(item: object) -> bytes:
    """Compact JSON with sorted keys: the form payload digests are computed over."""
    return orjson.dumps(item, option=orjson.OPT_SORT_KEYS)


def list_digest(canonical_items: Iterable[bytes]) -> str:
    """``payload_digest(list)`` from the items' ``canonical_json``, each made beforehand
    (an ingest encodes its lines before taking the tenant's write lock)."""
    digest = hashlib.sha256(b"[")
    for index, item in enumerate(canonical_items):
        if index:
            digest.update(b",")
        digest.update(item)
    digest.update(b"]")
    return digest.hexdigest()


def link_hash(
    tenant_id: str,
    seq: int,
    prev_hash: str,
    action: str,
    actor: str,
    target: str,
    digest: str,
    created_at: datetime,
) -> str:
    """The hash of a link: covers its own fields and the previous link's hash."""
    material = "\x1f".join(
        [tenant_id, str(seq), prev_hash, action, actor, target, digest, _timestamp(created_at)]
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _timestamp(moment: datetime) -> str:
    # Microsecond UTC without tz suffix: the same on SQLite (naive, stored as UTC) and on
    # PostgreSQL (aware, in the session's time zone).
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class ChainReport:
    links: int
    first_broken_seq: int | None
    reason: str | None

    @property
    def is_intact(self) -> bool:
        return self.first_broken_seq is None


def verify_chain(links: list[ProvenanceLink]) -> ChainReport:
    """Recompute every link in order; report the first one that does not hold."""
    previous = GENESIS_HASH
    expected_seq = 1
    for link in links:
        if link.seq != expected_seq:
            return ChainReport(len(links), link.seq, f"sequence gap: expected {expected_seq}")
        if link.prev_hash != previous:
            return ChainReport(len(links), link.seq, "previous hash does not match the link before")
        recomputed = link_hash(
            link.tenant_id,
            link.seq,
            link.prev_hash,
            link.action,
            link.actor,
            link.target,
            link.payload_digest,
            link.created_at,
        )
        if recomputed != link.hash:
            return ChainReport(len(links), link.seq, "hash does not match the link's contents")
        previous = link.hash
        expected_seq += 1
    return ChainReport(len(links), None, None)
