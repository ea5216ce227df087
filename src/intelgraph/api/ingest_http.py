"""POST /v1/ingest: NDJSON batches of entities and relationships."""

from __future__ import annotations

import hashlib

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from intelgraph.api.http_body import read_limited, require_media_type
from intelgraph.api.responses import JSONResponse
from intelgraph.gateway.authn import PRINCIPAL
from intelgraph.graph.ingest import parse_ndjson
from intelgraph.graph.service import GraphService, IngestResult
from intelgraph.kernel.errors import VALIDATION, IntelGraphError

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
MAX_IDEMPOTENCY_KEY = 200


class IngestEndpoint:
    def __init__(self, graph: GraphService, max_bytes: int) -> None:
        self.graph = graph
        self.max_bytes = max_bytes

    async def handle(self, request: Request) -> Response:
        principal = request.scope[PRINCIPAL]
        require_media_type(request, NDJSON_TYPES)
        partial = _flag(request.query_params.get("partial"), "partial")
        key = request.headers.get("idempotency-key")
        if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY and key.isprintable()):
            raise IntelGraphError(
                VALIDATION, f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} printable characters"
            )
        body = await read_limited(request, self.max_bytes)
        digest = hashlib.sha256(body + (b"|partial" if partial else b"")).hexdigest()

        def run() -> IngestResult:
            batch = parse_ndjson(body)
            return self.graph.ingest(
                principal, batch, partial=partial, idempotency_key=key, request_digest=digest
            )

        result = await run_in_threadpool(run)
        headers = {"Idempotent-Replayed": "true"} if result.is_replay else None
        return JSONResponse(result.body, status_code=result.status, headers=headers)


def _flag(value: str | None, name: str) -> bool:
    if value is None:
        return False
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise IntelGraphError(VALIDATION, f"?{name}= must be true or false, not {value!r}")
