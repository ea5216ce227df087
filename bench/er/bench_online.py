"""Online entity resolution: a 1,000-record batch resolved into an index of 100,000 people.

Generates synthetic PERSON records with known clusters (``intelgraph.demo.records``),
resolves the first 100,000 as a batch (training the model without labels) and builds the
in-memory ``ResolvedIndex`` from that result. Then it times ``resolve_incremental`` on the
next 1,000 records (``--batches`` times, each batch added to the index in turn), and
scores the final clusters of all records against the truth.

Prints figures; never fails on time. Run: ``.venv/bin/python bench/er/bench_online.py``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from intelgraph.demo.records import generate_people
from intelgraph.er.engine.config import default_config
from intelgraph.er.engine.evaluation import pairwise_metrics
from intelgraph.er.engine.pipeline import ResolvedIndex, resolve_batch, resolve_incremental
from intelgraph.er.engine.records import Record

SEED = 20_260_101


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-size", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--batches", type=int, default=5)
    args = parser.parse_args()
    needed = args.index_size + args.batch_size * args.batches

    print("=" * 78)
    print("Online ER: resolve a batch of new PERSON records into a resolved index")
    print(
        f"cores (os.cpu_count()): {os.cpu_count()}   python {platform.python_version()}   "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"index {args.index_size:,} records; {args.batches} batches of {args.batch_size:,}")
    print("=" * 78, flush=True)

    started = time.perf_counter()
    synthetic = []
    clusters = int(needed / 1.35) + 1
    while len(synthetic) < needed:
        synthetic = generate_people(clusters, SEED)
        clusters = int(clusters * 1.1) + 1
    synthetic = synthetic[:needed]
    records = [Record(s.record_id, s.entity_type, s.attributes) for s in synthetic]
    truth = {s.record_id: s.cluster_id for s in synthetic}
    print(f"generated {len(records):,} records in {time.perf_counter() - started:.1f}s")

    config = default_config("PERSON")
    started = time.perf_counter()
    resolution = resolve_batch(records[: args.index_size], config)
    batch_seconds = time.perf_counter() - started
    stages = ", ".join(f"{k} {v:.2f}" for k, v in resolution.timings.items())
    print(
        f"batch-resolved the index records in {batch_seconds:.1f}s ({stages}; "
        f"{len(resolution.candidates):,} candidate pairs)"
    )
    started = time.perf_counter()
    changes = resolution.assign_ids()
    index = ResolvedIndex.from_prepared(resolution.prepared, changes.assignment)
    print(f"built the index in {time.perf_counter() - started:.2f}s")

    seconds = []
    for batch in range(args.batches):
        start = args.index_size + batch * args.batch_size
        new = records[start : start + args.batch_size]
        started = time.perf_counter()
        result = resolve_incremental(new, index, resolution.model)
        elapsed = time.perf_counter() - started
        seconds.append(elapsed)
        stages = ", ".join(f"{k} {v * 1000:.0f}" for k, v in result.timings.items())
        joined = sum(
            1
            for r in result.record_ids
            if len(result.changes.assignment.members()[result.cluster_of(r)]) > 1
        )
        print(
            f"batch {batch + 1}: {len(new):,} records into {start:,} in {elapsed:.3f}s "
            f"(ms: {stages}); {result.candidate_count:,} candidate pairs, "
            f"{joined} joined a cluster, {len(result.held)} held"
        )
    print(
        f"resolve_incremental, {args.batch_size:,} records into ~{args.index_size:,}: "
        f"median {statistics.median(seconds):.3f}s, max {max(seconds):.3f}s"
    )
    resolved = {r: index.assignment.record_clusters[r] for r in truth}
    metrics = pairwise_metrics(resolved, truth)
    print(
        f"clusters of all {len(truth):,} records vs truth: P {metrics.precision:.4f} "
        f"R {metrics.recall:.4f} F1 {metrics.f1:.4f}"
    )


if __name__ == "__main__":
    main()
