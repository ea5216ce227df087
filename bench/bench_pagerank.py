"""PageRank of a 1,000,000-edge power-law graph: graph build + PageRank, timed.

Two paths, as the service can call them:
- indexed: integer edge arrays -> ``build_graph`` -> ``pagerank_scores``;
- string ids: ``compute_pagerank(entity_ids, (from_id, to_id) pairs)``, which also maps ids
  to integers and returns a dict keyed by entity id (what the service stores).

Edges come from ``random_graph_edges`` (Zipf endpoint weights, tail exponent 2.4). Prints
figures; never passes or fails. Target: build + PageRank <= 3 s on a 2-core machine.

Run: ``.venv/bin/python bench/bench_pagerank.py [--quick] [--nodes N] [--edges M] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import Counter

from harness import print_header
from intelgraph.demo.records import random_graph_edges
from intelgraph.graph.pagerank import build_graph, compute_pagerank, pagerank_scores, top_scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=150_000)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="one run of each path")
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
