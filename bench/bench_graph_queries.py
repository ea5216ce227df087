"""Graph reads on SQLite: `neighbors(hops: 2)` on a 100,000-entity graph, and PageRank end
to end on a 1,000,000-relationship graph.

1. neighbors: 100,000 PERSON entities and ~400,000 relationships with power-law degrees are
   loaded through ``services.graph.ingest`` (in process), then ``neighbors(hops=2)`` (default
   limit 50) is timed from 500 random start entities in process, and for a sample over HTTP
   (GraphQL, a real ``intelgraph serve`` subprocess on the same SQLite file).
2. PageRank: 200,000 entities and 1,000,000 relationships are inserted *directly* with
   SQLAlchemy Core into ``intelgraph.store.tables`` (bench setup only: ingest would take
   minutes), then ``services.graph.recompute_pagerank(tenant_id)`` is timed end to end and
   in its parts (load edges, compute, store scores).

Prints figures; never passes or fails. Targets: neighbors p95 <= 50 ms; PageRank <= 3 s.
Run: ``.venv/bin/python bench/bench_graph_queries.py [--quick]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from harness import (
    Server,
    Stopwatch,
    bearer,
    generator_source,
    in_process,
    latency_line,
    ndjson,
    percentiles,
    print_header,
    scratch_dir,
)

REL_TYPES = ("CONNECTED_TO", "COMMUNICATES_WITH", "WORKS_FOR", "TRANSACTED_WITH", "RELATED_TO")
NEIGHBORS_QUERY = (
    "query N($id: ID!) { neighbors(id: $id, hops: 2) "
    "{ entities { id type label } relationships { id type fromId toId } } }"
)
TARGET_NEIGHBORS_P95 = 0.050
TARGET_PAGERANK = 3.0


def timed(label: str, action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = action()
    print(f"  {label}: {time.perf_counter() - started:.2f} s", flush=True)
    return result


# --- neighbors ----------------------------------------------------------------------------


def load_graph_by_ingest(
    services: Any, principal: Any, n_entities: int, n_edges: int, seed: int
) -> tuple[list[str], Counter[int]]:
    """Entities then relationships through graph.ingest; entity ids by node index, degrees."""
    from harness import entity_lines, graph_edges
    from intelgraph.graph.ingest import parse_ndjson

    started = time.perf_counter()
    ids: list[str] = []
    for start in range(0, n_entities, 1000):
        lines = list(entity_lines(min(1000, n_entities - start), seed, start=start))
        result = services.graph.ingest(principal, parse_ndjson(ndjson(lines)))
        ids += [result.body["ids"][line["external_id"]] for line in lines]
    external = [line["external_id"] for line in entity_lines(n_entities, seed)]
    seconds = time.perf_counter() - started
    print(f"  {n_entities:,} entities ingested in {seconds:.1f} s ({n_entities / seconds:,.0f}/s)")
    started = time.perf_counter()
    edges = graph_edges(n_entities, n_edges, seed)
    print(f"  {len(edges):,} power-law edges generated in {time.perf_counter() - started:.1f} s")
    rng = random.Random(seed)
    started = time.perf_counter()
    batch = 5000
    for start in range(0, len(edges), batch):
        lines = [
            {
                "kind": "relationship",
                "type": rng.choice(REL_TYPES),
                "from": external[a],
                "to": external[b],
                "confidence": 0.8,
            }
            for a, b in edges[start : start + batch]
        ]
        services.graph.ingest(principal, parse_ndjson(ndjson(lines)))
    seconds = time.perf_counter() - started
    print(
        f"  {len(edges):,} relationships ingested in {seconds:.1f} s "
        f"({len(edges) / seconds:,.0f}/s, {batch:,}-line batches)"
    )
    degree: Counter[int] = Counter()
    for a, b in edges:
        degree[a] += 1
        degree[b] += 1
    return ids, degree


def neighbors_in_process(
    services: Any, principal: Any, starts: Sequence[str]
) -> tuple[list[float], list[float], list[tuple[int, int]]]:
    latencies, cpu, sizes = [], [], []
    for entity_id in starts:
        started, started_cpu = time.perf_counter(), time.process_time()
        subgraph = services.graph.neighbors(principal, entity_id, hops=2)
        latencies.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        sizes.append((len(subgraph.entities), len(subgraph.relationships)))
    return latencies, cpu, sizes


def neighbors_over_http(server: Server, api_key: str, starts: Sequence[str]) -> list[float]:
    latencies = []
    headers = bearer(api_key) | {"content-type": "application/json"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        for entity_id in starts[:5]:
            client.post("/graphql", content=_neighbors_body(entity_id))
        for entity_id in starts:
            started = time.perf_counter()
            response = client.post("/graphql", content=_neighbors_body(entity_id))
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200 or b'"errors"' in response.content:
                raise RuntimeError(f"neighbors answered {response.status_code}: {response.text}")
    return latencies


def _neighbors_body(entity_id: str) -> bytes:
    return orjson.dumps({"query": NEIGHBORS_QUERY, "variables": {"id": entity_id}})


def neighbors_bench(args: argparse.Namespace) -> float:
    n_entities, n_edges = args.entities, args.edges
    print(f"\n[neighbors(hops: 2): {n_entities:,} entities, ~{n_edges:,} relationships, SQLite]")
    with scratch_dir("neighbors") as workdir:
        url = f"sqlite:///{workdir}/graph.db"
        services = in_process(url, workdir / "data")
        from intelgraph.kernel.tenancy import Principal, local_operator

        tenant, issued = services.tenants.create_tenant(
            local_operator("bench"), name="Bench graph", slug="bench-graph", plan="enterprise"
        )

        principal = Principal(
            tenant_id=tenant.id, key_id=issued.key.id, name="bench", roles=("admin",)
        )
        ids, degree = load_graph_by_ingest(services, principal, n_entities, n_edges, seed=3)
        rng = random.Random(17)
        starts = [ids[rng.randrange(len(ids))] for _ in range(args.starts)]
        hubs = [ids[node] for node, _ in degree.most_common(20)]
        degrees = sorted(degree.values())
        print(
            f"  degree: median {statistics.median(degrees):.0f}, p99 "
            f"{percentiles(degrees, (99,))[0]:.0f}, max {degrees[-1]:,}"
        )
        neighbors_in_process(services, principal, starts[:20])  # warm the page cache
        latencies, cpu, sizes = neighbors_in_process(services, principal, starts)
        print("  " + latency_line(f"in process, {len(starts)} random starts", latencies))
        print("  " + latency_line("    the same, CPU time per call", cpu))
        ents = [e for e, _ in sizes]
        rels = [r for _, r in sizes]
        print(
            f"    answer size: entities median {statistics.median(ents):.0f} max {max(ents)}, "
            f"relationships median {statistics.median(rels):.0f} max {max(rels)}"
        )
        slowest = sorted(zip(latencies, starts, strict=True), reverse=True)[:3]
        index = {entity_id: n for n, entity_id in enumerate(ids)}
        print(
            "    slowest starts (ms, degree): "
            + ", ".join(f"{s * 1e3:.0f} ({degree[index[e]]})" for s, e in slowest)
        )
        hub_latencies, _, _ = neighbors_in_process(services, principal, hubs)
        print("  " + latency_line("in process, the 20 highest-degree starts", hub_latencies))
        services.engine.dispose()
        with Server(url, workdir / "data") as server:
            sample = starts[: args.http_starts]
            http = neighbors_over_http(server, issued.plaintext, sample)
            print("  " + latency_line(f"over HTTP ({server.how}), {len(sample)} starts", http))
        p95 = percentiles(latencies)[1]
        state = "met" if p95 <= TARGET_NEIGHBORS_P95 else "MISSED"
        print(f"  target p95 <= 50 ms (in process): {state} (p95 {p95 * 1e3:.1f} ms)")
        return p95


# --- PageRank -------------------------------------------------------------------------------


def insert_graph_directly(
    services: Any, tenant_id: str, n_entities: int, n_edges: int, seed: int
) -> None:
    """Entity and relationship rows straight into the tables (bench setup only)."""
    from sqlalchemy import insert

    from harness import graph_edges
    from intelgraph.store.tables import entities, relationships

    now = datetime.now(UTC)
    entity_ids = [f"ent_bench{n:010d}" for n in range(n_entities)]
    edges = graph_edges(n_entities, n_edges, seed)
    rng = random.Random(seed)
    chunk = 50_000
    with services.engine.begin() as conn:
        for start in range(0, n_entities, chunk):
            conn.execute(
                insert(entities),
                [
                    {
                        "tenant_id": tenant_id,
                        "entity_id": entity_ids[n],
                        "external_id": f"pr-{n}",
                        "type": "PERSON",
                        "label": f"Person {n}",
                        "attributes": {},
                        "confidence": 1.0,
                        "source": "bench",
                        "purposes": [],
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in range(start, min(n_entities, start + chunk))
                ],
            )
        for start in range(0, len(edges), chunk):
            conn.execute(
                insert(relationships),
                [
                    {
                        "tenant_id": tenant_id,
                        "relationship_id": f"rel_bench{start + k:010d}",
                        "type": rng.choice(REL_TYPES),
                        "from_id": entity_ids[a],
                        "to_id": entity_ids[b],
                        "confidence": 1.0,
                        "attributes": {},
                        "first_seen": now,
                        "last_seen": now,
                    }
                    for k, (a, b) in enumerate(edges[start : start + chunk])
                ],
            )


def pagerank_parts(services: Any, tenant_id: str) -> dict[str, Stopwatch]:
    """The steps of recompute_pagerank, timed one by one (same calls, same order)."""
    from itertools import chain, repeat

    from sqlalchemy import select

    from intelgraph.graph import repository as repo
    from intelgraph.graph.pagerank import build_graph, pagerank_scores
    from intelgraph.store.tables import entities, relationships

    parts: dict[str, Stopwatch] = {}

    def part(name: str) -> Any:
        return parts.setdefault(name, Stopwatch()).running()

    with services.engine.connect() as conn:
        with part("load: entity ids (SELECT)"):
            node_rows = conn.execute(
                select(entities.c.entity_id).where(entities.c.tenant_id == tenant_id)
            )
            nodes = [row[0] for row in node_rows]
        with part("load: edges (SELECT from_id, to_id)"):
            edge_rows = conn.execute(
                select(relationships.c.from_id, relationships.c.to_id).where(
                    relationships.c.tenant_id == tenant_id
                )
            )
            edges = [(row[0], row[1]) for row in edge_rows]
    with part("compute: map string ids to ints"):
        unique_ids = list(dict.fromkeys(nodes))
        index = dict(zip(unique_ids, range(len(unique_ids)), strict=True))
        ends = list(map(index.get, chain.from_iterable(edges), repeat(-1)))
        sources, targets = ends[0::2], ends[1::2]
    with part("compute: igraph build + simplify"):
        graph = build_graph(len(unique_ids), sources, targets)
    with part("compute: PageRank (PRPACK) + dict"):
        scores = dict(zip(unique_ids, pagerank_scores(graph), strict=True))
    with part("store: DELETE + INSERT all scores"), services.engine.connect() as conn:
        transaction = conn.begin()
        repo.replace_pagerank(conn, tenant_id, scores, datetime.now(UTC))
        with part("store: COMMIT"):
            transaction.commit()
    parts["store: DELETE + INSERT all scores"].wall -= parts["store: COMMIT"].wall
    parts["store: DELETE + INSERT all scores"].cpu -= parts["store: COMMIT"].cpu
    return parts


def pagerank_bench(args: argparse.Namespace) -> float:
    n_entities, n_edges = args.pr_entities, args.pr_edges
    print(f"\n[PageRank end to end: {n_entities:,} entities, {n_edges:,} relationships, SQLite]")
    print("  setup: rows inserted directly with SQLAlchemy Core (bench only, not via ingest)")
    with scratch_dir("pagerank") as workdir:
        services = in_process(f"sqlite:///{workdir}/pagerank.db", workdir / "data")
        from intelgraph.kernel.tenancy import local_operator

        tenant, _ = services.tenants.create_tenant(
            local_operator("bench"), name="Bench PageRank", slug="bench-pagerank", plan="enterprise"
        )
        timed(
            "direct insert",
            lambda: insert_graph_directly(services, tenant.id, n_entities, n_edges, seed=5),
        )
        totals = []
        for attempt in range(args.repeats):
            watch = Stopwatch()
            with watch.running():
                scored = services.graph.recompute_pagerank(tenant.id)
            totals.append(watch.wall)
            print(
                f"  recompute_pagerank run {attempt + 1}: {watch.wall:.2f} s wall, "
                f"{watch.cpu:.2f} s CPU ({scored:,} entities scored)",
                flush=True,
            )
        parts = pagerank_parts(services, tenant.id)
        wall = sum(p.wall for p in parts.values())
        cpu = sum(p.cpu for p in parts.values())
        print(f"  parts (one more run, step by step; {wall:.2f} s wall, {cpu:.2f} s CPU):")
        for name, watch in parts.items():
            print(
                f"    {name:<38} {watch.wall:6.2f} s wall {watch.cpu:6.2f} s CPU "
                f"({watch.wall / wall:4.0%})"
            )
        services.engine.dispose()
    best, median = min(totals), statistics.median(totals)
    state = "met" if median <= TARGET_PAGERANK else "MISSED"
    print(f"  end to end: best {best:.2f} s, median {median:.2f} s; target <= 3 s: {state}")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller graphs, fewer starts")
    parser.add_argument("--entities", type=int, default=None)
    parser.add_argument("--edges", type=int, default=None)
    parser.add_argument("--starts", type=int, default=None)
    parser.add_argument("--http-starts", type=int, default=None)
    parser.add_argument("--pr-entities", type=int, default=None)
    parser.add_argument("--pr-edges", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=("neighbors", "pagerank"), default=None)
    args = parser.parse_args()
    quick = args.quick
    args.entities = args.entities or (20_000 if quick else 100_000)
    args.edges = args.edges or (80_000 if quick else 400_000)
    args.starts = args.starts or (200 if quick else 500)
    args.http_starts = args.http_starts or (50 if quick else 100)
    args.pr_entities = args.pr_entities or (50_000 if quick else 200_000)
    args.pr_edges = args.pr_edges or (250_000 if quick else 1_000_000)
    print_header(
        "bench_graph_queries: neighbors(hops: 2) and PageRank end to end, SQLite",
        records=generator_source(),
        targets="neighbors p95 <= 50 ms; recompute_pagerank on 10^6 relationships <= 3 s",
        mode="quick (smaller graphs: figures not comparable to the targets)" if quick else "full",
    )
    summary = []
    if args.only in (None, "neighbors"):
        p95 = neighbors_bench(args)
        summary.append(f"neighbors(hops: 2) p95 in process: {p95 * 1e3:.1f} ms (target 50 ms)")
    if args.only in (None, "pagerank"):
        median = pagerank_bench(args)
        summary.append(
            f"recompute_pagerank ({args.pr_edges:,} relationships): median {median:.2f} s "
            "(target 3 s)"
        )
    print("\nsummary:")
    for line in summary:
        print(f"  {line}")


if __name__ == "__main__":
    main()
