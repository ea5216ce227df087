"""DSSE envelopes checked against the specification and other implementations, not only
against themselves: the spec's PAE vector and signed example, securesystemslib's
verifier and in-toto-attestation's Statement model."""

from __future__ import annotations

import base64
import copy

import orjson
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from securesystemslib import exceptions as sslib_errors
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.signer import SSlibKey

from intelgraph.crypto.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope, pae, sign_envelope, statement
from intelgraph.crypto.field_encryption import FieldCipher
from intelgraph.crypto.keyring import Keyring
from intelgraph.kernel.clock import SystemClock
from intelgraph.policy.engine import PolicyEngine
from intelgraph.store import migrate
from intelgraph.store.engine import create_store_engine

# secure-systems-lab/dsse protocol.md, "Test Vectors".
SPEC_TYPE = "http://example.com/HelloWorld"
SPEC_BODY = b"hello world"
SPEC_PAE = b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
SPEC_ENVELOPE = {
    "payload": "aGVsbG8gd29ybGQ=",
    "payloadType": "http://example.com/HelloWorld",
    "signatures": [
        {
            "sig": "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEG"
            "AHTVeCUjW2JIZA=="
        }
    ],
}
SPEC_P256_X = 46950820868899156662930047687818585632848591499744589407958293238635476079160
SPEC_P256_Y = 5640078356564379163099075877009565129882514886557779369047442380624545832820


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    engine = create_store_engine(f"sqlite:///{tmp_path_factory.mktemp('dsse')}/keys.db")
    migrate.upgrade(engine)
    ring = Keyring(engine, SystemClock(), FieldCipher(b"k" * 32), PolicyEngine())
    ring.ensure_active()
    return ring


def sslib_key(ring: Keyring, kid: str) -> SSlibKey:
    """The key as securesystemslib reads it, built from our published JWKS."""
    jwk = next(key for key in ring.jwks()["keys"] if key["kid"] == kid)
    public = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    return SSlibKey(kid, "ed25519", "ed25519", {"public": public.hex()})


def test_pae_is_the_specifications_test_vector() -> None:
    assert pae(SPEC_TYPE, SPEC_BODY) == SPEC_PAE


def test_pae_counts_bytes_of_the_payload_type_not_characters() -> None:
    payload_type = "application/vnd.exämple+json"  # 28 characters, 29 bytes in UTF-8

    assert pae(payload_type, b"{}") == b"DSSEv1 29 " + payload_type.encode() + b" 2 {}"


def test_pae_of_an_empty_body_ends_with_a_space() -> None:
    assert pae(IN_TOTO_PAYLOAD_TYPE, b"") == b"DSSEv1 28 application/vnd.in-toto+json 0 "


def test_the_specifications_signed_example_reads_and_verifies_over_our_pae() -> None:
    envelope = Envelope.from_json(SPEC_ENVELOPE)  # no keyid: optional in the spec
    public = ec.EllipticCurvePublicNumbers(SPEC_P256_X, SPEC_P256_Y, ec.SECP256R1()).public_key()
    raw = envelope.signatures[0][1]  # r || s, 32 bytes each
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))

    public.verify(der, pae(envelope.payload_type, envelope.payload), ec.ECDSA(hashes.SHA256()))
    assert envelope.payload == SPEC_BODY and envelope.signatures[0][0] == ""


def test_url_safe_base64_is_accepted_as_the_spec_requires() -> None:
    body = b"\xfb\xff\xbf>?"  # encodes with + and / in the standard alphabet
    standard = Envelope.from_json(
        {"payloadType": "t", "payload": base64.b64encode(body).decode(), "signatures": []}
    )
    url_safe = Envelope.from_json(
        {"payloadType": "t", "payload": base64.urlsafe_b64encode(body).decode(), "signatures": []}
    )

    assert standard.payload == url_safe.payload == body


def test_an_envelope_we_sign_verifies_with_securesystemslib(ring: Keyring) -> None:
    ours = sign_envelope(IN_TOTO_PAYLOAD_TYPE, b'{"a": 1}', ring.sign)
    kid = ours.signatures[0][0]
    theirs = SslibEnvelope.from_dict(copy.deepcopy(ours.to_json()))

    accepted = theirs.verify([sslib_key(ring, kid)], threshold=1)

    assert list(accepted) == [kid] and theirs.pae() == pae(ours.payload_type, ours.payload)


def test_securesystemslib_refuses_an_envelope_of_ours_whose_payload_was_changed(
    ring: Keyring,
) -> None:
    ours = sign_envelope(IN_TOTO_PAYLOAD_TYPE, b'{"a": 1}', ring.sign)
    document = ours.to_json() | {"payload": base64.b64encode(b'{"a": 2}').decode()}
    theirs = SslibEnvelope.from_dict(document)

    with pytest.raises(sslib_errors.VerificationError):
        theirs.verify([sslib_key(ring, ours.signatures[0][0])], threshold=1)


def test_our_statement_is_a_valid_in_toto_statement_v1() -> None:
    payload = statement(
        [{"name": "usage-2026-03-09.csv", "digest": {"sha256": "ab" * 32}}],
        "https://intelgraph.dev/attestations/usage-export/v1",
        {"rowCount": 1},
    )

    parsed = json_format.Parse(payload, statement_pb2.Statement())  # type: ignore[attr-defined]
    Statement.copy_from_pb(parsed).validate()

    assert parsed.subject[0].digest["sha256"] == "ab" * 32
    assert orjson.loads(payload)["_type"] == "https://in-toto.io/Statement/v1"
