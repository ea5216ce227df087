"""Bulk ingest of generated PERSON entities in 1,000-line NDJSON batches.

Over real HTTP: ``intelgraph serve`` in a subprocess (one worker unless --workers), a tenant
created through POST /v1/admin/tenants, and an httpx load generator in this process that
posts the batches one after another on a keep-alive connection (``--concurrency`` > 1 keeps
that many batches in flight). Then the same batches in process (``parse_ndjson`` +
``services.graph.ingest``) to show the HTTP overhead, followed there by a re-ingest of the
first ``--reingest`` batches (every line an update of a stored entity: the upsert path, whose
search terms change only where the text did), and a cProfile of one in-process run.

CPU is reported per 1,000 entities for each process that works: the server (or this
process, in process) and, on PostgreSQL, the database's own backends. Wall-clock rates depend
on what else the machine runs (its load is in the header); CPU per 1,000 much less so. In
process, the kernel's share of the CPU is shown too: on SQLite it is mostly the WAL pages a
commit writes and the checkpoint copies.

Prints figures; never passes or fails. Targets: >= 20,000 entities/s on SQLite and
>= 10,000 entities/s on PostgreSQL over HTTP.

Run: ``.venv/bin/python bench/bench_ingest.py [--quick]``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from harness import (
    BACKENDS,
    NDJSON_HEADERS,
    DatabaseCpu,
    Server,
    Stopwatch,
    bearer,
    cpu_seconds,
    create_tenant,
    generator_source,
    in_process,
    ndjson_batches,
    percentiles,
    postgres_available,
    print_header,
    scratch_database,
    scratch_dir,
    tenant_principal,
)

TARGETS = {"sqlite": 20_000, "postgresql": 10_000}


@dataclass
class Run:
    label: str
    entities: int
    seconds: float
    batch_seconds: list[float]
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    parse_seconds: float = 0.0
    own_cpu: float = 0.0
    own_system_cpu: float = 0.0
    db_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.entities / self.seconds

    def report(self, target: int | None = None) -> None:
        p50, p95, _ = percentiles(self.batch_seconds)
        verdict = ""
        if target is not None:
            verdict = f"  [target >= {target:,}/s: {'met' if self.rate >= target else 'MISSED'}]"
        print(
            f"  {self.label}: {self.entities:,} entities in {self.seconds:.2f} s = "
            f"{self.rate:,.0f} entities/s{verdict}"
        )
        print(f"    per batch: p50 {p50 * 1e3:.1f} ms, p95 {p95 * 1e3:.1f} ms")
        per_1000 = 1000 / self.entities * 1e3  # seconds -> ms per 1,000 entities
        if self.server_cpu:
            print(
                f"    CPU: server {self.server_cpu:.2f} s "
                f"({self.server_cpu / self.seconds:.0%} of one core; "
                f"{self.server_cpu * per_1000:.1f} ms per 1,000 entities), "
                f"load generator {self.client_cpu:.2f} s"
            )
        if self.own_cpu:
            print(
                f"    CPU: {self.own_cpu:.2f} s in this process "
                f"({self.own_cpu * per_1000:.1f} ms per 1,000 entities, of which "
                f"{self.own_system_cpu * per_1000:.1f} ms in the kernel)"
            )
        if self.db_cpu:
            print(
                f"    CPU: PostgreSQL backends {self.db_cpu:.2f} s "
                f"({self.db_cpu * per_1000:.1f} ms per 1,000 entities)"
            )
        if self.parse_seconds:
            print(
                f"    of which parse_ndjson {self.parse_seconds:.2f} s "
                f"({self.parse_seconds / self.seconds:.0%}), graph.ingest "
                f"{self.seconds - self.parse_seconds:.2f} s"
            )


def over_http(
    backend: str, bodies: Sequence[bytes], warmup: bytes, workers: int, concurrency: int
) -> Run:
    with (
        scratch_dir(f"ingest-{backend}") as workdir,
        scratch_database(backend, workdir) as url,
        Server(url, workdir / "data", workers=workers) as server,
    ):
        print(f"  server: {server.how}, {workers} worker(s), {server.url}")
        headers = NDJSON_HEADERS | bearer(create_tenant(server.url))
        with httpx.Client(base_url=server.url, headers=headers, timeout=300) as client:
            post_batch(client, warmup)  # connection, caches, first-write costs
        database = DatabaseCpu(url)
        database.start()
        run = timed_posts(backend, server, headers, bodies, concurrency)
        run.db_cpu = database.stop()
        return run


def post_batch(client: httpx.Client, body: bytes) -> float:
    started = time.perf_counter()
    response = client.post("/v1/ingest", content=body)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"ingest answered {response.status_code}: {response.text[:500]}")
    return elapsed


def timed_posts(
    backend: str, server: Server, headers: dict[str, str], bodies: Sequence[bytes], concurrency: int
) -> Run:
    pending = list(reversed(bodies))
    lock = threading.Lock()
    latencies: list[float] = []
    failures: list[BaseException] = []

    def worker() -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=300) as client:
            while True:
                with lock:
                    if not pending or failures:
                        return
                    body = pending.pop()
                try:
                    latencies.append(post_batch(client, body))
                except BaseException as exc:
                    failures.append(exc)
                    return

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    server_cpu0, client_cpu0 = cpu_seconds(server.pids()), time.process_time()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"a batch failed: {failures[0]}")
    entities = sum(body.count(b"\n") for body in bodies)
    return Run(
        f"HTTP {backend} (concurrency {concurrency})",
        entities,
        seconds,
        latencies,
        server_cpu=cpu_seconds(server.pids()) - server_cpu0,
        client_cpu=time.process_time() - client_cpu0,
    )


def in_process_run(
    backend: str,
    bodies: Sequence[bytes],
    warmup: bytes,
    profile_path: Path | None = None,
    reingest: int = 0,
) -> tuple[Run, Run | None]:
    """The batches ingested in this process; then, with ``reingest``, that many of them again
    into the same tenant (every line an update), as a second Run."""
    try:  # what the server factory does after start-up (the collector skips start-up objects)
        from intelgraph.obs.gc_pauses import freeze_startup_heap
    except ImportError:
        freeze_startup_heap = None
    with (
        scratch_dir(f"ingest-inproc-{backend}") as workdir,
        scratch_database(backend, workdir) as url,
    ):
        services = in_process(url, workdir / "data")
        checkpointer = getattr(services, "checkpointer", None)  # as `serve` runs it
        try:
            from intelgraph.graph.ingest import parse_ndjson

            principal = tenant_principal(services)
            if checkpointer is not None:
                checkpointer.start()
            services.graph.ingest(principal, parse_ndjson(warmup))
            if freeze_startup_heap is not None:
                freeze_startup_heap()
            label = f"in-process {backend}" + (" under cProfile" if profile_path else "")
            profiler = cProfile.Profile() if profile_path else None
            run = timed_ingests(label, services, principal, url, bodies, profiler)
            if profiler and profile_path:
                profiler.dump_stats(str(profile_path))
            updates = None
            if reingest:
                updates = timed_ingests(
                    f"in-process {backend} re-ingest (updates of stored entities)",
                    services,
                    principal,
                    url,
                    bodies[:reingest],
                )
        finally:
            if checkpointer is not None:
                checkpointer.stop()
            services.engine.dispose()
    return run, updates


def timed_ingests(
    label: str,
    services: Any,
    principal: Any,
    url: str,
    bodies: Sequence[bytes],
    profiler: cProfile.Profile | None = None,
) -> Run:
    """Parse and ingest ``bodies`` one after another: wall, CPU (and its kernel share), and
    the database's CPU on PostgreSQL."""
    from intelgraph.graph.ingest import parse_ndjson

    database = DatabaseCpu(url)
    database.start()
    latencies: list[float] = []
    parse = Stopwatch()
    total = Stopwatch()
    system_before = os.times().system
    with total.running():
        if profiler:
            profiler.enable()
        for body in bodies:
            started = time.perf_counter()
            with parse.running():
                batch = parse_ndjson(body)
            services.graph.ingest(principal, batch)
            latencies.append(time.perf_counter() - started)
        if profiler:
            profiler.disable()
    database.stop()
    return Run(
        label,
        sum(body.count(b"\n") for body in bodies),
        total.wall,
        latencies,
        parse_seconds=parse.wall,
        own_cpu=total.cpu,
        own_system_cpu=os.times().system - system_before,
        db_cpu=database.seconds,
    )


def print_profile(path: Path, limit: int) -> None:
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(str(path), stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(limit)
        text = out.getvalue()
        body = text[text.index("   ncalls") :] if "   ncalls" in text else text
        print(f"  top {limit} by {order}:")
        for line in body.rstrip().splitlines():
            print(f"    {line[:150]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 batches instead of 100")
    parser.add_argument("--batches", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--concurrency", type=int, default=1, help="batches in flight")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--reingest", type=int, default=20, help="batches re-ingested in process (updates)"
    )
    args = parser.parse_args()
    n_batches = args.batches or (20 if args.quick else 100)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    print_header(
        "bench_ingest: bulk PERSON ingest over HTTP (POST /v1/ingest) and in process",
        batches=f"{n_batches} x {args.batch_size} lines = {n_batches * args.batch_size:,} "
        "entities per backend (+1 warm-up batch)",
        records=generator_source(),
        targets="HTTP >= 20,000 entities/s SQLite, >= 10,000 entities/s PostgreSQL",
    )
    started = time.perf_counter()
    bodies = ndjson_batches(n_batches + 1, args.batch_size, seed=11)
    warmup, bodies = bodies[0], bodies[1:]
    print(
        f"generated {len(bodies) + 1} NDJSON bodies ({sum(map(len, bodies)) / 1e6:.1f} MB) "
        f"in {time.perf_counter() - started:.1f} s (not timed)\n"
    )
    results: dict[str, Run] = {}
    for backend in backends:
        if backend == "postgresql" and (why := postgres_available()):
            print(f"[{backend}] skipped: PostgreSQL not reachable ({why})\n")
            continue
        print(f"[{backend}]")
        run = over_http(backend, bodies, warmup, args.workers, args.concurrency)
        run.report(TARGETS.get(backend))
        results[backend] = run
        local, updates = in_process_run(backend, bodies, warmup, reingest=args.reingest)
        local.report()
        per_batch = (run.seconds - local.seconds) / len(bodies) * 1e3
        cpu_per_batch = (run.server_cpu - local.own_cpu) / len(bodies) * 1e3
        print(
            f"  HTTP overhead: wall {run.seconds / local.seconds:.2f}x the in-process time "
            f"({per_batch:+.1f} ms per batch); CPU {cpu_per_batch:+.1f} ms per batch "
            "(server process vs this process; on PostgreSQL the database's own CPU is in "
            "neither)"
        )
        if updates is not None:
            updates.report()
        print()
    if not args.no_profile and backends:
        backend = backends[0]
        print(f"[cProfile: in-process {backend}, {len(bodies)} batches]")
        with scratch_dir("ingest-profile") as workdir:
            path = workdir / "ingest.prof"
            in_process_run(backend, bodies, warmup, profile_path=path)[0].report()
            print_profile(path, 30 if not args.quick else 20)
    print("\nsummary (HTTP, entities/s):")
    for backend, run in results.items():
        target = TARGETS[backend]
        state = "met" if run.rate >= target else "MISSED"
        print(f"  {backend:<10} {run.rate:>10,.0f}   target {target:,}: {state}")


if __name__ == "__main__":
    main()
