"""API evolution: persisted-query registration, a tenant's API settings, the backout switch."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field, StrictStr, WithJsonSchema

from intelgraph.api.rest_models.admin import TenantAnswer
from intelgraph.api.rest_models.body import RequestBody
from intelgraph.api.rest_models.contract import Key, Operation
from intelgraph.api.rest_models.fields import OptionalReason, Switch
from intelgraph.kernel import errors as e
from intelgraph.tenants.service import SUPPORTED_API_VERSIONS

TAG = "api evolution"
DEFAULT_PAGE = 100
MAX_PAGE = 500


class Registration(RequestBody):
    document: StrictStr = Field(description="a GraphQL document valid against the newest schema")
    id: StrictStr | None = Field(default=None, description="an operation id like name:v1")
    roles: list[StrictStr] = Field(default=[], description="roles that may run it; [] = any")

    problems: ClassVar[dict[str, str]] = {
        "document": "'document' is required and must be a string",
        "id": "'id' must be a string like name:v1",
        "roles": "'roles' must be a list of role names",
    }


ApiVersion = Annotated[
    Any,
    WithJsonSchema(
        {
            "enum": [*SUPPORTED_API_VERSIONS, None],
            "description": "the version served when a request names none; null clears it",
        }
    ),
]


class ApiSettings(RequestBody):
    """Only the fields given change."""

    defaultApiVersion: ApiVersion = None
    safelistMode: Switch = Field(default=None, description="run only persisted operations")
    allowsApq: Switch = Field(default=None, description="automatic persisted queries")
    allowsIntrospection: Switch = Field(default=None, description="__schema and __type")
    reason: OptionalReason = None

    problems: ClassVar[dict[str, str]] = {
        name: f"'{name}' must be true or false"
        for name in ("safelistMode", "allowsApq", "allowsIntrospection")
    }


class ForceV1(RequestBody):
    forceV1: Switch = Field(description="serve 1.0 to every request that names no version")
    reason: OptionalReason = None

    problems: ClassVar[dict[str, str]] = {"forceV1": "'forceV1' must be true or false"}


class OperationsQuery(BaseModel):
    limit: int = Field(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    after: str | None = Field(default=None, description="the nextCursor of the page before")


class PersistedOperation(BaseModel):
    scope: str | None = Field(description="the tenant's id, or null for a platform operation")
    sha256: str
    documentId: str
    operationId: str | None
    roles: list[str]
    origin: str
    document: str


class OperationsPage(BaseModel):
    operations: list[PersistedOperation]
    nextCursor: str | None


class ForceV1Answer(BaseModel):
    forceV1: bool


OPERATIONS: dict[Key, Operation] = {
    ("POST", "/v1/persisted-queries"): Operation(
        "Register a persisted operation (operator: the platform's; tenant admin: its own)",
        TAG,
        PersistedOperation,
        201,
        body=Registration,
        errors=(e.VALIDATION, e.GRAPHQL_VALIDATION, e.PERSISTED_QUERY_LIMIT),
    ),
    ("GET", "/v1/persisted-queries"): Operation(
        "The operations the caller can run, a page at a time",
        TAG,
        OperationsPage,
        query=OperationsQuery,
        errors=(e.VALIDATION,),
    ),
    ("PUT", "/v1/admin/tenants/{tenant}/api-settings"): Operation(
        "Change a tenant's default API version, safelist mode, APQ or introspection",
        TAG,
        TenantAnswer,
        body=ApiSettings,
        errors=(e.VALIDATION, e.TENANT_NOT_FOUND),
    ),
    ("PUT", "/v1/admin/platform/api-default"): Operation(
        "The backout switch: serve 1.0 to every request that names no version (operator)",
        TAG,
        ForceV1Answer,
        body=ForceV1,
        errors=(e.VALIDATION,),
    ),
}
