"""What the bench scripts share: a real server subprocess, scratch databases, tenants,
generated records and percentiles.

Benchmarks print figures and never fail on time; this module only sets the stage.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get(
    "INTELGRAPH_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
)
OPERATOR_KEY = "igo_bench_operator_key_" + "x" * 24
NDJSON_HEADERS = {"content-type": "application/x-ndjson"}
BACKENDS = ("sqlite", "postgresql")


# --- output -------------------------------------------------------------------------------


def print_header(title: str, **facts: object) -> None:
    """The banner every bench prints: what runs, on how many cores, with which Python."""
    print("=" * 78)
    print(title)
    print(
        f"cores (os.cpu_count()): {os.cpu_count()}   python {platform.python_version()}   "
        f"{platform.machine()}"
    )
    print(f"machine load: {machine_load()}")
    for name, value in facts.items():
        print(f"{name}: {value}")
    print("=" * 78, flush=True)


def machine_load() -> str:
    """Load average and CPU pressure: other work on the machine inflates wall times."""
    parts = []
    with contextlib.suppress(OSError):
        parts.append("loadavg " + " ".join(Path("/proc/loadavg").read_text().split()[:3]))
    with contextlib.suppress(OSError, IndexError):
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0].split()
        share = some[1].removeprefix("avg10=")
        parts.append(f"CPU pressure avg10 {share}% (time tasks waited for a core)")
    return ", ".join(parts) or "unknown"


@dataclass
class Stopwatch:
    """Wall and CPU (this process) seconds of a block; CPU time shows the work itself when
    other processes compete for the cores."""

    wall: float = 0.0
    cpu: float = 0.0

    @contextlib.contextmanager
    def running(self) -> Iterator[Stopwatch]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield self
        finally:
            self.wall += time.perf_counter() - wall
            self.cpu += time.process_time() - cpu


T = TypeVar("T")


async def send_on_schedule(
    items: Sequence[T], rate: float, start: float, queue: asyncio.Queue[tuple[T, float] | None]
) -> tuple[int, float]:
    """Open loop: put item n on ``queue`` at loop time ``start + n / rate`` with that time.

    Lanes take ``(item, scheduled)`` and measure latency from ``scheduled``, so a stalled
    server cannot slow the sender down and hide its own stalls (coordinated omission).
    Returns (items sent, the most the sender itself fell behind schedule, in seconds).
    """
    loop = asyncio.get_running_loop()
    max_lag = 0.0
    for n, item in enumerate(items):
        scheduled = start + n / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            max_lag = max(max_lag, -delay)
        queue.put_nowait((item, scheduled))
    return len(items), max_lag


def lane_client(base_url: str, headers: dict[str, str], timeout: float = 10.0) -> httpx.AsyncClient:
    """One keep-alive connection: each lane of a loop gets its own client, so httpx's pool
    never queues (its bookkeeping grows with queued requests and would load the client)."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers=headers,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        timeout=timeout,
    )


def percentiles(values: Sequence[float], points: Sequence[float] = (50, 95, 99)) -> list[float]:
    """Nearest-rank percentiles of ``values`` (nan for an empty sample)."""
    if not values:
        return [math.nan for _ in points]
    ordered = sorted(values)
    n = len(ordered)
    return [ordered[max(0, min(n - 1, math.ceil(p / 100 * n) - 1))] for p in points]


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def latency_line(label: str, seconds: Sequence[float]) -> str:
    p50, p95, p99 = percentiles(seconds)
    top = max(seconds) if seconds else math.nan
    return (
        f"{label}: n={len(seconds)} p50={p50 * 1e3:.2f} ms p95={p95 * 1e3:.2f} ms "
        f"p99={p99 * 1e3:.2f} ms max={top * 1e3:.2f} ms"
    )


# --- databases ------------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"intelgraph-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def scratch_database(backend: str, workdir: Path) -> Iterator[str]:
    """A SQLAlchemy URL for an empty database: a SQLite file in ``workdir`` or a fresh
    PostgreSQL database (dropped on exit)."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir}/bench.db"
        return
    if backend != "postgresql":
        raise ValueError(f"unknown backend {backend!r}")
    import psycopg

    name = f"intelgraph_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as exc:
        return str(exc).strip().splitlines()[0]


def database_backend_pids(database_url: str) -> list[int]:
    """PostgreSQL server processes serving ``database_url``'s database (its own CPU is in
    no client process); [] for SQLite or when they cannot be listed."""
    if not database_url.startswith("postgresql"):
        return []
    import psycopg

    name = database_url.rsplit("/", 1)[1].split("?", 1)[0]
    with contextlib.suppress(Exception), psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as c:
        rows = c.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
        return [int(row[0]) for row in rows]
    return []


class DatabaseCpu:
    """CPU seconds the PostgreSQL backends of a database used between start() and stop()
    (backends that appear meanwhile count whole); 0 on SQLite, which runs in process."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._start: dict[int, float] = {}
        self.seconds = 0.0

    def start(self) -> None:
        pids = database_backend_pids(self.database_url)
        self._start = {pid: cpu_seconds([pid]) for pid in pids}

    def stop(self) -> float:
        pids = set(database_backend_pids(self.database_url)) | set(self._start)
        used = (cpu_seconds([pid]) - self._start.get(pid, 0.0) for pid in pids)
        self.seconds = sum(max(seconds, 0.0) for seconds in used)  # an exited backend: 0
        return self.seconds


# --- server subprocess ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """``intelgraph serve`` in a subprocess on a free port; stop() sends SIGTERM."""

    database_url: str
    data_dir: Path
    workers: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    how: str = ""
    _log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "INTELGRAPH_DATABASE_URL": self.database_url,
                "INTELGRAPH_DATA_DIR": str(self.data_dir),
                "INTELGRAPH_OPERATOR_KEY": OPERATOR_KEY,
                "INTELGRAPH_RUN_BACKGROUND_JOBS": "false",
                "INTELGRAPH_LOG_LEVEL": "WARNING",
                "INTELGRAPH_HOST": "127.0.0.1",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60.0) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        serve = [
            str(VENV_BIN / "intelgraph"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        error = self._launch(serve, timeout)
        if error is None:
            self.how = "intelgraph serve"
            return self
        if "ModuleNotFoundError" not in error and "ImportError" not in error:
            raise RuntimeError(f"`intelgraph serve` did not start:\n{error}")
        # The CLI module cannot import (a sibling module is being written); serve the same
        # app factory with granian's own CLI and the options `serve` passes.
        last = error.strip().splitlines()[-1]
        print(f"  NOTE: `intelgraph serve` failed to import ({last}); using granian CLI")
        self.port = free_port()
        granian = [
            str(VENV_BIN / "granian"),
            "--interface",
            "asgi",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-access-log",
            "--workers-kill-timeout",
            "30",
            "intelgraph.app:create_app_from_env",
        ]
        error = self._launch(granian, timeout)
        if error is not None:
            raise RuntimeError(f"granian did not start:\n{error}")
        self.how = "granian CLI (fallback)"
        return self

    def _launch(self, command: list[str], timeout: float) -> str | None:
        self._log_path = self.data_dir / f"server-{self.port}.log"
        log = self._log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return self.log_text()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return None
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        return f"not healthy after {timeout:.0f}s\n{self.log_text()}"

    def log_text(self) -> str:
        if self._log_path is None or not self._log_path.exists():
            return ""
        return self._log_path.read_text(errors="replace")[-4000:]

    def pids(self) -> list[int]:
        """The server's process and its worker children (for CPU accounting)."""
        if self.process is None:
            return []
        found = [self.process.pid]
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            found += [int(p) for p in children.read_text().split()]
        return found

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def cpu_seconds(pids: Sequence[int]) -> float:
    """user+system CPU seconds used so far by these processes (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def create_tenant(base_url: str, slug: str | None = None, plan: str = "enterprise") -> str:
    """Create a tenant through POST /v1/admin/tenants with the operator key; its API key."""
    slug = slug or f"bench-{secrets.token_hex(3)}"
    response = httpx.post(
        f"{base_url}/v1/admin/tenants",
        json={"name": f"Bench {slug}", "slug": slug, "plan": plan},
        headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
        timeout=30,
    )
    response.raise_for_status()
    key: str = response.json()["apiKey"]
    # Benchmarks measure the service, not the plan: lift the rate limits (quotas stay on).
    for limit in ("api_rpm", "ingest_eps"):
        httpx.post(
            f"{base_url}/v1/admin/tenants/{slug}/overrides",
            json={"limit": limit, "value": 10**9, "reason": "benchmark tenant"},
            headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
            timeout=30,
        ).raise_for_status()
    return key


def bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


# --- in-process services ------------------------------------------------------------------


def in_process(database_url: str, data_dir: Path) -> Any:
    """``start_services`` for a database (no background jobs), as the composition root does."""
    from intelgraph.bootstrap import start_services
    from intelgraph.settings import Settings

    return start_services(
        Settings(
            database_url=database_url,
            data_dir=data_dir,
            operator_key=OPERATOR_KEY,
            run_background_jobs=False,
        )
    )


def tenant_principal(services: Any, slug: str | None = None) -> Any:
    """A new tenant and an admin principal for it (what its API key would authenticate as)."""
    from intelgraph.kernel.tenancy import Principal, Role, local_operator

    tenant, issued = services.tenants.create_tenant(
        local_operator("bench"),
        name="Bench",
        slug=slug or f"bench-{secrets.token_hex(3)}",
        plan="enterprise",
    )
    return Principal(
        tenant_id=tenant.id, key_id=issued.key.id, name="bench", roles=(Role.ADMIN.value,)
    )


# --- generated records ----------------------------------------------------------------------

_GIVEN = ("Ada", "Alan", "Grace", "Linus", "Barbara", "Edsger", "Zoë", "Søren", "José", "Renée")
_SURNAMES = ("Lovelace", "Turing", "Hopper", "Liskov", "Dijkstra", "Müller", "García", "Nowak")
_CITIES = ("London", "Paris", "Berlin", "Madrid", "Lisbon", "Warsaw", "Zürich", "Oslo")


def _fallback_entity_lines(n: int, seed: int, start: int = 0) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed * 1_000_003 + start)
    for i in range(start, start + n):
        given, surname = rng.choice(_GIVEN), rng.choice(_SURNAMES)
        yield {
            "kind": "entity",
            "external_id": f"person-{seed}-{i}",
            "type": "PERSON",
            "label": f"{given} {surname}",
            "attributes": {
                "given_name": given,
                "surname": surname,
                "dob": f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-15",
                "email": f"{given.lower()}.{surname.lower()}{i}@example.org",
                "city": rng.choice(_CITIES),
                "country": "GB",
            },
            "source": "bench",
            "confidence": 0.9,
        }


def entity_lines(n: int, seed: int = 7, start: int = 0) -> Iterator[dict[str, Any]]:
    """PERSON ingest dicts, from ``intelgraph.demo.records.bulk_entity_lines`` when present."""
    generator = _records_function("bulk_entity_lines")
    if generator is not None:
        return iter(generator(n, seed, start=start))
    return _fallback_entity_lines(n, seed, start)


def graph_edges(n_nodes: int, n_edges: int, seed: int = 7) -> list[tuple[int, int]]:
    """``n_edges`` distinct directed (from, to) node-index pairs without self-loops, with
    power-law degrees: ``intelgraph.demo.records.random_graph_edges`` when present (its
    repeats and loops dropped, topped up from further draws), else igraph's static
    power-law model."""
    generator = _records_function("random_graph_edges")
    if generator is None:
        import igraph

        state = random.getstate()
        random.seed(seed)  # igraph draws from Python's `random` by default
        try:
            graph = igraph.Graph.Static_Power_Law(
                n_nodes, n_edges, exponent_out=2.3, exponent_in=2.3, loops=False, multiple=False
            )
        finally:
            random.setstate(state)
        return graph.get_edgelist()
    chosen: dict[tuple[int, int], None] = {}
    draw, attempt = n_edges + n_edges // 10, 0
    while len(chosen) < n_edges and attempt < 8:
        for a, b in generator(n_nodes, draw, seed + 7919 * attempt):
            if a != b:
                chosen[(a, b)] = None
        draw = max(1000, 2 * (n_edges - len(chosen)))
        attempt += 1
    return list(chosen)[:n_edges]


def generator_source() -> str:
    """Where the generated records come from (printed in the headers)."""
    names = [n for n in ("bulk_entity_lines", "random_graph_edges") if _records_function(n)]
    if names:
        return f"intelgraph.demo.records ({', '.join(names)})"
    return "bench/harness.py fallbacks (intelgraph.demo.records not importable)"


def _records_function(name: str) -> Any:
    try:
        from intelgraph.demo import records
    except Exception:
        return None
    return getattr(records, name, None)


def ndjson(lines: Sequence[dict[str, Any]]) -> bytes:
    return b"\n".join(orjson.dumps(line) for line in lines) + b"\n"


def ndjson_batches(n_batches: int, batch_size: int, seed: int = 7) -> list[bytes]:
    """``n_batches`` NDJSON bodies of ``batch_size`` distinct PERSON entities."""
    return [
        ndjson(list(entity_lines(batch_size, seed, start=b * batch_size))) for b in range(n_batches)
    ]
