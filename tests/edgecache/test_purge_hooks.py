"""Purge hooks: each purge is POSTed as JSON to the configured URLs (a CDN in front)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from conftest import Harness, person
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.settings import Settings


class FakeCdn:
    """An HTTP server that records the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/purge"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def cdn() -> Iterator[FakeCdn]:
    server = FakeCdn()
    yield server
    server.close()


def test_each_purge_is_posted_to_the_hooks(database_url: str, tmp_path: Path, cdn: FakeCdn) -> None:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        operator_key="igo_test_operator_key",
        run_background_jobs=False,
        cache_purge_hooks=f"{cdn.url}, ",
    )
    services = start_services(settings)
    with TestClient(create_app(services=services)) as client:
        harness = Harness(client, services, {"Authorization": "Bearer igo_test_operator_key"})
        tenant = harness.new_tenant()
        ada = harness.ingest(tenant.admin_key, [person("ada", "Ada")]).json()["ids"]["ada"]
        services.graph.recompute_pagerank(tenant.id)
        assert services.edge_cache.hooks.flush()
    assert {
        "tenantId": tenant.id,
        "trigger": "ingest",
        "entityIds": [ada],
        "operationId": None,
        "varsHash": None,
    } in cdn.received
    assert {
        "tenantId": tenant.id,
        "trigger": "analytics",
        "entityIds": [],
        "operationId": "pagerankTop:v1",
        "varsHash": "*",
    } in cdn.received
