"""Bulk ingest of generated PERSON entities in 1,000-line NDJSON batches.

Over real HTTP: ``intelgraph serve`` in a subprocess (one worker unless --workers), a tenant
created through POST /v1/admin/tenants, and an httpx load generator in this process that
posts the batches one after another on a keep-alive connection (``--concurrency`` > 1 keeps
that many batches in flight). Then the same batches in process (``parse_ndjson`` +
``services.graph.ingest``) to show the HTTP overhead, followed there by a re-ingest of the
first ``--reingest`` batches (every line an update of a stored entity: the upsert path, whose
search terms change only where the text did), and a cProfile of one in-process run.

Two raw write limits are measured in the same run, each before and after ours (the faster
of the two counts), one transaction per batch, rows made beforehand and not timed. SQLite:
``executemany`` into a fresh WAL-mode file with the engine's pragmas; PostgreSQL: psycopg 3
``cursor.copy`` into fresh tables of a scratch database. Tables are built from our own DDL
(keys and indexes included), renamed ``raw_*``.

- "raw rows only": the entity rows alone (same columns, ids, JSON text and timestamps).
- "raw, all rows an ingest writes + JSON decode" (the limit issue 13 means): per batch,
  ``orjson.loads`` of every NDJSON line (the least any server does with a body), then the
  entity rows, their search-term rows (our ``entity_terms``, in term order), the provenance
  link, the chain head's update and the metering bucket's upsert.

``ours / raw`` is printed for both, per store, over HTTP and in process.

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
RATIO_TARGET = 0.6  # issue 13: ingest >= 0.6 of the raw write limit on both stores


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


# --- the raw write limit -------------------------------------------------------------------


def raw_rows(bodies: Sequence[bytes], tenant_id: str) -> list[list[tuple[Any, ...]]]:
    """Each body's entity lines as rows of the entities table (``entities`` column order),
    JSON columns as the text an ingest stores, times as ISO text (not timed)."""
    import orjson

    from intelgraph.kernel.ids import new_ids

    stamp = "2024-01-01 00:00:00.000000"
    batches: list[list[tuple[Any, ...]]] = []
    for body in bodies:
        lines = [orjson.loads(raw) for raw in body.split(b"\n") if raw.strip()]
        ids = new_ids("ent", len(lines))
        batches.append(
            [
                (
                    tenant_id,
                    entity_id,
                    line["external_id"],
                    line["type"],
                    line["label"],
                    orjson.dumps(line.get("attributes", {})).decode(),
                    float(line.get("confidence", 1.0)),
                    line.get("source"),
                    orjson.dumps(line.get("purposes", [])).decode(),
                    stamp,
                    stamp,
                )
                for line, entity_id in zip(lines, ids, strict=True)
            ]
        )
    return batches


def _raw_ddl(dialect: Any, name: str, source: Any = None) -> list[str]:
    """CREATE TABLE and CREATE INDEX statements of ``source`` (the entities table unless
    given), renamed ``name``."""
    from sqlalchemy import MetaData
    from sqlalchemy.schema import CreateIndex, CreateTable

    from intelgraph.store.tables import entities

    table = (source if source is not None else entities).to_metadata(MetaData(), name=name)
    statements = [str(CreateTable(table).compile(dialect=dialect))]
    for index in table.indexes:
        index.name = f"{index.name}_{name}"
        statements.append(str(CreateIndex(index).compile(dialect=dialect)))
    return statements


def raw_sqlite(batches: Sequence[Sequence[tuple[Any, ...]]]) -> Run:
    """executemany of each batch into a fresh WAL-mode file (the engine's pragmas)."""
    import sqlite3

    from sqlalchemy.dialects import sqlite as sqlite_dialect

    from intelgraph.store import engine as store_engine

    with scratch_dir("ingest-raw-sqlite") as workdir:
        db = sqlite3.connect(workdir / "raw.db", isolation_level=None)
        try:
            store_engine._configure_sqlite(db, None)  # page size, WAL, synchronous=NORMAL
            for statement in _raw_ddl(sqlite_dialect.dialect(), "raw_entities"):
                db.execute(statement)
            columns = len(batches[0][0])
            insert = f"INSERT INTO raw_entities VALUES ({', '.join('?' * columns)})"
            return _timed_raw(
                "raw rows only, sqlite (entity rows, executemany into a WAL table)",
                batches,
                lambda rows: (db.execute("BEGIN"), db.executemany(insert, rows), db.commit()),
            )
        finally:
            db.close()


def raw_postgresql(url: str, batches: Sequence[Sequence[tuple[Any, ...]]]) -> Run:
    """psycopg 3 COPY of each batch into a fresh table of ``url``'s database."""
    import psycopg
    from sqlalchemy.dialects import postgresql as pg_dialect

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as db:
        for statement in _raw_ddl(pg_dialect.dialect(), "raw_entities"):
            db.execute(statement)
        db.commit()

        def write(rows: Sequence[tuple[Any, ...]]) -> None:
            with db.cursor() as cursor, cursor.copy("COPY raw_entities FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            db.commit()

        database = DatabaseCpu(url)
        database.start()
        run = _timed_raw(
            "raw rows only, postgresql (entity rows, COPY into a fresh table)", batches, write
        )
        run.db_cpu = database.stop()
        db.execute("DROP TABLE raw_entities")
        db.commit()
        return run


def _timed_raw(label: str, batches: Sequence[Any], write: Any, entities: int | None = None) -> Run:
    latencies: list[float] = []
    total = Stopwatch()
    with total.running():
        for rows in batches:
            started = time.perf_counter()
            write(rows)
            latencies.append(time.perf_counter() - started)
    count = sum(map(len, batches)) if entities is None else entities
    return Run(label, count, total.wall, latencies, own_cpu=total.cpu)


def raw_limit(backend: str, batches: Sequence[Sequence[tuple[Any, ...]]]) -> Run:
    if backend == "sqlite":
        return raw_sqlite(batches)
    with scratch_dir("ingest-raw-pg") as workdir, scratch_database(backend, workdir) as url:
        return raw_postgresql(url, batches)


@dataclass
class RawBatch:
    """Every row one ingest batch writes, made before timing: the entity rows, their search
    terms (in the order ours inserts them), the provenance link, the chain head's new value
    and the metering bucket; ``body`` is the NDJSON the timed loop decodes line by line."""

    body: bytes
    entities: list[tuple[Any, ...]]
    terms: list[tuple[str, str, str]]
    link: tuple[Any, ...]
    head: tuple[Any, ...]
    usage: tuple[Any, ...]


def raw_all_rows(
    bodies: Sequence[bytes], entity_batches: Sequence[Sequence[tuple[Any, ...]]], tenant_id: str
) -> list[RawBatch]:
    """For each body: what an ingest of it inserts into entities, entity_terms, provenance,
    provenance_heads and usage_ledger (search terms from the service's own ``entity_terms``,
    sorted by term as ``write_terms`` inserts them); not timed."""
    import hashlib

    import orjson

    from intelgraph.graph.search_terms import entity_terms

    stamp = "2024-01-01 00:00:00.000000"
    batches: list[RawBatch] = []
    previous = "0" * 64
    for seq, (body, rows) in enumerate(zip(bodies, entity_batches, strict=True), start=1):
        terms: list[tuple[str, str, str]] = []
        for row in rows:
            attributes = orjson.loads(row[5])
            terms += [(tenant_id, term, row[1]) for term in entity_terms(row[4], attributes)]
        terms.sort(key=lambda term_row: term_row[1])
        digest = hashlib.sha256(body).hexdigest()
        this_hash = hashlib.sha256(f"{previous}{seq}{digest}".encode()).hexdigest()
        link = (
            tenant_id,
            seq,
            previous,
            this_hash,
            "ingest",
            "key:bench",
            f"entities:{len(rows)},relationships:0",
            digest,
            stamp,
        )
        head = (seq, this_hash, tenant_id)
        usage = (tenant_id, "ingest_events", "2024-01-01 00:00:00.000000", len(rows))
        batches.append(RawBatch(body, list(rows), terms, link, head, usage))
        previous = this_hash
    return batches


_RAW_ALL_TABLES = ("entities", "entity_terms", "provenance", "provenance_heads", "usage_ledger")


def _raw_all_ddl(dialect: Any) -> list[str]:
    """The DDL of every table an ingest writes, each renamed ``raw_<name>``."""
    from intelgraph.store import tables

    statements: list[str] = []
    for name in _RAW_ALL_TABLES:
        statements += _raw_ddl(dialect, f"raw_{name}", getattr(tables, name))
    return statements


def _decode_lines(body: bytes) -> None:
    """``orjson.loads`` of each NDJSON line: the least any server does with the body."""
    import orjson

    for raw in body.split(b"\n"):
        if raw:
            orjson.loads(raw)


def _usage_upsert(mark: str) -> str:
    return (
        "INSERT INTO raw_usage_ledger (tenant_id, meter, bucket_start, value) "
        f"VALUES ({', '.join([mark] * 4)}) ON CONFLICT (tenant_id, meter, bucket_start) "
        "DO UPDATE SET value = raw_usage_ledger.value + excluded.value"
    )


def raw_all_sqlite(batches: Sequence[RawBatch]) -> Run:
    """Per batch, in one transaction: decode the lines, executemany the entity and term rows,
    insert the provenance link, move the chain head, upsert the metering bucket."""
    import sqlite3

    from sqlalchemy.dialects import sqlite as sqlite_dialect

    from intelgraph.store import engine as store_engine

    with scratch_dir("ingest-raw-all-sqlite") as workdir:
        db = sqlite3.connect(workdir / "raw.db", isolation_level=None)
        try:
            store_engine._configure_sqlite(db, None)  # page size, WAL, synchronous=NORMAL
            for statement in _raw_all_ddl(sqlite_dialect.dialect()):
                db.execute(statement)
            tenant_id = batches[0].head[2]
            db.execute("INSERT INTO raw_provenance_heads VALUES (?, 0, ?)", (tenant_id, "0" * 64))
            entity_insert = f"INSERT INTO raw_entities VALUES ({', '.join('?' * 11)})"
            term_insert = "INSERT INTO raw_entity_terms VALUES (?, ?, ?)"
            link_insert = f"INSERT INTO raw_provenance VALUES ({', '.join('?' * 9)})"
            head_update = "UPDATE raw_provenance_heads SET seq = ?, hash = ? WHERE tenant_id = ?"
            usage_upsert = _usage_upsert("?")

            def write(batch: RawBatch) -> None:
                _decode_lines(batch.body)
                db.execute("BEGIN")
                db.executemany(entity_insert, batch.entities)
                db.executemany(term_insert, batch.terms)
                db.execute(link_insert, batch.link)
                db.execute(head_update, batch.head)
                db.execute(usage_upsert, batch.usage)
                db.commit()

            return _timed_raw(
                "raw, all rows an ingest writes + JSON decode, sqlite (executemany, WAL)",
                batches,
                write,
                entities=sum(len(batch.entities) for batch in batches),
            )
        finally:
            db.close()


def raw_all_postgresql(url: str, batches: Sequence[RawBatch]) -> Run:
    """Per batch, in one transaction: decode the lines, COPY the entity and term rows,
    insert the provenance link, move the chain head, upsert the metering bucket."""
    import psycopg
    from sqlalchemy.dialects import postgresql as pg_dialect

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as db:
        for statement in _raw_all_ddl(pg_dialect.dialect()):
            db.execute(statement)
        tenant_id = batches[0].head[2]
        db.execute("INSERT INTO raw_provenance_heads VALUES (%s, 0, %s)", (tenant_id, "0" * 64))
        db.commit()
        link_insert = f"INSERT INTO raw_provenance VALUES ({', '.join(['%s'] * 9)})"
        head_update = "UPDATE raw_provenance_heads SET seq = %s, hash = %s WHERE tenant_id = %s"
        usage_upsert = _usage_upsert("%s")

        def write(batch: RawBatch) -> None:
            _decode_lines(batch.body)
            with db.cursor() as cursor:
                with cursor.copy("COPY raw_entities FROM STDIN") as copy:
                    for row in batch.entities:
                        copy.write_row(row)
                with cursor.copy("COPY raw_entity_terms FROM STDIN") as copy:
                    for row in batch.terms:
                        copy.write_row(row)
                cursor.execute(link_insert, batch.link)
                cursor.execute(head_update, batch.head)
                cursor.execute(usage_upsert, batch.usage)
            db.commit()

        database = DatabaseCpu(url)
        database.start()
        run = _timed_raw(
            "raw, all rows an ingest writes + JSON decode, postgresql (COPY)",
            batches,
            write,
            entities=sum(len(batch.entities) for batch in batches),
        )
        run.db_cpu = database.stop()
        return run


def raw_all_limit(backend: str, batches: Sequence[RawBatch]) -> Run:
    if backend == "sqlite":
        return raw_all_sqlite(batches)
    with scratch_dir("ingest-raw-all-pg") as workdir, scratch_database(backend, workdir) as url:
        return raw_all_postgresql(url, batches)


def faster(first: Run, second: Run) -> Run:
    return first if first.rate >= second.rate else second


def ratio_line(label: str, ours: Run, raw: Run, limit: str = "raw rows only") -> str:
    ratio = ours.rate / raw.rate
    state = "met" if ratio >= RATIO_TARGET else "MISSED"
    return (
        f"  {label}: {ours.rate:,.0f} / {raw.rate:,.0f} entities/s = {ratio:.2f} of "
        f"{limit}  [target >= {RATIO_TARGET}: {state}]"
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
    ratios: list[str] = []
    rows = raw_rows(bodies, "t_rawlimit")
    all_rows = raw_all_rows(bodies, rows, "t_rawlimit")
    for backend in backends:
        if backend == "postgresql" and (why := postgres_available()):
            print(f"[{backend}] skipped: PostgreSQL not reachable ({why})\n")
            continue
        print(f"[{backend}]")
        raw_before = raw_limit(backend, rows)
        raw_before.report()
        all_before = raw_all_limit(backend, all_rows)
        all_before.report()
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
        raw_after = raw_limit(backend, rows)
        raw_after.report()
        all_after = raw_all_limit(backend, all_rows)
        all_after.report()
        raw = faster(raw_before, raw_after)
        everything = faster(all_before, all_after)
        for label, ours in (("HTTP", run), ("in process", local)):
            ratios.append(ratio_line(f"{backend:<10} {label:<10}", ours, raw))
            ratios.append(
                ratio_line(
                    f"{backend:<10} {label:<10}",
                    ours,
                    everything,
                    "raw, all rows an ingest writes + JSON decode",
                )
            )
        print("\n".join(ratios[-4:]))
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
    if ratios:
        print("ours / raw write limit (the faster of two raw runs, same rows, same run):")
        print("\n".join(ratios))


if __name__ == "__main__":
    main()
