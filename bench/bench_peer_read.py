"""The read path beside its peer: `entity(id) { id label type }` against PostGraphile 4 and
a minimal Python floor, on the same database, in interleaved rounds.

PostgreSQL: one scratch database holds N PERSON entities (100,000; ``--quick`` 10,000),
loaded through the service's own ingest (``POST /v1/ingest``, 1,000-line batches). On it run
- IntelGraph: ``intelgraph serve``, one worker, ``POST /graphql`` ``entity(id)`` with the
  tenant's API key (authentication, quotas and metering on: the normal server);
- PostGraphile 4 (npm ``postgraphile``, installed by this script with ``npm ci`` into
  bench/peers/postgraphile/, not part of ``make run``), schema ``public``, default mutations
  off, its primary-key accessor of ``entities`` (found by introspection, e.g.
  ``entityByTenantIdAndEntityId``) aliased to the same answer shape;
- the floor: a Starlette app served by granian doing the same primary-key SELECT with
  psycopg 3 (bench/peers/read_floor.py);
- IntelGraph ``GET /healthz`` (the cost of HTTP and the gateway without GraphQL or data).
SQLite: IntelGraph on a SQLite file against the same floor reading it with sqlite3.

Each round runs every target in turn (A B C D A B C D …, ``--rounds``, at least 3): a closed
loop (a few keep-alive connections, each sending its next request when the last answered,
for fixed seconds) gives requests/s, the server's CPU per request (user+system of its
processes from /proc/PID/stat) and the PostgreSQL backends' CPU per request; then an open
loop at a fixed 200 requests/s (latency from the scheduled send, so stalls show) gives
p50/p95/p99. Before the rounds every target is warmed by one unrecorded closed loop (Node's
JIT, caches, pools). On PostgreSQL, transactions per request come from ``pg_stat_database``
deltas of xact_commit + xact_rollback over a separate probe of sequential requests per
target (a PostgreSQL 15 backend that reported less than a second ago reports again only
when next idle for 10 s, so the probe waits 10.5 s after each burst). The load generator
speaks HTTP/1.1 on raw asyncio streams: httpx would cost more client CPU than the servers use.
Figures are medians over rounds; the ratios IntelGraph/PostGraphile and IntelGraph/floor are
what counts on a shared, noisy machine.

Targets (issue 13): CPU per request <= PostGraphile's and p95 at 200 rps <= PostGraphile's
on PostgreSQL; on SQLite, CPU per request and p95 <= 1.5x the floor. Prints figures; never
fails on time.

Run: ``.venv/bin/python bench/bench_peer_read.py [--quick] [--backend postgresql|sqlite]``
(needs PostgreSQL at INTELGRAPH_BENCH_PG for the PostgreSQL part, Node 20 + npm and the npm
registry for PostGraphile; without them those parts are skipped with the reason).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import random
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from bench_entity_load import load_entities
from harness import (
    PG_ADMIN_URL,
    REPO,
    VENV_BIN,
    DatabaseCpu,
    Server,
    bearer,
    cpu_seconds,
    create_tenant,
    free_port,
    generator_source,
    percentiles,
    postgres_available,
    print_header,
    scratch_database,
    scratch_dir,
    send_on_schedule,
)

PEERS = REPO / "bench" / "peers"
POSTGRAPHILE_DIR = PEERS / "postgraphile"
ENTITY_QUERY = "query Entity($id: ID!) { entity(id: $id) { id label type } }"
TARGET_SQLITE_RATIO = 1.5
PROBE_REQUESTS = 200
STATS_IDLE_FLUSH = 10.5  # PGSTAT_IDLE_INTERVAL (10 s) and a margin


# --- the servers -----------------------------------------------------------------------------


@dataclass
class PeerServer(Server):
    """A non-IntelGraph server (PostGraphile, the floor) run and stopped like ``Server``:
    ``command`` with ``{port}`` filled in, ready when its /healthz answers 200."""

    command: list[str] = field(default_factory=list)
    name: str = "peer"

    def start(self, timeout: float = 90.0) -> PeerServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.extra_env = self.extra_env | {"PEER_PORT": str(self.port)}
        error = self._launch([part.format(port=self.port) for part in self.command], timeout)
        if error is not None:
            raise RuntimeError(f"{self.name} did not start:\n{error}")
        self.how = self.name
        return self


def ensure_postgraphile() -> str | None:
    """``npm ci`` in bench/peers/postgraphile when node_modules is missing or older than the
    lock; None when PostGraphile is ready, else why not."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node/npm not installed"
    lock = POSTGRAPHILE_DIR / "package-lock.json"
    stamp = POSTGRAPHILE_DIR / "node_modules" / ".installed"
    if stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return None
    print("  installing PostGraphile: npm ci in bench/peers/postgraphile", flush=True)
    completed = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=POSTGRAPHILE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        return f"npm ci failed: {(completed.stderr or completed.stdout).strip()[-400:]}"
    stamp.touch()
    return None


def postgraphile_server(libpq_url: str, data_dir: Path) -> PeerServer:
    return PeerServer(
        database_url=libpq_url,
        data_dir=data_dir,
        name="PostGraphile 4",
        command=["node", str(POSTGRAPHILE_DIR / "serve.js")],
        extra_env={
            "PEER_DATABASE_URL": libpq_url,
            "PEER_HOST": "127.0.0.1",
            "NODE_ENV": "production",
        },
    )


def floor_server(database_url: str, tenant_id: str, data_dir: Path, name: str) -> PeerServer:
    return PeerServer(
        database_url=database_url,
        data_dir=data_dir,
        name=name,
        command=[
            str(VENV_BIN / "granian"),
            "--interface",
            "asgi",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            "--workers",
            "1",
            "--no-access-log",
            "read_floor:create_app",
        ],
        extra_env={
            "FLOOR_DATABASE_URL": database_url,
            "FLOOR_TENANT_ID": tenant_id,
            "PYTHONPATH": str(PEERS),
        },
    )


def postgraphile_accessor(url: str) -> str:
    """The query field PostGraphile generated for the primary key of ``entities``: the one
    whose arguments are exactly tenantId and entityId (introspected, not guessed)."""
    query = "{ __schema { queryType { fields { name args { name } } } } }"
    response = httpx.post(f"{url}/graphql", json={"query": query}, timeout=60)
    response.raise_for_status()
    fields = response.json()["data"]["__schema"]["queryType"]["fields"]
    for candidate in fields:
        arguments = sorted(a["name"] for a in candidate["args"])
        if arguments == ["entityId", "tenantId"] and candidate["name"].startswith("entity"):
            return str(candidate["name"])
    names = ", ".join(f["name"] for f in fields if f["name"].startswith("entit"))
    raise RuntimeError(f"no primary-key accessor of entities among: {names}")


# --- the load generator ------------------------------------------------------------------------


@dataclass
class Target:
    """One thing to measure: a server and the request that reads one entity from it."""

    name: str
    server: Server
    method: str
    path: str
    headers: dict[str, str]
    body_for: Callable[[str], bytes] | None  # None: no body (GET /healthz)
    expects_entity: bool
    database_url: str = ""


class RawLane:
    """One keep-alive HTTP/1.1 connection: writes a prepared request, reads a Content-Length
    or chunked answer. Returns None for a good answer, else a short error kind."""

    def __init__(self, target: Target) -> None:
        host, port = target.server.url.removeprefix("http://").rsplit(":", 1)
        self.address, self.target = (host, int(port)), target
        lines = [f"{target.method} {target.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in target.headers.items()]
        self.head = ("\r\n".join(lines) + "\r\n").encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def request(self, entity_id: str) -> bytes:
        if self.target.body_for is None:
            return self.head + b"\r\n"
        body = self.target.body_for(entity_id)
        return self.head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body

    async def send(self, request: bytes) -> str | None:
        try:
            if self.reader is None or self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(*self.address)
            self.writer.write(request)
            head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 10.0)
            status_line, *header_lines = head.split(b"\r\n")
            headers = {
                h.split(b":", 1)[0].strip().lower(): h.split(b":", 1)[1].strip()
                for h in header_lines
                if b":" in h
            }
            if b"content-length" in headers:
                payload = await self.reader.readexactly(int(headers[b"content-length"]))
            elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
                payload = await self._chunked()
            else:
                await self.close()
                return "unframed answer"
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            await self.close()
            return type(exc).__name__
        status = int(status_line.split(b" ", 2)[1])
        if status != 200:
            return f"http {status}"
        if self.target.expects_entity:
            data = orjson.loads(payload)
            if data.get("errors") or not (data.get("data") or {}).get("entity"):
                return "graphql error"
        return None

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await self.reader.readexactly(size + 2)
            if size == 0:
                return b"".join(parts)
            parts.append(chunk[:-2])

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Figures:
    """One target in one round."""

    rps: float = 0.0
    cpu_ms: float = 0.0  # server processes, per request
    db_cpu_ms: float = 0.0  # PostgreSQL backends, per request
    p50: float = float("nan")
    p95: float = float("nan")
    p99: float = float("nan")
    errors: dict[str, int] = field(default_factory=dict)


def xact_count(database_url: str) -> int | None:
    """pg_stat_database xact_commit + xact_rollback of the database (read from the admin
    database): SQLAlchemy ends a read-only connection with ROLLBACK, still one transaction."""
    if not database_url.startswith("postgresql"):
        return None
    import psycopg

    name = database_url.rsplit("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        row = admin.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            (name,),
        ).fetchone()
    return None if row is None else int(row[0])


def settled_xact_count(database_url: str) -> int:
    """xact_count once every backend has reported what it did (STATS_IDLE_FLUSH after the
    last request)."""
    time.sleep(STATS_IDLE_FLUSH)
    return xact_count(database_url) or 0


async def sequential(target: Target, ids: list[str], count: int) -> int:
    """``count`` requests one after another on one connection: the good answers."""
    raw = RawLane(target)
    try:
        problems = [await raw.send(raw.request(ids[n % len(ids)])) for n in range(count)]
    finally:
        await raw.close()
    return sum(problem is None for problem in problems)


def transactions_per_request(targets: list[Target], ids: list[str]) -> dict[str, float]:
    """Transactions (committed or rolled back) per request of each target over
    PROBE_REQUESTS sequential requests (PostgreSQL only); what a server commits later on
    their behalf (a flushed buffer) counts. Targets reading no entity (/healthz) are skipped.
    """
    probed = [t for t in targets if t.expects_entity and t.database_url.startswith("postgres")]
    if not probed:
        return {}
    print(f"  probing transactions per request (waits {STATS_IDLE_FLUSH:g} s per target)")
    found = {}
    start = settled_xact_count(probed[0].database_url)
    before = settled_xact_count(probed[0].database_url)
    idle = before - start  # autovacuum and the like, in a window without requests
    print(f"    idle database: {idle} transactions per window (subtracted below)")
    for target in probed:
        ok = asyncio.run(sequential(target, ids, PROBE_REQUESTS))
        after = settled_xact_count(target.database_url)
        found[target.name] = (after - before - idle) / max(1, ok)
        before = after
    return found


async def closed_loop(
    target: Target, ids: list[str], connections: int, seconds: float, seed: int
) -> tuple[int, float, dict[str, int]]:
    """``connections`` lanes back to back for ``seconds``: (good answers, wall, errors)."""
    lanes = [RawLane(target) for _ in range(connections)]
    errors: dict[str, int] = {}
    ok = 0
    loop = asyncio.get_running_loop()
    deadline = 0.0

    async def lane(raw: RawLane, lane_seed: int) -> None:
        nonlocal ok
        rng = random.Random(lane_seed)
        while loop.time() < deadline:
            problem = await raw.send(raw.request(rng.choice(ids)))
            if problem:
                errors[problem] = errors.get(problem, 0) + 1
            else:
                ok += 1

    try:
        for raw in lanes:  # connect and warm before the clock starts
            await raw.send(raw.request(ids[0]))
        start = loop.time()
        deadline = start + seconds
        await asyncio.gather(*(lane(raw, seed * 100 + n) for n, raw in enumerate(lanes)))
        return ok, loop.time() - start, errors
    finally:
        for raw in lanes:
            await raw.close()


async def open_loop(
    target: Target, ids: list[str], rate: float, seconds: float, lanes: int, seed: int
) -> tuple[list[float], dict[str, int]]:
    """One request every 1/rate s, served by ``lanes`` connections; latency from schedule."""
    rng = random.Random(seed)
    connections = [RawLane(target) for _ in range(lanes)]
    requests = [connections[0].request(rng.choice(ids)) for _ in range(int(rate * seconds))]
    queue: asyncio.Queue[tuple[bytes, float] | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors: dict[str, int] = {}

    async def lane(raw: RawLane) -> None:
        while (item := await queue.get()) is not None:
            request, scheduled = item
            problem = await raw.send(request)
            if problem:
                errors[problem] = errors.get(problem, 0) + 1
            else:
                latencies.append(loop.time() - scheduled)

    try:
        for raw in connections:
            await raw.send(raw.request(ids[0]))
        workers = [asyncio.create_task(lane(raw)) for raw in connections]
        gc.collect()
        gc.freeze()  # the generator's own collector must not stall the schedule
        await send_on_schedule(requests, rate, loop.time() + 0.05, queue)
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers)
        return latencies, errors
    finally:
        gc.unfreeze()
        for raw in connections:
            await raw.close()


def measure(target: Target, ids: list[str], args: argparse.Namespace, seed: int) -> Figures:
    """Closed loop (throughput, CPU, transactions), then the open loop (latency)."""
    figures = Figures()
    database = DatabaseCpu(target.database_url)
    database.start()
    cpu0 = cpu_seconds(target.server.pids())
    ok, wall, errors = asyncio.run(closed_loop(target, ids, args.connections, args.seconds, seed))
    server_cpu = cpu_seconds(target.server.pids()) - cpu0
    database_cpu = database.stop()
    figures.rps = ok / wall
    figures.cpu_ms = server_cpu / max(1, ok) * 1e3
    figures.db_cpu_ms = database_cpu / max(1, ok) * 1e3
    figures.errors = errors
    latencies, open_errors = asyncio.run(
        open_loop(target, ids, args.rate, args.latency_seconds, args.lanes, seed)
    )
    figures.p50, figures.p95, figures.p99 = percentiles(latencies)
    for kind, count in open_errors.items():
        figures.errors[kind] = figures.errors.get(kind, 0) + count
    return figures


# --- rounds and the report ---------------------------------------------------------------------


def run_rounds(
    targets: list[Target], ids: list[str], args: argparse.Namespace
) -> tuple[dict[str, list[Figures]], dict[str, float]]:
    """Warm every target, probe its transactions per request, then the rounds."""
    for target in targets:  # Node's JIT needs a few seconds
        asyncio.run(closed_loop(target, ids, args.connections, max(3.0, args.seconds), seed=99))
    transactions = transactions_per_request(targets, ids)
    if transactions:
        print(
            f"  transactions per request ({PROBE_REQUESTS} sequential requests, "
            "pg_stat_database xact_commit + xact_rollback): "
            + ", ".join(f"{name} {value:.2f}" for name, value in transactions.items()),
            flush=True,
        )
    results: dict[str, list[Figures]] = {t.name: [] for t in targets}
    for round_number in range(args.rounds):
        print(f"  round {round_number + 1}/{args.rounds}:", flush=True)
        for target in targets:
            figures = measure(target, ids, args, seed=round_number)
            results[target.name].append(figures)
            errors = sum(figures.errors.values())
            print(
                f"    {target.name:<28} {figures.rps:7,.0f} rps  CPU {figures.cpu_ms:5.2f} ms/req"
                f" (+db {figures.db_cpu_ms:4.2f})  "
                f"p95 {figures.p95 * 1e3:6.2f} ms  errors {errors}"
                + (f" {figures.errors}" if errors else ""),
                flush=True,
            )
    return results, transactions


def median(values: list[float]) -> float:
    finite = [v for v in values if v == v]
    return statistics.median(finite) if finite else float("nan")


def report(
    results: dict[str, list[Figures]],
    transactions: dict[str, float],
    ours: str,
    peers: list[tuple[str, str, float | None]],
    rate: float,
) -> None:
    """The medians table, then ``ours`` against each (label, peer name, target ratio)."""
    print(
        f"\n  medians over rounds  {'':<14} {'rps':>7} {'CPU ms/req':>10} {'+db ms':>7} "
        f"{'xact/req':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6}"
    )
    for name, rounds in results.items():
        errors = sum(sum(f.errors.values()) for f in rounds)
        print(
            f"  {name:<35} {median([f.rps for f in rounds]):7,.0f} "
            f"{median([f.cpu_ms for f in rounds]):10.3f} "
            f"{median([f.db_cpu_ms for f in rounds]):7.3f} "
            f"{transactions.get(name, float('nan')):8.2f} "
            f"{median([f.p50 for f in rounds]) * 1e3:7.2f} "
            f"{median([f.p95 for f in rounds]) * 1e3:7.2f} "
            f"{median([f.p99 for f in rounds]) * 1e3:7.2f} {errors:6d}"
        )
    mine = results[ours]
    for label, peer, target_ratio in peers:
        theirs = results.get(peer)
        if not theirs:
            continue

        def ratio(get: Callable[[Figures], float], theirs: list[Figures] = theirs) -> float:
            per_round = [get(a) / get(b) for a, b in zip(mine, theirs, strict=True) if get(b)]
            return median(per_round)

        cpu = ratio(lambda f: f.cpu_ms)
        total = ratio(lambda f: f.cpu_ms + f.db_cpu_ms)
        p95 = ratio(lambda f: f.p95)
        rps = ratio(lambda f: f.rps)
        verdict = ""
        if target_ratio is not None:
            state = "met" if cpu <= target_ratio and p95 <= target_ratio else "MISSED"
            verdict = f"   target CPU and p95 <= {target_ratio:g}x: {state}"
        print(
            f"  IntelGraph / {label}: CPU per request {cpu:.2f}x (with database {total:.2f}x), "
            f"p95 at {rate:g} rps {p95:.2f}x, throughput {rps:.2f}x (medians of the "
            f"per-round ratios){verdict}"
        )


# --- the two backends ----------------------------------------------------------------------------


@contextlib.contextmanager
def loaded_intelgraph(
    backend: str, workdir: Path, n: int
) -> Iterator[tuple[str, Server, str, list[str]]]:
    """A scratch database with ``n`` entities loaded through IntelGraph's ingest, and the
    server on it: (database URL, server, tenant API key, entity ids)."""
    with (
        scratch_database(backend, workdir) as url,
        Server(url, workdir / "data", workers=1) as server,
    ):
        print(f"  IntelGraph: {server.how} at {server.url}, one worker")
        api_key = create_tenant(server.url)
        started = time.perf_counter()
        ids = load_entities(server, api_key, n)
        seconds = time.perf_counter() - started
        print(f"  loaded {len(ids):,} entities in {seconds:.1f} s through POST /v1/ingest")
        if backend == "postgresql":  # settled statistics; no autovacuum pass mid-measure
            import psycopg

            libpq_url = url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(libpq_url, autocommit=True) as connection:
                connection.execute("VACUUM ANALYZE")
        yield url, server, api_key, ids


def tenant_of(database_url: str, entity_id: str) -> str:
    """The tenant id of an entity, read straight from the table (the floor is given it)."""
    if database_url.startswith("sqlite:///"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as c:
            row = c.execute(
                "SELECT tenant_id FROM entities WHERE entity_id = ?", (entity_id,)
            ).fetchone()
    else:
        import psycopg

        with psycopg.connect(database_url) as c:
            row = c.execute(
                "SELECT tenant_id FROM entities WHERE entity_id = %s", (entity_id,)
            ).fetchone()
    if row is None:
        raise RuntimeError(f"entity {entity_id} is not in the table")
    return str(row[0])


def graphql_body(query: str) -> Callable[[str], bytes]:
    return lambda entity_id: orjson.dumps({"query": query, "variables": {"id": entity_id}})


def intelgraph_targets(server: Server, api_key: str, url: str) -> list[Target]:
    json_headers = {"Content-Type": "application/json"}
    return [
        Target(
            "IntelGraph entity(id)",
            server,
            "POST",
            "/graphql",
            bearer(api_key) | json_headers,
            graphql_body(ENTITY_QUERY),
            expects_entity=True,
            database_url=url,
        ),
        Target(
            "IntelGraph /healthz",
            server,
            "GET",
            "/healthz",
            {},
            None,
            expects_entity=False,
            database_url=url,
        ),
    ]


def floor_target(name: str, floor: Server, url: str) -> Target:
    return Target(
        name,
        floor,
        "POST",
        "/graphql",
        {"Content-Type": "application/json"},
        graphql_body(ENTITY_QUERY),
        expects_entity=True,
        database_url=url,
    )


def show_answers(targets: list[Target], entity_id: str) -> None:
    """One answer from each target, so the shapes can be compared by eye."""
    for target in targets:
        body = None if target.body_for is None else target.body_for(entity_id)
        response = httpx.request(
            target.method,
            target.server.url + target.path,
            headers=target.headers,
            content=body,
            timeout=30,
        )
        print(f"    {target.name:<28} {response.status_code} {response.text[:160]}")


def postgresql_part(args: argparse.Namespace) -> None:
    print(f"\n[PostgreSQL: {args.entities:,} entities, {args.rounds} interleaved rounds]")
    if why := postgres_available():
        print(f"  skipped: PostgreSQL not reachable ({why})")
        return
    postgraphile_missing = ensure_postgraphile()
    if postgraphile_missing:
        print(f"  PostGraphile skipped: {postgraphile_missing}")
    with (
        scratch_dir("peer-read-pg") as workdir,
        loaded_intelgraph("postgresql", workdir, args.entities) as (url, server, api_key, ids),
        contextlib.ExitStack() as stack,
    ):
        libpq_url = url.replace("postgresql+psycopg://", "postgresql://")
        tenant_id = tenant_of(libpq_url, ids[0])
        ours, healthz = intelgraph_targets(server, api_key, url)
        targets = [ours]
        if not postgraphile_missing:
            peer = stack.enter_context(postgraphile_server(libpq_url, workdir / "postgraphile"))
            accessor = postgraphile_accessor(peer.url)
            print(f"  PostGraphile 4 at {peer.url}; primary-key accessor: {accessor}")
            query = (
                f"query Entity($id: String!) {{ entity: {accessor}"
                f'(tenantId: "{tenant_id}", entityId: $id) {{ id: entityId label type }} }}'
            )
            targets.append(
                Target(
                    "PostGraphile 4",
                    peer,
                    "POST",
                    "/graphql",
                    {"Content-Type": "application/json"},
                    graphql_body(query),
                    expects_entity=True,
                    database_url=url,
                )
            )
        floor = stack.enter_context(
            floor_server(libpq_url, tenant_id, workdir / "floor", "floor (Starlette+psycopg)")
        )
        print(f"  floor: Starlette + psycopg 3 under granian at {floor.url}")
        targets += [floor_target("floor (Starlette+psycopg)", floor, url), healthz]
        print("  one answer each:")
        show_answers(targets, ids[1])
        results, transactions = run_rounds(targets, ids, args)
        report(
            results,
            transactions,
            "IntelGraph entity(id)",
            [
                ("PostGraphile", "PostGraphile 4", 1.0),
                ("floor", "floor (Starlette+psycopg)", None),
            ],
            args.rate,
        )


def sqlite_part(args: argparse.Namespace) -> None:
    print(f"\n[SQLite: {args.entities:,} entities, {args.rounds} interleaved rounds]")
    with (
        scratch_dir("peer-read-sqlite") as workdir,
        loaded_intelgraph("sqlite", workdir, args.entities) as (url, server, api_key, ids),
        floor_server(
            url, tenant_of(url, ids[0]), workdir / "floor", "floor (Starlette+sqlite3)"
        ) as floor,
    ):
        print(f"  floor: Starlette + sqlite3 under granian at {floor.url}")
        ours, healthz = intelgraph_targets(server, api_key, url)
        targets = [ours, floor_target("floor (Starlette+sqlite3)", floor, url), healthz]
        print("  one answer each:")
        show_answers(targets, ids[1])
        results, transactions = run_rounds(targets, ids, args)
        report(
            results,
            transactions,
            "IntelGraph entity(id)",
            [("floor", "floor (Starlette+sqlite3)", TARGET_SQLITE_RATIO)],
            args.rate,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 entities, short rounds")
    parser.add_argument("--backend", choices=("both", "postgresql", "sqlite"), default="both")
    parser.add_argument("--entities", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None, help="at least 3")
    parser.add_argument("--seconds", type=float, default=None, help="closed loop, per target")
    parser.add_argument("--connections", type=int, default=4, help="closed-loop lanes")
    parser.add_argument("--rate", type=float, default=200.0, help="open-loop requests/s")
    parser.add_argument("--latency-seconds", type=float, default=None, help="open loop")
    parser.add_argument("--lanes", type=int, default=16, help="open-loop connections")
    args = parser.parse_args()
    args.entities = args.entities or (10_000 if args.quick else 100_000)
    args.rounds = max(3, args.rounds or (3 if args.quick else 5))
    args.seconds = args.seconds or (2.0 if args.quick else 6.0)
    args.latency_seconds = args.latency_seconds or (3.0 if args.quick else 10.0)
    print_header(
        "bench_peer_read: entity(id) { id label type } beside PostGraphile 4 and a Python floor",
        data=f"{args.entities:,} PERSON entities ({generator_source()})",
        rounds=f"{args.rounds} interleaved rounds of every target",
        saturated=f"closed loop, {args.connections} connections, {args.seconds:g} s per target",
        latency=f"open loop {args.rate:g} requests/s for {args.latency_seconds:g} s, "
        f"{args.lanes} connections",
        targets="CPU/request and p95 <= PostGraphile (PostgreSQL); <= 1.5x the floor (SQLite)",
    )
    if args.backend in ("both", "postgresql"):
        postgresql_part(args)
    if args.backend in ("both", "sqlite"):
        sqlite_part(args)


if __name__ == "__main__":
    main()
