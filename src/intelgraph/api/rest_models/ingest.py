"""POST /v1/ingest: NDJSON batches of entities and relationships."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from intelgraph.api.rest_models.contract import Key, Operation, RawBody
from intelgraph.kernel import errors as e

TAG = "ingest"
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
MAX_IDEMPOTENCY_KEY = 200

BATCH = RawBody(
    NDJSON_TYPES,
    'One JSON object a line: `{"kind": "entity", "external_id", "type", "label", '
    '"attributes"}` or `{"kind": "relationship", "type", "from", "to"}`; may be '
    "sent with `Content-Encoding: gzip`.",
)


class IngestQuery(BaseModel):
    partial: Literal["true", "false", "1", "0", "yes", "no"] | None = Field(
        default=None, description="store the valid lines of a batch with invalid ones"
    )


class IngestHeaders(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    idempotency_key: str | None = Field(
        default=None,
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY,
        description="replays the first answer for a retried batch",
    )


class Counts(BaseModel):
    entities: int
    relationships: int


class LineError(BaseModel):
    line: int
    field: str | None
    reason: str


class IngestAnswer(BaseModel):
    accepted: Counts
    created: Counts
    updated: Counts
    rejected: int
    lineErrors: list[LineError]
    ids: dict[str, str] = Field(description="external id -> entity id of each stored entity")


OPERATIONS: dict[Key, Operation] = {
    ("POST", "/v1/ingest"): Operation(
        "Ingest a batch: all lines or (with ?partial=true) the valid ones",
        TAG,
        IngestAnswer,
        body=BATCH,
        query=IngestQuery,
        headers=IngestHeaders,
        errors=(
            e.VALIDATION,
            e.INGEST_INVALID,
            e.IDEMPOTENCY_KEY_REUSED,
            e.INGEST_RATE_EXCEEDED,
            e.CACHE_PURGE_FAILED,
        ),
    ),
}
