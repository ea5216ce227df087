"""POST /v1/ingest: NDJSON batches of entities and relationships, optionally gzip-encoded."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from intelgraph.api.rest_models.ingest import MAX_IDEMPOTENCY_KEY, NDJSON_TYPES
from intelgraph.graph.ingest import parse_ndjson
from intelgraph.graph.service import GraphService, IngestResult
from intelgraph.http.body import read_limited, require_media_type
from intelgraph.http.responses import JSONResponse
from intelgraph.http.scope import (
    require_principal,
)
from intelgraph.kernel.errors import (
    IDEMPOTENCY_KEY_REUSED,
    INGEST_INVALID,
    POLICY_DENIED,
    VALIDATION,
    IntelGraphError,
)
from intelgraph.kernel.tenancy import Principal
from intelgraph.quotas import CachedLimits, IngestCharge, QuotaDecision, QuotaEngine
from intelgraph.tenants.plans import LimitName

# What the graph service raises before it stores anything (its transaction rolls back).
# CACHE_PURGE_FAILED is not here: it comes after the batch was stored.
STORES_NOTHING = frozenset(
    code.code for code in (INGEST_INVALID, IDEMPOTENCY_KEY_REUSED, POLICY_DENIED)
)


class IngestEndpoint:
    def __init__(
        self, graph: GraphService, max_bytes: int, quotas: QuotaEngine, limits_for: CachedLimits
    ) -> None:
        self.graph = graph
        self.max_bytes = max_bytes
        self.quotas = quotas
        self.limits_for = limits_for

    async def handle(self, request: Request) -> Response:
        principal = require_principal(request.scope)
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
            # A batch refused for a bad line stores nothing, so it costs no ingest allowance.
            records = batch.chargeable_count(partial=partial)
            charge = charge_ingest(self.quotas, self.limits_for, principal, records)
            return store_charged(
                charge,
                lambda: self.graph.ingest(
                    principal, batch, partial=partial, idempotency_key=key, request_digest=digest
                ),
            )

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
) -> IngestCharge | None:
    """Charge ``records`` against the tenant's ingest_eps; raises INGEST_RATE_EXCEEDED."""
    if principal.tenant_id is None or records == 0:
        return None
    limit = limits_for(principal.tenant_id).value(LimitName.INGEST_EPS)
    decision = quotas.charge_ingest(principal.tenant_id, records, limit)
    decision.raise_if_refused()
    return IngestCharge(quotas, principal.tenant_id, decision)


def store_charged(
    charge: object, store: Callable[[], IngestResult]
) -> tuple[IngestResult, QuotaDecision | None]:
    """Run ``store`` for an ingest already charged, and refund the records it did not store:
    all of them when it raises an error that stores nothing. Returns the result and the
    charge's decision after the refund (None when nothing was charged)."""
    if not isinstance(charge, IngestCharge):
        return store(), None
    try:
        result = store()
    except IntelGraphError as exc:
        if exc.code in STORES_NOTHING:
            charge.refund_unstored(0)
        raise
    return result, charge.refund_unstored(stored_records(result))


def stored_records(result: IngestResult) -> int:
    """Records this ingest stored: none for a replay (the first answer stored them)."""
    if result.is_replay:
        return 0
    accepted = result.body["accepted"]
    return int(accepted["entities"]) + int(accepted["relationships"])


def _flag(value: str | None, name: str) -> bool:
    if value is None:
        return False
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise IntelGraphError(VALIDATION, f"?{name}= must be true or false, not {value!r}")
