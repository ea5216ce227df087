"""Files only the service's own user may read: 0600 files and 0700 directories.

The data dir holds the operator and master keys, the SQLite database and its WAL, signed
usage exports and billing events; none of it is for other local users. Everything
IntelGraph creates there is made private when it is created (modes independent of the
umask), and ``tighten_tree`` brings an install made before that into line at start-up.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
_OTHERS = stat.S_IRWXG | stat.S_IRWXO


def make_private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents as 0700; an existing directory is left alone."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        os.chmod(directory, PRIVATE_DIR_MODE)  # mkdir's mode is masked by the umask
    return path


def private_opener(path: str, flags: int) -> int:
    """An ``open(..., opener=)`` that creates files 0600 (an existing file keeps its mode)."""
    return os.open(path, flags, PRIVATE_FILE_MODE)


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 unless it exists; returns whether it was created."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        return False
    return True


def tighten(path: Path) -> bool:
    """Take group and other access off ``path`` (0644 becomes 0600, 0755 0700; symlinks are
    skipped); returns whether its mode changed."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(found.st_mode) or not found.st_mode & _OTHERS:
        return False
    os.chmod(path, stat.S_IMODE(found.st_mode) & stat.S_IRWXU)
    return True


def tighten_tree(root: Path) -> int:
    """Make ``root`` and everything under it private; returns how many entries changed."""
    if not root.is_dir():
        return 0
    changed = int(tighten(root))
    for directory, subdirectories, files in os.walk(root):
        for name in (*subdirectories, *files):
            changed += tighten(Path(directory) / name)
    if changed:
        log.warning(
            "made %d entries of the data dir private (files 0600, directories 0700)",
            changed,
            extra={"data_dir": str(root)},
        )
    return changed
