"""DSSE envelopes (Dead Simple Signing Envelope) and in-toto Statement v1 payloads."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from intelgraph.kernel.errors import VALIDATION, IntelGraphError

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
IN_TOTO_STATEMENT_V1 = "https://in-toto.io/Statement/v1"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: what is actually signed."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[tuple[str, bytes], ...]  # (keyid, signature); keyid "" when absent

    def to_json(self) -> dict[str, Any]:
        return {
            "payloadType": self.payload_type,
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "signatures": [
                ({"keyid": keyid} if keyid else {}) | {"sig": base64.b64encode(sig).decode()}
                for keyid, sig in self.signatures
            ],
        }

    @classmethod
    def from_json(cls, document: Any) -> Envelope:
        """Read an envelope as the DSSE spec allows it: standard or URL-safe base64, keyid
        optional. Raises VALIDATION naming what is malformed."""
        try:
            return cls(
                payload_type=str(document["payloadType"]),
                payload=_base64_either(document["payload"]),
                signatures=tuple(
                    (str(item.get("keyid", "")), _base64_either(item["sig"]))
                    for item in document["signatures"]
                ),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise IntelGraphError(VALIDATION, f"not a DSSE envelope: {exc}") from exc


def _base64_either(text: Any) -> bytes:
    """Standard or URL-safe base64, padded or not (DSSE verifiers must accept either)."""
    if not isinstance(text, str):
        raise TypeError(f"expected base64 text, got {type(text).__name__}")
    padded = text + "=" * (-len(text) % 4)
    return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)


Signer = Callable[[bytes], tuple[str, bytes]]
"""Signs bytes; returns (keyid, signature)."""


def sign_envelope(payload_type: str, payload: bytes, signer: Signer) -> Envelope:
    keyid, signature = signer(pae(payload_type, payload))
    return Envelope(payload_type, payload, ((keyid, signature),))


def statement(subjects: list[dict[str, Any]], predicate_type: str, predicate: Any) -> bytes:
    """An in-toto Statement v1 as canonical JSON bytes."""
    return orjson.dumps(
        {
            "_type": IN_TOTO_STATEMENT_V1,
            "subject": subjects,
            "predicateType": predicate_type,
            "predicate": predicate,
        },
        option=orjson.OPT_SORT_KEYS,
    )
