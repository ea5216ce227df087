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

Run: ``.venv/bin/python bench/bench_pagerank.py [--quick] [--nodes N] [--edges M] [--repeat R]
[--store sqlite|postgresql|all|none]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
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
from intelgraph.graph.pagerank import build_graph, compute_pagerank, pagerank_scores, top_scores


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
    args = parser.parse_args()
    if args.quick:
        args.repeat = 1

    print_header(
        "PageRank: graph build + PageRank (python-igraph, PRPACK)",
        nodes=f"{args.nodes:,}",
        edges=f"{args.edges:,}",
        repeat=args.repeat,
    )

    started = time.perf_counter()
    edges = random_graph_edges(args.nodes, args.edges, args.seed)
    generated = time.perf_counter() - started
    in_degree = Counter(target for _, target in edges)
    print(
        f"generated edges in {generated:.2f} s; nodes with an in-edge: {len(in_degree):,}; "
        f"max in-degree {max(in_degree.values()):,}; "
        f"self-loops {sum(source == target for source, target in edges):,}"
    )
    sources = [source for source, _ in edges]
    targets = [target for _, target in edges]
    ids = [f"ent_{index:024x}" for index in range(args.nodes)]

    print("\n-- indexed path (integer edge arrays): build_graph + pagerank_scores")
    walls, cpus = [], []
    for run in range(1, args.repeat + 1):
        c0, t0 = time.process_time(), time.perf_counter()
        graph = build_graph(args.nodes, sources, targets)
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
    for run in range(1, args.repeat + 1):
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

    backends = {"none": (), "all": ("sqlite", "postgresql")}.get(args.store, (args.store,))
    for backend in backends:
        store_path(backend, args.nodes, args.edges, args.seed, args.repeat)


def store_path(backend: str, n_nodes: int, n_edges: int, seed: int, repeat: int) -> None:
    """The service's recompute on a stored graph, whole and split into its steps."""
    print(f"\n-- service path on {backend}: GraphService.recompute_pagerank")
    if backend == "postgresql" and (why := postgres_available()):
        print(f"   skipped: PostgreSQL not reachable ({why})")
        return
    from intelgraph.graph import repository as repo
    from intelgraph.graph.service import PAGERANK_KEEP, ranked_subset

    with scratch_dir("pagerank") as workdir, scratch_database(backend, workdir) as url:
        services = in_process(url, workdir / "data")
        tenant, _ = services.tenants.create_tenant(name="Bench", slug="bench-pr", plan="enterprise")
        started = time.perf_counter()
        seeded = seed_graph(services.engine, tenant.id, n_nodes, n_edges, seed)
        print(
            f"   seeded {n_nodes:,} entities and {seeded:,} relationships in "
            f"{time.perf_counter() - started:.1f} s (bulk insert, not timed below)"
        )
        engine, graph = services.engine, services.graph
        for run in range(1, repeat + 1):
            whole = Stopwatch()
            with whole.running():
                scored = graph.recompute_pagerank(tenant.id)
            load, compute, rank, write = Stopwatch(), Stopwatch(), Stopwatch(), Stopwatch()
            with load.running(), engine.connect() as conn:
                nodes, types, edges = repo.all_edges(conn, tenant.id)
            with compute.running():
                scores = compute_pagerank(nodes, edges)
            with rank.running():
                kept = ranked_subset(scores, dict(zip(nodes, types, strict=True)), PAGERANK_KEEP)
            with write.running(), engine.begin() as conn:
                repo.replace_pagerank(conn, tenant.id, kept, services.clock.now())
            del edges
            print(
                f"   run {run}: recompute_pagerank {whole.wall:.3f} s (cpu {whole.cpu:.3f} s), "
                f"{scored:,} entities scored"
            )
            print(
                f"     steps: load {load.wall:.3f} s (cpu {load.cpu:.3f}); compute "
                f"(ids -> indexes, igraph) {compute.wall:.3f} s (cpu {compute.cpu:.3f}); rank "
                f"{rank.wall:.3f} s (cpu {rank.cpu:.3f}); write {len(kept):,} kept scores "
                f"{write.wall:.3f} s (cpu {write.cpu:.3f})"
            )
        services.engine.dispose()
    print(f"   load average {os.getloadavg()[0]:.2f}")


def seed_graph(engine: Any, tenant_id: str, n_nodes: int, n_edges: int, seed: int) -> int:
    """Entities ``ent_<i>`` and distinct edges between them, written in bulk through the
    driver (COPY on PostgreSQL); returns the number of relationships."""
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
    return len(edges)


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
