"""Edge cache: latency at a steady 200 requests/s with the cache off and on, then the
saturated rate of cache hits and of 304s on one worker.

A tenant is seeded once (PERSON entities and power-law relationships through ``/v1/ingest``,
PageRank computed once) in a SQLite file; every run then starts a fresh ``intelgraph serve``
(one worker) on that file, so each starts with an empty cache:

1. open loop, the same request schedule for every run: ``rate`` GET requests/s for the
   duration, 80 % ``getEntityById:v1`` with ids drawn Zipf-distributed (s = 1.1) over 1,000
   entities and 20 % ``pagerankTop:v1``, sent as persisted queries (``operationId`` and
   ``variables`` in the query string). Runs: cache off (``INTELGRAPH_CACHE_ENABLED=false``),
   cache on (memory backend), and cache on with the Redis backend when Redis answers. The
   load generator is a separate process (this script with ``--load-generator``: asyncio +
   httpx, one keep-alive connection per lane) that releases requests on schedule whatever
   the answers do and measures latency from the *scheduled* time, so a stalled server shows
   in the figures (no coordinated omission). Printed: p50/p95/p99/max, errors, the hit ratio
   from ``X-IG-Cache``, server and generator CPU, and p95(on)/p95(off) against the target
   (<= 0.50, no errors).
2. saturated, one worker, cache on: one hot key (warmed), ``wrk`` (C client, one thread)
   sending GETs as fast as the server answers, then the same GET with ``If-None-Match`` of
   the warm ETag (304s); for reference the same key with the cache off. Server CPU per
   request is read from /proc; the server's own hit and 304 counters confirm what was
   served. Without ``wrk`` an httpx closed loop (in the generator process) stands in; it
   saturates before the server does, so its rate is a lower bound.

Prints figures and never fails on time. The machine's load is printed in the header and
after each run: wall-clock latencies on a shared 2-core machine are noisy; CPU per request
is the steadier figure. Target: p95(on) <= 0.50 x p95(off) with no errors; >= 5,000 hits/s.
Run: ``.venv/bin/python bench/bench_edge_cache.py [--quick] [--no-redis]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import random
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from harness import (
    NDJSON_HEADERS,
    OPERATOR_KEY,
    Server,
    bearer,
    cpu_seconds,
    create_tenant,
    entity_lines,
    generator_source,
    graph_edges,
    in_process,
    machine_load,
    ndjson,
    percentiles,
    print_header,
    scratch_database,
    scratch_dir,
)

GET_ENTITY = "getEntityById:v1"
PAGERANK_TOP = "pagerankTop:v1"
PAGERANK_VARIABLES = {"limit": 20}
REDIS_URL = "redis://127.0.0.1:6379/0"
TARGET_RATIO = 0.50
TARGET_HITS = 5_000.0
BATCH = 1_000


# --- requests -------------------------------------------------------------------------------


def persisted_path(operation_id: str, variables: dict[str, Any]) -> str:
    """The GET form of a persisted query: ``/graphql?operationId=…&variables=…``."""
    query = urllib.parse.urlencode(
        {"operationId": operation_id, "variables": orjson.dumps(variables).decode()}
    )
    return f"/graphql?{query}"


def entity_path(entity_id: str) -> str:
    return persisted_path(GET_ENTITY, {"id": entity_id})


def pagerank_path() -> str:
    return persisted_path(PAGERANK_TOP, PAGERANK_VARIABLES)


def request_schedule(
    ids: list[str], count: int, share_entity: float, zipf_s: float, seed: int
) -> list[str]:
    """``count`` request paths: ``share_entity`` of them getEntityById with ids drawn
    Zipf(s) by rank over ``ids`` (rank order shuffled, so the hottest ids are not simply the
    first ingested), the rest pagerankTop. Seeded: every run replays the same sequence."""
    rng = random.Random(seed)
    ranked = list(ids)
    rng.shuffle(ranked)
    cumulative, total = [], 0.0
    for rank in range(1, len(ranked) + 1):
        total += rank**-zipf_s
        cumulative.append(total)
    paths = []
    for _ in range(count):
        if rng.random() < share_entity:
            paths.append(entity_path(rng.choices(ranked, cum_weights=cumulative)[0]))
        else:
            paths.append(pagerank_path())
    return paths


def zipf_hot_share(n: int, s: float, top: int) -> float:
    """The share of draws that land on the ``top`` hottest of ``n`` Zipf(s) ranks."""
    weights = [k**-s for k in range(1, n + 1)]
    return sum(weights[:top]) / sum(weights)


# --- seeding --------------------------------------------------------------------------------


@dataclass
class Seeded:
    slug: str
    api_key: str
    entity_ids: list[str]
    relationships: int
    scored: int


def seed_tenant(server: Server, entities: int, relationships: int) -> Seeded:
    """A tenant with ``entities`` PERSON entities and ``relationships`` power-law
    CONNECTED_TO edges between them, ingested in 1,000-line batches."""
    slug = f"bench-ec-{random.randrange(16**6):06x}"
    api_key = create_tenant(server.url, slug)
    ids: list[str] = []
    external: list[str] = []
    headers = NDJSON_HEADERS | bearer(api_key)
    with httpx.Client(base_url=server.url, headers=headers, timeout=300) as client:
        for start in range(0, entities, BATCH):
            lines = list(entity_lines(min(BATCH, entities - start), seed=31, start=start))
            response = client.post("/v1/ingest", content=ndjson(lines))
            response.raise_for_status()
            written = response.json()["ids"]
            ids += [written[line["external_id"]] for line in lines]
            external += [line["external_id"] for line in lines]
        edges = graph_edges(len(external), relationships, seed=13)
        for start in range(0, len(edges), BATCH):
            lines = [
                {
                    "kind": "relationship",
                    "type": "CONNECTED_TO",
                    "from": external[a],
                    "to": external[b],
                    "confidence": 0.8,
                }
                for a, b in edges[start : start + BATCH]
            ]
            client.post("/v1/ingest", content=ndjson(lines)).raise_for_status()
    return Seeded(slug, api_key, ids, len(edges), 0)


def compute_pagerank(database_url: str, data_dir: Path, slug: str) -> int:
    """PageRank for the tenant, once, in this process (as ``intelgraph analytics pagerank``)."""
    services = in_process(database_url, data_dir)
    tenant = services.tenants.get_tenant(slug)
    scored: int = services.graph.recompute_pagerank(tenant.id)
    with contextlib.suppress(Exception):
        services.edge_cache.stop()
    return scored


# --- the load generator process -------------------------------------------------------------


@dataclass
class Outcome:
    """Per-request results of an open-loop run, as the generator process reports them."""

    latency: list[float] = field(default_factory=list)  # from schedule, ok requests
    service: list[float] = field(default_factory=list)  # from actual send, ok requests
    scheduled_at: list[float] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # "entity" / "pagerank", ok requests
    cache: dict[str, int] = field(default_factory=dict)  # X-IG-Cache value -> count
    errors: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    wall: float = 0.0
    max_lag: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def count_error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    @property
    def hit_ratio(self) -> float:
        answered = sum(self.cache.values())
        return self.cache.get("HIT", 0) / answered if answered else math.nan


def check_answer(response: httpx.Response, path: str) -> str | None:
    """None for a 200 carrying the entity / a non-empty ranking, else a short error kind."""
    if response.status_code != 200:
        return f"http {response.status_code}"
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return "not json"
    if data.get("errors"):
        return "graphql error"
    payload = (data.get("data") or {}).get("pagerankTop" if "pagerankTop" in path else "entity")
    if not payload:
        return "empty answer"
    return None


def new_lane_client(base_url: str, api_key: str, headers: dict[str, str]) -> httpx.AsyncClient:
    """One keep-alive connection per lane, so httpx's pool never queues requests."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers=bearer(api_key) | headers,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        timeout=10.0,
    )


async def generate_open(plan: dict[str, Any]) -> Outcome:
    """Release ``plan["paths"]`` at ``plan["rate"]`` per second whatever the answers do.

    A released request waits in a queue for a free lane; that wait counts in its latency,
    which runs from the scheduled release time.
    """
    outcome = Outcome()
    paths: list[str] = plan["paths"]
    rate: float = plan["rate"]
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, float] | None] = asyncio.Queue()
    clients = [new_lane_client(plan["url"], plan["key"], {}) for _ in range(plan["lanes"])]
    start = 0.0

    async def lane(client: httpx.AsyncClient) -> None:
        while (item := await queue.get()) is not None:
            path, scheduled = item
            sent = loop.time()
            try:
                response = await client.get(path)
            except httpx.HTTPError as exc:
                outcome.count_error(type(exc).__name__)
                continue
            done = loop.time()
            problem = check_answer(response, path)
            if problem:
                outcome.count_error(problem)
                continue
            state = response.headers.get("x-ig-cache", "absent")
            outcome.cache[state] = outcome.cache.get(state, 0) + 1
            outcome.latency.append(done - scheduled)
            outcome.service.append(done - sent)
            outcome.scheduled_at.append(scheduled - start)
            outcome.kinds.append("pagerank" if "pagerankTop" in path else "entity")

    try:
        # Open the connections (and import what the first request needs) off the clock,
        # with a request the measured runs never send, so no cache entry is warmed.
        warm = persisted_path(GET_ENTITY, {"id": "warm-up-not-an-entity"})
        await asyncio.gather(*(client.get(warm) for client in clients))
        workers = [asyncio.create_task(lane(client)) for client in clients]
        gc.collect()
        gc.freeze()  # the generator's own collector must not stall the schedule
        server_cpu0, client_cpu0 = cpu_seconds(plan["server_pids"]), time.process_time()
        start = loop.time() + 0.05
        for n, path in enumerate(paths):
            scheduled = start + n / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                outcome.max_lag = max(outcome.max_lag, -delay)
            queue.put_nowait((path, scheduled))
            outcome.sent += 1
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers)
        outcome.wall = loop.time() - start
        outcome.server_cpu = cpu_seconds(plan["server_pids"]) - server_cpu0
        outcome.client_cpu = time.process_time() - client_cpu0
        return outcome
    finally:
        gc.unfreeze()
        for client in clients:
            await client.aclose()


async def generate_closed(plan: dict[str, Any]) -> dict[str, Any]:
    """``plan["lanes"]`` connections each sending ``plan["path"]`` again as soon as the last
    answer arrived, for ``plan["seconds"]``: the wrk stand-in."""
    loop = asyncio.get_running_loop()
    clients = [
        new_lane_client(plan["url"], plan["key"], plan["headers"]) for _ in range(plan["lanes"])
    ]
    statuses: dict[str, int] = {}
    latencies: list[float] = []
    deadline = 0.0

    async def lane(client: httpx.AsyncClient) -> None:
        while loop.time() < deadline:
            sent = loop.time()
            try:
                response = await client.get(plan["path"])
                status = str(response.status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            latencies.append(loop.time() - sent)
            statuses[status] = statuses.get(status, 0) + 1

    try:
        await asyncio.gather(*(client.get(plan["path"]) for client in clients))
        server_cpu0, client_cpu0 = cpu_seconds(plan["server_pids"]), time.process_time()
        start = loop.time()
        deadline = start + plan["seconds"]
        await asyncio.gather(*(lane(client) for client in clients))
        wall = loop.time() - start
        p50, p95, p99 = percentiles(latencies)
        return {
            "requests": len(latencies),
            "seconds": wall,
            "statuses": statuses,
            "p50": p50,
            "p95": p95,
            "p99": p99,
            "server_cpu": cpu_seconds(plan["server_pids"]) - server_cpu0,
            "client_cpu": time.process_time() - client_cpu0,
        }
    finally:
        for client in clients:
            await client.aclose()


def load_generator_main(plan_path: Path, result_path: Path) -> None:
    """Entry of the generator process: run the plan, write the figures as JSON."""
    plan = orjson.loads(plan_path.read_bytes())
    if plan["mode"] == "open":
        outcome = asyncio.run(generate_open(plan))
        result = outcome.__dict__
    else:
        result = asyncio.run(generate_closed(plan))
    result_path.write_bytes(orjson.dumps(result))


def run_generator(plan: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Run the load generator as a separate process; its JSON result."""
    plan_path = workdir / "plan.json"
    result_path = workdir / "result.json"
    result_path.unlink(missing_ok=True)
    plan_path.write_bytes(orjson.dumps(plan))
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--load-generator",
        str(plan_path),
        str(result_path),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0 or not result_path.exists():
        raise RuntimeError(f"load generator failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = orjson.loads(result_path.read_bytes())
    return result


# --- open-loop runs -------------------------------------------------------------------------


@dataclass
class RunFigures:
    name: str
    outcome: Outcome
    note: str = ""

    @property
    def p95(self) -> float:
        return percentiles(self.outcome.latency)[1]


def open_run(
    name: str,
    database_url: str,
    data_dir: Path,
    seeded: Seeded,
    paths: list[str],
    rate: float,
    lanes: int,
    extra_env: dict[str, str],
    workdir: Path,
) -> RunFigures:
    with Server(database_url, data_dir, workers=1, extra_env=extra_env) as server:
        plan = {
            "mode": "open",
            "url": server.url,
            "key": seeded.api_key,
            "rate": rate,
            "lanes": lanes,
            "paths": paths,
            "server_pids": server.pids(),
        }
        raw = run_generator(plan, workdir)
        outcome = Outcome(**raw)
        counters = cache_counters(server)
    report_open(name, outcome, rate, counters)
    return RunFigures(name, outcome)


def report_open(name: str, outcome: Outcome, rate: float, counters: dict[str, float]) -> None:
    wall = max(outcome.wall, 1e-9)
    print(
        f"  sent {outcome.sent:,} in {wall:.1f} s (achieved {outcome.sent / wall:,.1f}/s, asked "
        f"{rate:g}); ok {len(outcome.latency):,}; errors {outcome.error_count} "
        f"{outcome.errors or ''}"
    )
    print("  " + latency_text("latency from schedule", outcome.latency))
    print("  " + latency_text("service time (from send)", outcome.service))
    for kind in ("entity", "pagerank"):
        chosen = [v for v, k in zip(outcome.latency, outcome.kinds, strict=True) if k == kind]
        print("    " + latency_text(f"{kind:<8}", chosen))
    states = ", ".join(f"{k} {v:,}" for k, v in sorted(outcome.cache.items()))
    print(f"  X-IG-Cache: {states}; hit ratio {outcome.hit_ratio:.1%}")
    if counters:
        print(
            "  server counters: "
            + ", ".join(f"{k} {v:,.0f}" for k, v in counters.items() if k != "not_modified")
        )
    print(
        f"  CPU: server {outcome.server_cpu / wall:.0%} of one core, "
        f"{outcome.server_cpu / max(1, outcome.sent) * 1e3:.2f} ms per request; load "
        f"generator {outcome.client_cpu / wall:.0%} ({outcome.client_cpu / max(1, outcome.sent) * 1e3:.2f}"
        f" ms per request); send lag behind schedule max {outcome.max_lag * 1e3:.1f} ms"
    )
    report_over_time(outcome)
    print(f"  machine load after the run: {machine_load()}", flush=True)


def report_over_time(outcome: Outcome, window: float = 1.0, worst: int = 3) -> None:
    """The worst one-second windows: a stall shows as one window where latency jumps."""
    windows: dict[int, list[float]] = {}
    for at, latency in zip(outcome.scheduled_at, outcome.latency, strict=True):
        windows.setdefault(int(at / window), []).append(latency)
    if not windows:
        return
    ranked = sorted(windows.items(), key=lambda item: -percentiles(item[1], (95,))[0])[:worst]
    parts = [
        f"{index * window:.0f} s: p95 {percentiles(values, (95,))[0] * 1e3:.1f} ms"
        for index, values in sorted(ranked)
    ]
    print(f"  worst {window:g} s windows by p95: " + "; ".join(parts))


def latency_text(label: str, seconds: list[float]) -> str:
    p50, p95, p99 = percentiles(seconds)
    top = max(seconds) if seconds else math.nan
    return (
        f"{label}: n={len(seconds):,} p50={p50 * 1e3:.2f} p95={p95 * 1e3:.2f} "
        f"p99={p99 * 1e3:.2f} max={top * 1e3:.2f} ms"
    )


def cache_counters(server: Server) -> dict[str, float]:
    """The server's edge-cache counters (summed over tenants and operations) from /metrics."""
    try:
        text = httpx.get(f"{server.url}/metrics", timeout=10).text
    except httpx.HTTPError:
        return {}
    names = {
        "hits": "intelgraph_cache_hits_total",
        "misses": "intelgraph_cache_misses_total",
        "stale": "intelgraph_cache_stale_total",
        "coalesced": "intelgraph_cache_coalesced_total",
        "bypass": "intelgraph_cache_bypass_total",
        "not_modified": "intelgraph_cache_not_modified_total",
    }
    found: dict[str, float] = {}
    for short, metric in names.items():
        pattern = re.compile(rf"^{metric}(\{{[^}}]*\}})? ([0-9.e+-]+)$", re.MULTILINE)
        found[short] = sum(float(m.group(2)) for m in pattern.finditer(text))
    return found


# --- saturated runs -------------------------------------------------------------------------

WRK_LUA = """
done = function(summary, latency, requests)
  io.write(string.format(
    "WRKJSON {\\"requests\\":%d,\\"seconds\\":%f,\\"p50\\":%d,\\"p95\\":%d,\\"p99\\":%d," ..
    "\\"status_errors\\":%d,\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d,\\"timeout\\":%d}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout))
end
"""


@dataclass
class Saturated:
    name: str
    rate: float
    requests: int
    errors: int
    server_cpu_per_request: float
    server_core_share: float
    p50: float
    p99: float
    tool: str
    served: str = ""


def saturate(
    name: str,
    server: Server,
    api_key: str,
    path: str,
    headers: dict[str, str],
    connections: int,
    seconds: float,
    workdir: Path,
) -> Saturated | None:
    """The rate one worker sustains for one request, with wrk (or the httpx stand-in)."""
    before = cache_counters(server)
    wrk = shutil.which("wrk")
    if wrk is not None:
        script = workdir / "report.lua"
        script.write_text(WRK_LUA)
        command = [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "-s",
            str(script),
        ]
        for name_, value in (bearer(api_key) | headers).items():
            command += ["-H", f"{name_}: {value}"]
        command.append(server.url + path)
        server_cpu0 = cpu_seconds(server.pids())
        started = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        server_cpu = cpu_seconds(server.pids()) - server_cpu0
        match = re.search(r"WRKJSON (\{.*\})", completed.stdout)
        if completed.returncode != 0 or match is None:
            print(f"  {name}: wrk failed ({completed.returncode}): {completed.stderr[:300]}")
            return None
        figures = json.loads(match.group(1))
        requests = figures["requests"]
        errors = sum(figures[k] for k in ("status_errors", "connect", "read", "write", "timeout"))
        result = Saturated(
            name,
            requests / figures["seconds"],
            requests,
            errors,
            server_cpu / max(1, requests),
            server_cpu / wall,
            figures["p50"] / 1e6,
            figures["p99"] / 1e6,
            f"wrk 1 thread, {connections} connections",
        )
    else:
        plan = {
            "mode": "closed",
            "url": server.url,
            "key": api_key,
            "path": path,
            "headers": headers,
            "lanes": connections,
            "seconds": seconds,
            "server_pids": server.pids(),
        }
        figures = run_generator(plan, workdir)
        statuses: dict[str, int] = figures["statuses"]
        expected = "304" if "If-None-Match" in headers else "200"
        requests = figures["requests"]
        result = Saturated(
            name,
            requests / figures["seconds"],
            requests,
            requests - statuses.get(expected, 0),
            figures["server_cpu"] / max(1, requests),
            figures["server_cpu"] / figures["seconds"],
            figures["p50"],
            figures["p99"],
            f"httpx closed loop, {connections} connections (wrk not installed; a lower bound)",
        )
    after = cache_counters(server)
    if after and before:
        hits = after["hits"] - before["hits"]
        not_modified = after["not_modified"] - before["not_modified"]
        misses = after["misses"] - before["misses"]
        result.served = f"server counted {hits:,.0f} hits ({not_modified:,.0f} of them 304), {misses:,.0f} misses"
    print(
        f"  {name}: {result.rate:,.0f} requests/s ({result.requests:,} in {seconds:g} s, "
        f"{result.errors} errors), latency p50 {result.p50 * 1e3:.2f} ms p99 "
        f"{result.p99 * 1e3:.2f} ms; server {result.server_core_share:.0%} of one core, "
        f"{result.server_cpu_per_request * 1e6:,.0f} us CPU per request [{result.tool}]"
    )
    if result.served:
        print(f"    {result.served}")
    return result


def warm_hot_key(server: Server, api_key: str, path: str) -> str:
    """Fill the cache for ``path``; the ETag a later If-None-Match presents."""
    with httpx.Client(base_url=server.url, headers=bearer(api_key), timeout=30) as client:
        first = client.get(path)
        second = client.get(path)
        not_modified = client.get(path, headers={"If-None-Match": second.headers["etag"]})
    print(
        f"  hot key warmed: {first.headers.get('x-ig-cache')} then "
        f"{second.headers.get('x-ig-cache')} ({second.status_code}, {len(second.content)} bytes);"
        f" If-None-Match -> {not_modified.status_code} {not_modified.headers.get('x-ig-cache')}"
    )
    return second.headers["etag"]


def saturated_runs(
    database_url: str,
    data_dir: Path,
    seeded: Seeded,
    connections: int,
    seconds: float,
    workdir: Path,
) -> list[Saturated]:
    results: list[Saturated] = []
    hot = entity_path(seeded.entity_ids[0])
    with Server(database_url, data_dir, workers=1) as server:
        etag = warm_hot_key(server, seeded.api_key, hot)
        for name, headers in (
            ("cache hits (200)", {}),
            ("304 Not Modified", {"If-None-Match": etag}),
        ):
            if (
                found := saturate(
                    name, server, seeded.api_key, hot, headers, connections, seconds, workdir
                )
            ) is not None:
                results.append(found)
    with Server(database_url, data_dir, workers=1, extra_env=CACHE_OFF) as server:
        with httpx.Client(base_url=server.url, headers=bearer(seeded.api_key), timeout=30) as c:
            c.get(hot).raise_for_status()
        found = saturate(
            "cache off (resolved)", server, seeded.api_key, hot, {}, connections, seconds, workdir
        )
        if found is not None:
            results.append(found)
    return results


# --- main -----------------------------------------------------------------------------------

CACHE_OFF = {"INTELGRAPH_CACHE_ENABLED": "false"}
CACHE_MEMORY = {"INTELGRAPH_CACHE_ENABLED": "true"}
CACHE_REDIS = {"INTELGRAPH_CACHE_ENABLED": "true", "INTELGRAPH_CACHE_REDIS_URL": REDIS_URL}


def redis_available() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


def clean_redis(tenant_slug: str, database_url: str, data_dir: Path) -> None:
    """Drop the bench tenant's cache keys from the shared Redis."""
    with contextlib.suppress(Exception):
        import redis

        services = in_process(database_url, data_dir)
        tenant_id = services.tenants.get_tenant(tenant_slug).id
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"*{{{tenant_id}}}*", count=1000))
        if keys:
            client.delete(*keys)


def print_summary(runs: list[RunFigures], saturated: list[Saturated]) -> None:
    print("\n" + "=" * 78)
    print("summary")
    print("=" * 78)
    print(
        f"{'run':<22} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} {'hits':>7} "
        f"{'srv CPU/req':>12}"
    )
    for run in runs:
        p50, p95, p99 = percentiles(run.outcome.latency)
        cpu = run.outcome.server_cpu / max(1, run.outcome.sent) * 1e3
        hits = (
            "-"
            if math.isnan(run.outcome.hit_ratio) or not run.outcome.cache.get("HIT")
            else f"{run.outcome.hit_ratio:.0%}"
        )
        print(
            f"{run.name:<22} {p50 * 1e3:8.2f} {p95 * 1e3:8.2f} {p99 * 1e3:8.2f} "
            f"{run.outcome.error_count:7d} {hits:>7} {cpu:9.2f} ms"
        )
    off = next((r for r in runs if r.name == "cache off"), None)
    for run in runs:
        if run is off or off is None:
            continue
        ratio = run.p95 / off.p95 if off.p95 > 0 else math.nan
        met = (
            ratio <= TARGET_RATIO and run.outcome.error_count == 0 and off.outcome.error_count == 0
        )
        print(
            f"p95({run.name}) / p95(cache off) = {ratio:.2f}  (target <= {TARGET_RATIO:.2f}, "
            f"no errors): {'met' if met else 'MISSED'}"
        )
    for found in saturated:
        target = ""
        if found.name.startswith("cache hits"):
            target = f"  (target >= {TARGET_HITS:,.0f}/s: {'met' if found.rate >= TARGET_HITS else 'MISSED'})"
        print(
            f"saturated {found.name:<22} {found.rate:8,.0f}/s  server "
            f"{found.server_cpu_per_request * 1e6:6,.0f} us CPU/request "
            f"({found.server_core_share:.0%} of a core){target}"
        )
    print(f"machine load at the end: {machine_load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s open loops, 5 s saturated")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=None, help="open loop (default 60)")
    parser.add_argument("--entities", type=int, default=2_000)
    parser.add_argument("--relationships", type=int, default=8_000)
    parser.add_argument("--ids", type=int, default=1_000, help="distinct entity ids queried")
    parser.add_argument("--zipf", type=float, default=1.1)
    parser.add_argument("--lanes", type=int, default=32, help="open-loop connections")
    parser.add_argument("--connections", type=int, default=32, help="saturated connections")
    parser.add_argument("--saturate-seconds", type=float, default=None)
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis backend run")
    parser.add_argument(
        "--load-generator", nargs=2, metavar=("PLAN", "RESULT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.load_generator:
        load_generator_main(Path(args.load_generator[0]), Path(args.load_generator[1]))
        return
    seconds = args.seconds or (10.0 if args.quick else 60.0)
    saturate_seconds = args.saturate_seconds or (5.0 if args.quick else 15.0)
    redis_problem = "skipped (--no-redis)" if args.no_redis else redis_available()
    print_header(
        "bench_edge_cache: persisted reads through the edge cache, off vs on, then saturated",
        data=(
            f"{args.entities:,} PERSON entities, {args.relationships:,} CONNECTED_TO "
            f"relationships ({generator_source()}); SQLite"
        ),
        open_loop=(
            f"{args.rate:g} GET/s for {seconds:g} s over {args.lanes} connections: 80 % "
            f"{GET_ENTITY} (Zipf s={args.zipf:g} over {args.ids:,} ids), 20 % {PAGERANK_TOP}"
        ),
        runs="cache off, cache on (memory)" + ("" if redis_problem else ", cache on (Redis)"),
        saturated=f"one hot key, {args.connections} connections, {saturate_seconds:g} s, one worker",
        targets=f"p95(on) <= {TARGET_RATIO:.2f} x p95(off), no errors; >= {TARGET_HITS:,.0f} hits/s",
        wrk=shutil.which("wrk") or "not installed (httpx closed loop instead: a lower bound)",
    )
    with scratch_dir("edge-cache") as workdir, scratch_database("sqlite", workdir) as url:
        data_dir = workdir / "data"
        started = time.perf_counter()
        with Server(url, data_dir, workers=1) as server:
            print(f"server: {server.how}")
            seeded = seed_tenant(server, args.entities, args.relationships)
        seeded.scored = compute_pagerank(url, data_dir, seeded.slug)
        print(
            f"seeded {len(seeded.entity_ids):,} entities and {seeded.relationships:,} "
            f"relationships, PageRank over {seeded.scored:,} entities, in "
            f"{time.perf_counter() - started:.1f} s"
        )
        queried = seeded.entity_ids[: args.ids]
        paths = request_schedule(queried, int(args.rate * seconds), 0.8, args.zipf, seed=11)
        print(
            f"Zipf s={args.zipf:g}: the hottest 10 of {len(queried):,} ids take "
            f"{zipf_hot_share(len(queried), args.zipf, 10):.0%} of entity reads, the hottest 100 "
            f"{zipf_hot_share(len(queried), args.zipf, 100):.0%}; this schedule touches "
            f"{len(set(p for p in paths if GET_ENTITY.split(':')[0] in p)):,} distinct ids"
        )
        configs = [("cache off", CACHE_OFF), ("cache on (memory)", CACHE_MEMORY)]
        if redis_problem is None:
            configs.append(("cache on (Redis)", CACHE_REDIS))
        else:
            print(f"Redis run: {redis_problem}")
        runs: list[RunFigures] = []
        for name, env in configs:
            print(f"\n[{name}: open loop {args.rate:g}/s for {seconds:g} s, fresh server]")
            runs.append(
                open_run(name, url, data_dir, seeded, paths, args.rate, args.lanes, env, workdir)
            )
        if redis_problem is None:
            clean_redis(seeded.slug, url, data_dir)
        print(f"\n[saturated: one worker, {args.connections} connections, {saturate_seconds:g} s]")
        saturated = saturated_runs(
            url, data_dir, seeded, args.connections, saturate_seconds, workdir
        )
        print_summary(runs, saturated)


if __name__ == "__main__":
    main()
