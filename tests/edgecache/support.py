"""What the edge cache tests share: reads through the cache, the same reads around it, and
a stub endpoint for driving the middleware directly."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import orjson

from conftest import Harness
from intelgraph.http.scope import (
    API_VERSION,
    PRINCIPAL,
)
from intelgraph.kernel.tenancy import Principal

MANIFEST = {
    op["id"]: op["document"]
    for op in orjson.loads(
        resources.files("intelgraph.persisted").joinpath("manifest.json").read_text()
    )["operations"]
}
GET_ENTITY = "getEntityById:v1"
PAGERANK_TOP = "pagerankTop:v1"
V1_1 = {"X-IG-Api-Version": "1.1"}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def cached_read(
    harness: Harness,
    key: str,
    operation_id: str,
    variables: dict[str, Any] | None = None,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> Any:
    """A persisted, safelisted read: the cache path."""
    all_headers = auth(key) | (headers or {})
    if method == "GET":
        params = {"operationId": operation_id}
        if variables is not None:
            params["variables"] = orjson.dumps(variables).decode()
        return harness.client.get("/graphql", params=params, headers=all_headers)
    body: dict[str, Any] = {"operationId": operation_id}
    if variables is not None:
        body["variables"] = variables
    return harness.client.post("/graphql", json=body, headers=all_headers)


def truth(
    harness: Harness,
    key: str,
    operation_id: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """The same operation around the cache: a document text that is not safelisted."""
    response = harness.client.post(
        "/graphql",
        json={"query": MANIFEST[operation_id] + "\n# uncached", "variables": variables or {}},
        headers=auth(key) | (headers or {}),
    )
    assert response.headers["x-ig-cache"] == "BYPASS", response.headers
    assert response.status_code == 200, response.text
    return response.json()


@dataclass
class StubEndpoint:
    """Stands in for /graphql behind the middleware: counts calls, can hold or fail them."""

    body: dict[str, Any]
    calls: int = 0
    release: asyncio.Event | None = None
    error: Exception | None = None
    entered: list[int] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        self.entered.append(self.calls)
        if self.release is not None:
            await self.release.wait()
        if self.error is not None:
            raise self.error
        payload = orjson.dumps(self.body)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def scope_for(principal: Principal, entity_id: str, version: str = "1.0") -> dict[str, Any]:
    query = b"operationId=getEntityById:v1&variables=" + orjson.dumps({"id": entity_id})
    return {
        "type": "http",
        "method": "GET",
        "path": "/graphql",
        "query_string": query,
        "headers": [],
        "state": {},
        PRINCIPAL: principal,
        API_VERSION: version,
    }


async def call(app: Callable[..., Awaitable[None]], scope: dict[str, Any]) -> Answer:
    """Run one request through an ASGI app and collect the answer."""
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(dict(scope), receive, send)
    start = messages[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in messages[1:])
    return Answer(start["status"], headers, body)
