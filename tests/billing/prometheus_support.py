"""A real Prometheus server for tests: Debian's `prometheus` on a free loopback port.

Either it scrapes live targets (a temp config, 1 s interval) or it serves samples written
beforehand with `promtool tsdb create-blocks-from openmetrics` (backfill), so tests know the
exact samples behind every answer. `make test` installs the package (scripts/ensure-services.sh).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from live_servers import free_port, start_process, stop_process


def require(binary: str) -> str:
    found = shutil.which(binary)
    if found is None:
        pytest.fail(f"{binary} is not on PATH; run `make services` (installs Debian's prometheus)")
    return found


@dataclass
class PrometheusServer:
    """A running `prometheus` process and how to ask it things."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def query(self, promql: str, at: float | None = None) -> Any:
        params = {"query": promql} | ({"time": f"{at:.3f}"} if at is not None else {})
        body = httpx.get(f"{self.url}/api/v1/query", params=params, timeout=10).json()
        assert body["status"] == "success", body
        return body["data"]["result"]

    def stop(self) -> None:
        stop_process(self.process)


def start_prometheus(workdir: Path, scrape_targets: Iterable[str] = ()) -> PrometheusServer:
    """Start Prometheus with storage in ``workdir/tsdb`` scraping ``scrape_targets`` every
    second; existing blocks there (a backfill) are served, however old."""
    binary = require("prometheus")
    targets = ", ".join(f'"{target}"' for target in scrape_targets)
    config = workdir / "prometheus.yml"
    scrape = (
        "scrape_configs:\n  - job_name: intelgraph\n    metrics_path: /metrics\n"
        f"    static_configs:\n      - targets: [{targets}]\n"
        if targets
        else "scrape_configs: []\n"
    )
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n" + scrape, encoding="utf-8"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "prometheus.log"
    process = start_process(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        log,
        f"{url}/-/ready",
    )
    return PrometheusServer(process, url, log)


def backfill(workdir: Path, openmetrics: str) -> None:
    """Write ``openmetrics`` (text with timestamps, ending in `# EOF`) as TSDB blocks into
    ``workdir/tsdb`` for a server started afterwards."""
    source = workdir / "backfill.om"
    source.write_text(openmetrics, encoding="utf-8")
    done = subprocess.run(
        [
            require("promtool"),
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            str(source),
            str(workdir / "tsdb"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
