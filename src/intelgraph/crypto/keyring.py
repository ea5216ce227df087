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
from sqlalchemy import Connection, Engine

from intelgraph.audit.unit_of_work import UnitOfWorkFactory
from intelgraph.crypto import keyring_repository as repo
from intelgraph.crypto.field_encryption import FieldCipher
from intelgraph.kernel.clock import Clock, isoformat
from intelgraph.kernel.errors import (
    SIGNATURE_INVALID,
    SIGNING_KEY_RETIRED,
    SIGNING_KEY_UNKNOWN,
    VALIDATION,
    IntelGraphError,
)
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine

REFRESH_SECONDS = 5.0
REASON_MAX_CHARS = 200  # signing_keys.retire_reason
SIGNING_KEY_RESOURCE = "signing_key"
SYSTEM_ACTOR = "system"  # who creates the first key at start-up


class KeyState(StrEnum):
    ACTIVE = repo.ACTIVE
    ROTATED = repo.ROTATED
    RETIRED = repo.RETIRED


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

    def __init__(
        self, engine: Engine, clock: Clock, cipher: FieldCipher, policy: PolicyEngine
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._cipher = cipher
        self._policy = policy
        self._uow = UnitOfWorkFactory(engine, clock)
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
        """Create the first key if the ring is empty; returns the active kid.

        Start-up work that acts for nobody (bootstrap): audited as ``system``, asks no policy.
        """
        with self._uow() as uow:
            repo.lock_rotation(uow.conn)
            existing = repo.active_kid(uow.conn)
            if existing is not None:
                return existing
            kid = self._insert_new_key(uow.conn)
            uow.audit(SYSTEM_ACTOR, "signing_key.create", f"signing_key:{kid}", tenant_id=None)
            uow.commit()
        self._invalidate()
        return kid

    def rotate(self, *, principal: Principal, reason: str | None = None) -> str:
        """Make a new active key; the old one stops signing and keeps verifying what it
        signed until it is retired. Audited as ``principal``.

        Raises POLICY_DENIED unless the principal may administer trust (``trust.admin``).
        """
        self._policy.authorize(principal, Action.TRUST_ADMIN, SIGNING_KEY_RESOURCE, None)
        with self._uow() as uow:
            now = uow.now
            repo.lock_rotation(uow.conn)
            old = repo.active_kid(uow.conn)
            if old is not None:
                repo.mark_rotated(uow.conn, old, now)
            kid = self._insert_new_key(uow.conn)
            uow.audit(
                principal,
                "signing_key.rotate",
                f"signing_key:{kid}",
                tenant_id=None,
                reason=reason,
                old_value={"active": old},
                new_value={"active": kid},
            )
            uow.commit()
        self._invalidate()
        return kid

    def retire(self, kid: str, *, principal: Principal, reason: str) -> None:
        """Retire a rotated key now (e.g. it is compromised): everything it signed stops
        verifying and the JWKS no longer publishes it. Audited as ``principal``.

        Raises POLICY_DENIED unless the principal may administer trust; SIGNING_KEY_UNKNOWN;
        VALIDATION without a reason, for the active key (rotate first) and for a key
        already retired.
        """
        self._policy.authorize(principal, Action.TRUST_ADMIN, SIGNING_KEY_RESOURCE, None)
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
        with self._uow() as uow:
            repo.lock_rotation(uow.conn)  # not while another replica rotates this key
            found = repo.state_of(uow.conn, kid)
            if found is None:
                raise IntelGraphError(
                    SIGNING_KEY_UNKNOWN, f"unknown signing key {kid}", {"kid": kid}
                )
            state, retired_at = found
            if state == KeyState.ACTIVE.value:
                raise IntelGraphError(
                    VALIDATION, f"{kid} is the active key: rotate before retiring it", {"kid": kid}
                )
            if state == KeyState.RETIRED.value:
                when = isoformat(retired_at) if retired_at else None
                raise IntelGraphError(
                    VALIDATION, f"{kid} was already retired on {when}", {"kid": kid}
                )
            repo.mark_retired(uow.conn, kid, uow.now, reason)
            uow.audit(
                principal,
                "signing_key.retire",
                f"signing_key:{kid}",
                tenant_id=None,
                reason=reason,
                old_value={"state": state},
                new_value={"state": KeyState.RETIRED.value},
            )
            uow.commit()
        self._invalidate()

    def list_keys(self, principal: Principal) -> list[KeyInfo]:
        """Every key, newest first.

        Raises POLICY_DENIED unless the principal may administer trust (``trust.admin``).
        """
        self._policy.authorize(principal, Action.TRUST_ADMIN, SIGNING_KEY_RESOURCE, None)
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
        repo.insert_active(
            conn,
            kid=kid,
            public_key=public,
            private_key_sealed=self._cipher.encrypt(raw_private, kid.encode("ascii")),
            at=self._clock.now(),
        )
        return kid

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
            rows = repo.all_keys(conn)
        keys: dict[str, KeyInfo] = {}
        active: tuple[str, Ed25519PrivateKey] | None = None
        for row in rows:
            info = KeyInfo(
                kid=row.kid,
                state=KeyState(row.state),
                public_key=row.public_key,
                created_at=row.created_at,
                rotated_at=row.rotated_at,
                retired_at=row.retired_at,
                retire_reason=row.retire_reason,
            )
            keys[info.kid] = info
            if info.state is KeyState.ACTIVE and row.private_key_sealed is not None:
                raw = self._cipher.decrypt(row.private_key_sealed, info.kid.encode("ascii"))
                active = (info.kid, Ed25519PrivateKey.from_private_bytes(raw))
        with self._lock:
            self._keys = keys
            if active is not None:
                self._active = active
            self._loaded_at = now
