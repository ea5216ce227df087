"""Signing key lifecycle: a rotated key verifies what it signed for years; only an
explicit, audited retirement (a compromised key) stops it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import DateTime, Engine, LargeBinary, String, column, insert, select, table

from intelgraph import store
from intelgraph.audit.service import list_records
from intelgraph.crypto.field_encryption import FieldCipher
from intelgraph.crypto.keyring import Keyring, KeyState, jwk_thumbprint
from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.errors import IntelGraphError
from intelgraph.kernel.tenancy import Principal, local_operator
from intelgraph.policy.engine import PolicyEngine
from intelgraph.store import migrate
from intelgraph.store.engine import create_store_engine
from intelgraph.store.tables import signing_keys

MASTER = b"k" * 32
OPERATOR = local_operator("op")  # the person at the CLI: a platform-admin
ALICE = Principal(None, "k-alice", "alice", ("trust-admin",), is_operator=True)
TWO_YEARS = timedelta(days=2 * 365).total_seconds()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database of its own: the key ring is global to a database."""
    url = (
        f"sqlite:///{tmp_path}/keys.db"
        if request.param == "sqlite"
        else request.getfixturevalue("fresh_postgres_url")
    )
    engine = create_store_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 9, 8, 0, tzinfo=UTC))


@pytest.fixture
def ring(engine: Engine, clock: ManualClock) -> Keyring:
    migrate.upgrade(engine)
    ring = Keyring(engine, clock, FieldCipher(MASTER), PolicyEngine())
    ring.ensure_active()
    return ring


def jwk_of(ring: Keyring, kid: str) -> dict[str, str] | None:
    return next((key for key in ring.jwks()["keys"] if key["kid"] == kid), None)


def test_a_rotated_key_still_verifies_what_it_signed_two_years_later(
    ring: Keyring, clock: ManualClock
) -> None:
    old_kid, signature = ring.sign(b"usage row of 2026-03-08")
    rotated_at = clock.now()
    new_kid = ring.rotate(principal=OPERATOR, reason="scheduled")
    clock.advance(TWO_YEARS)

    ring.verify(old_kid, b"usage row of 2026-03-08", signature)

    old, new = jwk_of(ring, old_kid), jwk_of(ring, new_kid)
    assert old is not None and new is not None
    assert old["ig_status"] == "rotated" and old["use"] == "sig"
    assert old["ig_rotated_at"] == "2026-03-09T08:00:00Z" == rotated_at.isoformat()[:19] + "Z"
    assert new["ig_status"] == "active" and "ig_rotated_at" not in new


def test_a_rotated_key_never_signs_again_and_its_private_key_is_dropped(
    ring: Keyring, engine: Engine
) -> None:
    old_kid = ring.sign(b"x")[0]
    new_kid = ring.rotate(principal=OPERATOR)

    with engine.connect() as conn:
        sealed = dict(
            conn.execute(select(signing_keys.c.kid, signing_keys.c.private_key_sealed)).all()
        )
    assert ring.sign(b"y")[0] == new_kid
    assert sealed[old_kid] is None and sealed[new_kid] is not None


def test_retiring_a_compromised_key_stops_verification_and_is_audited(
    ring: Keyring, engine: Engine, clock: ManualClock
) -> None:
    kid, signature = ring.sign(b"x")
    ring.rotate(principal=OPERATOR, reason="scheduled")
    clock.advance(TWO_YEARS)

    ring.retire(kid, principal=ALICE, reason="compromised")

    with pytest.raises(IntelGraphError) as caught:
        ring.verify(kid, b"x", signature)
    assert caught.value.code == "SIGNING_KEY_RETIRED"
    assert kid in caught.value.message and "compromised" in caught.value.message
    assert caught.value.details["reason"] == "compromised"
    assert jwk_of(ring, kid) is None  # a JOSE library would ignore a "revoked" mark
    assert [k.state for k in ring.list_keys(OPERATOR) if k.kid == kid] == [KeyState.RETIRED]
    record = next(r for r in list_records(engine) if r.action == "signing_key.retire")
    assert record.actor == "operator:alice" and record.reason == "compromised"
    assert record.target == f"signing_key:{kid}" and record.new_value == {"state": "retired"}


def test_retiring_without_a_reason_is_refused_and_the_key_still_verifies(ring: Keyring) -> None:
    kid, signature = ring.sign(b"x")
    ring.rotate(principal=OPERATOR)

    with pytest.raises(IntelGraphError) as caught:
        ring.retire(kid, principal=OPERATOR, reason="  ")

    assert caught.value.code == "VALIDATION" and "--reason" in caught.value.message
    ring.verify(kid, b"x", signature)


def test_a_key_is_retired_only_once(ring: Keyring) -> None:
    kid = ring.sign(b"x")[0]
    ring.rotate(principal=OPERATOR)
    ring.retire(kid, principal=OPERATOR, reason="compromised")

    with pytest.raises(IntelGraphError) as caught:
        ring.retire(kid, principal=OPERATOR, reason="compromised again")

    assert caught.value.code == "VALIDATION" and "already retired" in caught.value.message
    assert [k.retire_reason for k in ring.list_keys(OPERATOR) if k.kid == kid] == ["compromised"]


def test_an_auditor_operator_is_refused_a_rotation_and_the_key_keeps_signing(
    ring: Keyring, engine: Engine
) -> None:
    active = ring.sign(b"x")[0]
    auditor = Principal(None, "k-ann", "ann", ("auditor",), is_operator=True)

    with pytest.raises(IntelGraphError) as caught:
        ring.rotate(principal=auditor, reason="curious")

    assert caught.value.code == "POLICY_DENIED" and "trust.admin" in caught.value.message
    assert ring.sign(b"y")[0] == active
    assert not [r for r in list_records(engine) if r.action == "signing_key.rotate"]


def test_a_billing_admin_may_neither_list_nor_retire_signing_keys(ring: Keyring) -> None:
    kid = ring.sign(b"x")[0]
    ring.rotate(principal=OPERATOR)
    billing = Principal(None, "k-bob", "bob", ("billing-admin",), is_operator=True)

    attempts: list[Callable[[], object]] = [
        lambda: ring.list_keys(billing),
        lambda: ring.retire(kid, principal=billing, reason="compromised"),
    ]
    for attempt in attempts:
        with pytest.raises(IntelGraphError) as caught:
            attempt()
        assert caught.value.code == "POLICY_DENIED"
    assert [k.state for k in ring.list_keys(ALICE) if k.kid == kid] == [KeyState.ROTATED]


def test_a_trust_admin_rotates_and_the_audit_record_names_that_person(
    ring: Keyring, engine: Engine
) -> None:
    old_kid = ring.sign(b"x")[0]

    new_kid = ring.rotate(principal=ALICE, reason="scheduled")

    assert ring.sign(b"y")[0] == new_kid != old_kid
    record = next(r for r in list_records(engine) if r.action == "signing_key.rotate")
    assert record.actor == "operator:alice" and record.reason == "scheduled"
    assert record.old_value == {"active": old_kid} and record.new_value == {"active": new_kid}


def migrate_to(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(store.__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


# signing_keys as migration 0014 left it (the table in store.tables is the new shape).
OLD_SIGNING_KEYS = table(
    "signing_keys",
    column("kid", String),
    column("state", String),
    column("public_key", LargeBinary),
    column("private_key_sealed", LargeBinary),
    column("created_at", DateTime(timezone=True)),
    column("verify_until", DateTime(timezone=True)),
    column("retired_at", DateTime(timezone=True)),
)


def test_upgrading_makes_keys_past_the_old_grace_period_verify_again(
    engine: Engine, clock: ManualClock
) -> None:
    """A deployment whose rotated key expired under the 30-day grace period gets it back."""
    migrate_to(engine, "0014")
    old_private = Ed25519PrivateKey.generate()
    old_public = old_private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    old_kid = jwk_thumbprint(old_public)
    signature = old_private.sign(b"exported in 2024")
    successor = (
        Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    )
    rotated = datetime(2024, 6, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(OLD_SIGNING_KEYS),
            [
                {
                    "kid": old_kid,
                    "state": "verify-only",
                    "public_key": old_public,
                    "private_key_sealed": b"sealed",
                    "created_at": datetime(2024, 1, 1, tzinfo=UTC),
                    "verify_until": rotated + timedelta(days=30),  # long past on the clock
                    "retired_at": None,
                },
                {  # the key that replaced it, itself retired since
                    "kid": jwk_thumbprint(successor),
                    "state": "retired",
                    "public_key": successor,
                    "private_key_sealed": None,
                    "created_at": rotated,
                    "verify_until": None,
                    "retired_at": rotated + timedelta(days=90),
                },
            ],
        )

    migrate.upgrade(engine)
    ring = Keyring(engine, clock, FieldCipher(MASTER), PolicyEngine())
    ring.ensure_active()

    ring.verify(old_kid, b"exported in 2024", signature)
    old = jwk_of(ring, old_kid)
    assert old is not None and old["ig_status"] == "rotated"
    assert old["ig_rotated_at"] == "2024-06-01T00:00:00Z"  # when its successor was made
    with engine.connect() as conn:
        sealed = conn.execute(
            select(signing_keys.c.private_key_sealed).where(signing_keys.c.kid == old_kid)
        ).scalar_one()
    assert sealed is None
