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
    signatures: tuple[tuple[str, bytes], ...]  # (keyid, signature)

    def to_json(self) -> dict[str, Any]:
        return {
            "payloadType": self.payload_type,
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "signatures": [
                {"keyid": keyid, "sig": base64.b64encode(sig).decode("ascii")}
                for keyid, sig in self.signatures
            ],
        }

    @classmethod
    def from_json(cls, document: Any) -> Envelope:
        """Raises VALIDATION naming what is malformed."""
        try:
            return cls(
                payload_type=str(document["payloadType"]),
                payload=base64.b64decode(document["payload"], validate=True),
                signatures=tuple(
                    (str(item["keyid"]), base64.b64decode(item["sig"], validate=True))
                    for item in document["signatures"]
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IntelGraphError(VALIDATION, f"not a DSSE envelope: {exc}") from exc


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
