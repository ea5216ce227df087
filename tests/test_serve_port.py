"""`intelgraph serve` refuses a port that is already taken, naming it, instead of sharing it.

granian binds its workers with SO_REUSEPORT: without the check a second server on the same
port started cleanly and took a share of the first one's connections (two servers on two
databases: 5 of 6 requests got 401).
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from intelgraph.cli.serve import hold_listen_address
from intelgraph.kernel.errors import IntelGraphError
from live_servers import INTELGRAPH, free_port, serve_env, start_serve, stop_process, tail

REFUSAL_SECONDS = 60.0  # a bound for a refusal that takes well under a second


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return serve_env(f"sqlite:///{tmp_path}/intelgraph.db", tmp_path / "data", "igo_test_key")


@pytest.fixture
def first_server(env: dict[str, str], tmp_path: Path) -> Iterator[int]:
    port = free_port()
    process = start_serve(env, port, tmp_path / "first.log")
    try:
        yield port
    finally:
        stop_process(process)


def serve_until_exit(env: dict[str, str], port: int, log: Path) -> int:
    """Run `intelgraph serve --port port` to its end; fail the test if it keeps serving."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(INTELGRAPH), "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        return process.wait(timeout=REFUSAL_SECONDS)
    except subprocess.TimeoutExpired:
        stop_process(process)
        pytest.fail(f"a second server started on the taken port {port}:\n{tail(log)}")


def test_a_second_server_on_a_taken_port_refuses_to_start_naming_it(
    env: dict[str, str], first_server: int, tmp_path: Path
) -> None:
    log = tmp_path / "second.log"

    code = serve_until_exit(env, first_server, log)

    assert code != 0
    said = tail(log)
    assert f"127.0.0.1:{first_server}" in said and "PORT_IN_USE" in said, said
    assert "Traceback" not in said
    assert httpx.get(f"http://127.0.0.1:{first_server}/readyz", timeout=10).status_code == 200


def test_a_port_held_by_any_other_listener_is_refused() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(IntelGraphError) as refused:
            hold_listen_address("127.0.0.1", port)
    assert refused.value.code == "PORT_IN_USE"
    assert refused.value.details == {"host": "127.0.0.1", "port": port}
    assert f"127.0.0.1:{port}" in refused.value.message and "--port" in refused.value.message


def test_the_held_port_admits_the_servers_own_listeners_but_no_second_check() -> None:
    port = free_port()
    guard = hold_listen_address("127.0.0.1", port)
    try:
        with pytest.raises(IntelGraphError):  # before any worker listens, too
            hold_listen_address("127.0.0.1", port)
        with socket.socket() as worker:  # what each granian worker binds
            worker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            worker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            worker.bind(("127.0.0.1", port))
            worker.listen()
    finally:
        guard.close()
    hold_listen_address("127.0.0.1", port).close()  # released with the server
