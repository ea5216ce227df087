"""The key ring: Ed25519 signing keys with ids, rotation without downtime, JWKS.

States: ``active`` (signs; exactly one), ``rotated`` (stopped signing, verifies what it
signed for as long as the ring exists: a billing dispute can come years later) and
``retired`` (verifies nothing: only an explicit, audited ``retire`` with a reason, e.g. a
compromised key). The private key is sealed with AES-GCM under the master key while the
key is active, dropped when it is rotated, and never leaves this module.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from sqlalchemy import Connection, Engine, insert, select, text, update

from intelgraph.audit import service as audit
from intelgraph.crypto.field_encryption import FieldCipher
from intelgraph.kernel.clock import Clock, isoformat
from intelgraph.kernel.errors import (
    SIGNATURE_INVALID,
    SIGNING_KEY_RETIRED,
    SIGNING_KEY_UNKNOWN,
    VALIDATION,
    IntelGraphError,
)
from intelgraph.store.engine import as_utc
from intelgraph.store.tables import signing_keys

REFRESH_SECONDS = 5.0
_ROTATION_LOCK = 7_291_002  # PostgreSQL advisory lock: one rotation at a time
REASON_MAX_CHARS = 200  # signing_keys.retire_reason


class KeyState(StrEnum):
    ACTIVE = "active"
    ROTATED = "rotated"
    RETIRED = "retired"


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    state: KeyState
    public_key: bytes
    created_at: datetime
    rotated_at: datetime | None
    retired_at: datetime | None
    retire_reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "state": self.state.value,
            "createdAt": self.created_at.isoformat(),
            "rotatedAt": self.rotated_at.isoformat() if self.rotated_at else None,
            "retiredAt": self.retired_at.isoformat() if self.retired_at else None,
            "retireReason": self.retire_reason,
        }

    def as_jwk(self) -> dict[str, Any]:
        """The public key as an OKP JWK, marked with its state (RFC 7517 section 4 lets a
        JWK carry members a consumer does not know; ours are prefixed ``ig_``)."""
        jwk: dict[str, Any] = {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url(self.public_key),
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
            "ig_status": self.state.value,
        }
        if self.rotated_at is not None:
            jwk["ig_rotated_at"] = isoformat(self.rotated_at)
        return jwk


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def jwk_thumbprint(public_key: bytes) -> str:
    """RFC 7638 thumbprint of the key's OKP JWK: the key id."""
    canonical = orjson.dumps({"crv": "Ed25519", "kty": "OKP", "x": b64url(public_key)})
    return b64url(hashlib.sha256(canonical).digest())


class Keyring:
    """Signs with the active key; verifies with any key that has not been retired."""

    def __init__(self, engine: Engine, clock: Clock, cipher: FieldCipher) -> None:
        self._engine = engine
        self._clock = clock
        self._cipher = cipher
        self._lock = threading.Lock()
        self._active: tuple[str, Ed25519PrivateKey] | None = None
        self._loaded_at = float("-inf")
        self._keys: dict[str, KeyInfo] = {}

    # --- signing and verifying ---------------------------------------------------------

    def sign(self, data: bytes) -> tuple[str, bytes]:
        """Sign ``data`` with the active key; returns (kid, signature)."""
        active = self._active_key()
        return active[0], active[1].sign(data)

    def verify(self, kid: str, data: bytes, signature: bytes) -> None:
        """Check a signature. Raises SIGNING_KEY_UNKNOWN, SIGNING_KEY_RETIRED (naming the
        key) or SIGNATURE_INVALID."""
        info = self._key(kid)
        if info.state is KeyState.RETIRED:
            retired_at = isoformat(info.retired_at) if info.retired_at else None
            raise IntelGraphError(
                SIGNING_KEY_RETIRED,
                f"signing key {kid} was retired on {retired_at} ({info.retire_reason}): "
                "nothing it signed verifies any more",
                {"kid": kid, "retiredAt": retired_at, "reason": info.retire_reason},
            )
        try:
            Ed25519PublicKey.from_public_bytes(info.public_key).verify(signature, data)
        except InvalidSignature as exc:
            raise IntelGraphError(
                SIGNATURE_INVALID, f"signature does not match the data (key {kid})", {"kid": kid}
            ) from exc

    # --- administration ------------------------------------------------------------

    def ensure_active(self) -> str:
        """Create the first key if the ring is empty; returns the active kid."""
        with self._engine.begin() as conn:
            self._lock_rotation(conn)
            row = conn.execute(
                select(signing_keys.c.kid).where(signing_keys.c.state == KeyState.ACTIVE.value)
            ).first()
            if row is not None:
                return str(row.kid)
            kid = self._insert_new_key(conn)
            audit.record(
                conn,
                tenant_id=None,
                actor="system",
                action="signing_key.create",
                target=f"signing_key:{kid}",
                at=self._clock.now(),
            )
        self._invalidate()
        return kid

    def rotate(self, *, actor: str, reason: str | None = None) -> str:
        """Make a new active key; the old one stops signing and keeps verifying what it
        signed until it is retired. Audited."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            self._lock_rotation(conn)
            old = conn.execute(
                select(signing_keys.c.kid).where(signing_keys.c.state == KeyState.ACTIVE.value)
            ).first()
            if old is not None:
                conn.execute(
                    update(signing_keys)
                    .where(signing_keys.c.kid == old.kid)
                    .values(state=KeyState.ROTATED.value, rotated_at=now, private_key_sealed=None)
                )
            kid = self._insert_new_key(conn)
            audit.record(
                conn,
                tenant_id=None,
                actor=actor,
                action="signing_key.rotate",
                target=f"signing_key:{kid}",
                at=now,
                reason=reason,
                old_value={"active": old.kid if old is not None else None},
                new_value={"active": kid},
            )
        self._invalidate()
        return kid

    def retire(self, kid: str, *, actor: str, reason: str) -> None:
        """Retire a rotated key now (e.g. it is compromised): everything it signed stops
        verifying and the JWKS no longer publishes it. Audited.

        Raises SIGNING_KEY_UNKNOWN, or VALIDATION without a reason, for the active key
        (rotate first) and for a key already retired.
        """
        reason = reason.strip()
        if not reason:
            raise IntelGraphError(
                VALIDATION,
                "say why the key is retired (e.g. --reason compromised): retiring stops "
                "every export it signed from verifying",
                {"kid": kid},
            )
        if len(reason) > REASON_MAX_CHARS:
            raise IntelGraphError(
                VALIDATION,
                f"the reason is {len(reason)} characters; at most {REASON_MAX_CHARS}",
                {"kid": kid, "limit": REASON_MAX_CHARS},
            )
        now = self._clock.now()
        with self._engine.begin() as conn:
            self._lock_rotation(conn)  # not while another replica rotates this key
            row = conn.execute(
                select(signing_keys.c.state, signing_keys.c.retired_at).where(
                    signing_keys.c.kid == kid
                )
            ).first()
            if row is None:
                raise IntelGraphError(
                    SIGNING_KEY_UNKNOWN, f"unknown signing key {kid}", {"kid": kid}
                )
            if row.state == KeyState.ACTIVE.value:
                raise IntelGraphError(
                    VALIDATION, f"{kid} is the active key: rotate before retiring it", {"kid": kid}
                )
            if row.state == KeyState.RETIRED.value:
                raise IntelGraphError(
                    VALIDATION,
                    f"{kid} was already retired on {isoformat(as_utc(row.retired_at))}",
                    {"kid": kid},
                )
            conn.execute(
                update(signing_keys)
                .where(signing_keys.c.kid == kid)
                .values(
                    state=KeyState.RETIRED.value,
                    retired_at=now,
                    retire_reason=reason,
                    private_key_sealed=None,
                )
            )
            audit.record(
                conn,
                tenant_id=None,
                actor=actor,
                action="signing_key.retire",
                target=f"signing_key:{kid}",
                at=now,
                reason=reason,
                old_value={"state": row.state},
                new_value={"state": KeyState.RETIRED.value},
            )
        self._invalidate()

    def list_keys(self) -> list[KeyInfo]:
        """Every key, newest first."""
        self._load(force=True)
        return sorted(self._keys.values(), key=lambda k: k.created_at, reverse=True)

    def jwks(self) -> dict[str, Any]:
        """The public keys that verify (active and rotated, marked), as a JWKS (OKP /
        Ed25519). A retired key is left out: a JOSE library ignores marks it does not
        know, so publishing a compromised key at all would let it verify."""
        self._load()
        return {
            "keys": [
                info.as_jwk()
                for info in sorted(self._keys.values(), key=lambda k: k.created_at)
                if info.state is not KeyState.RETIRED
            ]
        }

    # --- internals -----------------------------------------------------------------

    def _insert_new_key(self, conn: Connection) -> str:
        private = Ed25519PrivateKey.generate()
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        kid = jwk_thumbprint(public)
        raw_private = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        conn.execute(
            insert(signing_keys).values(
                kid=kid,
                state=KeyState.ACTIVE.value,
                public_key=public,
                private_key_sealed=self._cipher.encrypt(raw_private, kid.encode("ascii")),
                created_at=self._clock.now(),
            )
        )
        return kid

    def _lock_rotation(self, conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ROTATION_LOCK})

    def _invalidate(self) -> None:
        with self._lock:
            self._loaded_at = float("-inf")

    def _active_key(self) -> tuple[str, Ed25519PrivateKey]:
        self._load()
        if self._active is None:
            self.ensure_active()
            self._load(force=True)
        assert self._active is not None
        return self._active

    def _key(self, kid: str) -> KeyInfo:
        self._load()
        info = self._keys.get(kid)
        if info is None:
            self._load(force=True)  # another replica may have rotated since we loaded
            info = self._keys.get(kid)
        if info is None:
            raise IntelGraphError(SIGNING_KEY_UNKNOWN, f"unknown signing key {kid}", {"kid": kid})
        return info

    def _load(self, force: bool = False) -> None:
        now = self._clock.monotonic()
        if not force and now - self._loaded_at < REFRESH_SECONDS:
            return
        with self._engine.connect() as conn:
            rows = conn.execute(select(signing_keys)).all()
        keys: dict[str, KeyInfo] = {}
        active: tuple[str, Ed25519PrivateKey] | None = None
        for row in rows:
            info = KeyInfo(
                kid=row.kid,
                state=KeyState(row.state),
                public_key=bytes(row.public_key),
                created_at=as_utc(row.created_at),
                rotated_at=as_utc(row.rotated_at) if row.rotated_at else None,
                retired_at=as_utc(row.retired_at) if row.retired_at else None,
                retire_reason=row.retire_reason,
            )
            keys[info.kid] = info
            if info.state is KeyState.ACTIVE and row.private_key_sealed is not None:
                raw = self._cipher.decrypt(bytes(row.private_key_sealed), info.kid.encode("ascii"))
                active = (info.kid, Ed25519PrivateKey.from_private_bytes(raw))
        with self._lock:
            self._keys = keys
            if active is not None:
                self._active = active
            self._loaded_at = now
