"""Hostile input: what each attack document costs the worker to refuse, and what a steady
trickle of attacks does to another tenant's reads and to ``/healthz``.

A server (``intelgraph serve``, one worker, SQLite unless ``--backend postgresql``) runs in
a subprocess with two tenants: A, the attacker (a viewer key), holds 2,000 PERSON entities
with ~8 KB of attributes each, power-law relationships and one entity without any; B, the
bystander, holds 1,000 PERSON entities. The attack documents (issue 11):

  fragments     D1: ``fragment Fi on Query { ...F(i-1) ...F(i-1) }`` for i < 30, ``{ ...F29 }``
  introspection 800 aliased ``__schema { types { name fields { name } } }``
  paths         300 aliased ``pathBetween(maxHops: 3) { length }`` from the best-connected
                entity to the unconnected one (the search explores every hop)
  duplicates    3,000 duplicate root fields ``{ entity(id: "x") { id } ... }``
  big-answer    ``searchEntities(limit: 500)`` matching every entity, each item's attributes
                under 8 aliases (within the old cost limit: ~32 MB if answered)
  apq           a ~1 MB APQ registration of text that is not GraphQL
  nul           ``entity(id: $id)`` with ``"a\\u0000b"`` in the variables
  tokens        a 1 KB token bomb ``{ a(b: [[[[...]]]]) }``

Every send of an attack carries a unique comment (and APQ text), so no cache of parsed
documents or registrations helps, as an attacker would arrange.

1. refusal cost: for each attack, N sequential sends with the CPU of the server's process
   tree (user+system from /proc, reaped children included) read before and after; after
   the last answer the reading waits until the worker stops burning CPU (work that goes on
   after a refusal or a client timeout counts, and is shown apart as "after answer"). The
   figure is that CPU / N less the same for N ``{ __typename }`` requests. A send not
   answered within 30 s prints TIMEOUT and the server is restarted.
2. the mix: an open loop (latency from the scheduled time) of 200/s B ``entity(id)`` reads
   and 10/s ``GET /healthz``, without attacks and with 20/s of A's attacks round-robin, in
   up to six interleaved segments (without, with, with, without, …) so both halves see the
   same background load on a shared machine; p50/p95/p99 of each stream's good answers (an
   attack's good answer is a 4xx), every other outcome counted (a 429, a timeout,
   "abandoned" for what was still queued 30 s after the schedule ended), and
   p95(with)/p95(without) of the reads.

Prints figures and never fails on time. The load generator is this process (httpx, one
keep-alive connection per lane); its CPU is printed, since on a 2-core machine it competes
with the server. Env: ``BENCH_HOSTILE_SECONDS`` (each mix run, default 60, 5 with
``--quick``), ``BENCH_HOSTILE_SKIP=fragments,apq`` (attack names to leave out).
Run: ``.venv/bin/python bench/bench_hostile.py [--quick] [--backend postgresql]
[--server-env INTELGRAPH_GRAPHQL_TENANT_CONCURRENCY=0 ...]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import hashlib
import itertools
import math
import os
import random
import re
import secrets
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
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
    create_tenant,
    entity_lines,
    generator_source,
    graph_edges,
    lane_client,
    machine_load,
    ndjson,
    percentiles,
    postgres_available,
    print_header,
    scratch_database,
    scratch_dir,
    send_on_schedule,
)

ATTACK_TIMEOUT = 30.0  # a send not answered by then is reported TIMEOUT
READ_TIMEOUT = 10.0  # normal reads and /healthz
KEPT_BYTES = 64 * 1024  # of an answer, enough for its error code; the rest is counted only
JSON_HEADERS = {"content-type": "application/json"}
ENTITY_QUERY = "query Entity($id: ID!) { entity(id: $id) { id label type } }"
SEARCH_TOKEN = "hostile"  # a searchable attribute every entity of tenant A carries
NOTES = ("intercepted note " * 600)[:8_000]  # an unsearchable ~8 KB attribute
APQ_BYTES = 990_000  # the query text; its JSON envelope keeps the body under 1 MB
BATCH = 250
SENDS = itertools.count()
RUN = secrets.token_hex(4)


# --- attack documents ---------------------------------------------------------------------


@dataclass(frozen=True)
class Attack:
    name: str  # what BENCH_HOSTILE_SKIP names
    what: str
    body: Callable[[], bytes]  # a POST /graphql body, new at every call


def graphql_body(query: str, variables: dict[str, Any] | None = None, **extra: Any) -> bytes:
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    return orjson.dumps(payload | extra)


def unique(query: str) -> str:
    """``query`` with a comment numbering the send: a new document for every cache."""
    return f"{query}\n# send {next(SENDS)} of run {RUN}\n"


def fragment_explosion(depth: int = 30) -> str:
    """Fragments that each spread the previous one twice: 2^(depth-1) expansions."""
    fragments = ["fragment F0 on Query { __typename }"]
    fragments += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, depth)]
    return f"{{ ...F{depth - 1} }}\n" + "\n".join(fragments)


def aliased(count: int, selection: Callable[[int], str]) -> str:
    return "{ " + " ".join(selection(i) for i in range(1, count + 1)) + " }"


def big_answer() -> str:
    """Every entity of tenant A, each item's attributes under 8 aliases: an estimated cost
    of 46,001, under the 50,000 of the cost model before issue 11 (~32 MB if answered)."""
    copies = " ".join(f"a{i}: attributes" for i in range(1, 9))
    search = f'searchEntities(q: "{SEARCH_TOKEN}", limit: 500)'
    return f"{{ {search} {{ total items {{ id {copies} }} }} }}"


def duplicate_fields(count: int = 3_000) -> str:
    """The same root field ``count`` times: field merging compares every pair (in-process
    validation 1.5 s against 0.2 s for as many ``__typename``)."""
    return "{ " + 'entity(id: "x") { id } ' * count + "}"


def token_bomb(size: int = 1_000) -> str:
    depth = (size - len("{ a(b: ) }")) // 2
    return "{ a(b: " + "[" * depth + "]" * depth + ") }"


def apq_registration() -> bytes:
    text = unique(("not graphql at all " * (APQ_BYTES // 19 + 1))[:APQ_BYTES])
    digest = hashlib.sha256(text.encode()).hexdigest()
    return graphql_body(text, extensions={"persistedQuery": {"version": 1, "sha256Hash": digest}})


def document_body(query: str, variables: dict[str, Any] | None = None) -> bytes:
    return graphql_body(unique(query), variables)


def document_attack(name: str, what: str, query: str, **variables: Any) -> Attack:
    return Attack(name, what, functools.partial(document_body, query, variables=variables or None))


def attack_documents(hub_id: str, isolated_id: str) -> list[Attack]:
    """The eight attacks of issue 11, in its order."""
    introspection = aliased(
        800, lambda i: f"a{i}: __schema {{ types {{ name fields {{ name }} }} }}"
    )
    path = f'pathBetween(fromId: "{hub_id}", toId: "{isolated_id}", maxHops: 3) {{ length }}'
    return [
        document_attack("fragments", "D1 fragment explosion, n = 30 (~1 KB)", fragment_explosion()),
        document_attack("introspection", "800 aliased __schema introspections", introspection),
        document_attack(
            "paths", "300 aliased pathBetween, maxHops 3", aliased(300, lambda i: f"p{i}: {path}")
        ),
        document_attack("duplicates", "3,000 duplicate root fields entity(id)", duplicate_fields()),
        document_attack("big-answer", "searchEntities limit 500, attributes x 8", big_answer()),
        Attack("apq", "1 MB APQ registration, not GraphQL", apq_registration),
        document_attack(
            "nul",
            'NUL in variables: entity(id: "a\\u0000b")',
            "query Nul($id: ID!) { entity(id: $id) { id } }",
            id="a\u0000b",
        ),
        document_attack("tokens", "1 KB token bomb, nested list value", token_bomb()),
    ]


TRIVIAL = document_attack("baseline", "{ __typename } (subtracted)", "{ __typename }")


# --- answers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer
    code: str  # the error code, "-" without one, TIMEOUT, or the client's exception
    size: int  # body bytes

    @property
    def verdict(self) -> str:
        if self.status is None:
            return self.code
        return f"{self.status} {self.code}"

    @property
    def is_refused(self) -> bool:
        return self.status is not None and 400 <= self.status < 500


def error_code(head: bytes, complete: bool) -> str:
    """The first error code of a GraphQL/JSON answer ("-" without one)."""
    if complete:
        with contextlib.suppress(orjson.JSONDecodeError, AttributeError, TypeError, IndexError):
            errors = orjson.loads(head).get("errors") or []
            return str(errors[0].get("extensions", {}).get("code", "no code")) if errors else "-"
    found = re.search(rb'"code":"([A-Z_]+)"', head)
    return found.group(1).decode() if found else "-"


async def send_attack(client: httpx.AsyncClient, body: bytes) -> Answer:
    """POST ``body`` to /graphql and read the whole answer (keeping its head) within
    ATTACK_TIMEOUT."""
    try:
        async with asyncio.timeout(ATTACK_TIMEOUT):
            async with client.stream("POST", "/graphql", content=body) as response:
                head, size = bytearray(), 0
                async for chunk in response.aiter_raw():
                    size += len(chunk)
                    if len(head) < KEPT_BYTES:
                        head += chunk[: KEPT_BYTES - len(head)]
                return Answer(
                    response.status_code, error_code(bytes(head), size <= KEPT_BYTES), size
                )
    except TimeoutError:
        return Answer(None, "TIMEOUT", 0)
    except httpx.HTTPError as exc:
        return Answer(None, type(exc).__name__, 0)


# --- seeding --------------------------------------------------------------------------------


@dataclass
class Tenants:
    attacker_key: str  # a viewer key of tenant A
    bystander_key: str  # a viewer key of tenant B
    bystander_ids: list[str]
    hub_id: str
    isolated_id: str
    entities: int
    relationships: int


def viewer_key(base_url: str, slug: str) -> str:
    """A new viewer API key for tenant ``slug`` (operator key)."""
    response = httpx.post(
        f"{base_url}/v1/admin/tenants/{slug}/keys",
        json={"name": "bench viewer", "roles": ["viewer"]},
        headers=bearer(OPERATOR_KEY),
        timeout=30,
    )
    response.raise_for_status()
    key: str = response.json()["apiKey"]
    return key


def ingest(client: httpx.Client, lines: list[dict[str, Any]]) -> dict[str, str]:
    response = client.post("/v1/ingest", content=ndjson(lines))
    response.raise_for_status()
    ids: dict[str, str] = response.json().get("ids") or {}
    return ids


def attacker_lines(count: int) -> Iterator[dict[str, Any]]:
    for line in entity_lines(count, seed=41):
        line["attributes"] |= {"username": SEARCH_TOKEN, "notes": NOTES}
        yield line


def seed(server: Server, entities: int, relationships: int) -> Tenants:
    """Tenant A (big entities, power-law edges, one isolated entity) and tenant B."""
    suffix = f"{random.randrange(16**6):06x}"
    slug_a, slug_b = f"bench-hostile-a-{suffix}", f"bench-hostile-b-{suffix}"
    admin_a, admin_b = create_tenant(server.url, slug_a), create_tenant(server.url, slug_b)
    with httpx.Client(
        base_url=server.url, headers=NDJSON_HEADERS | bearer(admin_a), timeout=300
    ) as client:
        lines = list(attacker_lines(entities))
        external = [line["external_id"] for line in lines]
        ids: dict[str, str] = {}
        for start in range(0, len(lines), BATCH):
            ids |= ingest(client, lines[start : start + BATCH])
        isolated = next(attacker_lines(1)) | {"external_id": "hostile-isolated"}
        ids |= ingest(client, [isolated])
        edges = graph_edges(len(external), relationships, seed=17)
        degree = Counter(node for edge in edges for node in edge)
        for start in range(0, len(edges), 1_000):
            ingest(
                client,
                [
                    {
                        "kind": "relationship",
                        "type": "CONNECTED_TO",
                        "from": external[a],
                        "to": external[b],
                        "confidence": 0.8,
                    }
                    for a, b in edges[start : start + 1_000]
                ],
            )
    with httpx.Client(
        base_url=server.url, headers=NDJSON_HEADERS | bearer(admin_b), timeout=300
    ) as client:
        bystander = list(ingest(client, list(entity_lines(1_000, seed=23))).values())
    return Tenants(
        attacker_key=viewer_key(server.url, slug_a),
        bystander_key=viewer_key(server.url, slug_b),
        bystander_ids=bystander,
        hub_id=ids[external[degree.most_common(1)[0][0]]],
        isolated_id=ids["hostile-isolated"],
        entities=len(lines) + 1,
        relationships=len(edges),
    )


# --- 1. refusal cost ------------------------------------------------------------------------


def tree_cpu_seconds(root: int) -> float:
    """user+system CPU of ``root`` and its descendants, plus what their exited children
    used (cutime/cstime), so a pool process that ends between readings still counts."""
    tick = os.sysconf("SC_CLK_TCK")
    total, stack, seen = 0.0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(value) for value in fields[11:15]) / tick
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(OSError):
                    stack += [int(child) for child in (task / "children").read_text().split()]
    return total


def server_cpu(server: Server) -> float:
    return tree_cpu_seconds(server.process.pid) if server.process is not None else 0.0


async def settle(server: Server, poll: float = 0.25, longest: float = 10.0) -> float:
    """Wait until the server's CPU stops rising (less than a clock tick per poll); its CPU."""
    tick = 1 / os.sysconf("SC_CLK_TCK")
    last, waited = server_cpu(server), 0.0
    while waited < longest:
        await asyncio.sleep(poll)
        waited += poll
        now = server_cpu(server)
        if now - last < tick:
            return now
        last = now
    return last


@dataclass
class Refusal:
    attack: Attack
    sends: int
    cpu: float  # seconds per send, the trivial request's subtracted
    after_answer: float  # seconds per send used after the answer came
    answers: Counter[str]
    size: int  # bytes of the last answer
    is_timeout: bool

    def cost_text(self) -> str:
        text = f"{self.cpu * 1e3:10.2f} ms"
        return text + " (TIMEOUT)" if self.is_timeout else text


async def measure_refusal(
    server: Server, key: str, attack: Attack, sends: int, trivial_cpu: float
) -> Refusal:
    """``sends`` sequential sends of ``attack``; stops at the first TIMEOUT."""
    answers: Counter[str] = Counter()
    async with lane_client(server.url, bearer(key) | JSON_HEADERS, ATTACK_TIMEOUT) as client:
        # A first send of the baseline opens the connection off the clock.
        await send_attack(client, TRIVIAL.body())
        await settle(server)
        before, sent, answer = server_cpu(server), 0, Answer(None, "-", 0)
        for _ in range(sends):
            answer = await send_attack(client, attack.body())
            answers[answer.verdict] += 1
            sent += 1
            if answer.code == "TIMEOUT":
                break
        answered = server_cpu(server)
    done = answered if answer.code == "TIMEOUT" else await settle(server)
    return Refusal(
        attack,
        sent,
        (done - before) / sent - trivial_cpu,
        (done - answered) / sent,
        answers,
        answer.size,
        answer.code == "TIMEOUT",
    )


def print_refusals(trivial: Refusal, refusals: list[Refusal]) -> None:
    sends = max(row.sends for row in [trivial, *refusals])
    tick = 1e3 / os.sysconf("SC_CLK_TCK")
    print(
        f"  CPU: server process tree per send, less the baseline's; /proc counts in "
        f"{tick:g} ms ticks, so +-{tick / sends:.2f} ms at {sends} sends; TIMEOUT: the CPU "
        f"until the client gave up, a lower bound"
    )
    print(
        f"  {'attack':<14} {'what':<40} {'sends':>5} {'CPU per refusal':>21} "
        f"{'after answer':>12}  {'answer':<28} {'bytes':>11}"
    )
    for row in [trivial, *refusals]:
        cpu = f"{row.cpu * 1e3:10.2f} ms" + (" TIMEOUT" if row.is_timeout else "")
        answers = ", ".join(f"{verdict} x{count}" for verdict, count in row.answers.items())
        print(
            f"  {row.attack.name:<14} {row.attack.what:<40} {row.sends:>5} {cpu:>21} "
            f"{row.after_answer * 1e3:9.2f} ms  {answers:<28} {row.size:>11,}"
        )


# --- 2. the mix -----------------------------------------------------------------------------


@dataclass
class Stream:
    """One request stream of a mix run: latency (from schedule) of its good answers and a
    count of every other outcome."""

    name: str
    latency: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    max_lag: float = 0.0

    @property
    def failures(self) -> int:
        return sum(count for kind, count in self.outcomes.items() if kind != "ok")


@dataclass
class MixRun:
    name: str
    reads: Stream
    health: Stream
    attacks: Stream | None
    wall: float
    server_cpu: float
    client_cpu: float


async def read_entity(client: httpx.AsyncClient, body: bytes) -> str:
    """ "ok" for a 200 carrying the entity, else a short failure kind."""
    response = await client.post("/graphql", content=body)
    if response.status_code != 200:
        return f"{response.status_code} {error_code(response.content, True)}"
    data = orjson.loads(response.content)
    if data.get("errors"):
        return f"200 {error_code(response.content, True)}"
    return "ok" if (data.get("data") or {}).get("entity") else "200 no entity"


async def poll_health(client: httpx.AsyncClient, _: object) -> str:
    response = await client.get("/healthz")
    return (
        "ok"
        if response.status_code == 200
        else f"{response.status_code} {error_code(response.content, True)}"
    )


async def run_stream(
    stream: Stream,
    clients: list[httpx.AsyncClient],
    items: list[Any],
    rate: float,
    start: float,
    give_up: float,
    request: Callable[[httpx.AsyncClient, Any], Any],
) -> None:
    """Release ``items`` at ``rate`` from loop time ``start`` to lanes (one per client);
    an item a lane takes after ``give_up`` is counted "abandoned", not sent."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[Any, float] | None] = asyncio.Queue()

    async def lane(client: httpx.AsyncClient) -> None:
        while (entry := await queue.get()) is not None:
            item, scheduled = entry
            if loop.time() > give_up:
                stream.outcomes["abandoned (server stalled)"] += 1
                continue
            try:
                outcome = await request(client, item)
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            if outcome == "ok":
                stream.latency.append(loop.time() - scheduled)
            stream.outcomes[outcome] += 1

    lanes = [asyncio.create_task(lane(client)) for client in clients]
    stream.sent, stream.max_lag = await send_on_schedule(items, rate, start, queue)
    for _ in lanes:
        queue.put_nowait(None)
    await asyncio.gather(*lanes)


async def mix_run(
    name: str,
    server: Server,
    tenants: Tenants,
    attacks: list[Attack],
    seconds: float,
    rates: tuple[float, float, float],
) -> MixRun:
    """Reads and /healthz on schedule for ``seconds``, with ``attacks`` round-robin."""
    read_rate, health_rate, attack_rate = rates
    rng = random.Random(5)  # every run replays the same reads
    bodies = [
        graphql_body(ENTITY_QUERY, {"id": rng.choice(tenants.bystander_ids)})
        for _ in range(int(read_rate * seconds))
    ]
    reader = bearer(tenants.bystander_key) | JSON_HEADERS
    attacker = bearer(tenants.attacker_key) | JSON_HEADERS
    read_clients = [lane_client(server.url, reader) for _ in range(32)]
    health_clients = [lane_client(server.url, {}) for _ in range(4)]
    attack_clients = [lane_client(server.url, attacker, ATTACK_TIMEOUT) for _ in range(20)]
    reads, health = Stream("entity(id), tenant B"), Stream("GET /healthz")
    attack_stream = Stream("attacks A (ok: a 4xx)") if attacks else None

    async def attack(client: httpx.AsyncClient, n: int) -> str:
        answer = await send_attack(client, attacks[n % len(attacks)].body())
        return "ok" if answer.is_refused else answer.verdict

    loop = asyncio.get_running_loop()
    try:
        for client in read_clients:  # open the connections off the clock
            await read_entity(client, bodies[0])
        await asyncio.gather(*(poll_health(client, None) for client in health_clients))
        gc.collect()
        gc.freeze()  # the generator's own collector must not stall the schedule
        cpu0, client_cpu0 = server_cpu(server), time.process_time()
        start = loop.time() + 0.1
        give_up = start + seconds + ATTACK_TIMEOUT
        streams = [
            run_stream(reads, read_clients, bodies, read_rate, start, give_up, read_entity),
            run_stream(
                health,
                health_clients,
                [None] * int(health_rate * seconds),
                health_rate,
                start,
                give_up,
                poll_health,
            ),
        ]
        if attack_stream is not None:
            streams.append(
                run_stream(
                    attack_stream,
                    attack_clients,
                    list(range(int(attack_rate * seconds))),
                    attack_rate,
                    start,
                    give_up,
                    attack,
                )
            )
        await asyncio.gather(*streams)
        wall = loop.time() - start
        return MixRun(
            name,
            reads,
            health,
            attack_stream,
            wall,
            server_cpu(server) - cpu0,
            time.process_time() - client_cpu0,
        )
    finally:
        gc.unfreeze()
        for client in read_clients + health_clients + attack_clients:
            await client.aclose()


SEGMENTS = 6  # interleaved halves of the mix: without and with attacks, alternating


def merged(parts: list[MixRun]) -> MixRun:
    """The segments of one kind of mix run as one run."""

    def join(streams: list[Stream | None]) -> Stream | None:
        present = [stream for stream in streams if stream is not None]
        if not present:
            return None
        whole = Stream(present[0].name)
        for stream in present:
            whole.latency += stream.latency
            whole.outcomes.update(stream.outcomes)
            whole.sent += stream.sent
            whole.max_lag = max(whole.max_lag, stream.max_lag)
        return whole

    reads, health = join([p.reads for p in parts]), join([p.health for p in parts])
    assert reads is not None and health is not None
    return MixRun(
        parts[0].name,
        reads,
        health,
        join([p.attacks for p in parts]),
        sum(p.wall for p in parts),
        sum(p.server_cpu for p in parts),
        sum(p.client_cpu for p in parts),
    )


def ms_or_nan(seconds: float) -> str:
    return "nan" if math.isnan(seconds) else f"{seconds * 1e3:.2f}"


def print_mix(runs: list[MixRun]) -> None:
    print(
        f"  {'run':<16} {'stream':<22} {'answered ok':>11} {'p50 ms':>9} {'p95 ms':>9} "
        f"{'p99 ms':>9} {'max ms':>9}  other outcomes"
    )
    for run in runs:
        for stream in (run.reads, run.health, run.attacks):
            if stream is None:
                continue
            p50, p95, p99 = percentiles(stream.latency)
            top = max(stream.latency) if stream.latency else math.nan
            other = {kind: n for kind, n in stream.outcomes.items() if kind != "ok"}
            print(
                f"  {run.name:<16} {stream.name:<22} {len(stream.latency):>11,} "
                f"{ms_or_nan(p50):>9} {ms_or_nan(p95):>9} {ms_or_nan(p99):>9} "
                f"{ms_or_nan(top):>9}  {dict(other) or '-'}"
            )
        lag = max(s.max_lag for s in (run.reads, run.health, run.attacks) if s is not None)
        print(
            f"  {'':<16} CPU over {run.wall:.1f} s: server {run.server_cpu / run.wall:.0%} of a "
            f"core, load generator {run.client_cpu / run.wall:.0%}; sender lag max "
            f"{lag * 1e3:.1f} ms"
        )


# --- main -----------------------------------------------------------------------------------


def chosen_attacks(attacks: list[Attack]) -> tuple[list[Attack], list[str]]:
    """The attacks left after BENCH_HOSTILE_SKIP, and the names skipped."""
    skip = {name.strip() for name in os.environ.get("BENCH_HOSTILE_SKIP", "").split(",")}
    skip.discard("")
    unknown = skip - {attack.name for attack in attacks}
    if unknown:
        names = ", ".join(attack.name for attack in attacks)
        raise SystemExit(
            f"BENCH_HOSTILE_SKIP names unknown attacks {sorted(unknown)}; know {names}"
        )
    return [a for a in attacks if a.name not in skip], sorted(skip)


def mix_seconds(quick: bool) -> float:
    raw = os.environ.get("BENCH_HOSTILE_SECONDS")
    if raw is None:
        return 5.0 if quick else 60.0
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(
            f"BENCH_HOSTILE_SECONDS must be a number of seconds, not {raw!r}"
        ) from None


def restart(server: Server) -> None:
    """Stop a server an attack left busy (SIGTERM, then SIGKILL) and start it again."""
    server.stop()
    server.start()
    print(f"  (server restarted after a TIMEOUT: {server.how} at {server.url})")


async def refusal_phase(
    server: Server, tenants: Tenants, attacks: list[Attack], sends: int
) -> tuple[Refusal, list[Refusal]]:
    trivial = await measure_refusal(server, tenants.attacker_key, TRIVIAL, sends, 0.0)
    refusals = []
    for attack in attacks:
        refusal = await measure_refusal(server, tenants.attacker_key, attack, sends, trivial.cpu)
        refusals.append(refusal)
        verdicts = ", ".join(refusal.answers)
        print(f"  {attack.name}: {refusal.cost_text()} per send, {verdicts}", flush=True)
        if refusal.is_timeout:
            restart(server)
    return trivial, refusals


def print_summary(refusals: list[Refusal], runs: list[MixRun], skipped: list[str]) -> None:
    print("\n" + "=" * 78)
    print("summary")
    print("=" * 78)
    refused = [r for r in refusals if all(v.split()[0].startswith("4") for v in r.answers)]
    timeouts = [r.attack.name for r in refusals if r.is_timeout]
    accepted = [r.attack.name for r in refusals if r not in refused and not r.is_timeout]
    answered = [r for r in refusals if not r.is_timeout]
    worst = max(answered, key=lambda r: r.cpu, default=None)
    without = next(run for run in runs if run.attacks is None)
    with_attacks = next((run for run in runs if run.attacks is not None), None)
    p95_without = percentiles(without.reads.latency)[1]
    print(
        f"attacks refused with a 4xx every time: {len(refused)} of {len(refusals)}"
        + (f"; TIMEOUT: {', '.join(timeouts)}" if timeouts else "")
        + (f"; not refused: {', '.join(accepted)}" if accepted else "")
        + (f"; skipped: {', '.join(skipped)}" if skipped else "")
    )
    if worst is not None:
        print(f"most CPU to refuse: {worst.attack.name} {worst.cpu * 1e3:.2f} ms per send")
    line = f"hostile: entity(id) p95 without attacks {ms_or_nan(p95_without)} ms"
    if with_attacks is not None:
        p95_with = percentiles(with_attacks.reads.latency)[1]
        ratio = p95_with / p95_without if p95_without > 0 else math.nan
        health_p99 = percentiles(with_attacks.health.latency)[2]
        print(
            f"entity(id) reads failed: {without.reads.failures} without attacks, "
            f"{with_attacks.reads.failures} with; /healthz failed: {without.health.failures} / "
            f"{with_attacks.health.failures}"
        )
        failed = with_attacks.reads.failures
        caveat = (
            f" (of the reads answered: {failed:,} of {with_attacks.reads.sent:,} failed)"
            if failed > with_attacks.reads.sent // 100
            else ""
        )
        line += (
            f", with {ms_or_nan(p95_with)} ms: p95 ratio {ratio:.2f}{caveat}; /healthz p99 "
            f"with attacks {ms_or_nan(health_p99)} ms; non-2xx/failed reads with attacks {failed}"
        )
    print(f"machine load at the end: {machine_load()}")
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s mix runs, 10 sends")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--sends", type=int, default=None, help="per attack (default 20)")
    parser.add_argument("--rate", type=float, default=200.0, help="tenant B reads/s")
    parser.add_argument("--attack-rate", type=float, default=20.0)
    parser.add_argument("--health-rate", type=float, default=10.0)
    parser.add_argument("--entities", type=int, default=2_000, help="tenant A")
    parser.add_argument("--relationships", type=int, default=6_000, help="tenant A")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the server (repeatable), e.g. INTELGRAPH_GRAPHQL_TIMEOUT_SECONDS=5",
    )
    args = parser.parse_args()
    seconds = mix_seconds(args.quick)
    server_env = dict(item.split("=", 1) for item in args.server_env if "=" in item)
    sends = args.sends or (10 if args.quick else 20)
    attacks = attack_documents("hub", "isolated")  # names only; rebuilt once seeded
    attacks, skipped = chosen_attacks(attacks)
    print_header(
        "bench_hostile: CPU to refuse each attack document, then reads next to an attack mix",
        backend=args.backend,
        data=(
            f"tenant A {args.entities:,} PERSON entities (~8 KB attributes) and "
            f"{args.relationships:,} relationships; tenant B 1,000 ({generator_source()})"
        ),
        attacks=", ".join(a.name for a in attacks)
        + (f" (skipped: {', '.join(skipped)})" if skipped else ""),
        refusal=f"{sends} sequential sends each, {ATTACK_TIMEOUT:g} s timeout",
        mix=(
            f"{seconds:g} s without, then {seconds:g} s with attacks: {args.rate:g}/s reads, "
            f"{args.health_rate:g}/s /healthz, {args.attack_rate:g}/s attacks"
        ),
        server_settings=", ".join(f"{k}={v}" for k, v in server_env.items()) or "defaults",
    )
    if args.backend == "postgresql" and (why := postgres_available()):
        print(f"skipped: PostgreSQL not reachable ({why})")
        return
    # A SIGTERM or SIGHUP (a CI timeout, a closed terminal) unwinds through the `with`
    # blocks, so the server subprocess is stopped whatever happens.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda number, _: sys.exit(128 + number))
    with (
        scratch_dir("hostile") as workdir,
        scratch_database(args.backend, workdir) as url,
        Server(url, workdir / "data", workers=1, extra_env=server_env) as server,
    ):
        print(f"server: {server.how} at {server.url}")
        started = time.perf_counter()
        tenants = seed(server, args.entities, args.relationships)
        print(
            f"seeded tenant A ({tenants.entities:,} entities, {tenants.relationships:,} "
            f"relationships) and B ({len(tenants.bystander_ids):,}) in "
            f"{time.perf_counter() - started:.1f} s"
        )
        names = {a.name for a in attacks}
        attacks = [
            a for a in attack_documents(tenants.hub_id, tenants.isolated_id) if a.name in names
        ]
        print(f"\n[refusal cost: {sends} sequential sends per attack, viewer key of tenant A]")
        trivial, refusals = asyncio.run(refusal_phase(server, tenants, attacks, sends))
        print()
        print_refusals(trivial, refusals)
        rates = (args.rate, args.health_rate, args.attack_rate)
        # Interleaved segments (without, with, with, without, …): on a shared, noisy machine
        # both halves see the same background load, so one run's ratio means something.
        segments = max(1, min(SEGMENTS, int(seconds // 5)))
        order = [("without attacks", []), ("with attacks", attacks)]
        done: dict[str, list[MixRun]] = {name: [] for name, _ in order}
        for segment in range(segments):
            for name, mixed in order if segment % 2 == 0 else order[::-1]:
                print(
                    f"[mix segment {segment + 1}/{segments} {name}: {seconds / segments:g} s]",
                    flush=True,
                )
                done[name].append(
                    asyncio.run(mix_run(name, server, tenants, mixed, seconds / segments, rates))
                )
        runs = [merged(parts) for parts in done.values()]
        print()
        print_mix(runs)
        print_summary(refusals, runs, skipped)


if __name__ == "__main__":
    main()
