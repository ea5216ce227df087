"""PageRank of a 1,000,000-edge power-law graph: graph build + PageRank, timed.

Two paths, as the service can call them:
- indexed: integer edge arrays -> ``build_graph`` -> ``pagerank_scores``;
- string ids: ``compute_pagerank(entity_ids, (from_id, to_id) pairs)``, which also maps ids
  to integers and returns a dict keyed by entity id (what the service stores).

Edges come from ``random_graph_edges`` (Zipf endpoint weights, tail exponent 2.4). Prints
figures; never passes or fails. Target: build + PageRank <= 3 s on a 2-core machine.

With ``--store sqlite`` / ``--store postgresql`` (or ``all``) it also times what the service
does for ``intelgraph analytics pagerank``: a tenant holding the graph (entities and
relationships bulk-loaded straight into the tables, not timed) is recomputed by
``GraphService.recompute_pagerank``, and the same steps are timed one by one: load (edges as
integer pairs from the database), compute (igraph), write (the kept scores). CPU seconds of
this process are printed next to wall seconds (PostgreSQL's own CPU is not in them).

With ``--process`` (the default; ``--no-process`` skips it) the stored graph is also
recomputed the way the API's background job does it (``PagerankProcessRunner``: in a worker
process) and the way it did before (in this process): a ticker thread here
(``time.sleep(0.001)`` in a loop) stands for the API worker's event loop, and its longest
gap between two ticks is the longest stall a request would have seen. Printed per run: wall
time, this process's CPU, the worker's CPU, the ticker's longest gap and ticks (the idle
ticker's longest gap is printed first: what the machine alone causes); the worker's start
(once per API process) is timed apart. ``--sweep`` then times small graphs (1k..100k
relationships) both ways, to choose ``INTELGRAPH_PAGERANK_PROCESS_MIN_EDGES``: below it the
in-process recompute's longest stall is within the idle machine's noise and its wall time
near the hop's (a pipe round trip and a new database connection in the worker), so the hop
buys nothing.

Run: ``.venv/bin/python bench/bench_pagerank.py [--quick] [--nodes N] [--edges M] [--repeat R]
[--store sqlite|postgresql|all|none] [--no-process] [--sweep] [--skip-pure]``.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import (
    Stopwatch,
    graph_edges,
    in_process,
    postgres_available,
    print_header,
    scratch_database,
    scratch_dir,
)
from intelgraph.demo.records import random_graph_edges
from intelgraph.graph.analytics_repository import load_graph_blocks
from intelgraph.graph.pagerank import (
    build_graph,
    compute_pagerank,
    pagerank_scores,
    top_scores,
)
from intelgraph.graph.pagerank_worker import (
    PagerankProcessRunner,
    PagerankRun,
    rank_blocks,
    recompute_stored,
)
from intelgraph.graph.service import PAGERANK_KEEP
from intelgraph.kernel.tenancy import local_operator

BENCH_OPERATOR = local_operator("bench")  # who creates the benchmark tenants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=150_000)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="one run of each path")
    parser.add_argument(
        "--store",
        choices=("none", "sqlite", "postgresql", "all"),
        default="all",
        help="also time the service path on a stored graph (load, compute, write)",
    )
    parser.add_argument(
        "--process",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="compare the recompute in this process with the one in a worker process "
        "(ticker stall, wall, CPU) on the stored graph (default: on)",
    )
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="with --process: small graphs both ways, to choose the in-process threshold",
    )
    parser.add_argument(
        "--skip-pure",
        action="store_true",
        help="skip the pure in-memory paths (indexed, string-id)",
    )
    args = parser.parse_args()
    if args.quick:
        args.repeat = 1

    print_header(
        "PageRank: graph build + PageRank (python-igraph, PRPACK)",
        nodes=f"{args.nodes:,}",
        edges=f"{args.edges:,}",
        repeat=args.repeat,
    )

    if not args.skip_pure:
        pure_paths(args.nodes, args.edges, args.seed, args.repeat)

    backends = {"none": (), "all": ("sqlite", "postgresql")}.get(args.store, (args.store,))
    for backend in backends:
        store_path(backend, args.nodes, args.edges, args.seed, args.repeat, args.process)
        if args.process and args.sweep:
            threshold_sweep(backend, args.seed, args.repeat)


def pure_paths(n_nodes: int, n_edges: int, seed: int, repeat: int) -> None:
    """Build + PageRank in memory: integer arrays, then string ids."""
    started = time.perf_counter()
    edges = random_graph_edges(n_nodes, n_edges, seed)
    generated = time.perf_counter() - started
    in_degree = Counter(target for _, target in edges)
    print(
        f"generated edges in {generated:.2f} s; nodes with an in-edge: {len(in_degree):,}; "
        f"max in-degree {max(in_degree.values()):,}; "
        f"self-loops {sum(source == target for source, target in edges):,}"
    )
    sources = [source for source, _ in edges]
    targets = [target for _, target in edges]
    ids = [f"ent_{index:024x}" for index in range(n_nodes)]

    print("\n-- indexed path (integer edge arrays): build_graph + pagerank_scores")
    walls, cpus = [], []
    for run in range(1, repeat + 1):
        c0, t0 = time.process_time(), time.perf_counter()
        graph = build_graph(n_nodes, sources, targets)
        t1 = time.perf_counter()
        scores = pagerank_scores(graph)
        t2, c2 = time.perf_counter(), time.process_time()
        walls.append(t2 - t0)
        cpus.append(c2 - c0)
        print(
            f"run {run}: nodes {graph.vcount():,} edges {graph.ecount():,}  "
            f"build {t1 - t0:.3f} s  pagerank {t2 - t1:.3f} s  total {t2 - t0:.3f} s "
            f"(cpu {c2 - c0:.3f} s)  sum(scores) {sum(scores):.6f}"
        )
    _summary("indexed total", walls, cpus)

    print("\n-- string-id path: compute_pagerank(entity ids, (from_id, to_id) pairs)")
    print("   (fresh str objects each run, as a database driver returns them)")
    walls, cpus = [], []
    for run in range(1, repeat + 1):
        node_ids = [_fresh(entity_id) for entity_id in ids]
        id_edges = [(_fresh(ids[source]), _fresh(ids[target])) for source, target in edges]
        c0, t0 = time.process_time(), time.perf_counter()
        by_id = compute_pagerank(node_ids, id_edges)
        t1, c1 = time.perf_counter(), time.process_time()
        walls.append(t1 - t0)
        cpus.append(c1 - c0)
        print(f"run {run}: scored {len(by_id):,} ids in {t1 - t0:.3f} s (cpu {c1 - c0:.3f} s)")
        del id_edges
    _summary("string-id total", walls, cpus)
    best_id, best_score = top_scores(by_id, 1)[0]
    top_in_degree = in_degree[ids.index(best_id)]
    print(f"top entity {best_id}: score {best_score:.6f}, in-degree {top_in_degree:,}")
    del edges, sources, targets, node_ids


def store_path(
    backend: str, n_nodes: int, n_edges: int, seed: int, repeat: int, compare_process: bool
) -> None:
    """The service's recompute on a stored graph, whole and split into its steps."""
    print(f"\n-- service path on {backend}: GraphService.recompute_pagerank")
    if backend == "postgresql" and (why := postgres_available()):
        print(f"   skipped: PostgreSQL not reachable ({why})")
        return
    from intelgraph.graph import repository as repo

    with scratch_dir("pagerank") as workdir, scratch_database(backend, workdir) as url:
        services = in_process(url, workdir / "data")
        tenant, _ = services.tenants.create_tenant(
            BENCH_OPERATOR, name="Bench", slug="bench-pr", plan="enterprise"
        )
        started = time.perf_counter()
        seeded_edges = seed_graph_edges(services.engine, tenant.id, n_nodes, n_edges, seed)
        print(
            f"   seeded {n_nodes:,} entities and {len(seeded_edges):,} relationships in "
            f"{time.perf_counter() - started:.1f} s (bulk insert, not timed below)"
        )
        if backend == "postgresql":
            with services.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")  # as autovacuum would after the bulk load
        engine, graph = services.engine, services.graph
        peer_walls: list[float] = []
        peer_rank_walls: list[float] = []
        service_walls: list[float] = []
        for run in range(1, repeat + 1):
            peer_build, peer_rank = igraph_in_memory(n_nodes, seeded_edges)
            peer_walls.append(peer_build + peer_rank)
            peer_rank_walls.append(peer_rank)
            whole = Stopwatch()
            with whole.running():
                scored = graph.recompute_pagerank(tenant.id)
            service_walls.append(whole.wall)
            load, compute, write = Stopwatch(), Stopwatch(), Stopwatch()
            with load.running(), engine.connect() as conn:
                blocks = load_graph_blocks(conn, tenant.id)
            assert blocks is not None, "the bench's ids have one width"
            with compute.running():
                ranked = rank_blocks(blocks, PAGERANK_KEEP)
            assert ranked is not None
            kept = ranked[2]
            with write.running(), engine.begin() as conn:
                repo.replace_pagerank(conn, tenant.id, kept, services.clock.now())
            del blocks
            print(
                f"   run {run}: recompute_pagerank {whole.wall:.3f} s (cpu {whole.cpu:.3f} s), "
                f"{scored:,} entities scored; igraph in memory: build {peer_build:.3f} s, "
                f"pagerank {peer_rank:.3f} s"
            )
            print(
                f"     steps: load (id blocks) {load.wall:.3f} s (cpu {load.cpu:.3f}); compute "
                f"(ids -> indexes, igraph, top per type) {compute.wall:.3f} s (cpu "
                f"{compute.cpu:.3f}); write {len(kept):,} kept scores "
                f"{write.wall:.3f} s (cpu {write.cpu:.3f})"
            )
        peer, ours = statistics.median(peer_walls), statistics.median(service_walls)
        print(
            f"   ratio: service path (load, rank, store) {ours:.3f} s vs python-igraph in "
            f"memory on the same edge list (build + pagerank) {peer:.3f} s "
            f"(ranking alone {statistics.median(peer_rank_walls):.3f} s): {ours / peer:.2f}x "
            f"(target <= 2x; medians of {repeat})"
        )
        del seeded_edges
        cli_vs_script(url, workdir / "data", "bench-pr", tenant.id, repeat)
        if compare_process:
            stall_comparison(services, tenant.id, repeat)
        services.engine.dispose()
    print(f"   load average {os.getloadavg()[0]:.2f}")


def igraph_in_memory(n_nodes: int, edges: list[tuple[int, int]]) -> tuple[float, float]:
    """The peer: python-igraph on the edge list in memory; (build, pagerank) seconds."""
    import igraph

    started = time.perf_counter()
    peer_graph = igraph.Graph(n=n_nodes, edges=edges, directed=True)
    built = time.perf_counter()
    peer_graph.pagerank(directed=True, damping=0.85, implementation="prpack")
    ranked = time.perf_counter()
    return built - started, ranked - built


# The peer of `intelgraph analytics pagerank`: what a user would write with igraph and the
# database driver to do the same job (read the graph, rank, store the top 500 overall and
# per type in one transaction); about 20 lines. argv: database URL (SQLAlchemy form), tenant id.
IGRAPH_SCRIPT = """
import sys, collections, datetime, igraph
url, tenant = sys.argv[1], sys.argv[2]
if url.startswith("sqlite"):
    import sqlite3; db = sqlite3.connect(url.split("///", 1)[1]); mark = "?"
else:
    import psycopg; db = psycopg.connect(url.replace("+psycopg", "")); mark = "%s"
where = f"WHERE tenant_id = {mark}"
nodes = db.execute(f"SELECT entity_id, type FROM entities {where}", (tenant,)).fetchall()
index = {entity_id: i for i, (entity_id, _) in enumerate(nodes)}
rows = db.execute(f"SELECT from_id, to_id FROM relationships {where}", (tenant,)).fetchall()
edges = [(index[a], index[b]) for a, b in rows if a in index and b in index and a != b]
del rows
scores = igraph.Graph(n=len(nodes), edges=edges, directed=True).pagerank(directed=True)
order = sorted(range(len(nodes)), key=lambda i: (-scores[i], nodes[i][0]))
kept, per_type = set(order[:500]), collections.Counter()
for i in order:
    per_type[nodes[i][1]] += 1
    if per_type[nodes[i][1]] <= 500:
        kept.add(i)
now = datetime.datetime.now(datetime.UTC)
db.execute(f"DELETE FROM pagerank_scores {where}", (tenant,))
db.cursor().executemany(f"INSERT INTO pagerank_scores VALUES ({mark}, {mark}, {mark}, {mark})",
                        [(tenant, nodes[i][0], scores[i], now.isoformat()) for i in kept])
db.commit()
"""


def cli_vs_script(url: str, data_dir: Path, slug: str, tenant_id: str, repeat: int) -> None:
    """`intelgraph analytics pagerank` against IGRAPH_SCRIPT: wall time and peak RSS of each
    as a whole process (interleaved runs, medians)."""
    import sys

    from harness import OPERATOR_KEY

    env = dict(
        os.environ,
        INTELGRAPH_DATABASE_URL=url,
        INTELGRAPH_DATA_DIR=str(data_dir),
        INTELGRAPH_OPERATOR_KEY=OPERATOR_KEY,
        INTELGRAPH_LOG_LEVEL="WARNING",
    )
    cli = str(Path(sys.executable).with_name("intelgraph"))
    commands = {
        "intelgraph analytics pagerank": [cli, "analytics", "pagerank", slug],
        "igraph script (20 lines)": [sys.executable, "-c", IGRAPH_SCRIPT, url, tenant_id],
    }
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            figures[name].append(_measure_process(command, env))
    print("\n   -- whole command: wall time and peak RSS (each a fresh process)")
    medians = {}
    for name, runs in figures.items():
        wall = statistics.median(run[0] for run in runs)
        rss = statistics.median(run[1] for run in runs)
        medians[name] = (wall, rss)
        print(f"   {name:<31} wall {wall:.3f} s, peak RSS {rss:,.0f} MiB (median of {repeat})")
    (ours_wall, ours_rss), (peer_wall, peer_rss) = medians.values()
    print(
        f"   ratio: wall {ours_wall / peer_wall:.2f}x, peak memory {ours_rss / peer_rss:.2f}x "
        "(target <= 1.5x each)"
    )


def _measure_process(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one run. The RSS is GNU time's %M: a child's own
    rusage would count the memory of this (large) process it was forked from."""
    import subprocess

    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{command[:4]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, int(done.stderr.strip().splitlines()[-1]) / 1024


class Ticker:
    """A thread that sleeps 1 ms in a loop, as an event loop would wait for its next
    request: its longest gap between two wake-ups is the longest stall a request sees."""

    def __init__(self) -> None:
        self.ticks = 0
        self.longest_gap = 0.0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ticker", daemon=True)

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping.set()
        self._thread.join()

    def _run(self) -> None:
        last = time.perf_counter()
        while not self._stopping.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            self.longest_gap = max(self.longest_gap, now - last)
            self.ticks += 1
            last = now


@dataclass
class StallFigures:
    """One recompute seen from this process: its wall time and what the ticker saw."""

    wall: float
    cpu_here: float
    cpu_worker: float
    longest_gap: float
    ticks: int
    rss_after_mib: float


def timed_recompute(run: Callable[[], PagerankRun]) -> StallFigures:
    """``run()`` with the ticker going; CPU of this process and of the worker's thread."""
    cpu_before = time.process_time()
    with Ticker() as ticker:
        started = time.perf_counter()
        result = run()
        wall = time.perf_counter() - started
    cpu_here = time.process_time() - cpu_before
    return StallFigures(
        wall=wall,
        cpu_here=cpu_here,
        cpu_worker=result.cpu_seconds if result.pid != os.getpid() else 0.0,
        longest_gap=ticker.longest_gap,
        ticks=ticker.ticks,
        rss_after_mib=_rss_mib(),
    )


def _rss_mib() -> float:
    """Resident memory of this process now (what a long-lived worker keeps)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stall_comparison(services: Any, tenant_id: str, repeat: int) -> None:
    """The background recompute before (in this process) and after (worker process)."""
    runner = PagerankProcessRunner(min_edges=0)
    engine, now = services.engine, services.clock.now()
    with Ticker() as idle:
        time.sleep(2.0)
    print(
        f"\n   -- API-worker stall: recompute in this process vs in a worker process "
        f"(idle ticker: longest gap {idle.longest_gap * 1000:.1f} ms over 2 s)"
    )
    rows: dict[str, list[StallFigures]] = {"in-process": [], "worker": []}
    rss_before = _rss_mib()
    cold = timed_recompute(lambda: runner(engine, tenant_id, now, PAGERANK_KEEP))
    print(
        f"   worker start + first recompute: wall {cold.wall:.3f} s, longest ticker gap "
        f"{cold.longest_gap * 1000:.1f} ms (once per API process; not in the rows below)"
    )
    sizing = Stopwatch()
    with sizing.running():
        PagerankProcessRunner().is_worker_worth_it(engine, tenant_id)
    print(
        f"   size check (count of the tenant's relationships; once per tenant and API "
        f"process, then skipped while it stays large): "
        f"{sizing.wall * 1000:.1f} ms (cpu {sizing.cpu * 1000:.1f} ms)"
    )
    for _ in range(repeat):
        rows["worker"].append(
            timed_recompute(lambda: runner(engine, tenant_id, now, PAGERANK_KEEP))
        )
        rows["in-process"].append(
            timed_recompute(lambda: recompute_stored(engine, tenant_id, now, PAGERANK_KEEP))
        )
    runner.close()
    for where, figures in rows.items():
        for run, f in enumerate(figures, 1):
            print(
                f"   {where:<13} run {run}: wall {f.wall:.3f} s; longest ticker gap "
                f"{f.longest_gap * 1000:7.1f} ms ({f.ticks:,} ticks); cpu here "
                f"{f.cpu_here:.3f} s, in the worker {f.cpu_worker:.3f} s"
            )
        print(
            f"   {where:<13} median: wall {statistics.median(f.wall for f in figures):.3f} s, "
            f"longest gap {statistics.median(f.longest_gap for f in figures) * 1000:.1f} ms"
        )
    print(
        f"   RSS of this process: {rss_before:,.0f} MiB before, "
        f"{rows['in-process'][-1].rss_after_mib:,.0f} MiB after the in-process runs (what a "
        "long-lived worker process would keep)"
    )


SWEEP_EDGES = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)


def threshold_sweep(backend: str, seed: int, repeat: int) -> None:
    """Small graphs both ways: where does the worker start to save more than it costs?"""
    if backend == "postgresql" and postgres_available():
        return
    print(f"\n-- threshold sweep on {backend}: in-process vs worker process, small graphs")
    print(
        "   edges    | in-process: wall   cpu   longest gap | worker: wall   longest gap (medians)"
    )
    with scratch_dir("pagerank-sweep") as workdir, scratch_database(backend, workdir) as url:
        services = in_process(url, workdir / "data")
        runner = PagerankProcessRunner(min_edges=0)
        engine, now = services.engine, services.clock.now()
        for n_edges in SWEEP_EDGES:
            tenant, _ = services.tenants.create_tenant(
                BENCH_OPERATOR, name="Bench", slug=f"sweep-{n_edges}", plan="enterprise"
            )
            seed_graph(services.engine, tenant.id, max(100, n_edges // 7), n_edges, seed)
            tenant_id = tenant.id
            runner(engine, tenant_id, now, PAGERANK_KEEP)  # warm: forkserver, caches
            here_run = functools.partial(recompute_stored, engine, tenant_id, now, PAGERANK_KEEP)
            worker_run = functools.partial(runner, engine, tenant_id, now, PAGERANK_KEEP)
            here = [timed_recompute(here_run) for _ in range(max(repeat, 5))]
            worker = [timed_recompute(worker_run) for _ in range(max(repeat, 5))]
            here_wall, here_cpu = _median_ms(here, "wall"), _median_ms(here, "cpu_here")
            here_gap, worker_gap = (
                _median_ms(here, "longest_gap"),
                _median_ms(worker, "longest_gap"),
            )
            print(
                f"   {n_edges:>8,} | {here_wall:>8.1f} ms {here_cpu:>6.1f} ms {here_gap:>6.1f} ms"
                f" | {_median_ms(worker, 'wall'):>8.1f} ms {worker_gap:>6.1f} ms"
            )
        runner.close()
        services.engine.dispose()


def _median_ms(figures: list[StallFigures], name: str) -> float:
    return float(statistics.median(getattr(f, name) for f in figures)) * 1000


def seed_graph(engine: Any, tenant_id: str, n_nodes: int, n_edges: int, seed: int) -> int:
    """Entities ``ent_<i>`` and distinct edges between them, written in bulk through the
    driver (COPY on PostgreSQL); returns the number of relationships."""
    return len(seed_graph_edges(engine, tenant_id, n_nodes, n_edges, seed))


def seed_graph_edges(
    engine: Any, tenant_id: str, n_nodes: int, n_edges: int, seed: int
) -> list[tuple[int, int]]:
    """``seed_graph``, returning the edges as node-index pairs (the peer's edge list)."""
    from intelgraph.store.tables import entities, relationships

    now = datetime.now(UTC)
    edges = graph_edges(n_nodes, n_edges, seed)
    entity_rows = (
        (
            tenant_id,
            f"ent_{i:024x}",
            f"x{i}",
            _TYPES[i % len(_TYPES)],
            f"node {i}",
            "{}",
            0.9,
            "bench",
            "[]",
            now,
            now,
        )
        for i in range(n_nodes)
    )
    edge_rows = (
        (
            tenant_id,
            f"rel_{n:024x}",
            "LINKED_TO",
            f"ent_{a:024x}",
            f"ent_{b:024x}",
            0.9,
            "{}",
            now,
            now,
        )
        for n, (a, b) in enumerate(edges)
    )
    with engine.begin() as conn:
        for table, rows in ((entities, entity_rows), (relationships, edge_rows)):
            _bulk_write(conn, table, rows)
    return edges


_TYPES = ("PERSON", "ORGANIZATION", "ACCOUNT", "DEVICE", "LOCATION")


def _bulk_write(conn: Any, table: Any, rows: Iterator[tuple[Any, ...]]) -> None:
    names = [column.name for column in table.columns]
    raw = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    # SQLite: the values as SQLAlchemy would bind them (DateTime as its text format).
    binders = [column.type.bind_processor(conn.dialect) for column in table.columns]
    marks = ", ".join("?" * len(names))
    cursor = raw.cursor()
    cursor.executemany(
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})",
        (
            tuple(
                bind(value) if bind is not None and not isinstance(value, str) else value
                for bind, value in zip(binders, row, strict=True)
            )
            for row in rows
        ),
    )
    cursor.close()


def _fresh(text: str) -> str:
    """An equal string in a new object, with no cached hash."""
    return text.encode().decode()


def _summary(label: str, walls: list[float], cpus: list[float]) -> None:
    print(
        f"{label}: wall best {min(walls):.3f} s median {statistics.median(walls):.3f} s; "
        f"cpu best {min(cpus):.3f} s median {statistics.median(cpus):.3f} s; "
        f"load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
