"""Persisted queries versus full text: `entity(id)` by ``documentId`` and as a query string.

1. Over HTTP: a real ``intelgraph serve`` subprocess (one worker, scratch SQLite or
   PostgreSQL) with a tenant, a few thousand PERSON entities and the tenant-registered
   operation ``benchEntity:v1``. A closed loop (``wrk``, one thread, 16 connections; an
   asyncio+httpx loop when wrk is missing) sends, in interleaved rounds so drift on a shared
   machine hits every mode alike:

   - ``documentId``   ``{"documentId": "sha256:…", "variables": …}``
   - ``text``         the same document as ``{"query": …}``, byte-identical every time, so
                      after the first request it hits the server's parsed-document cache
                      (keyed by sha256 of the text): what a real client that sends text does
   - ``text-unique``  the same query with a distinct trailing comment per request, so every
                      request misses that cache and is parsed and validated

   reporting requests/s, p50/p95 latency and server CPU per request for each, and the ratios.

2. In process (no HTTP, no auth, no middleware): the GraphQL pipeline of ``POST /graphql``
   (read the JSON body → resolve the document from the registry or text → prepare → execute →
   encode the answer) per request for a persisted hit, full text with a warm document cache and
   full text with the cache disabled (a fresh ``GraphQLExecutor`` with ``cache_size=1`` and the
   text varied by whitespace, so every request parses and validates), plus parse, validate and
   execute on their own. This says where a >= 3x gain could come from: only the parse+validate
   share of a request, which the document cache already removes for repeated text.

Prints figures; never passes or fails. Target (issue 6): documentId >= 3x full text.
Run: ``.venv/bin/python bench/bench_persisted.py [--quick] [--backend postgresql]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from harness import (
    NDJSON_HEADERS,
    Server,
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

ENTITY_QUERY = "query benchEntity($id: ID!) { entity(id: $id) { id label type } }"
OPERATION_ID = "benchEntity:v1"
MODES = ("documentId", "text", "text-unique")
TARGET_RATIO = 3.0


# --- the HTTP closed loop -------------------------------------------------------------------


@dataclass
class LoadRound:
    mode: str
    requests: int
    seconds: float
    p50: float  # seconds
    p95: float
    errors: int
    server_cpu: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def request_parts(mode: str, document_id: str) -> tuple[str, str | None]:
    """The body as ``head + [n + unique_tail] + id + '"}}'`` for one mode."""
    if mode == "documentId":
        return f'{{"documentId":"{document_id}","variables":{{"id":"', None
    query = orjson.dumps(ENTITY_QUERY).decode()[1:-1]  # JSON-escaped, without the quotes
    if mode == "text":
        return f'{{"query":"{query}","variables":{{"id":"', None
    return f'{{"query":"{query} #', '","variables":{"id":"'


def body_for(mode: str, document_id: str, entity_id: str, n: int) -> bytes:
    head, unique_tail = request_parts(mode, document_id)
    middle = f"{n}{unique_tail}" if unique_tail is not None else ""
    return f'{head}{middle}{entity_id}"}}}}'.encode()


WRK_SCRIPT = """
local ids = {%(ids)s}
local head = [==[%(head)s]==]
local unique_tail = %(unique_tail)s
local n = 0
local bad = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"
request = function()
  n = n + 1
  local id = ids[(n %% #ids) + 1]
  local body
  if unique_tail then
    body = head .. n .. unique_tail .. id .. '"}}'
  else
    body = head .. id .. '"}}'
  end
  return wrk.format(nil, "/graphql", nil, body)
end
response = function(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format(
    "WRKJSON {\\"requests\\":%%d,\\"seconds\\":%%f,\\"p50\\":%%d,\\"p95\\":%%d," ..
    "\\"socket_errors\\":%%d}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(95),
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout + summary.errors.status))
end
"""


def wrk_round(
    wrk: str,
    server: Server,
    api_key: str,
    ids: list[str],
    mode: str,
    document_id: str,
    connections: int,
    seconds: float,
    workdir: Path,
) -> LoadRound:
    head, unique_tail = request_parts(mode, document_id)
    script = workdir / f"persisted-{mode}.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "ids": ",".join(f'"{i}"' for i in ids),
            "head": head,
            "unique_tail": "nil" if unique_tail is None else f"[==[{unique_tail}]==]",
            "key": api_key,
        }
    )
    command = [
        wrk,
        "-t1",  # one load thread: the other core is the server worker's
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "-s",
        str(script),
        server.url,
    ]
    cpu0 = cpu_seconds(server.pids())
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    server_cpu = cpu_seconds(server.pids()) - cpu0
    match = re.search(r"WRKJSON (\{.*\})", completed.stdout)
    if completed.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr[:300]}")
    figures = json.loads(match.group(1))
    # Bodies with "errors" are not counted by wrk's summary; the pre-flight check makes sure
    # every mode answers with data, and socket/status errors are reported.
    return LoadRound(
        mode,
        figures["requests"],
        figures["seconds"],
        figures["p50"] / 1e6,
        figures["p95"] / 1e6,
        figures["socket_errors"],
        server_cpu,
    )


async def httpx_round(
    server: Server,
    api_key: str,
    ids: list[str],
    mode: str,
    document_id: str,
    connections: int,
    seconds: float,
) -> LoadRound:
    """The fallback closed loop; on 2 cores this client can saturate before the server."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    headers = bearer(api_key) | {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(
        base_url=server.url, headers=headers, limits=limits, timeout=10
    ) as client:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds

        async def worker(seed: int) -> None:
            nonlocal errors
            rng = random.Random(seed)
            while loop.time() < deadline:
                body = body_for(mode, document_id, rng.choice(ids), next(counter))
                sent = loop.time()
                response = await client.post("/graphql", content=body)
                if response.status_code != 200 or b'"errors"' in response.content:
                    errors += 1
                    continue
                latencies.append(loop.time() - sent)

        cpu0 = cpu_seconds(server.pids())
        started = loop.time()
        await asyncio.gather(*(worker(n) for n in range(connections)))
        wall = loop.time() - started
    p50, p95 = percentiles(latencies, (50, 95))
    return LoadRound(
        mode, len(latencies), wall, p50, p95, errors, cpu_seconds(server.pids()) - cpu0
    )


def load_entities(server: Server, api_key: str, count: int) -> list[str]:
    ids: list[str] = []
    with httpx.Client(
        base_url=server.url, headers=NDJSON_HEADERS | bearer(api_key), timeout=300
    ) as client:
        for body in ndjson_batches((count + 999) // 1000, 1000, seed=31):
            response = client.post("/v1/ingest", content=body)
            response.raise_for_status()
            ids += response.json()["ids"].values()
    return ids[:count]


def register_operation(server: Server, api_key: str) -> str:
    """Register ENTITY_QUERY for the tenant (POST /v1/persisted-queries); its documentId."""
    response = httpx.post(
        f"{server.url}/v1/persisted-queries",
        json={"document": ENTITY_QUERY, "id": OPERATION_ID},
        headers=bearer(api_key),
        timeout=30,
    )
    response.raise_for_status()
    document_id: str = response.json()["documentId"]
    return document_id


def preflight(server: Server, api_key: str, document_id: str, entity_id: str) -> None:
    """Every mode answers 200 with the entity, or the bench stops here."""
    headers = bearer(api_key) | {"content-type": "application/json"}
    for mode in MODES:
        body = body_for(mode, document_id, entity_id, 1)
        response = httpx.post(f"{server.url}/graphql", content=body, headers=headers, timeout=30)
        data = response.json()
        if response.status_code != 200 or "errors" in data or not data["data"]["entity"]:
            raise RuntimeError(f"{mode}: {response.status_code} {response.text[:300]}")


def http_bench(args: argparse.Namespace, url: str, workdir: Path) -> dict[str, list[LoadRound]]:
    rounds: dict[str, list[LoadRound]] = {mode: [] for mode in MODES}
    with Server(url, workdir / "data", workers=1) as server:
        print(f"server: {server.how} at {server.url}, one worker")
        api_key = create_tenant(server.url)
        started = time.perf_counter()
        ids = load_entities(server, api_key, args.entities)
        print(f"loaded {len(ids):,} entities in {time.perf_counter() - started:.1f} s")
        document_id = register_operation(server, api_key)
        print(f"registered {OPERATION_ID} = {document_id}")
        preflight(server, api_key, document_id, ids[0])
        sample = random.Random(11).sample(ids, min(len(ids), 2000))
        wrk = shutil.which("wrk")
        client = "wrk (C, 1 thread)" if wrk else "httpx asyncio (wrk not installed)"
        print(
            f"closed loop: {client}, {args.connections} connections, {args.rounds} interleaved "
            f"round(s) of {args.seconds:g} s per mode\n"
        )

        def one_round(mode: str, seconds: float) -> LoadRound:
            if wrk is not None:
                return wrk_round(
                    wrk, server, api_key, sample, mode, document_id, args.connections,
                    seconds, workdir,
                )  # fmt: skip
            return asyncio.run(
                httpx_round(server, api_key, sample, mode, document_id, args.connections, seconds)
            )

        one_round("text", 2.0)  # warm-up: connections, SQLite pages, the document cache
        for number in range(1, args.rounds + 1):
            shift = (number - 1) % len(MODES)
            for mode in MODES[shift:] + MODES[:shift]:
                result = one_round(mode, args.seconds)
                rounds[mode].append(result)
                print(
                    f"  round {number} {mode:<12} {result.rate:8,.0f} requests/s  "
                    f"p50 {result.p50 * 1e3:6.2f} ms  p95 {result.p95 * 1e3:6.2f} ms  "
                    f"server CPU {1e3 * result.server_cpu / max(result.requests, 1):.3f} ms/req  "
                    f"errors {result.errors}",
                    flush=True,
                )
    return rounds


@dataclass(frozen=True)
class ModeFigures:
    rate: float  # requests/s
    server_cpu: float  # server CPU seconds per request


def report_http(rounds: dict[str, list[LoadRound]]) -> dict[str, ModeFigures]:
    print("\n[HTTP summary: all rounds of each mode together]")
    figures: dict[str, ModeFigures] = {}
    for mode in MODES:
        done = rounds[mode]
        requests = sum(r.requests for r in done)
        seconds = sum(r.seconds for r in done)
        figures[mode] = ModeFigures(
            requests / seconds if seconds else 0.0,
            sum(r.server_cpu for r in done) / max(requests, 1),
        )
        print(
            f"  {mode:<12} {figures[mode].rate:8,.0f} requests/s  "
            f"p50 {statistics.mean(r.p50 for r in done) * 1e3:6.2f} ms  "
            f"p95 {statistics.mean(r.p95 for r in done) * 1e3:6.2f} ms (mean of rounds)  "
            f"server CPU {figures[mode].server_cpu * 1e3:.3f} ms/request  "
            f"errors {sum(r.errors for r in done)}"
        )
    persisted = figures["documentId"]
    for mode in ("text", "text-unique"):
        other = figures[mode]
        print(
            f"  documentId vs {mode}: throughput {_ratio(persisted.rate, other.rate):.2f}x, "
            f"server CPU per request {_ratio(other.server_cpu, persisted.server_cpu):.2f}x less"
        )
    ratio = _ratio(persisted.rate, figures["text"].rate)
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(
        f"  target documentId >= {TARGET_RATIO:g}x full text (the same text every time): "
        f"{verdict} ({ratio:.2f}x)"
    )
    return figures


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


# --- in process: where the time of one request goes ------------------------------------------


@dataclass
class Timing:
    """Per-call wall and CPU (this thread) seconds of one case."""

    label: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def cpu_mean(self) -> float:
        return statistics.fmean(self.cpu)

    def line(self) -> str:
        p50, p95 = percentiles(self.wall, (50, 95))
        return (
            f"  {self.label:<38} CPU mean {self.cpu_mean * 1e6:7.1f} us "
            f"({1 / self.cpu_mean:7,.0f}/s per core)  wall p50 {p50 * 1e6:7.1f} us "
            f"p95 {p95 * 1e6:8.1f} us"
        )


def interleaved(
    cases: dict[str, Callable[[int], Any]], iterations: int, warmup: int
) -> dict[str, Timing]:
    """Run every case once per iteration, in rotating order, so that other load on the
    machine hits all cases alike; CPU time (thread_time) is the steadier figure there."""
    labels = list(cases)
    wall_overhead, cpu_overhead = timer_overhead()
    for n in range(warmup):
        for label in labels:
            cases[label](n)
    timings = {label: Timing(label) for label in labels}
    wall, cpu = time.perf_counter, time.thread_time
    for n in range(iterations):
        shift = n % len(labels)
        for label in labels[shift:] + labels[:shift]:
            action, timing = cases[label], timings[label]
            started_wall, started_cpu = wall(), cpu()
            action(n)
            timing.cpu.append(max(cpu() - started_cpu - cpu_overhead, 0.0))
            timing.wall.append(max(wall() - started_wall - wall_overhead, 0.0))
    return timings


def timer_overhead(samples: int = 5000) -> tuple[float, float]:
    """Mean wall and CPU seconds the two clocks add to one measured call (subtracted from
    every sample: reading the thread CPU clock costs microseconds on some VMs)."""
    wall, cpu = time.perf_counter, time.thread_time
    walls, cpus = [], []
    for _ in range(samples):
        started_wall, started_cpu = wall(), cpu()
        cpus.append(cpu() - started_cpu)
        walls.append(wall() - started_wall)
    return statistics.median(walls), statistics.fmean(cpus)


def in_process_bench(args: argparse.Namespace, url: str, workdir: Path) -> dict[str, Timing]:
    from graphql import parse, validate

    from intelgraph.api.context import RequestContext
    from intelgraph.api.executor import GraphQLExecutor
    from intelgraph.api.graphql_http import GraphQLEndpoint
    from intelgraph.api.limits import QueryLimits
    from intelgraph.api.schemas import build_schemas
    from intelgraph.graph.ingest import parse_ndjson
    from intelgraph.http.graphql_request import from_json_body
    from intelgraph.persisted.registry import document_sha256

    services = in_process(url, workdir / "data-in-process")
    settings = services.settings
    principal = tenant_principal(services)
    ids: list[str] = []
    for body in ndjson_batches((args.entities + 999) // 1000, 1000, seed=37):
        result = services.graph.ingest(principal, parse_ndjson(body))
        ids += result.body["ids"].values()
    limits = QueryLimits(
        settings.graphql_max_depth, settings.graphql_max_cost, settings.graphql_max_list
    )
    schemas = build_schemas()
    executors = {
        version: GraphQLExecutor(schema, limits, settings.graphql_document_cache_size)
        for version, schema in schemas.items()
    }
    endpoint = GraphQLEndpoint(
        executors,
        services.graph,
        services.persisted_queries,
        services.engine,
        services.clock,
        services.metrics,
        lambda _principal, _records: None,  # no ingest in this bench
        services.er,
    )
    services.persisted_queries.register(principal, ENTITY_QUERY, OPERATION_ID)
    manifest_op = services.persisted_queries.find_by_id(principal.tenant_id, "getEntityById:v1")
    assert manifest_op is not None
    rng = random.Random(5)
    chosen = [rng.choice(ids) for _ in range(4096)]
    cold = GraphQLExecutor(schemas["1.0"], limits, 1)
    warm = executors["1.0"]

    def pipeline(raw: bytes, executor: GraphQLExecutor) -> bytes:
        """What POST /graphql does between the middleware and the HTTP response."""
        request = from_json_body(raw)
        document = endpoint.resolve_document(principal, request)
        prepared = executor.prepare(document.text, document.sha256)
        context = RequestContext(principal=principal, graph=services.graph, api_version="1.0")
        outcome = executor.execute(prepared, request.variables, request.operation_name, context)
        if outcome.status != 200 or "errors" in outcome.body:
            raise RuntimeError(f"pipeline failed: {outcome.body}")
        return orjson.dumps(outcome.body)

    size = len(chosen)
    n, warmup = args.iterations, min(200, args.iterations)

    def measure(text: str) -> dict[str, Timing]:
        sha = document_sha256(text)
        by_id = [
            orjson.dumps({"documentId": f"sha256:{sha}", "variables": {"id": i}}) for i in chosen
        ]
        by_text = [orjson.dumps({"query": text, "variables": {"id": i}}) for i in chosen]
        # 64 whitespace variants of the text: with cache_size=1 every request is a miss.
        varied = [
            orjson.dumps({"query": text + " " * (1 + k % 64), "variables": {"id": i}})
            for k, i in enumerate(chosen)
        ]
        document = parse(text)
        prepared = warm.prepare(text)

        def execute_only(k: int) -> None:
            context = RequestContext(principal=principal, graph=services.graph)
            warm.execute(prepared, {"id": chosen[k % size]}, None, context)

        pipelines = interleaved(
            {
                "persisted hit (documentId)": lambda k: pipeline(by_id[k % size], warm),
                "full text, warm document cache": lambda k: pipeline(by_text[k % size], warm),
                "full text, no document cache": lambda k: pipeline(varied[k % size], cold),
            },
            n,
            warmup,
        )
        parts = interleaved(
            {
                "  of which: sha256 of the text": lambda _: document_sha256(text),
                "  of which: parse": lambda _: parse(text),
                "  of which: validate": lambda _: validate(schemas["1.0"], document),
                "  of which: execute (DB read)": execute_only,
            },
            n,
            warmup,
        )
        return pipelines | parts

    timings: dict[str, Timing] = {}
    for name, text in (("lean", ENTITY_QUERY), ("manifest", manifest_op.document)):
        for label, timing in measure(text).items():
            timings[f"{name}: {label}"] = timing
    return timings


def report_in_process(timings: dict[str, Timing]) -> None:
    for name, title in (
        ("lean", f"lean document {ENTITY_QUERY!r}"),
        ("manifest", "manifest getEntityById:v1 (11 fields incl. degree: a 2nd DB read)"),
    ):
        print(f"\n[in process, {title}]")
        for key, timing in timings.items():
            if key.startswith(f"{name}: "):
                print(timing.line())
        persisted = timings[f"{name}: persisted hit (documentId)"].cpu_mean
        warm = timings[f"{name}: full text, warm document cache"].cpu_mean
        cold = timings[f"{name}: full text, no document cache"].cpu_mean
        print(
            f"  CPU ratio full text / persisted: warm cache {warm / persisted:.2f}x, "
            f"no cache {cold / persisted:.2f}x (parse+validate are "
            f"{(cold - persisted) / cold:.0%} of an uncached full-text pipeline)"
        )


def report_where_3x_comes_from(http: dict[str, ModeFigures], timings: dict[str, Timing]) -> None:
    print("\n[reading the figures]")
    persisted = timings["lean: persisted hit (documentId)"].cpu_mean
    warm = timings["lean: full text, warm document cache"].cpu_mean
    cold = timings["lean: full text, no document cache"].cpu_mean
    served = http["documentId"].server_cpu
    outside = max(served - persisted, 0.0)
    print(
        f"  a documentId request costs the server {served * 1e3:.3f} ms CPU over HTTP; the "
        f"GraphQL pipeline is {persisted * 1e3:.3f} ms of it, the other {outside * 1e3:.3f} ms "
        f"(HTTP, authentication with its key lookup, middleware, metrics, logging) every mode "
        f"pays alike"
    )
    for label, pipeline_cost, mode in (
        ("repeated full text (document cache hit)", warm, "text"),
        ("full text parsed every time", cold, "text-unique"),
    ):
        expected = (outside + pipeline_cost) / (outside + persisted)
        measured = _ratio(http[mode].server_cpu, served)
        print(
            f"  {label}: expected CPU ratio (other + its pipeline) / (other + persisted "
            f"pipeline) = {expected:.2f}x; measured over HTTP {measured:.2f}x"
        )
    print(
        f"  so persisted queries save parse+validate only: up to {cold / persisted:.2f}x on "
        "the pipeline, diluted by the fixed per-request cost over HTTP. A client re-sending "
        "the same text already gets that saving from the document cache, so documentId vs "
        "the same text is close to 1x by design; a 3x gain can only appear against text the "
        "server has not seen (or evicted from its 1024-entry cache), and only where "
        "parse+validate outweighs everything else a request costs."
    )
    unseen = _ratio(http["documentId"].rate, http["text-unique"].rate)
    verdict = "met" if unseen >= TARGET_RATIO else "not met"
    print(
        f"  measured here against never-seen text: {unseen:.2f}x throughput "
        f"({verdict} against {TARGET_RATIO:g}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 5 s per mode")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--entities", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0, help="per round and mode")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (2)")
    parser.add_argument("--iterations", type=int, default=None, help="in-process (3000)")
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 2)
    args.iterations = args.iterations or (1000 if args.quick else 3000)
    print_header(
        "bench_persisted: entity(id) by documentId vs the same query as full text",
        backend=args.backend,
        data=f"{args.entities:,} PERSON entities ({generator_source()})",
        http=f"closed loop, {args.connections} connections, one server worker, "
        f"{args.rounds} x {args.seconds:g} s per mode",
        in_process=f"{args.iterations:,} requests per case, a second scratch database",
        target=f"documentId >= {TARGET_RATIO:g}x full text",
    )
    if args.backend == "postgresql" and (why := postgres_available()):
        print(f"skipped: PostgreSQL not reachable ({why})")
        return
    with scratch_dir("persisted") as workdir:
        with scratch_database(args.backend, workdir) as url:
            rounds = http_bench(args, url, workdir)
        rates = report_http(rounds)
        local = workdir / "in-process"
        local.mkdir()
        with scratch_database(args.backend, local) as url:
            timings = in_process_bench(args, url, local)
        report_in_process(timings)
        report_where_3x_comes_from(rates, timings)


if __name__ == "__main__":
    main()
