"""The floor of the read path: the least a Python server can do to answer `entity(id)`.

A Starlette app (served by granian, as IntelGraph is) with ``POST /graphql`` that reads
``variables.id`` from the JSON body, runs the primary-key SELECT of ``entities`` for one
tenant and writes ``{"data": {"entity": {"id", "label", "type"}}}`` with orjson; and
``GET /healthz``. No authentication, quotas, metering or GraphQL parsing: what is left is
HTTP, JSON and one database round trip (psycopg 3 async in autocommit, so one transaction per
read, on PostgreSQL; sqlite3 on the event loop on SQLite).

Environment: ``FLOOR_DATABASE_URL`` (a libpq ``postgresql://`` URL or ``sqlite:///PATH``) and
``FLOOR_TENANT_ID``. Serve: ``granian --interface asgi --factory read_floor:create_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SELECT = "SELECT entity_id, label, type FROM entities WHERE tenant_id = {p} AND entity_id = {p}"
POOL_SIZE = 4


class PostgresReader:
    """A few autocommit psycopg connections handed out one request at a time."""

    def __init__(self, url: str, tenant_id: str) -> None:
        self.url, self.tenant_id = url, tenant_id
        self.sql = SELECT.format(p="%s")
        self.idle: asyncio.Queue[Any] = asyncio.Queue()

    async def open(self) -> None:
        import psycopg

        for _ in range(POOL_SIZE):
            connection = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            connection.prepare_threshold = 0  # a prepared statement from the first read
            self.idle.put_nowait(connection)

    async def close(self) -> None:
        while not self.idle.empty():
            await self.idle.get_nowait().close()

    async def read(self, entity_id: str) -> tuple[Any, ...] | None:
        connection = await self.idle.get()
        try:
            cursor = await connection.execute(self.sql, (self.tenant_id, entity_id))
            row: tuple[Any, ...] | None = await cursor.fetchone()
            return row
        finally:
            self.idle.put_nowait(connection)


class SqliteReader:
    """One sqlite3 connection used on the event loop (a primary-key read takes microseconds)."""

    def __init__(self, path: str, tenant_id: str) -> None:
        self.path, self.tenant_id = path, tenant_id
        self.sql = SELECT.format(p="?")
        self.connection: sqlite3.Connection | None = None

    async def open(self) -> None:
        self.connection = sqlite3.connect(self.path, check_same_thread=False)
        self.connection.execute("PRAGMA query_only = ON")

    async def close(self) -> None:
        if self.connection is not None:
            self.connection.close()

    async def read(self, entity_id: str) -> tuple[Any, ...] | None:
        assert self.connection is not None
        row: tuple[Any, ...] | None = self.connection.execute(
            self.sql, (self.tenant_id, entity_id)
        ).fetchone()
        return row


def create_app() -> Starlette:
    """The floor app for ``FLOOR_DATABASE_URL`` and ``FLOOR_TENANT_ID``."""
    url, tenant_id = os.environ["FLOOR_DATABASE_URL"], os.environ["FLOOR_TENANT_ID"]
    reader: PostgresReader | SqliteReader
    if url.startswith("sqlite:///"):
        reader = SqliteReader(url.removeprefix("sqlite:///"), tenant_id)
    else:
        reader = PostgresReader(url, tenant_id)

    async def entity(request: Request) -> Response:
        entity_id = orjson.loads(await request.body())["variables"]["id"]
        row = await reader.read(entity_id)
        found = None if row is None else {"id": row[0], "label": row[1], "type": row[2]}
        return Response(orjson.dumps({"data": {"entity": found}}), media_type="application/json")

    async def healthz(_: Request) -> Response:
        return Response(b"ok", media_type="text/plain")

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await reader.open()
        try:
            yield
        finally:
            await reader.close()

    return Starlette(
        routes=[Route("/graphql", entity, methods=["POST"]), Route("/healthz", healthz)],
        lifespan=lifespan,
    )
