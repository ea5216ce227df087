"""`entity(id)` over HTTP: latency at a steady 200 requests/s, then the saturated rate.

A server (``intelgraph serve``, one worker) runs in a subprocess on a database holding
~10,000 PERSON entities; this process is the load generator:

1. open loop: asyncio sends one GraphQL ``entity(id)`` request every 1/rate seconds for the
   duration, never waiting for earlier answers, over keep-alive HTTP/1.1 connections spoken
   directly on asyncio streams (httpx costs ~1.5 ms of client CPU per request, which showed
   up as latency). Latency is measured from the time a request was *scheduled*, so a stalled
   server shows up in the figures (no coordinated omission); the service time (from actual
   send) is printed too, then latency over time (the worst half-second windows: a stall
   shows as a burst of slow requests) and the server's CPU per request. The generator
   freezes its own heap first (``gc.freeze``), so its collector does not stall it.
2. closed loop: N connections each send the next request as soon as the previous answers,
   for a fixed time: requests/s and latency, with the server's and the client's CPU use so
   you can see which one saturated first.
3. the same closed loop with ``wrk`` (a C load generator; Lua script for the POST bodies)
   when it is installed: on 2 cores the Python client can saturate before the server.

Prints figures; never passes or fails. Target: p95 <= 10 ms at 200 rps with no errors.
Run: ``.venv/bin/python bench/bench_entity_load.py [--quick] [--backend postgresql]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from harness import (
    NDJSON_HEADERS,
    Server,
    bearer,
    cpu_seconds,
    create_tenant,
    generator_source,
    lane_client,
    latency_line,
    ndjson_batches,
    percentiles,
    postgres_available,
    print_header,
    scratch_database,
    scratch_dir,
    send_on_schedule,
)

ENTITY_QUERY = (
    "query Entity($id: ID!) { entity(id: $id) "
    "{ id externalId type label attributes confidence source createdAt updatedAt } }"
)
TARGET_P95 = 0.010


@dataclass
class Sample:
    from_schedule: list[float] = field(default_factory=list)
    service: list[float] = field(default_factory=list)
    scheduled_at: list[float] = field(default_factory=list)  # seconds into the run
    errors: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    max_lag: float = 0.0

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def body_for(entity_id: str) -> bytes:
    return orjson.dumps({"query": ENTITY_QUERY, "variables": {"id": entity_id}})


def load_entities(server: Server, api_key: str, count: int) -> list[str]:
    """Ingest ``count`` PERSON entities in 1,000-line batches; their entity ids."""
    ids: list[str] = []
    headers = NDJSON_HEADERS | bearer(api_key)
    with httpx.Client(base_url=server.url, headers=headers, timeout=300) as client:
        for body in ndjson_batches((count + 999) // 1000, 1000, seed=23):
            response = client.post("/v1/ingest", content=body)
            response.raise_for_status()
            ids += response.json()["ids"].values()
    return ids[:count]


async def post_entity(client: httpx.AsyncClient, body: bytes) -> str | None:
    """None when the answer is a 200 carrying the entity, else a short error kind."""
    try:
        response = await client.post("/graphql", content=body)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    if response.status_code != 200:
        return f"http {response.status_code}"
    data = orjson.loads(response.content)
    if data.get("errors") or not (data.get("data") or {}).get("entity"):
        return "graphql error"
    return None


class RawLane:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol for a POST
    with a known body and a Content-Length framed answer (what the server sends)."""

    def __init__(self, server: Server, api_key: str) -> None:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        self.address = (host, int(port))
        self.head = (
            f"POST /graphql HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {api_key}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post_entity(self, body: bytes) -> str | None:
        """None when the answer is a 200 carrying the entity, else a short error kind."""
        try:
            if self.reader is None or self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(*self.address)
            self.writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
            head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 10.0)
            status_line, *header_lines = head.split(b"\r\n")
            length = next(
                (
                    int(h.split(b":", 1)[1])
                    for h in header_lines
                    if h.lower().startswith(b"content-length:")
                ),
                None,
            )
            if length is None:
                await self.close()
                return "unframed answer"
            payload = await self.reader.readexactly(length)
        except (
            TimeoutError,
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ) as exc:
            await self.close()
            return type(exc).__name__
        status = int(status_line.split(b" ", 2)[1])
        if status != 200:
            return f"http {status}"
        data = orjson.loads(payload)
        if data.get("errors") or not (data.get("data") or {}).get("entity"):
            return "graphql error"
        return None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def open_loop(
    server: Server, api_key: str, ids: list[str], rate: float, seconds: float, lanes: int
) -> tuple[Sample, float, float, float]:
    """Release one request every 1/rate s for ``seconds``, whatever the answers do.

    A released request goes to a queue served by ``lanes`` connections; time spent queued
    counts in its latency, which runs from the scheduled release. Returns (sample, wall
    seconds, server CPU seconds, load generator CPU seconds).
    """
    sample = Sample()
    rng = random.Random(5)
    bodies = [body_for(rng.choice(ids)) for _ in range(int(rate * seconds))]
    connections = [RawLane(server, api_key) for _ in range(lanes)]
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[bytes, float] | None] = asyncio.Queue()
    start = 0.0

    async def lane(connection: RawLane) -> None:
        while (item := await queue.get()) is not None:
            body, scheduled = item
            sent = loop.time()
            problem = await connection.post_entity(body)
            done = loop.time()
            if problem:
                sample.error(problem)
            else:
                sample.from_schedule.append(done - scheduled)
                sample.service.append(done - sent)
                sample.scheduled_at.append(scheduled - start)

    try:
        for n, connection in enumerate(connections):  # warm: connections, caches, pages
            for k in range(4):
                await connection.post_entity(body_for(ids[(n * 4 + k) % len(ids)]))
        workers = [asyncio.create_task(lane(connection)) for connection in connections]
        gc.collect()
        gc.freeze()  # the generator's own collector must not stall the schedule
        server_cpu0, client_cpu0 = cpu_seconds(server.pids()), time.process_time()
        start = loop.time() + 0.05
        sample.sent, sample.max_lag = await send_on_schedule(bodies, rate, start, queue)
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers)
        wall = loop.time() - start
        return (
            sample,
            wall,
            cpu_seconds(server.pids()) - server_cpu0,
            time.process_time() - client_cpu0,
        )
    finally:
        gc.unfreeze()
        for connection in connections:
            await connection.close()


async def closed_loop(
    server: Server, api_key: str, ids: list[str], connections: int, seconds: float
) -> tuple[Sample, float, float, float]:
    """``connections`` lanes, each sending its next request when the last one answered."""
    sample = Sample()
    headers = bearer(api_key) | {"content-type": "application/json"}
    clients = [lane_client(server.url, headers) for _ in range(connections)]
    loop = asyncio.get_running_loop()
    deadline = 0.0

    async def lane(client: httpx.AsyncClient, seed: int) -> None:
        rng = random.Random(seed)
        while loop.time() < deadline:
            body = body_for(rng.choice(ids))
            sent = loop.time()
            problem = await post_entity(client, body)
            sample.sent += 1
            if problem:
                sample.error(problem)
            else:
                sample.service.append(loop.time() - sent)

    try:
        for n, client in enumerate(clients):
            await post_entity(client, body_for(ids[n % len(ids)]))
        server_cpu0, client_cpu0 = cpu_seconds(server.pids()), time.process_time()
        start = loop.time()
        deadline = start + seconds
        await asyncio.gather(*(lane(client, n) for n, client in enumerate(clients)))
        wall = loop.time() - start
        return (
            sample,
            wall,
            cpu_seconds(server.pids()) - server_cpu0,
            time.process_time() - client_cpu0,
        )
    finally:
        for client in clients:
            await client.aclose()


WRK_SCRIPT = """
local ids = {%(ids)s}
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"
request = function()
  n = n + 1
  local id = ids[(n %% #ids) + 1]
  return wrk.format(nil, "/graphql", nil,
    '{"query":"%(query)s","variables":{"id":"' .. id .. '"}}')
end
done = function(summary, latency, requests)
  io.write(string.format(
    "WRKJSON {\\"requests\\":%%d,\\"seconds\\":%%f,\\"p50\\":%%d,\\"p95\\":%%d,\\"p99\\":%%d," ..
    "\\"max\\":%%d,\\"non2xx\\":%%d,\\"connect\\":%%d,\\"read\\":%%d,\\"write\\":%%d," ..
    "\\"timeout\\":%%d}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout))
end
"""


def run_wrk(
    server: Server, api_key: str, ids: list[str], connections: int, seconds: float, workdir: Path
) -> None:
    wrk = shutil.which("wrk")
    if wrk is None:
        print("  wrk: not installed (apt-get install -y wrk), skipped")
        return
    rng = random.Random(9)
    chosen = [rng.choice(ids) for _ in range(2000)]
    script = workdir / "entity.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "ids": ",".join(f'"{i}"' for i in chosen),
            "key": api_key,
            "query": ENTITY_QUERY.replace('"', '\\"'),
        }
    )
    threads = 1  # leave the other core to the server worker
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{int(seconds)}s",
        "--latency",
        "-s",
        str(script),
        server.url,
    ]
    server_cpu0 = cpu_seconds(server.pids())
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    server_cpu = cpu_seconds(server.pids()) - server_cpu0
    match = re.search(r"WRKJSON (\{.*\})", completed.stdout)
    if completed.returncode != 0 or match is None:
        print(f"  wrk failed ({completed.returncode}): {completed.stderr.strip()[:300]}")
        return
    figures = json.loads(match.group(1))
    errors = sum(figures[k] for k in ("non2xx", "connect", "read", "write", "timeout"))
    print(
        f"  wrk (C client, {threads} thread, {connections} connections, {seconds:.0f} s): "
        f"{figures['requests'] / figures['seconds']:,.0f} requests/s, "
        f"{figures['requests']:,} requests, {errors} errors"
    )
    print(
        f"    latency p50={figures['p50'] / 1e3:.2f} ms p95={figures['p95'] / 1e3:.2f} ms "
        f"p99={figures['p99'] / 1e3:.2f} ms max={figures['max'] / 1e3:.2f} ms"
    )
    print(f"    server CPU {server_cpu / wall:.0%} of one core")


def report_open(
    sample: Sample, rate: float, wall: float, server_cpu: float, client_cpu: float
) -> None:
    print(
        f"  sent {sample.sent:,} in {wall:.1f} s: achieved {sample.sent / wall:,.1f} requests/s "
        f"(asked {rate:g}); answered ok {len(sample.from_schedule):,}; "
        f"errors {sample.error_count} {sample.errors or ''}"
    )
    print("  " + latency_line("latency from schedule", sample.from_schedule))
    print("  " + latency_line("service time (from send)", sample.service))
    print(
        f"  send lag behind schedule: max {sample.max_lag * 1e3:.1f} ms; CPU: server "
        f"{server_cpu / wall:.0%} of one core, load generator {client_cpu / wall:.0%}"
    )
    print(
        f"  server CPU per request {server_cpu / max(1, sample.sent) * 1e3:.2f} ms "
        f"(worker + granian main, from /proc); load generator "
        f"{client_cpu / max(1, sample.sent) * 1e3:.2f} ms"
    )
    report_over_time(sample)
    p95 = percentiles(sample.from_schedule)[1]
    met = p95 <= TARGET_P95 and sample.error_count == 0
    print(
        f"  target p95 <= {TARGET_P95 * 1e3:.0f} ms with no errors: "
        f"{'met' if met else 'MISSED'} (p95 {p95 * 1e3:.2f} ms, {sample.error_count} errors)"
    )


def report_over_time(sample: Sample, window: float = 0.5, worst: int = 5) -> None:
    """Latency over time: how many half-second windows had a slow request, and the worst.

    A stall (collector pause, lock, blocking call) shows as one window where latency
    jumps and drains; load from other processes shows as many mildly slow windows.
    """
    windows: dict[int, list[float]] = {}
    for at, latency in zip(sample.scheduled_at, sample.from_schedule, strict=True):
        windows.setdefault(int(at / window), []).append(latency)
    if not windows:
        return
    slow = [w for w, values in windows.items() if max(values) > TARGET_P95]
    print(
        f"  latency over time: {len(slow)} of {len(windows)} windows of {window:g} s had a "
        f"request over {TARGET_P95 * 1e3:.0f} ms; worst windows (start: p50 / max, "
        f"requests over {TARGET_P95 * 1e3:.0f} ms):"
    )
    ranked = sorted(windows.items(), key=lambda item: -max(item[1]))[:worst]
    for index, values in sorted(ranked):
        p50 = percentiles(values, (50,))[0]
        over = sum(v > TARGET_P95 for v in values)
        print(
            f"    {index * window:5.1f} s: {p50 * 1e3:6.2f} / {max(values) * 1e3:7.2f} ms, "
            f"{over:3d} of {len(values)} over"
        )


def report_gc_pauses(server: Server, api_key: str) -> None:
    """The server's own collector pauses (intelgraph_gc_pause_seconds), by generation."""
    try:
        text = httpx.get(f"{server.url}/metrics", timeout=10).text
    except httpx.HTTPError as exc:
        print(f"  server GC pauses: /metrics unreachable ({exc})")
        return
    counts: dict[str, float] = {}
    sums: dict[str, float] = {}
    slow: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("intelgraph_gc_pause_seconds"):
            continue
        name, value = line.rsplit(" ", 1)
        generation = re.search(r'generation="(\d)"', name)
        if generation is None:
            continue
        gen = generation.group(1)
        if name.startswith("intelgraph_gc_pause_seconds_count"):
            counts[gen] = float(value)
        elif name.startswith("intelgraph_gc_pause_seconds_sum"):
            sums[gen] = float(value)
        elif 'le="0.01"' in name:
            slow[gen] = float(value)
    if not counts:
        print("  server GC pauses: not reported (intelgraph_gc_pause_seconds absent)")
        return
    parts = [
        f"gen{g}: {counts[g]:.0f} pauses, mean {sums.get(g, 0) / max(1, counts[g]) * 1e3:.2f} ms, "
        f"{counts[g] - slow.get(g, counts[g]):.0f} over 10 ms"
        for g in sorted(counts)
    ]
    print("  server GC pauses since start: " + "; ".join(parts))


def report_closed(
    sample: Sample, connections: int, wall: float, server_cpu: float, client_cpu: float
) -> None:
    ok = len(sample.service)
    print(
        f"  httpx (asyncio, {connections} connections, {wall:.0f} s): {ok / wall:,.0f} "
        f"requests/s ok, {sample.error_count} errors {sample.errors or ''}"
    )
    print("    " + latency_line("latency", sample.service))
    server_share, client_share = server_cpu / wall, client_cpu / wall
    print(f"    CPU: server {server_share:.0%} of one core, load generator {client_share:.0%}")
    bottleneck = "load generator" if client_share > server_share else "server"
    print(f"    busier process: {bottleneck}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s at the rate, 5 s saturated")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--connections", type=int, default=32, help="saturated test")
    parser.add_argument("--lanes", type=int, default=32, help="connections of the open loop")
    parser.add_argument("--saturate-seconds", type=float, default=None)
    args = parser.parse_args()
    seconds = args.seconds or (10.0 if args.quick else 30.0)
    saturate = args.saturate_seconds or (5.0 if args.quick else 15.0)
    print_header(
        "bench_entity_load: GraphQL entity(id) over HTTP, open loop then saturated",
        backend=args.backend,
        data=f"{args.entities:,} PERSON entities ({generator_source()})",
        open_loop=f"{args.rate:g} requests/s for {seconds:g} s over up to {args.lanes} connections",
        saturated=f"{args.connections} connections for {saturate:g} s, one server worker",
        target="p95 <= 10 ms at 200 rps, no errors",
    )
    if args.backend == "postgresql" and (why := postgres_available()):
        print(f"skipped: PostgreSQL not reachable ({why})")
        return
    with (
        scratch_dir("entity-load") as workdir,
        scratch_database(args.backend, workdir) as url,
        Server(url, workdir / "data", workers=1) as server,
    ):
        print(f"server: {server.how} at {server.url}")
        api_key = create_tenant(server.url)
        started = time.perf_counter()
        ids = load_entities(server, api_key, args.entities)
        print(f"loaded {len(ids):,} entities in {time.perf_counter() - started:.1f} s\n")
        print(f"[open loop: {args.rate:g} requests/s for {seconds:g} s]")
        sample, wall, server_cpu, client_cpu = asyncio.run(
            open_loop(server, api_key, ids, args.rate, seconds, args.lanes)
        )
        report_open(sample, args.rate, wall, server_cpu, client_cpu)
        report_gc_pauses(server, api_key)
        print(f"\n[saturated: closed loop, one server worker, {saturate:g} s]")
        sample, wall, server_cpu, client_cpu = asyncio.run(
            closed_loop(server, api_key, ids, args.connections, saturate)
        )
        report_closed(sample, args.connections, wall, server_cpu, client_cpu)
        run_wrk(server, api_key, ids, args.connections, saturate, workdir)


if __name__ == "__main__":
    main()
