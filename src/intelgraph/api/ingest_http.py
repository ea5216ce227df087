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
from intelgraph.kernel.tenancy import Principal
from intelgraph.quotas import CachedLimits, QuotaDecision, QuotaEngine
from intelgraph.tenants.plans import LimitName

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
MAX_IDEMPOTENCY_KEY = 200


class IngestEndpoint:
    def __init__(
        self, graph: GraphService, max_bytes: int, quotas: QuotaEngine, limits_for: CachedLimits
    ) -> None:
        self.graph = graph
        self.max_bytes = max_bytes
        self.quotas = quotas
        self.limits_for = limits_for

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

        def run() -> tuple[IngestResult, QuotaDecision | None]:
            # Off the event loop: parsing, validating and hashing a batch take milliseconds.
            digest = "" if key is None else request_digest(body, partial)
            batch = parse_ndjson(body)
            decision = charge_ingest(self.quotas, self.limits_for, principal, batch.record_count)
            result = self.graph.ingest(
                principal, batch, partial=partial, idempotency_key=key, request_digest=digest
            )
            return result, decision

        result, decision = await run_in_threadpool(run)
        headers = decision.headers() if decision is not None else {}
        if result.is_replay:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse(result.body, status_code=result.status, headers=headers)


def request_digest(body: bytes, partial: bool) -> str:
    """What an Idempotency-Key is bound to: the body and how it was to be stored."""
    digest = hashlib.sha256(body)
    if partial:
        digest.update(b"|partial")
    return digest.hexdigest()


def charge_ingest(
    quotas: QuotaEngine, limits_for: CachedLimits, principal: Principal, records: int
) -> QuotaDecision | None:
    """Charge ``records`` against the tenant's ingest_eps; raises INGEST_RATE_EXCEEDED."""
    if principal.tenant_id is None or records == 0:
        return None
    limit = limits_for(principal.tenant_id).value(LimitName.INGEST_EPS)
    decision = quotas.charge_ingest(principal.tenant_id, records, limit)
    decision.raise_if_refused()
    return decision


def _flag(value: str | None, name: str) -> bool:
    if value is None:
        return False
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise IntelGraphError(VALIDATION, f"?{name}= must be true or false, not {value!r}")
