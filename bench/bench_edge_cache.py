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
   served. ``GET /healthz`` the same way gives the floor (HTTP server, event loop, the
   outer stages). Without ``wrk`` an httpx closed loop (in the generator process) stands
   in; it saturates before the server does, so its rate is a lower bound.
3. the hit path in process: CPU per hit and per 304 through the whole ASGI app
   (request log, authentication, versioning, quotas, metering, edge cache) with no HTTP
   server; ``--profile`` adds a cProfile breakdown by gateway stage.

Prints figures and never fails on time. The machine's load is printed in the header and
after each run: wall-clock latencies on a shared 2-core machine are noisy; CPU per request
is the steadier figure. Target: p95(on) <= 0.50 x p95(off) with no errors; >= 5,000 hits/s.
Run: ``.venv/bin/python bench/bench_edge_cache.py [--quick] [--no-redis] [--profile]``.
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
    lane_client,
    machine_load,
    ndjson,
    percentiles,
    print_header,
    scratch_database,
    scratch_dir,
    send_on_schedule,
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
    clients = [lane_client(plan["url"], bearer(plan["key"])) for _ in range(plan["lanes"])]
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
        outcome.sent, outcome.max_lag = await send_on_schedule(paths, rate, start, queue)
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
        lane_client(plan["url"], bearer(plan["key"]) | plan["headers"])
        for _ in range(plan["lanes"])
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
    sent = max(1, outcome.sent)
    print(
        f"  CPU: server {outcome.server_cpu / wall:.0%} of one core, "
        f"{outcome.server_cpu / sent * 1e3:.2f} ms per request; load generator "
        f"{outcome.client_cpu / wall:.0%} ({outcome.client_cpu / sent * 1e3:.2f} ms per "
        f"request); send lag behind schedule max {outcome.max_lag * 1e3:.1f} ms"
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
    if after and before and path.startswith("/graphql"):
        hits = after["hits"] - before["hits"]
        not_modified = after["not_modified"] - before["not_modified"]
        misses = after["misses"] - before["misses"]
        result.served = (
            f"server counted {hits:,.0f} hits ({not_modified:,.0f} of them 304), "
            f"{misses:,.0f} misses"
        )
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
            found = saturate(
                name, server, seeded.api_key, hot, headers, connections, seconds, workdir
            )
            if found is not None:
                results.append(found)
        # The floor: what the HTTP server and the outer stages cost for the cheapest route.
        found = saturate(
            "GET /healthz (floor)",
            server,
            seeded.api_key,
            "/healthz",
            {},
            connections,
            seconds,
            workdir,
        )
        if found is not None:
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


# --- the hit path in process ----------------------------------------------------------------


async def asgi_call(
    app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> tuple[int, dict[bytes, bytes], bytes]:
    """One request straight through an ASGI app (no HTTP server): status, headers, body."""
    target, _, query = path.partition("?")
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": target,
        "raw_path": target.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, receive, send)
    start = messages[0]
    return (
        start["status"],
        dict(start["headers"]),
        b"".join(m.get("body", b"") for m in messages[1:]),
    )


async def hit_path_in_process(workdir: Path, calls: int, profile: bool) -> tuple[float, float]:
    """CPU seconds per cache hit (200) and per 304 through the whole app, in this process:
    request log, authentication, versioning, quotas, metering and the edge cache, without
    the HTTP server. With ``profile``, where the hit's time goes (cProfile, by stage)."""
    from intelgraph.app import create_app
    from intelgraph.bootstrap import start_services
    from intelgraph.settings import Settings

    settings = Settings(
        database_url=f"sqlite:///{workdir}/in-process.db",
        data_dir=workdir / "in-process",
        operator_key=OPERATOR_KEY,
        run_background_jobs=False,
        cache_enabled=True,
        cache_redis_url=None,
        redis_url=None,
    )
    app = create_app(services=start_services(settings))
    services = app.state.services
    lifespan: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await lifespan.put({"type": "lifespan.startup"})
    running = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}}, lifespan.get, replies.put)
    )
    await replies.get()
    try:
        from intelgraph.kernel.tenancy import local_operator

        bench = local_operator("bench")
        tenant, issued = services.tenants.create_tenant(
            bench, name="Bench", slug="bench-hit-path", plan="enterprise"
        )
        for limit in ("api_rpm", "ingest_eps"):
            services.entitlements.set_override(
                bench, tenant.id, limit, 10**9, reason="benchmark tenant"
            )
        auth = (b"authorization", f"Bearer {issued.plaintext}".encode())
        line = next(entity_lines(1, seed=31))
        status, _, body = await asgi_call(
            app,
            "POST",
            "/v1/ingest",
            [auth, (b"content-type", b"application/x-ndjson")],
            ndjson([line]),
        )
        if status != 200:
            raise RuntimeError(f"in-process ingest answered {status}: {body[:300]!r}")
        hot = entity_path(orjson.loads(body)["ids"][line["external_id"]])
        await asgi_call(app, "GET", hot, [auth])
        status, headers, _ = await asgi_call(app, "GET", hot, [auth])
        if status != 200 or headers.get(b"x-ig-cache") != b"HIT":
            raise RuntimeError(f"the hot key is not a hit in process ({status}, {headers})")
        not_modified = [auth, (b"if-none-match", headers[b"etag"])]
        per_call = []
        for request_headers, expected in (([auth], 200), (not_modified, 304)):
            cpu = time.process_time()
            for _ in range(calls):
                status, _, _ = await asgi_call(app, "GET", hot, request_headers)
            per_call.append((time.process_time() - cpu) / calls)
            if status != expected:
                raise RuntimeError(f"expected {expected}, got {status}")
        if profile:
            await profile_hit_path(app, hot, auth, min(calls, 20_000))
        return per_call[0], per_call[1]
    finally:
        await lifespan.put({"type": "lifespan.shutdown"})
        await running


async def profile_hit_path(app: Any, path: str, auth: tuple[bytes, bytes], calls: int) -> None:
    """cProfile of ``calls`` hits: each gateway stage's cumulative share, then the functions
    with the most time of their own (shares are of the profiled total; the profiler's own
    overhead inflates small functions)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()

    async def hits() -> None:
        for _ in range(calls):
            await asgi_call(app, "GET", path, [auth])

    profiler.enable()
    await hits()
    profiler.disable()
    stats = pstats.Stats(profiler)
    table: Any = stats.stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in table.values())
    rows = [
        (f"{Path(file).name}:{line}({name})", row[2], row[3])
        for (file, line, name), row in table.items()
    ]
    print(
        f"  profile of {calls:,} hits (share of profiled time; cumulative includes inner stages):"
    )
    stages = [
        r
        for r in rows
        if "__call__" in r[0]
        and any(
            stage in r[0]
            for stage in ("request_log", "authn", "versioning", "quotas", "metering", "middleware")
        )
    ]
    # The stages are nested outermost first, so a stage alone is its cumulative share less
    # the next inner stage's.
    nested = sorted(stages, key=lambda r: -r[2])
    for n, (name, _, cumulative) in enumerate(nested):
        inner = nested[n + 1][2] if n + 1 < len(nested) else 0.0
        print(
            f"    {cumulative / total:6.1%} cumulative, {(cumulative - inner) / total:6.1%} "
            f"this stage alone  {name}"
        )
    print("  most time of their own:")
    for name, own, _ in sorted(rows, key=lambda r: -r[1])[:15]:
        print(f"    {own / total:6.1%} own  {name}")


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


def print_summary(
    runs: list[RunFigures],
    saturated: list[Saturated],
    hit_path: tuple[float, float] | None,
) -> None:
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
            verdict = "met" if found.rate >= TARGET_HITS else "MISSED"
            per_core = 1 / found.server_cpu_per_request if found.server_cpu_per_request else 0
            target = (
                f"  (target >= {TARGET_HITS:,.0f}/s: {verdict}; "
                f"~{per_core:,.0f}/s if the worker had a whole core)"
            )
        print(
            f"saturated {found.name:<22} {found.rate:8,.0f}/s  server "
            f"{found.server_cpu_per_request * 1e6:6,.0f} us CPU/request "
            f"({found.server_core_share:.0%} of a core){target}"
        )
    if hit_path is not None:
        print(
            f"in-process hit path (ASGI app, all gateway stages): {hit_path[0] * 1e6:.1f} us CPU "
            f"per 200 hit, {hit_path[1] * 1e6:.1f} us per 304"
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
    parser.add_argument("--hit-path-calls", type=int, default=20_000, help="in-process hits")
    parser.add_argument(
        "--profile", action="store_true", help="profile the in-process hit path by stage"
    )
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
        saturated=(
            f"one hot key, {args.connections} connections, {saturate_seconds:g} s, one worker"
        ),
        targets=(
            f"p95(on) <= {TARGET_RATIO:.2f} x p95(off), no errors; >= {TARGET_HITS:,.0f} hits/s"
        ),
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
        print(f"\n[hit path in process: {args.hit_path_calls:,} calls through the ASGI app]")
        hit_path: tuple[float, float] | None = None
        try:
            hit_path = asyncio.run(hit_path_in_process(workdir, args.hit_path_calls, args.profile))
            print(
                f"  CPU per call: 200 hit {hit_path[0] * 1e6:.1f} us, 304 "
                f"{hit_path[1] * 1e6:.1f} us (no HTTP server; compare the server's CPU per "
                "request above, whose difference is the HTTP server and event loop)"
            )
        except Exception as exc:  # a figure missing is reported, never a crash
            print(f"  could not measure: {type(exc).__name__}: {exc}")
        print_summary(runs, saturated, hit_path)


if __name__ == "__main__":
    main()
