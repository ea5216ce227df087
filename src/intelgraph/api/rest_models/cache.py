"""/v1/admin/cache: the edge cache safelist (operator) and purges."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    RootModel,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)

from intelgraph.api.rest_models.body import RequestBody
from intelgraph.api.rest_models.contract import Key, Operation
from intelgraph.api.rest_models.fields import Truthy
from intelgraph.kernel import errors as e

TAG = "edge cache"


def _text_if_given(value: object) -> str | None:
    return str(value) if value else None


AnyReason = Annotated[
    str | None,
    BeforeValidator(_text_if_given),
    WithJsonSchema({"type": "string", "description": "why (kept in the audit log)"}),
]
"""A reason read as text whatever its JSON type, as it always was."""


class SafelistEntryBody(RequestBody):
    ttl: StrictInt = Field(description="whole seconds an answer is kept, e.g. 30")
    reason: StrictStr = Field(description="why (kept in the audit log)")
    graphDerived: Truthy = Field(
        default=False, description="purged whenever the tenant's analytics are recomputed"
    )

    problems: ClassVar[dict[str, str]] = {
        "ttl": "'ttl' is required: whole seconds, e.g. 30",
        "reason": "'reason' is required and must be a string",
    }


class SafelistRemoval(RequestBody):
    reason: AnyReason = None


class PurgeRequest(RequestBody):
    """Documents the purge body; the handler reads it field by field (cache_http.py)."""

    all: bool | None = Field(
        default=None, description='operator: {"all": true, "reason"} alone purges every tenant'
    )
    tenant: str | None = Field(
        default=None, description="slug or id; required with the operator key"
    )
    opId: StrictStr | None = Field(
        default=None, description='the safelisted operation, e.g. getEntityById:v1 (unless "all")'
    )
    varsHash: StrictStr | None = Field(
        default=None, description="sha256 of the variables (X-IG-Cache-Vars-Hash), or *"
    )
    variables: dict[str, Any] | None = Field(
        default=None, description="the variables themselves, instead of varsHash"
    )
    reason: AnyReason = None


class ReasonQuery(BaseModel):
    reason: str | None = Field(default=None, description="why, when there is no body")


class SafelistRow(BaseModel):
    operationId: str
    ttl: int
    graphDerived: bool
    cached: bool
    updatedBy: str | None
    reason: str | None
    updatedAt: str


class Safelist(BaseModel):
    safelist: list[SafelistRow]


class SafelistEntry(BaseModel):
    operationId: str
    ttl: int
    graphDerived: bool
    documentId: str


class SafelistEntryAnswer(BaseModel):
    entry: SafelistEntry


class OperationPurged(BaseModel):
    purged: int
    tenantId: str
    opId: str
    varsHash: str


class AllPurged(BaseModel):
    purged: int
    tenants: int = Field(description="how many tenants' entries were purged")
    all: bool


class PurgeAnswer(RootModel[OperationPurged | AllPurged]):
    """The entries removed: of one operation for one tenant, or of every tenant."""


OPERATIONS: dict[Key, Operation] = {
    ("GET", "/v1/admin/cache/safelist"): Operation(
        "Every safelisted operation, removed ones included (operator)", TAG, Safelist
    ),
    ("PUT", "/v1/admin/cache/safelist/{operation_id}"): Operation(
        "Cache a platform persisted operation, or change its TTL (operator)",
        TAG,
        SafelistEntryAnswer,
        body=SafelistEntryBody,
        errors=(e.VALIDATION,),
    ),
    ("DELETE", "/v1/admin/cache/safelist/{operation_id}"): Operation(
        "Stop caching an operation (operator)",
        TAG,
        None,
        204,
        body=SafelistRemoval,
        is_body_required=False,
        query=ReasonQuery,
        errors=(e.VALIDATION,),
    ),
    ("POST", "/v1/admin/cache/purge"): Operation(
        "Purge an operation's cached answers for one tenant, or (operator) everything",
        TAG,
        PurgeAnswer,
        body=PurgeRequest,
        errors=(e.VALIDATION, e.TENANT_NOT_FOUND, e.CACHE_PURGE_FAILED),
    ),
}
