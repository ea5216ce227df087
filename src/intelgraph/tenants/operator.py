"""The platform operator's key: from INTELGRAPH_OPERATOR_KEY, or generated once into DATA_DIR."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from intelgraph.kernel.private_files import make_private_dir
from intelgraph.tenants.keys import OPERATOR_KEY_PREFIX, generate_key, hash_key

KEY_FILE = "operator.key"


@dataclass(frozen=True, slots=True)
class OperatorKey:
    key_hash: str
    plaintext: str
    is_new: bool  # generated on this start: print it once
    path: Path | None


def load_operator_key(configured: str | None, data_dir: Path) -> OperatorKey:
    """The operator key; generates and stores one (mode 0600) when none is configured."""
    if configured:
        return OperatorKey(hash_key(configured), configured, False, None)
    path = data_dir / KEY_FILE
    if path.exists():
        plaintext = path.read_text(encoding="utf-8").strip()
        return OperatorKey(hash_key(plaintext), plaintext, False, path)
    make_private_dir(data_dir)
    new = generate_key(OPERATOR_KEY_PREFIX)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(new.plaintext + "\n")
    return OperatorKey(new.key_hash, new.plaintext, True, path)
