"""The key ring: signatures round-trip, rotation never breaks a signer or verifier."""

from __future__ import annotations

import base64
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intelgraph.crypto.dsse import Envelope, pae, sign_envelope
from intelgraph.crypto.field_encryption import FieldCipher, load_master_key
from intelgraph.crypto.keyring import Keyring, KeyState
from intelgraph.kernel.clock import ManualClock, SystemClock
from intelgraph.kernel.errors import IntelGraphError
from intelgraph.kernel.tenancy import local_operator
from intelgraph.policy.engine import PolicyEngine
from intelgraph.store import migrate
from intelgraph.store.engine import create_store_engine
from intelgraph.store.tables import signing_keys

MASTER = b"k" * 32
OPERATOR = local_operator("op")  # the person at the CLI: a platform-admin


def make_ring(url: str, clock: ManualClock | SystemClock | None = None) -> Keyring:
    engine = create_store_engine(url)
    migrate.upgrade(engine)
    ring = Keyring(engine, clock or SystemClock(), FieldCipher(MASTER), PolicyEngine())
    ring.ensure_active()
    return ring


@pytest.fixture
def ring(tmp_path: Path) -> Keyring:
    return make_ring(f"sqlite:///{tmp_path}/keys.db")


def test_a_signature_verifies_with_the_key_that_made_it(ring: Keyring) -> None:
    kid, signature = ring.sign(b"usage row")
    ring.verify(kid, b"usage row", signature)


def test_a_tampered_payload_is_refused(ring: Keyring) -> None:
    kid, signature = ring.sign(b"usage row")
    with pytest.raises(IntelGraphError) as caught:
        ring.verify(kid, b"usage rOw", signature)
    assert caught.value.code == "SIGNATURE_INVALID"


def test_an_unknown_key_is_named_in_the_error(ring: Keyring) -> None:
    _, signature = ring.sign(b"x")
    with pytest.raises(IntelGraphError) as caught:
        ring.verify("no-such-kid", b"x", signature)
    assert caught.value.code == "SIGNING_KEY_UNKNOWN" and "no-such-kid" in caught.value.message


def test_rotation_keeps_old_signatures_valid_until_retirement(ring: Keyring) -> None:
    old_kid, old_sig = ring.sign(b"before")
    new_kid = ring.rotate(principal=OPERATOR, reason="scheduled")
    assert new_kid != old_kid
    ring.verify(old_kid, b"before", old_sig)  # a rotated key still verifies
    assert ring.sign(b"after")[0] == new_kid
    ring.retire(old_kid, principal=OPERATOR, reason="compromised")
    with pytest.raises(IntelGraphError) as caught:
        ring.verify(old_kid, b"before", old_sig)
    assert caught.value.code == "SIGNING_KEY_RETIRED" and old_kid in caught.value.message


def test_the_active_key_cannot_be_retired(ring: Keyring) -> None:
    active = ring.sign(b"x")[0]
    with pytest.raises(IntelGraphError):
        ring.retire(active, principal=OPERATOR, reason="compromised")


def test_exactly_one_key_is_active_after_rotations(ring: Keyring) -> None:
    for _ in range(3):
        ring.rotate(principal=OPERATOR)
    states = [key.state for key in ring.list_keys(OPERATOR)]
    assert states.count(KeyState.ACTIVE) == 1 and len(states) == 4


def test_private_keys_are_sealed_at_rest(ring: Keyring) -> None:
    with ring._engine.connect() as conn:  # the stored bytes, as an attacker with the DB sees them
        sealed = [bytes(row.private_key_sealed) for row in conn.execute(signing_keys.select())]
    assert sealed and all(len(value) > 32 for value in sealed)
    wrong = FieldCipher(b"w" * 32)
    with pytest.raises(IntelGraphError) as caught:
        wrong.decrypt(sealed[0], b"anything")
    assert "master" in caught.value.message.lower()


def test_the_jwks_publishes_okp_ed25519_public_keys(ring: Keyring) -> None:
    kid, signature = ring.sign(b"x")
    keys = ring.jwks()["keys"]
    assert [key["kid"] for key in keys] == [kid]
    assert keys[0]["kty"] == "OKP" and keys[0]["crv"] == "Ed25519" and "d" not in keys[0]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    raw = base64.urlsafe_b64decode(keys[0]["x"] + "=")
    Ed25519PublicKey.from_public_bytes(raw).verify(signature, b"x")


def test_master_key_file_is_created_private(tmp_path: Path) -> None:
    key = load_master_key(None, tmp_path)
    assert len(key) == 32 and (tmp_path / "master.key").stat().st_mode & 0o077 == 0
    assert load_master_key(None, tmp_path) == key


@settings(max_examples=50, deadline=None)
@given(payload=st.binary(max_size=2048), payload_type=st.text(min_size=1, max_size=40))
def test_dsse_envelopes_round_trip(payload: bytes, payload_type: str) -> None:
    ring = _shared_ring()
    envelope = sign_envelope(payload_type, payload, ring.sign)
    parsed = Envelope.from_json(envelope.to_json())
    assert parsed == envelope
    kid, signature = parsed.signatures[0]
    ring.verify(kid, pae(parsed.payload_type, parsed.payload), signature)


_RING: list[Keyring] = []


def _shared_ring() -> Keyring:
    if not _RING:
        _RING.append(make_ring("sqlite:///:memory:"))
    return _RING[0]


@pytest.mark.integration
def test_rotation_under_load_across_two_instances_never_fails(fresh_postgres_url: str) -> None:
    # Its own database: the key ring is global to a database and sealed by one master key.
    first = make_ring(fresh_postgres_url)
    second = make_ring(fresh_postgres_url)  # another replica sharing PostgreSQL
    failures: list[str] = []
    signed: list[tuple[str, bytes, bytes]] = []
    stop = threading.Event()
    lock = threading.Lock()

    def worker(ring: Keyring, name: str) -> None:
        counter = 0
        while not stop.is_set():
            counter += 1
            data = f"{name}-{counter}".encode()
            try:
                kid, signature = ring.sign(data)
                ring.verify(kid, data, signature)
                with lock:
                    signed.append((kid, data, signature))
            except Exception as exc:  # any failure is the finding
                failures.append(f"{name}: {exc!r}")

    threads = [
        threading.Thread(target=worker, args=(ring, f"{tag}{i}"))
        for i in range(3)
        for ring, tag in ((first, "a"), (second, "b"))
    ]

    def signed_more(than: int, at_least: int = 30) -> int:
        deadline = time.monotonic() + 60  # progress, not speed: a loaded machine is slow
        while len(signed) < than + at_least and time.monotonic() < deadline and not failures:
            time.sleep(0.01)
        return len(signed)

    for thread in threads:
        thread.start()
    seen = signed_more(0)
    first.rotate(principal=OPERATOR, reason="one")
    seen = signed_more(seen)
    second.rotate(principal=OPERATOR, reason="two")
    signed_more(seen)
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == [], failures[:5]
    kids = {kid for kid, _, _ in signed}
    assert len(kids) >= 2, (
        f"{len(signed)} signatures, all by {kids}"
    )  # signatures were made before, during and after the rotations
    for kid, data, signature in signed:  # everything signed still verifies, on both replicas
        first.verify(kid, data, signature)
        second.verify(kid, data, signature)
