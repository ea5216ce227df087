"""What quotas and metering cost: throughput with both gateway stages on, divided by off.

The real app (request log → authn → [quotas → metering] → routes) on one scratch SQLite
database, in three modes: ``off`` without the two stages, ``memory`` with them on the
in-memory backend, ``redis`` with them on the Redis server of this machine. Two endpoints:
``ping`` (a trivial authenticated GET added for this bench) and ``entity(id)`` (a GraphQL
point read). The tenant's limits are far above the load, so every request is charged and
metered and none is refused; the ledger flusher and the egress sync run as in production.

Two measurements, rounds interleaved so drift hits every mode alike:
- HTTP: one granian server (1 worker) per mode, driven by wrk; requests/s.
- in-process: ASGI calls straight into each app (16 concurrent), no HTTP; CPU time of this
  process per request, which other load on the machine disturbs less than wall time.

``--compare-limits`` adds the same engine on the ``limits`` package's moving windows
(MovingWindowRateLimiter over its memory and asyncio Redis storages), which
``quotas/windows.py`` replaced; see docs/adr for why.

Prints figures; never passes or fails.
Run: ``.venv/bin/python bench/bench_quota_overhead.py [--compare-limits] [--skip-http]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    OPERATOR_KEY,
    VENV_BIN,
    free_port,
    machine_load,
    print_header,
    scratch_database,
    scratch_dir,
)

MODES = ("off", "memory", "redis")
LIMITS_MODES = ("memory-limits", "redis-limits")
REDIS_URL = os.environ.get("INTELGRAPH_BENCH_REDIS", "redis://127.0.0.1:6379/0")
ENTITY_QUERY = "query($id: ID!) { entity(id: $id) { id label type } }"
HUGE = 10**12  # limits far above the load: everything is charged, nothing refused
PATHS = {"ping": "/bench/ping", "entity(id)": "/graphql"}


# --- the app under test (granian calls bench_app in its worker; in-process builds it too) --


def bench_app() -> Any:
    """The real app for ``BENCH_QUOTA_MODE``, plus ``GET /bench/ping``."""
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from intelgraph.app import create_app
    from intelgraph.bootstrap import start_services
    from intelgraph.gateway.authn import AuthenticationMiddleware
    from intelgraph.gateway.metering import MeteringMiddleware
    from intelgraph.gateway.quotas import QuotaMiddleware
    from intelgraph.http.responses import JSONResponse
    from intelgraph.metering.ledger import LedgerFlusher
    from intelgraph.metering.meters import UsageMeters
    from intelgraph.quotas.egress import MemoryEgressTally, RedisEgressTally
    from intelgraph.quotas.limiter import QuotaEngine, memory_quota_engine, redis_quota_engine
    from intelgraph.quotas.limits_cache import CachedLimits
    from intelgraph.settings import Settings
    from intelgraph.tenants.plans import EffectiveLimit, EffectiveLimits, LimitName

    mode = os.environ["BENCH_QUOTA_MODE"]
    prefix = os.environ["BENCH_REDIS_PREFIX"]
    services = start_services(Settings())
    app = create_app(services=services)

    async def ping(_: Request) -> Response:
        return JSONResponse({"pong": True})

    app.router.routes.append(Route("/bench/ping", ping, methods=["GET"]))
    # Whatever app.py wires, this bench decides whether the two stages run.
    app.user_middleware = [
        m for m in app.user_middleware if m.cls not in (QuotaMiddleware, MeteringMiddleware)
    ]
    if mode == "off":
        return app

    def limits_for(tenant_id: str) -> EffectiveLimits:
        return EffectiveLimits(
            tenant_id, "bench", {n: EffectiveLimit(n, HUGE, "plan:bench") for n in LimitName}
        )

    backend, _, windows = mode.partition("-")
    redis_url = REDIS_URL if backend == "redis" else None
    clock, metrics = services.clock, services.metrics
    if windows == "limits":
        import redis

        egress: Any = (
            RedisEgressTally(redis.Redis.from_url(REDIS_URL), prefix, clock, lambda _: None)
            if redis_url
            else MemoryEgressTally()
        )
        engine = QuotaEngine(LimitsWindows(backend, prefix), egress, clock, metrics)
    else:
        engine = (
            redis_quota_engine(clock, metrics, redis_url, key_prefix=prefix)
            if redis_url
            else memory_quota_engine(clock, metrics)
        )
    meters = UsageMeters(metrics, clock)
    flusher = LedgerFlusher(services.engine, meters, metrics)
    after_authn = 1 + next(
        i for i, m in enumerate(app.user_middleware) if m.cls is AuthenticationMiddleware
    )
    app.user_middleware[after_authn:after_authn] = [
        Middleware(QuotaMiddleware, quotas=engine, limits_for=CachedLimits(limits_for, clock)),
        Middleware(MeteringMiddleware, meters=meters),
    ]
    engine.start()
    flusher.start()
    return app


class LimitsWindows:
    """``quotas.windows.MovingWindows`` over the ``limits`` package: its sync storage for
    memory (as the library recommends in-process) and its asyncio storage for Redis; hit,
    then get_window_stats for the RateLimit header."""

    def __init__(self, backend: str, prefix: str) -> None:
        from limits.aio.storage import RedisStorage as AsyncRedisStorage
        from limits.aio.strategies import MovingWindowRateLimiter as AsyncLimiter
        from limits.storage import MemoryStorage, RedisStorage
        from limits.strategies import MovingWindowRateLimiter

        self.name = f"{backend} (limits)"
        self._async: Any = None
        if backend == "redis":
            self._sync = MovingWindowRateLimiter(RedisStorage(REDIS_URL, key_prefix=prefix))
            self._async = AsyncLimiter(
                AsyncRedisStorage(f"async+{REDIS_URL}", implementation="redispy", key_prefix=prefix)
            )
        else:
            self._sync = MovingWindowRateLimiter(MemoryStorage())

    @staticmethod
    def _item(limit: Any, quota: int) -> Any:
        from limits import RateLimitItemPerMinute, RateLimitItemPerSecond

        per = RateLimitItemPerMinute if limit.value == "api_rpm" else RateLimitItemPerSecond
        return per(quota, namespace="quota")

    def acquire(self, limit: Any, tenant_id: str, quota: int, cost: int) -> Any:
        from intelgraph.quotas.windows import WindowState

        item = self._item(limit, quota)
        acquired = self._sync.hit(item, tenant_id, cost=cost) if cost else True
        stats = self._sync.get_window_stats(item, tenant_id)
        return WindowState(acquired, max(0, stats.remaining), stats.reset_time - time.time())

    async def acquire_async(self, limit: Any, tenant_id: str, quota: int, cost: int) -> Any:
        from intelgraph.quotas.windows import WindowState

        if self._async is None:
            return self.acquire(limit, tenant_id, quota, cost)
        item = self._item(limit, quota)
        acquired = await self._async.hit(item, tenant_id, cost=cost) if cost else True
        stats = await self._async.get_window_stats(item, tenant_id)
        return WindowState(acquired, max(0, stats.remaining), stats.reset_time - time.time())


# --- HTTP: granian + wrk ---------------------------------------------------------------------


@dataclass
class BenchServer:
    mode: str
    env: dict[str, str]
    workdir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"server-{self.mode}.log"

    def start(self) -> None:
        self.port = free_port()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(VENV_BIN / "granian"),
                    *("--interface", "asgi", "--factory", "--host", "127.0.0.1"),
                    *("--port", str(self.port), "--workers", "1", "--no-access-log"),
                    *("--log-level", "warning", "bench_quota_overhead:bench_app"),
                ],
                env=self.env | {"BENCH_QUOTA_MODE": self.mode},
                cwd=Path(__file__).resolve().parent,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        tail = self.log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"the {self.mode} server did not start:\n{tail}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def wrk_script(path: Path, api_key: str, entity_id: str | None) -> Path:
    """A wrk Lua script sending the bench request with the tenant's key."""
    lines = [f'wrk.headers["Authorization"] = "Bearer {api_key}"']
    if entity_id is not None:
        body = orjson.dumps({"query": ENTITY_QUERY, "variables": {"id": entity_id}}).decode()
        lines += [
            'wrk.method = "POST"',
            'wrk.headers["Content-Type"] = "application/json"',
            f"wrk.body = [[{body}]]",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_wrk(url: str, script: Path, seconds: int, connections: int) -> tuple[float, int]:
    """(requests/s, non-2xx responses) of one wrk run."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return (float(found.group(1)) if found else 0.0), int(bad.group(1)) if bad else 0


def http_rounds(
    modes: tuple[str, ...],
    env: dict[str, str],
    workdir: Path,
    api_key: str,
    entity_id: str,
    args: argparse.Namespace,
) -> dict[str, dict[str, list[float]]]:
    """Requests/s per endpoint and mode, one figure per round."""
    servers = {mode: BenchServer(mode, env, workdir) for mode in modes}
    scripts = {
        "ping": wrk_script(workdir / "ping.lua", api_key, None),
        "entity(id)": wrk_script(workdir / "entity.lua", api_key, entity_id),
    }
    figures: dict[str, dict[str, list[float]]] = {name: {m: [] for m in modes} for name in scripts}
    try:
        for server in servers.values():
            server.start()
            headers = check_response(server.url, api_key, entity_id)
            print(f"  {server.mode:>13}: up on :{server.port}; RateLimit: {headers or '-'}")
        for name, script in scripts.items():  # warm every server and code path
            for server in servers.values():
                run_wrk(server.url + PATHS[name], script, 2, args.connections)
        for round_no in range(1, args.rounds + 1):
            for name, script in scripts.items():
                for server in servers.values():
                    rps, bad = run_wrk(
                        server.url + PATHS[name], script, args.seconds, args.connections
                    )
                    figures[name][server.mode].append(rps)
                    flag = f"   NON-2xx: {bad}" if bad else ""
                    print(
                        f"  round {round_no} {name:>10} {server.mode:>13}: {rps:8.1f} req/s{flag}",
                        flush=True,
                    )
    finally:
        for server in servers.values():
            server.stop()
    return figures


def check_response(url: str, api_key: str, entity_id: str) -> str:
    """One entity(id) call must succeed; returns its RateLimit header (if any)."""
    response = httpx.post(
        f"{url}/graphql",
        json={"query": ENTITY_QUERY, "variables": {"id": entity_id}},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    if response.status_code != 200 or not response.json()["data"]["entity"]:
        raise RuntimeError(f"entity(id) failed: {response.status_code} {response.text}")
    return response.headers.get("ratelimit", "")


# --- in-process: ASGI calls, CPU time per request ---------------------------------------------


def in_process_rounds(
    modes: tuple[str, ...],
    env: dict[str, str],
    api_key: str,
    entity_id: str,
    rounds: int,
    requests: int,
) -> dict[str, dict[str, list[float]]]:
    """CPU µs per request per endpoint and mode (16 concurrent ASGI calls), per round."""
    os.environ.update(env)
    apps = {}
    for mode in modes:
        os.environ["BENCH_QUOTA_MODE"] = mode
        apps[mode] = bench_app()
    body = orjson.dumps({"query": ENTITY_QUERY, "variables": {"id": entity_id}})
    auth = (b"authorization", f"Bearer {api_key}".encode())
    requests_of = {
        "ping": ({"method": "GET", "path": PATHS["ping"], "headers": [auth]}, b""),
        "entity(id)": (
            {
                "method": "POST",
                "path": PATHS["entity(id)"],
                "headers": [auth, (b"content-type", b"application/json")],
            },
            body,
        ),
    }

    async def cpu_per_request(app: Callable[..., Any], name: str, count: int) -> float:
        extra, payload = requests_of[name]
        base = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "http",
            "query_string": b"",
            "root_path": "",
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "raw_path": extra["path"].encode(),
        } | extra
        gate = asyncio.Semaphore(16)

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": payload, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] != 200:
                raise RuntimeError(f"{name} answered {message['status']}")

        async def one() -> None:
            async with gate:
                await app(dict(base, headers=list(base["headers"])), receive, send)

        started = time.process_time()
        await asyncio.gather(*(one() for _ in range(count)))
        return (time.process_time() - started) / count * 1e6

    async def run() -> dict[str, dict[str, list[float]]]:
        figures: dict[str, dict[str, list[float]]] = {n: {m: [] for m in modes} for n in PATHS}
        for name in PATHS:
            for mode in modes:
                await cpu_per_request(apps[mode], name, 200)  # warm up
        for _ in range(rounds):
            for name in PATHS:
                for mode in modes:
                    figures[name][mode].append(await cpu_per_request(apps[mode], name, requests))
        return figures

    return asyncio.run(run())


# --- driver ------------------------------------------------------------------------------------


def prepare(database_url: str, data_dir: Path) -> tuple[str, str]:
    """Migrate, create a tenant with one entity; (its API key, the entity id)."""
    from intelgraph.bootstrap import start_services
    from intelgraph.graph.ingest import parse_ndjson
    from intelgraph.kernel.tenancy import Principal, Role, local_operator
    from intelgraph.settings import Settings

    services = start_services(
        Settings(
            database_url=database_url,
            data_dir=data_dir,
            operator_key=OPERATOR_KEY,
            run_background_jobs=False,
        )
    )
    tenant, issued = services.tenants.create_tenant(
        local_operator("bench"),
        name="Bench",
        slug=f"bench-{secrets.token_hex(3)}",
        plan="enterprise",
    )
    principal = Principal(tenant.id, issued.key.id, "bench", (Role.ADMIN.value,))
    line = {"kind": "entity", "external_id": "p-1", "type": "PERSON", "label": "Ada Lovelace"}
    result = services.graph.ingest(principal, parse_ndjson(orjson.dumps(line)))
    services.engine.dispose()
    return issued.plaintext, result.body["ids"]["p-1"]


def redis_down() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return None
    except redis.RedisError as exc:
        return str(exc)


def summary(
    title: str, unit: str, figures: dict[str, dict[str, list[float]]], higher: bool
) -> None:
    """Per mode: the median and the best round, each as a ratio to off (throughput on / off).

    The best round is the one least disturbed by other work on the machine (noise only
    ever slows a round down), so on a busy machine it is the steadier figure.
    """
    print(f"{title} ({unit}); ratio = throughput on / off; targets memory >= 0.95, redis >= 0.85")
    best = max if higher else min
    for name, by_mode in figures.items():
        base_median = statistics.median(by_mode["off"])
        base_best = best(by_mode["off"])
        print(f"  {name:>10}  {'off':>13}: median {base_median:8.1f}  best {base_best:8.1f}")
        for mode, values in by_mode.items():
            if mode == "off":
                continue
            median, top = statistics.median(values), best(values)
            ratio_median = median / base_median if higher else base_median / median
            ratio_best = top / base_best if higher else base_best / top
            print(
                f"  {name:>10}  {mode:>13}: median {median:8.1f} ({ratio_median:.3f})  "
                f"best {top:8.1f} ({ratio_best:.3f})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved HTTP rounds")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--cpu-rounds", type=int, default=15, help="in-process rounds")
    parser.add_argument("--requests", type=int, default=500, help="in-process requests/round")
    parser.add_argument("--compare-limits", action="store_true", help="add the limits modes")
    parser.add_argument("--skip-http", action="store_true", help="in-process figures only")
    parser.add_argument("--skip-in-process", action="store_true", help="HTTP figures only")
    args = parser.parse_args()

    down = redis_down()
    modes = MODES + (LIMITS_MODES if args.compare_limits else ())
    if down is not None:
        modes = tuple(m for m in modes if not m.startswith("redis"))
    prefix = f"igbench-{secrets.token_hex(4)}"
    print_header(
        "quota + metering overhead: throughput with both stages on / off",
        database="sqlite (scratch file)",
        redis=REDIS_URL if down is None else f"unavailable ({down}); redis modes skipped",
        modes=", ".join(modes),
        http=f"granian 1 worker, wrk -t1 -c{args.connections}, {args.rounds} rounds x "
        f"{args.seconds} s",
        in_process=f"16 concurrent ASGI calls, {args.cpu_rounds} rounds x {args.requests} requests",
    )
    try:
        with scratch_dir("quota") as workdir, scratch_database("sqlite", workdir) as url:
            data_dir = workdir / "data"
            api_key, entity_id = prepare(url, data_dir)
            env = {
                "INTELGRAPH_DATABASE_URL": url,
                "INTELGRAPH_DATA_DIR": str(data_dir),
                "INTELGRAPH_OPERATOR_KEY": OPERATOR_KEY,
                "INTELGRAPH_RUN_BACKGROUND_JOBS": "false",
                "INTELGRAPH_LOG_LEVEL": "WARNING",
                "BENCH_REDIS_PREFIX": prefix,
            }
            http = None
            if not args.skip_http:
                print("HTTP (granian + wrk):")
                http = http_rounds(modes, dict(os.environ) | env, workdir, api_key, entity_id, args)
            cpu = None
            if not args.skip_in_process:
                print("in-process (ASGI calls):", flush=True)
                cpu = in_process_rounds(
                    modes, env, api_key, entity_id, args.cpu_rounds, args.requests
                )
    finally:
        if down is None:
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            stale = list(client.scan_iter(f"{prefix}*"))
            if stale:
                client.delete(*stale)
    print("-" * 78)
    if http is not None:
        summary("HTTP", "req/s", http, higher=True)
    if cpu is not None:
        summary("in-process", "CPU µs/request", cpu, higher=False)
    print(f"machine load at the end: {machine_load()}")


if __name__ == "__main__":
    main()
