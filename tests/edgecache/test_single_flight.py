"""Coalescing: concurrent identical misses resolve once; a failing leader fails its waiters
at once and nothing is cached; STALE only while a refresh is in flight."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import event

from conftest import Harness, person
from edgecache.support import GET_ENTITY, Answer, StubEndpoint, auth, call, scope_for
from intelgraph.edgecache.singleflight import SingleFlight
from intelgraph.gateway.edge_cache import EdgeCacheMiddleware
from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.tenancy import Principal

WAITERS = 200


def test_single_flight_runs_concurrent_work_once_and_shares_the_result() -> None:
    async def scenario() -> tuple[list[tuple[str, bool]], int]:
        flights: SingleFlight[str] = SingleFlight()
        runs = 0
        release = asyncio.Event()

        async def work() -> str:
            nonlocal runs
            runs += 1
            await release.wait()
            return "answer"

        tasks = [asyncio.create_task(flights.run("k", work)) for _ in range(WAITERS)]
        await asyncio.sleep(0)
        release.set()
        return await asyncio.gather(*tasks), runs

    results, runs = asyncio.run(scenario())
    assert runs == 1
    assert {value for value, _ in results} == {"answer"}
    assert sum(1 for _, led in results if led) == 1


def test_every_waiter_gets_the_leaders_error_and_the_next_call_runs_again() -> None:
    async def scenario() -> tuple[list[BaseException | str], str]:
        flights: SingleFlight[str] = SingleFlight()
        release = asyncio.Event()

        async def failing() -> str:
            await release.wait()
            raise LookupError("resolver broke")

        tasks = [asyncio.create_task(flights.run("k", failing)) for _ in range(WAITERS)]
        await asyncio.sleep(0)
        release.set()
        outcomes = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)

        async def fine() -> str:
            return "later"

        later, _ = await flights.run("k", fine)
        return [o if isinstance(o, BaseException) else o[0] for o in outcomes], later

    outcomes, later = asyncio.run(scenario())
    assert all(isinstance(o, LookupError) for o in outcomes)
    assert later == "later"


def _middleware(harness: Harness, stub: StubEndpoint) -> EdgeCacheMiddleware:
    return EdgeCacheMiddleware(stub, cache=harness.services.edge_cache)


def _principal(harness: Harness) -> Principal:
    tenant = harness.new_tenant()
    return Principal(tenant.id, "key", "test", ("admin",))


def test_two_hundred_concurrent_misses_run_the_endpoint_once(harness: Harness) -> None:
    principal = _principal(harness)
    stub = StubEndpoint({"data": {"entity": {"id": "ent_1", "label": "Ada"}}})
    app = _middleware(harness, stub)

    async def scenario() -> list[str]:
        stub.release = asyncio.Event()
        tasks = [
            asyncio.create_task(call(app, scope_for(principal, "ent_1"))) for _ in range(WAITERS)
        ]
        while stub.calls == 0:
            await asyncio.sleep(0)
        for _ in range(10):
            await asyncio.sleep(0)
        stub.release.set()
        answers = await asyncio.gather(*tasks)
        assert {a.body for a in answers} == {b'{"data":{"entity":{"id":"ent_1","label":"Ada"}}}'}
        return [a.headers["x-ig-cache"] for a in answers]

    outcomes = asyncio.run(scenario())
    assert stub.calls == 1
    assert outcomes.count("MISS") == WAITERS
    coalesced = harness.services.metrics.cache_coalesced.labels(principal.tenant_id)
    assert coalesced._value.get() == WAITERS - 1
    again = asyncio.run(call(app, scope_for(principal, "ent_1")))
    assert again.headers["x-ig-cache"] == "HIT" and stub.calls == 1


def test_a_failing_leader_fails_every_waiter_and_nothing_is_cached(harness: Harness) -> None:
    principal = _principal(harness)
    stub = StubEndpoint({"data": {"entity": None}}, error=RuntimeError("resolver broke"))
    app = _middleware(harness, stub)

    async def scenario() -> list[BaseException | object]:
        stub.release = asyncio.Event()
        tasks = [
            asyncio.create_task(call(app, scope_for(principal, "ent_2"))) for _ in range(WAITERS)
        ]
        while stub.calls == 0:
            await asyncio.sleep(0)
        for _ in range(10):
            await asyncio.sleep(0)
        stub.release.set()
        return await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)

    outcomes = asyncio.run(scenario())
    assert stub.calls == 1
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    stub.error = None
    stub.release = None
    after = asyncio.run(call(app, scope_for(principal, "ent_2")))
    assert after.headers["x-ig-cache"] == "MISS" and stub.calls == 2


def test_an_expired_entry_is_served_stale_only_while_its_refresh_is_in_flight(
    harness: Harness,
) -> None:
    clock = ManualClock()
    cache = harness.services.edge_cache
    original_clock, cache.clock = cache.clock, clock
    backend_clock = getattr(cache.backend, "_clock", None)
    if backend_clock is not None:
        cache.backend._clock = clock  # type: ignore[attr-defined]
    try:
        principal = _principal(harness)
        stub = StubEndpoint({"data": {"entity": {"id": "ent_3", "label": "v1"}}})
        app = _middleware(harness, stub)
        assert asyncio.run(call(app, scope_for(principal, "ent_3"))).headers["x-ig-cache"] == "MISS"
        clock.advance(31)  # past the 30 s TTL, within the stale window

        async def scenario() -> tuple[str, str, bytes]:
            stub.release = asyncio.Event()
            stub.body = {"data": {"entity": {"id": "ent_3", "label": "v2"}}}
            leader = asyncio.create_task(call(app, scope_for(principal, "ent_3")))
            while stub.calls < 2:
                await asyncio.sleep(0)
            stale = await call(app, scope_for(principal, "ent_3"))
            stub.release.set()
            refreshed = await leader
            return stale.headers["x-ig-cache"], stale.headers["cache-control"], refreshed.body

        outcome, cache_control, refreshed = asyncio.run(scenario())
        assert (outcome, cache_control) == ("STALE", "private, max-age=0")
        assert b"v2" in refreshed
        clock.advance(40)  # expired again, and nothing refreshing it: a plain miss, not STALE
        stub.release = None
        late = asyncio.run(call(app, scope_for(principal, "ent_3")))
        assert late.headers["x-ig-cache"] == "MISS" and stub.calls == 3
    finally:
        cache.clock = original_clock
        if backend_clock is not None:
            cache.backend._clock = backend_clock  # type: ignore[attr-defined]


def test_concurrent_identical_requests_through_the_app_resolve_once(harness: Harness) -> None:
    tenant = harness.new_tenant()
    ada = harness.ingest(tenant.admin_key, [person("ada", "Ada")]).json()["ids"]["ada"]
    app = harness.client.app
    selects: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "from entities" in statement.lower():
            selects.append(statement)

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await asyncio.gather(
                *(
                    client.post(
                        "/graphql",
                        json={"operationId": GET_ENTITY, "variables": {"id": ada}},
                        headers=auth(tenant.admin_key),
                    )
                    for _ in range(WAITERS)
                )
            )

    engine = harness.services.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        responses = asyncio.run(scenario())
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert len(selects) == 1


class DisconnectAwareEndpoint(StubEndpoint):
    """Like /graphql off the loop: answers 499 when its receive channel reports the client
    gone while it works."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        gone = False
        try:
            while not gone:  # the replayed body, then whatever the client does
                gone = (await asyncio.wait_for(receive(), 0.05))["type"] == "http.disconnect"
        except TimeoutError:
            pass
        if self.release is not None:
            await self.release.wait()
        if gone:
            await send({"type": "http.response.start", "status": 499, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await super().__call__(scope, _no_more_messages, send)
        self.calls -= 1  # counted once above


async def _no_more_messages() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def test_a_leader_whose_client_leaves_still_answers_the_requests_that_joined_it(
    harness: Harness,
) -> None:
    principal = _principal(harness)
    stub = DisconnectAwareEndpoint({"data": {"entity": {"id": "ent_3", "label": "Ada"}}})
    app = _middleware(harness, stub)

    async def leaving_client(scope: dict[str, Any]) -> None:
        sent = iter(
            [{"type": "http.request", "body": b"", "more_body": False}],
        )

        async def receive() -> dict[str, Any]:
            return next(sent, {"type": "http.disconnect"})

        async def send(_: dict[str, Any]) -> None:
            return None

        await app(dict(scope), receive, send)

    async def scenario() -> list[Answer]:
        stub.release = asyncio.Event()
        leader = asyncio.create_task(leaving_client(scope_for(principal, "ent_3")))
        while stub.calls == 0:
            await asyncio.sleep(0)
        joined = [asyncio.create_task(call(app, scope_for(principal, "ent_3"))) for _ in range(5)]
        for _ in range(10):
            await asyncio.sleep(0)
        stub.release.set()
        await leader
        return await asyncio.gather(*joined)

    answers = asyncio.run(scenario())
    assert stub.calls == 1
    assert {a.status for a in answers} == {200}
    assert {a.body for a in answers} == {b'{"data":{"entity":{"id":"ent_3","label":"Ada"}}}'}
