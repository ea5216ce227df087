"""Real JavaScript clients (tests/js/, pinned by its package-lock.json) run by Node against a
live server. Their packages are installed by `npm ci`, once per lock: `make js-deps` (part of
`make test`) or the first test that needs them, with the same stamp file."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS_DIR = Path(__file__).parent / "js"
STAMP = JS_DIR / "node_modules" / ".installed"
NODE_SECONDS = 60


def ensure_installed() -> None:
    """`npm ci` in tests/js unless its stamp is newer than package.json and the lock."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("Node.js 20 and npm are needed for the JavaScript client tests")
    inputs = (JS_DIR / "package.json", JS_DIR / "package-lock.json")
    if STAMP.exists() and all(STAMP.stat().st_mtime >= path.stat().st_mtime for path in inputs):
        return
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.fail(f"npm ci in {JS_DIR} failed:\n{done.stderr[-3000:]}")
    STAMP.touch()


def run_node(script: str, *args: str) -> Any:
    """Run tests/js/``script`` with ``args``; its stdout parsed as JSON."""
    ensure_installed()
    done = subprocess.run(
        ["node", str(JS_DIR / script), *args],
        capture_output=True,
        text=True,
        timeout=NODE_SECONDS,
    )
    if done.returncode != 0:
        pytest.fail(f"node {script} exited with {done.returncode}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)
