"""POST /v1/ingest with Content-Encoding: gzip: decompressed while streaming, the size limit
applies to the decompressed bytes, and a gzip bomb is refused without being inflated."""

from __future__ import annotations

import functools
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest
from starlette.requests import Request
from starlette.testclient import TestClient

from conftest import NDJSON, Harness, TenantHandle, person
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.http.body import INFLATE_STEP, GzipInflater, read_limited
from intelgraph.kernel.errors import IntelGraphError
from intelgraph.settings import Settings

LIMIT = 1_000_000
BOMB_BYTES = 200 * 1024 * 1024


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """An app on SQLite whose ingest limit is 1 MB (decoding does not touch the store)."""
    tmp: Path = tmp_path_factory.mktemp("gzip")
    settings = Settings(
        database_url=f"sqlite:///{tmp}/intelgraph.db",
        data_dir=tmp / "data",
        operator_key="igo_test_operator_key",
        run_background_jobs=False,
        max_ingest_bytes=LIMIT,
    )
    services = start_services(settings)
    with TestClient(create_app(services=services)) as client:
        yield Harness(client, services, {"Authorization": f"Bearer {settings.operator_key}"})


def ndjson(lines: list[dict[str, Any]]) -> bytes:
    return b"\n".join(orjson.dumps(line) for line in lines)


@functools.cache
def gzip_bomb() -> bytes:
    """200 MB of newlines (blank lines) compressed: about 200 KB."""
    compressor = zlib.compressobj(9, wbits=31)
    block = b"\n" * (1024 * 1024)
    parts = [compressor.compress(block) for _ in range(BOMB_BYTES // len(block))]
    return b"".join([*parts, compressor.flush()])


def post(harness: Harness, tenant: TenantHandle, body: bytes, encoding: str) -> Any:
    headers = tenant.headers | NDJSON | {"Content-Encoding": encoding}
    return harness.client.post("/v1/ingest", content=body, headers=headers)


def error_of(response: Any) -> dict[str, Any]:
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    error: dict[str, Any] = errors[0]
    return error


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "GZIP"])
def test_a_gzip_encoded_batch_is_stored(harness: Harness, encoding: str) -> None:
    tenant = harness.new_tenant()
    body = gzip.compress(ndjson([person("p-1", "Ada"), person("p-2", "Bob")]))

    response = post(harness, tenant, body, encoding)

    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == {"entities": 2, "relationships": 0}
    assert harness.services.graph.counts(tenant.id)["entities"] == 2


def test_concatenated_gzip_members_are_one_body(harness: Harness) -> None:
    tenant = harness.new_tenant()
    body = gzip.compress(ndjson([person("p-1", "Ada")]) + b"\n") + gzip.compress(
        ndjson([person("p-2", "Bob")])
    )

    response = post(harness, tenant, body, "gzip")

    assert response.status_code == 200, response.text
    assert harness.services.graph.counts(tenant.id)["entities"] == 2


def test_a_gzip_bomb_is_refused_as_too_large(harness: Harness) -> None:
    tenant = harness.new_tenant()

    response = post(harness, tenant, gzip_bomb(), "gzip")

    assert response.status_code == 413, response.text
    error = error_of(response)
    assert error["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert error["extensions"]["limitBytes"] == LIMIT
    assert str(LIMIT) in error["message"]


def test_a_gzip_bomb_is_refused_after_reading_a_sliver_of_it() -> None:
    bomb = gzip_bomb()
    chunk_size = 1024
    chunks = [bomb[i : i + chunk_size] for i in range(0, len(bomb), chunk_size)]
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        more = received < len(chunks)
        return {"type": "http.request", "body": chunks[received - 1], "more_body": more}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/ingest",
        "headers": [(b"content-encoding", b"gzip")],
        "query_string": b"",
    }

    async def read() -> IntelGraphError:
        with pytest.raises(IntelGraphError) as refused:
            await read_limited(Request(scope, receive), LIMIT)
        return refused.value

    error = anyio.run(read)

    assert error.code == "PAYLOAD_TOO_LARGE"
    assert received <= len(chunks) // 20  # at most 5% of the bomb was read


def test_the_inflater_stops_within_one_step_of_the_limit() -> None:
    bomb = gzip_bomb()
    inflater = GzipInflater(LIMIT)
    fed = 0

    with pytest.raises(IntelGraphError) as refused:
        for start in range(0, len(bomb), 64 * 1024):
            fed += 1
            inflater.feed(bomb[start : start + 64 * 1024])  # one chunk inflates to ~64 MB

    assert refused.value.code == "PAYLOAD_TOO_LARGE"
    assert fed == 1
    assert LIMIT < inflater.produced <= LIMIT + INFLATE_STEP


@pytest.mark.parametrize(
    "body",
    [
        b"this is not gzip",
        gzip.compress(ndjson([person("p-1", "Ada")]))[:-6],  # the trailer cut off
        gzip.compress(b"{}") + b"trailing garbage",
    ],
    ids=["not gzip", "truncated", "trailing garbage"],
)
def test_a_corrupt_gzip_body_is_refused_naming_content_encoding(
    harness: Harness, body: bytes
) -> None:
    tenant = harness.new_tenant()

    response = post(harness, tenant, body, "gzip")

    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["extensions"]["code"] == "MALFORMED_REQUEST"
    assert "Content-Encoding" in error["message"]
    assert harness.services.graph.counts(tenant.id)["entities"] == 0


@pytest.mark.parametrize("encoding", ["br", "deflate", "zstd", "gzip, gzip"])
def test_another_content_encoding_is_refused_saying_gzip_is_accepted(
    harness: Harness, encoding: str
) -> None:
    tenant = harness.new_tenant()

    response = post(harness, tenant, ndjson([person("p-1", "Ada")]), encoding)

    assert response.status_code == 415, response.text
    error = error_of(response)
    assert error["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "gzip" in error["message"]
    assert error["extensions"]["acceptedEncodings"] == ["gzip", "identity"]
    assert harness.services.graph.counts(tenant.id)["entities"] == 0
