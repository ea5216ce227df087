"""An acknowledged ingest survives the server being killed (SIGKILL) mid-stream.

The real server runs as a subprocess (`intelgraph serve`), a thread streams small batches
into it, and the whole process group is killed while batches are in flight. After a restart
every batch that got a 2xx is fully there, no batch is half there, and the provenance chain
still verifies.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from intelgraph.bootstrap import start_services
from intelgraph.settings import Settings
from live_servers import free_port, serve_env, start_serve, stop_process

pytestmark = pytest.mark.integration

OPERATOR_KEY = "igo_crash_test_operator_key"
BATCH_SIZE = 10
ACKED_BEFORE_KILL = 12


@dataclass
class Server:
    """`intelgraph serve` in its own process group, so SIGKILL reaches its workers too."""

    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        self.process = start_serve(self.env, self.port, self.log)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None:
            stop_process(self.process, sig)


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp_path}/crash.db"
    else:
        database_url = request.getfixturevalue("postgres_url")
    running = Server(
        serve_env(database_url, tmp_path / "data", OPERATOR_KEY), tmp_path / "server.log"
    )
    try:
        yield running
    finally:
        running.kill()


def batch_lines(number: int) -> bytes:
    """Ten people whose labels carry a token unique to this batch, chained by relationships."""
    ids = [f"b{number:04d}-{n}" for n in range(BATCH_SIZE)]
    lines: list[dict[str, Any]] = [
        {
            "kind": "entity",
            "external_id": external_id,
            "type": "PERSON",
            "label": f"batch{number:04d} member {n}",
        }
        for n, external_id in enumerate(ids)
    ]
    lines += [
        {"kind": "relationship", "type": "CONNECTED_TO", "from": a, "to": b}
        for a, b in itertools.pairwise(ids)
    ]
    return b"\n".join(orjson.dumps(line) for line in lines)


@dataclass
class Stream:
    """Sends batch after batch until the server stops answering."""

    url: str
    key: str
    acknowledged: list[int] = field(default_factory=list)
    sent: int = 0
    failure: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}", "content-type": "application/x-ndjson"}
        with httpx.Client(base_url=self.url, timeout=10) as client:
            for number in range(10_000):
                self.sent = number + 1
                try:
                    response = client.post(
                        "/v1/ingest", content=batch_lines(number), headers=headers
                    )
                except httpx.TransportError:
                    break  # the server was killed while this batch was in flight
                except BaseException as exc:  # surfaced by the test
                    self.failure = exc
                    break
                if response.is_success:
                    self.acknowledged.append(number)
                else:
                    self.failure = AssertionError(f"batch {number}: {response.text}")
                    break
        self.done.set()


def create_tenant(url: str) -> tuple[str, str]:
    response = httpx.post(
        f"{url}/v1/admin/tenants",
        json={"name": "Crash Test", "slug": f"crash-{os.getpid()}-{time.monotonic_ns() % 10**8}"},
        headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["tenant"]["id"], body["apiKey"]


def members_of_batch(client: httpx.Client, key: str, number: int) -> int:
    response = client.post(
        "/graphql",
        json={
            "query": "query($q: String!) { searchEntities(q: $q, limit: 50) { total } }",
            "variables": {"q": f"batch{number:04d}"},
        },
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.text
    total: int = response.json()["data"]["searchEntities"]["total"]
    return total


def test_every_acknowledged_batch_survives_a_sigkill_mid_stream(server: Server) -> None:
    server.start()
    tenant_id, key = create_tenant(server.url)
    stream = Stream(server.url, key)
    sender = threading.Thread(target=stream.run, daemon=True)
    sender.start()

    deadline = time.monotonic() + 30
    while len(stream.acknowledged) < ACKED_BEFORE_KILL and not stream.done.is_set():
        assert time.monotonic() < deadline, "the server acknowledged too few batches"
        time.sleep(0.005)
    server.kill(signal.SIGKILL)
    sender.join(timeout=15)

    assert stream.failure is None, stream.failure
    assert len(stream.acknowledged) >= ACKED_BEFORE_KILL
    assert stream.acknowledged == list(range(len(stream.acknowledged)))

    server.start()
    with httpx.Client(base_url=server.url, timeout=10) as client:
        present = {n: members_of_batch(client, key, n) for n in range(stream.sent)}

    for number in stream.acknowledged:
        assert present[number] == BATCH_SIZE, f"acknowledged batch {number} is incomplete"
    assert set(present.values()) <= {0, BATCH_SIZE}, f"a batch is half stored: {present}"
    stored_batches = sum(1 for count in present.values() if count == BATCH_SIZE)

    settings = Settings(
        database_url=server.env["INTELGRAPH_DATABASE_URL"],
        data_dir=Path(server.env["INTELGRAPH_DATA_DIR"]),
        operator_key=OPERATOR_KEY,
        run_background_jobs=False,
    )
    services = start_services(settings)
    try:
        counts = services.graph.counts(tenant_id)
        report = services.graph.verify_provenance(tenant_id)
    finally:
        services.engine.dispose()
    assert counts == {
        "entities": stored_batches * BATCH_SIZE,
        "relationships": stored_batches * (BATCH_SIZE - 1),
    }
    assert report.is_intact, report
    assert report.links == stored_batches

    # The restarted server keeps taking writes on the same chain.
    after = httpx.post(
        f"{server.url}/v1/ingest",
        content=batch_lines(9_999),
        headers={"Authorization": f"Bearer {key}", "content-type": "application/x-ndjson"},
        timeout=10,
    )
    assert after.status_code == 200, after.text
