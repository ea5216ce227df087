"""Real servers on free loopback ports, for tests of what a socket client sees: the app under
uvicorn in a thread or under `intelgraph serve` (granian, the production server) in a
subprocess, and any other server process (Varnish, Prometheus) that answers HTTP when ready."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from intelgraph.settings import Settings

INTELGRAPH = Path(sys.executable).parent / "intelgraph"
READY_SECONDS = 30.0
LOG_TAIL = 3000  # characters of a server's log shown when it does not start


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_serving(
    url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = READY_SECONDS
) -> None:
    """Return once GET ``url`` answers 200; fail the test, with the tail of ``log``, if
    ``process`` exits or ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            pytest.fail(f"{process.args!r} exited with {process.returncode}:\n{tail(log)}")
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer 200 within {seconds:.0f} s:\n{tail(log)}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-LOG_TAIL:]


def start_process(
    command: list[str],
    log: Path,
    ready_url: str,
    *,
    env: Mapping[str, str] | None = None,
    is_group_leader: bool = False,
    ready_seconds: float = READY_SECONDS,
) -> subprocess.Popen[bytes]:
    """Run ``command`` (in its own process group with ``is_group_leader``, so a signal
    reaches its workers too), its output appended to ``log``; return once ``ready_url``
    answers 200. If it does not, the process is stopped and the test fails."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=is_group_leader,
        )
    try:
        wait_until_serving(ready_url, process, log, ready_seconds)
    except BaseException:  # pytest.fail raises an exception outside Exception
        stop_process(process)
        raise
    return process


def stop_process(
    process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, grace_seconds: float = 15.0
) -> None:
    """Send ``sig`` to ``process`` (to its whole process group when it leads one), then
    SIGKILL what is left after ``grace_seconds``."""
    if process.poll() is not None:
        return

    def send(sent: int) -> None:
        try:
            if os.getpgid(process.pid) == process.pid:
                os.killpg(process.pid, sent)
            else:
                process.send_signal(sent)
        except ProcessLookupError:
            pass

    send(sig)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait(timeout=10)


def serve_env(database_url: str, data_dir: Path, operator_key: str) -> dict[str, str]:
    """This process's environment plus the INTELGRAPH_* settings of a test server."""
    return {
        **os.environ,
        "INTELGRAPH_DATABASE_URL": database_url,
        "INTELGRAPH_DATA_DIR": str(data_dir),
        "INTELGRAPH_OPERATOR_KEY": operator_key,
        "INTELGRAPH_RUN_BACKGROUND_JOBS": "false",
        "INTELGRAPH_LOG_LEVEL": "WARNING",
    }


def start_serve(
    env: Mapping[str, str], port: int, log: Path, ready_seconds: float = READY_SECONDS
) -> subprocess.Popen[bytes]:
    """`intelgraph serve` on ``port`` in its own process group; returns once /readyz is 200."""
    return start_process(
        [str(INTELGRAPH), "serve", "--port", str(port)],
        log,
        f"http://127.0.0.1:{port}/readyz",
        env=env,
        is_group_leader=True,
        ready_seconds=ready_seconds,
    )


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
    env = serve_env(settings.database_url, settings.data_dir, settings.operator_key or "")
    process = start_serve(env, port, log)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process, grace_seconds=30)
