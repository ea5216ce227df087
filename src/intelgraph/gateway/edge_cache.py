"""Gateway stage: answer safelisted persisted reads from the edge cache.

Innermost of the gateway (inside metering and quotas), so a hit is still charged against
``api_rpm``, metered as an API call, and its bytes count as egress; a 304 is an API call
with no body. The hit path reads the request (query string or JSON body), finds the
operation in the in-process persisted-query registry and safelist snapshot, and asks the
backend: no GraphQL parsing, no database (the tenant's cache epoch, which an entry must
match to be served, is read at most once per ``INTELGRAPH_CACHE_EPOCH_SECONDS``).

``X-IG-Cache`` says what happened:

- ``HIT``: served from a fresh entry.
- ``MISS``: resolved now (by this request, or by an identical one it waited for).
- ``STALE``: an entry past its TTL (by at most ``INTELGRAPH_CACHE_STALE_SECONDS``) served
  because the same entry is being refreshed by another request right now; ``max-age=0``.
  Purged entries are deleted, so STALE never serves data from before a completed write.
- ``BYPASS``: not cacheable (not a safelisted persisted query, a mutation, the operator),
  or the cache backend is unavailable.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.datastructures import QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from intelgraph.edgecache.backend import Lookup
from intelgraph.edgecache.entries import (
    CacheEntry,
    entity_tags,
    etag_matches,
    strong_etag,
)
from intelgraph.edgecache.keys import CacheKey
from intelgraph.edgecache.service import EdgeCache
from intelgraph.http.graphql_request import (
    GRAPHQL_RESPONSE,
    MAX_GRAPHQL_BODY,
    GraphQLRequest,
    from_json_body,
    from_query_params,
)
from intelgraph.http.scope import (
    PRINCIPAL,
    api_version_of,
)
from intelgraph.kernel.errors import IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.persisted.registry import PersistedOperation
from intelgraph.persisted.safelist import SafelistEntry

HEADER = b"x-ig-cache"
VARY = b"Authorization, X-IG-Api-Version"
JSON_TYPES = (b"application/json", GRAPHQL_RESPONSE.encode())
PARSED_QUERY_STRINGS = 4096  # distinct GET query strings whose parse is remembered
MAX_REMEMBERED_QUERY_STRING = 2048  # longer ones are parsed every time


@dataclass
class _Resolved:
    """What the leader of a miss produced: a cacheable entry, or the response as it was."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    entry: CacheEntry | None = None


@dataclass
class _Request:
    method: str
    headers: dict[bytes, bytes]
    body_messages: list[Message] = field(default_factory=list)


class EdgeCacheMiddleware:
    def __init__(self, app: ASGIApp, cache: EdgeCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/graphql" or not self.cache.is_enabled:
            await self.app(scope, receive, send)
            return
        principal: Principal | None = scope.get(PRINCIPAL)
        if (
            principal is None
            or principal.tenant_id is None
            or scope["method"]
            not in (
                "GET",
                "POST",
            )
        ):
            await self._bypass(scope, receive, send, "not-cacheable")
            return
        request = _Request(scope["method"], dict(scope.get("headers", [])))
        graphql_request = await self._read(scope, receive, request)
        replay = _replaying(request.body_messages, receive)
        if graphql_request is None:
            await self._bypass(scope, replay, send, "not-cacheable")
            return
        found = self._safelisted(principal, graphql_request)
        if found is None:
            await self._bypass(scope, replay, send, "not-safelisted")
            return
        operation, safelisted = found
        assert operation.operation_id is not None
        key = CacheKey.for_request(
            principal,
            operation.operation_id,
            api_version_of(scope),
            graphql_request.variables,
        )
        lookup = await self.cache.lookup(key)
        if lookup is None:
            await self._bypass(scope, replay, send, "backend-unavailable")
            return
        now = self.cache.clock.now().timestamp()
        entry = lookup.entry
        if entry is not None and entry.tenant_id != key.tenant_id:
            self.cache.report_leak(key, entry)
            entry = None
        if entry is not None and entry.is_fresh(now):
            self.cache.metrics.cache_hits.labels(key.tenant_id, key.operation_id).inc()
            await self._serve(scope, send, request, key, entry, b"HIT", now)
            return
        # A request after a purge (generation) or an epoch bump never joins an older flight.
        flight = (key, lookup.generation, lookup.epoch)
        if (
            entry is not None
            and now < entry.expires_at + self.cache.stale_seconds
            and self.cache.flights.is_in_flight(flight)
        ):
            self.cache.metrics.cache_stale.labels(key.tenant_id, key.operation_id).inc()
            await self._serve(scope, send, request, key, entry, b"STALE", now)
            return

        async def resolve() -> _Resolved:
            # The fill is shared by every request of the flight: one client leaving must not
            # cancel it for the others (the request's time budget still bounds it).
            detached = _replaying(request.body_messages, _never_disconnects)
            return await self._resolve(scope, detached, key, safelisted, lookup, graphql_request)

        resolved, is_leader = await self.cache.flights.run(flight, resolve)
        if not is_leader:
            self.cache.metrics.cache_coalesced.labels(key.tenant_id).inc()
        if resolved.entry is None:
            await _send(
                send,
                resolved.status,
                [*resolved.headers, (HEADER, b"MISS"), (b"cache-control", b"no-store")],
                resolved.body,
            )
            return
        now = self.cache.clock.now().timestamp()
        await self._serve(scope, send, request, key, resolved.entry, b"MISS", now)

    # --- the miss ---------------------------------------------------------------------------

    async def _resolve(
        self,
        scope: Scope,
        receive: Receive,
        key: CacheKey,
        safelisted: SafelistEntry,
        lookup: Lookup,
        graphql_request: GraphQLRequest,
    ) -> _Resolved:
        again = await self.cache.lookup(key)  # a leader that just finished may have stored it
        now = self.cache.clock.now().timestamp()
        found = again.entry if again is not None else None
        if found is not None and found.is_fresh(now) and found.tenant_id == key.tenant_id:
            return _Resolved(200, [], found.body, found)
        self.cache.metrics.cache_misses.labels(key.tenant_id, key.operation_id).inc()
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        resolved = _Resolved(status, headers, body)
        tags = _tags_if_cacheable(status, headers, body, graphql_request.variables)
        if tags is None:
            return resolved
        label = scope.get("state", {}).get("operation") or key.operation_id
        resolved.entry = CacheEntry(
            tenant_id=key.tenant_id,
            operation_id=key.operation_id,
            operation_label=str(label),
            body=body,
            etag=strong_etag(body),
            stored_at=self.cache.clock.now().timestamp(),
            ttl=safelisted.ttl,
            epoch=lookup.epoch,  # noted before resolving: the data read is at least as new
        )
        await self.cache.store(key, resolved.entry, tags, lookup.generation)
        return resolved

    # --- answers ------------------------------------------------------------------------------

    async def _serve(
        self,
        scope: Scope,
        send: Send,
        request: _Request,
        key: CacheKey,
        entry: CacheEntry,
        outcome: bytes,
        now: float,
    ) -> None:
        scope.setdefault("state", {})["operation"] = entry.operation_label
        max_age = 0 if outcome == b"STALE" else entry.remaining_ttl(now)
        validators = [
            (b"etag", entry.etag.encode("ascii")),
            (b"cache-control", f"private, max-age={max_age}".encode("ascii")),
            (b"vary", VARY),
            (b"age", str(entry.age(now)).encode("ascii")),
            (HEADER, outcome),
            (b"x-ig-cache-vars-hash", key.vars_hash.encode("ascii")),
        ]
        if request.method == "GET" and etag_matches(
            request.headers.get(b"if-none-match", b"").decode("latin-1"), entry.etag
        ):
            self.cache.metrics.cache_not_modified.labels(key.tenant_id).inc()
            await _send(send, 304, validators, b"")
            return
        accept = request.headers.get(b"accept", b"").decode("latin-1")
        media = GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accept else "application/json"
        headers = [
            (b"content-type", media.encode("ascii")),
            (b"content-length", str(len(entry.body)).encode("ascii")),
            *validators,
        ]
        await _send(send, 200, headers, entry.body)

    async def _bypass(self, scope: Scope, receive: Receive, send: Send, reason: str) -> None:
        self.cache.metrics.cache_bypass.labels(reason).inc()

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (HEADER, b"BYPASS")]
            await send(message)

        await self.app(scope, receive, send_marked)

    # --- the request ----------------------------------------------------------------------------

    async def _read(
        self, scope: Scope, receive: Receive, request: _Request
    ) -> GraphQLRequest | None:
        """The GraphQL request, or None when the cache should leave it to the endpoint (which
        answers the errors). The body messages read are kept to replay to the endpoint."""
        try:
            if request.method == "GET":
                return _from_query_string(scope.get("query_string", b""))
            media = request.headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
            size = 0
            while True:
                message = await receive()
                request.body_messages.append(message)
                if message["type"] != "http.request":
                    return None
                size += len(message.get("body", b""))
                if size > MAX_GRAPHQL_BODY:
                    return None
                if not message.get("more_body", False):
                    break
            if media not in JSON_TYPES:
                return None
            body = b"".join(m.get("body", b"") for m in request.body_messages)
            return from_json_body(body)
        except IntelGraphError:
            return None

    def _safelisted(
        self, principal: Principal, request: GraphQLRequest
    ) -> tuple[PersistedOperation, SafelistEntry] | None:
        """The platform operation a request runs and its safelist entry, if it is cacheable.

        Only ids and hashes already on the safelist reach the registry, so traffic that is
        not cacheable never costs a registry (database) lookup here.
        """
        tenant_id = principal.tenant_id
        assert tenant_id is not None
        registry = self.cache.registry
        safelist = self.cache.safelist
        operation: PersistedOperation | None = None
        if request.operation_id is not None:
            if safelist.for_operation(request.operation_id) is not None:
                operation = registry.find_by_id(tenant_id, request.operation_id)
        else:
            sha = request.document_id or request.apq_hash
            if request.query is not None:
                text_sha = hashlib.sha256(request.query.encode("utf-8")).hexdigest()
                if sha is not None and sha != text_sha:
                    return None  # the endpoint answers the mismatch
                sha = text_sha
            if sha is not None and safelist.for_sha256(sha) is not None:
                operation = registry.find_by_hash(tenant_id, sha)
        entry = self.cache.safelisted(operation)
        if operation is None or entry is None or not operation.allows(principal.roles):
            return None
        if request.operation_name is not None and request.operation_name != _name_of(operation):
            return None
        return operation, entry


def _from_query_string(query_string: bytes) -> GraphQLRequest:
    """The GraphQL request of a GET; hot keys repeat the same query string, so short ones
    are parsed once (parsing was a quarter of a hit's time in the gateway). The result is
    shared: the cache path only reads it. Raises MALFORMED_REQUEST like the endpoint."""
    if len(query_string) > MAX_REMEMBERED_QUERY_STRING:
        return _parse_query_string(query_string)
    return _remembered_parse(query_string)


def _parse_query_string(query_string: bytes) -> GraphQLRequest:
    return from_query_params(dict(QueryParams(query_string)))


_remembered_parse = functools.lru_cache(maxsize=PARSED_QUERY_STRINGS)(_parse_query_string)


def _name_of(operation: PersistedOperation) -> str:
    return (operation.operation_id or "").split(":", 1)[0]


def _tags_if_cacheable(
    status: int, headers: list[tuple[bytes, bytes]], body: bytes, variables: dict[str, Any] | None
) -> set[str] | None:
    """The entity tags of a response worth caching: a 200 without errors or deprecation
    notices (those carry per-request headers and side effects)."""
    if status != 200 or any(name.lower() == b"deprecation" for name, _ in headers):
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(parsed, dict) or "errors" in parsed or "extensions" in parsed:
        return None
    return entity_tags(parsed, variables)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that first hands back the body messages already read."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _never_disconnects() -> Message:
    """A receive channel past the body: the client is never reported gone."""
    await asyncio.get_running_loop().create_future()
    raise AssertionError("unreachable")


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
