"""The sample clients in examples/ work against a real server, as a user would run them.

Each test starts `intelgraph serve` on a free port with a temp SQLite file, creates a tenant
with the operator key, and runs one sample client as a subprocess; the client checks every
step itself (API 1.1, APQ, ingest, read back, deprecations) and exits non-zero if one fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON_CLIENT = ROOT / "examples" / "python" / "client.py"
JAVASCRIPT_CLIENT = ROOT / "examples" / "javascript" / "client.mjs"
READY_TIMEOUT_SECONDS = 60.0
CLIENT_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class LiveServer:
    url: str
    operator_key: str
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def intelgraph_command() -> Path:
    """The `intelgraph` script of the interpreter running the tests (the project venv)."""
    beside_python = Path(sys.executable).parent / "intelgraph"
    return beside_python if beside_python.exists() else ROOT / ".venv" / "bin" / "intelgraph"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("sample-clients-server")
    port = free_port()
    operator_key = f"igo_{secrets.token_urlsafe(24)}"
    log_path = data_dir / "server.log"
    env = {
        **os.environ,
        "INTELGRAPH_DATABASE_URL": f"sqlite:///{data_dir}/db.sqlite",
        "INTELGRAPH_DATA_DIR": str(data_dir),
        "INTELGRAPH_OPERATOR_KEY": operator_key,
        "INTELGRAPH_RUN_BACKGROUND_JOBS": "false",
    }
    env.pop("INTELGRAPH_REDIS_URL", None)
    server = LiveServer(f"http://127.0.0.1:{port}", operator_key, log_path)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(intelgraph_command()), "serve", "--port", str(port)],
            cwd=data_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_ready(process, server)
            yield server
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def wait_until_ready(process: subprocess.Popen[bytes], server: LiveServer) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    last_problem = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"`intelgraph serve` exited with {process.returncode} before it was ready:\n"
                f"{server.log_tail()}"
            )
        try:
            response = httpx.get(f"{server.url}/readyz", timeout=2.0)
            if response.status_code == 200:
                return
            last_problem = f"GET /readyz answered {response.status_code}: {response.text[:200]}"
        except httpx.TransportError as exc:
            last_problem = f"GET /readyz failed: {exc!r}"
        time.sleep(0.2)
    pytest.fail(
        f"`intelgraph serve` was not ready after {READY_TIMEOUT_SECONDS:.0f}s ({last_problem}):\n"
        f"{server.log_tail()}"
    )


def new_tenant_key(server: LiveServer, slug_prefix: str) -> str:
    """Create a tenant with the operator key; its first (admin) API key."""
    slug = f"{slug_prefix}-{secrets.token_hex(4)}"
    response = httpx.post(
        f"{server.url}/v1/admin/tenants",
        headers={"Authorization": f"Bearer {server.operator_key}"},
        json={"name": f"Sample client {slug}", "slug": slug},
        timeout=10.0,
    )
    assert response.status_code == 201, (
        f"POST /v1/admin/tenants answered {response.status_code}: {response.text}"
    )
    api_key: str = response.json()["apiKey"]
    return api_key


def run_client(server: LiveServer, command: list[str], api_key: str) -> None:
    env = {**os.environ, "INTELGRAPH_URL": server.url, "INTELGRAPH_API_KEY": api_key}
    try:
        finished = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"`{' '.join(command)}` did not finish in {CLIENT_TIMEOUT_SECONDS:.0f}s\n"
            f"--- output so far ---\n{exc.stdout!r}\n{exc.stderr!r}\n"
            f"--- server log ---\n{server.log_tail()}"
        )
    assert finished.returncode == 0, (
        f"`{' '.join(command)}` exited with {finished.returncode}\n"
        f"--- stdout ---\n{finished.stdout}\n--- stderr ---\n{finished.stderr}\n"
        f"--- server log (tail) ---\n{server.log_tail()}"
    )
    assert "5/5 steps ok" in finished.stdout, finished.stdout


def node_command() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node is not on PATH: the JavaScript sample client needs Node.js 18+ "
            "(it is part of this machine's toolchain; install it or fix PATH)"
        )
    return node


def test_python_sample_client_runs_every_step_against_a_live_server(
    live_server: LiveServer,
) -> None:
    api_key = new_tenant_key(live_server, "sample-python")
    run_client(live_server, [sys.executable, str(PYTHON_CLIENT)], api_key)


def test_javascript_sample_client_runs_every_step_against_a_live_server(
    live_server: LiveServer,
) -> None:
    api_key = new_tenant_key(live_server, "sample-javascript")
    run_client(live_server, [node_command(), str(JAVASCRIPT_CLIENT)], api_key)


def test_sample_clients_rerun_against_a_tenant_that_already_knows_their_queries(
    live_server: LiveServer,
) -> None:
    # Later runs find some hashes already registered and earlier runs' entities in place;
    # both clients must still pass, in either order.
    api_key = new_tenant_key(live_server, "sample-rerun")
    run_client(live_server, [sys.executable, str(PYTHON_CLIENT)], api_key)
    run_client(live_server, [node_command(), str(JAVASCRIPT_CLIENT)], api_key)
    run_client(live_server, [sys.executable, str(PYTHON_CLIENT)], api_key)
