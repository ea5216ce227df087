"""The app behind a real HTTP server on a free port: uvicorn in a thread, or `intelgraph serve`
(granian, the production server) in a subprocess. For tests of what a socket client sees."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from intelgraph.settings import Settings

INTELGRAPH = Path(sys.executable).parent / "intelgraph"
READY_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def uvicorn_server(app: Starlette) -> Iterator[str]:
    """Serve ``app`` with uvicorn (lifespan on) in a thread; yields its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + READY_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start (see the captured log)")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def granian_server(settings: Settings, log: Path) -> Iterator[str]:
    """`intelgraph serve` with ``settings`` (as INTELGRAPH_* variables); yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "INTELGRAPH_DATABASE_URL": settings.database_url,
        "INTELGRAPH_DATA_DIR": str(settings.data_dir),
        "INTELGRAPH_OPERATOR_KEY": settings.operator_key or "",
        "INTELGRAPH_RUN_BACKGROUND_JOBS": "false",
        "INTELGRAPH_LOG_LEVEL": "WARNING",
    }
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(INTELGRAPH), "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"`intelgraph serve` did not start:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
