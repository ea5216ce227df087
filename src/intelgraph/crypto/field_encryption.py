"""AES-256-GCM for secrets at rest (private signing keys), under the master key."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from intelgraph.kernel.errors import INTERNAL, VALIDATION, IntelGraphError
from intelgraph.kernel.private_files import make_private_dir

NONCE_BYTES = 12
MASTER_KEY_FILE = "master.key"


class FieldCipher:
    """Encrypts small values; the associated data binds a ciphertext to its row."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise IntelGraphError(VALIDATION, "the master key must be 32 bytes (base64 of 32)")
        self._aead = AESGCM(master_key)

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed: bytes = self._aead.encrypt(nonce, plaintext, associated_data)
        return nonce + sealed

    def decrypt(self, sealed: bytes, associated_data: bytes) -> bytes:
        """Raises INTERNAL (without the secret) when the value or master key is wrong."""
        try:
            opened: bytes = self._aead.decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated_data
            )
            return opened
        except Exception as exc:
            raise IntelGraphError(
                INTERNAL, "a stored secret could not be decrypted: is INTELGRAPH_MASTER_KEY right?"
            ) from exc


def load_master_key(configured: str | None, data_dir: Path) -> bytes:
    """The master key from INTELGRAPH_MASTER_KEY (base64), or a 0600 key file in the data dir."""
    if configured:
        try:
            key = base64.b64decode(configured, validate=True)
        except ValueError as exc:
            raise IntelGraphError(VALIDATION, "INTELGRAPH_MASTER_KEY is not base64") from exc
        if len(key) != 32:
            raise IntelGraphError(VALIDATION, "INTELGRAPH_MASTER_KEY must decode to 32 bytes")
        return key
    path = data_dir / MASTER_KEY_FILE
    if path.exists():
        return base64.b64decode(path.read_text(encoding="ascii").strip())
    make_private_dir(data_dir)
    key = bytes(AESGCM.generate_key(bit_length=256))
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(key).decode("ascii") + "\n")
    return key
