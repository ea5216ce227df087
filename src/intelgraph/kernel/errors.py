"""The error taxonomy: every error a client can see is a value of this module.

A category fixes the HTTP status and whether a retry can help; a code names the
precise problem (``AUTH_INVALID_KEY``, ``INGEST_INVALID``…). The API renders every
error in one shape: ``{"message", "extensions": {"code", "category", "retryable"}}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Category(StrEnum):
    VALIDATION = "VALIDATION"
    AUTHENTICATION = "AUTHENTICATION"
    AUTHORIZATION = "AUTHORIZATION"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    RATE_LIMIT = "RATE_LIMIT"
    INTERNAL = "INTERNAL"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    TIMEOUT = "TIMEOUT"


CATEGORY_STATUS: dict[Category, int] = {
    Category.VALIDATION: 400,
    Category.AUTHENTICATION: 401,
    Category.AUTHORIZATION: 403,
    Category.NOT_FOUND: 404,
    Category.CONFLICT: 409,
    Category.RATE_LIMIT: 429,
    Category.INTERNAL: 500,
    Category.SERVICE_UNAVAILABLE: 503,
    Category.TIMEOUT: 504,
}

RETRYABLE: frozenset[Category] = frozenset(
    {Category.RATE_LIMIT, Category.SERVICE_UNAVAILABLE, Category.TIMEOUT}
)


@dataclass(frozen=True)
class ErrorCode:
    """A named problem inside a category; ``status`` overrides the category's."""

    code: str
    category: Category
    status: int | None = None

    @property
    def http_status(self) -> int:
        return self.status if self.status is not None else CATEGORY_STATUS[self.category]

    @property
    def is_retryable(self) -> bool:
        return self.category in RETRYABLE


# Generic codes, one per category.
VALIDATION = ErrorCode("VALIDATION", Category.VALIDATION)
AUTHENTICATION = ErrorCode("AUTHENTICATION", Category.AUTHENTICATION)
AUTHORIZATION = ErrorCode("AUTHORIZATION", Category.AUTHORIZATION)
NOT_FOUND = ErrorCode("NOT_FOUND", Category.NOT_FOUND)
CONFLICT = ErrorCode("CONFLICT", Category.CONFLICT)
RATE_LIMIT = ErrorCode("RATE_LIMIT", Category.RATE_LIMIT)
INTERNAL = ErrorCode("INTERNAL", Category.INTERNAL)
SERVICE_UNAVAILABLE = ErrorCode("SERVICE_UNAVAILABLE", Category.SERVICE_UNAVAILABLE)
TIMEOUT = ErrorCode("TIMEOUT", Category.TIMEOUT)

# Specific codes.
AUTH_INVALID_KEY = ErrorCode("AUTH_INVALID_KEY", Category.AUTHENTICATION)
AUTH_MISSING_KEY = ErrorCode("AUTH_MISSING_KEY", Category.AUTHENTICATION)
TENANT_SUSPENDED = ErrorCode("TENANT_SUSPENDED", Category.AUTHORIZATION)
POLICY_DENIED = ErrorCode("POLICY_DENIED", Category.AUTHORIZATION)
OPERATOR_ONLY = ErrorCode("OPERATOR_ONLY", Category.AUTHORIZATION)
# The tenant switched GraphQL introspection (__schema, __type) off.
INTROSPECTION_DISABLED = ErrorCode("INTROSPECTION_DISABLED", Category.AUTHORIZATION)
INGEST_INVALID = ErrorCode("INGEST_INVALID", Category.VALIDATION)
PAYLOAD_TOO_LARGE = ErrorCode("PAYLOAD_TOO_LARGE", Category.VALIDATION, 413)
URI_TOO_LONG = ErrorCode("URI_TOO_LONG", Category.VALIDATION, 414)
HEADERS_TOO_LARGE = ErrorCode("HEADERS_TOO_LARGE", Category.VALIDATION, 431)
UNSUPPORTED_MEDIA_TYPE = ErrorCode("UNSUPPORTED_MEDIA_TYPE", Category.VALIDATION, 415)
MALFORMED_REQUEST = ErrorCode("MALFORMED_REQUEST", Category.VALIDATION)
# Text with U+0000 or a lone surrogate, an integer beyond signed 64 bits (kernel/storable.py).
UNSTORABLE_VALUE = ErrorCode("UNSTORABLE_VALUE", Category.VALIDATION)
GRAPHQL_VALIDATION = ErrorCode("GRAPHQL_VALIDATION", Category.VALIDATION)
QUERY_TOO_DEEP = ErrorCode("QUERY_TOO_DEEP", Category.VALIDATION)
QUERY_TOO_COSTLY = ErrorCode("QUERY_TOO_COSTLY", Category.VALIDATION)
LIST_LIMIT_EXCEEDED = ErrorCode("LIST_LIMIT_EXCEEDED", Category.VALIDATION)
# Structural GraphQL limits, checked before validation (api/limits.py).
QUERY_TOO_MANY_TOKENS = ErrorCode("QUERY_TOO_MANY_TOKENS", Category.VALIDATION)
QUERY_TOO_MANY_ALIASES = ErrorCode("QUERY_TOO_MANY_ALIASES", Category.VALIDATION)
QUERY_TOO_MANY_ROOT_FIELDS = ErrorCode("QUERY_TOO_MANY_ROOT_FIELDS", Category.VALIDATION)
QUERY_TOO_MANY_DIRECTIVES = ErrorCode("QUERY_TOO_MANY_DIRECTIVES", Category.VALIDATION)
# A GraphQL request's answer outgrew INTELGRAPH_GRAPHQL_MAX_RESPONSE_BYTES: ask for less.
RESPONSE_TOO_LARGE = ErrorCode("RESPONSE_TOO_LARGE", Category.VALIDATION)
# A GraphQL request ran past INTELGRAPH_GRAPHQL_TIMEOUT_SECONDS (retryable: load may drop).
QUERY_TIMEOUT = ErrorCode("QUERY_TIMEOUT", Category.TIMEOUT)
# The client left before its answer; nobody reads it, the request log sees nginx's 499.
REQUEST_CANCELLED = ErrorCode("REQUEST_CANCELLED", Category.TIMEOUT, 499)
ENTITY_NOT_FOUND = ErrorCode("ENTITY_NOT_FOUND", Category.NOT_FOUND)
TENANT_NOT_FOUND = ErrorCode("TENANT_NOT_FOUND", Category.NOT_FOUND)
KEY_NOT_FOUND = ErrorCode("KEY_NOT_FOUND", Category.NOT_FOUND)
TENANT_EXISTS = ErrorCode("TENANT_EXISTS", Category.CONFLICT)
# Named operators (tenants/operators.py): no operator by that name; a name already taken.
OPERATOR_NOT_FOUND = ErrorCode("OPERATOR_NOT_FOUND", Category.NOT_FOUND)
OPERATOR_EXISTS = ErrorCode("OPERATOR_EXISTS", Category.CONFLICT)
# `intelgraph serve` found its host:port held by another socket (cli/serve.py).
PORT_IN_USE = ErrorCode("PORT_IN_USE", Category.CONFLICT)
# A CLI command found the database behind this release's migrations (bootstrap.py).
SCHEMA_BEHIND = ErrorCode("SCHEMA_BEHIND", Category.SERVICE_UNAVAILABLE)
IDEMPOTENCY_KEY_REUSED = ErrorCode("IDEMPOTENCY_KEY_REUSED", Category.CONFLICT, 422)
METHOD_NOT_ALLOWED = ErrorCode("METHOD_NOT_ALLOWED", Category.VALIDATION, 405)
ROUTE_NOT_FOUND = ErrorCode("ROUTE_NOT_FOUND", Category.NOT_FOUND)
UNSUPPORTED_API_VERSION = ErrorCode("UNSUPPORTED_API_VERSION", Category.VALIDATION)
PERSISTED_QUERY_NOT_FOUND = ErrorCode("PERSISTED_QUERY_NOT_FOUND", Category.NOT_FOUND)
# A hash-only APQ request to a tenant with APQ off: Apollo's code, on which clients stop
# sending hashes (Apollo Server answers it with 400 too).
PERSISTED_QUERY_NOT_SUPPORTED = ErrorCode("PERSISTED_QUERY_NOT_SUPPORTED", Category.VALIDATION)
PERSISTED_QUERY_HASH_MISMATCH = ErrorCode("PERSISTED_QUERY_HASH_MISMATCH", Category.VALIDATION)
# A tenant's persisted operations are at their cap: retrying cannot help, so not RATE_LIMIT.
PERSISTED_QUERY_LIMIT = ErrorCode("PERSISTED_QUERY_LIMIT", Category.CONFLICT)
SIGNATURE_INVALID = ErrorCode("SIGNATURE_INVALID", Category.VALIDATION)
SIGNING_KEY_UNKNOWN = ErrorCode("SIGNING_KEY_UNKNOWN", Category.VALIDATION)
SIGNING_KEY_RETIRED = ErrorCode("SIGNING_KEY_RETIRED", Category.VALIDATION)
OPERATION_NOT_SAFELISTED = ErrorCode("OPERATION_NOT_SAFELISTED", Category.AUTHORIZATION)
QUOTA_EXCEEDED = ErrorCode("QUOTA_EXCEEDED", Category.RATE_LIMIT)
INGEST_RATE_EXCEEDED = ErrorCode("INGEST_RATE_EXCEEDED", Category.RATE_LIMIT)
EGRESS_LIMIT_EXCEEDED = ErrorCode("EGRESS_LIMIT_EXCEEDED", Category.RATE_LIMIT)
# Edge cache: a write is stored but neither Redis nor the tenant's cache epoch took its
# purge (edgecache/service.py); retryable, the Idempotency-Key replays the answer.
CACHE_PURGE_FAILED = ErrorCode("CACHE_PURGE_FAILED", Category.SERVICE_UNAVAILABLE)
# Usage exports.
EXPORT_NOT_FOUND = ErrorCode("EXPORT_NOT_FOUND", Category.NOT_FOUND)
# Entity resolution.
ER_NOT_FOUND = ErrorCode("ER_NOT_FOUND", Category.NOT_FOUND)
ER_NO_MODEL = ErrorCode("ER_NO_MODEL", Category.CONFLICT)
ER_STATE_CONFLICT = ErrorCode("ER_STATE_CONFLICT", Category.CONFLICT)
ER_SELF_APPROVAL = ErrorCode("ER_SELF_APPROVAL", Category.AUTHORIZATION)
ER_FEATURE_DISABLED = ErrorCode("ER_FEATURE_DISABLED", Category.CONFLICT)
# Billing adapters and outbox.
BILLING_ADAPTER_UNKNOWN = ErrorCode("BILLING_ADAPTER_UNKNOWN", Category.VALIDATION)
BILLING_DELIVERY_NOT_FOUND = ErrorCode("BILLING_DELIVERY_NOT_FOUND", Category.NOT_FOUND)
BILLING_EXPORTS_UNAVAILABLE = ErrorCode("BILLING_EXPORTS_UNAVAILABLE", Category.CONFLICT)
# Scheduled jobs (jobs/service.py): pause/resume names a job the scheduler does not run.
JOB_NOT_FOUND = ErrorCode("JOB_NOT_FOUND", Category.NOT_FOUND)


@dataclass
class IntelGraphError(Exception):
    """An error meant for the client: a code, a message that says what to fix, details."""

    error: ErrorCode
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def status(self) -> int:
        return self.error.http_status

    def to_graphql_error(self) -> dict[str, Any]:
        """The one error shape used by REST and GraphQL responses."""
        extensions: dict[str, Any] = {
            "code": self.error.code,
            "category": self.error.category.value,
            "retryable": self.error.is_retryable,
        }
        extensions.update(self.details)
        return {"message": self.message, "extensions": extensions}


def error_body(err: IntelGraphError) -> dict[str, Any]:
    """The JSON body of an error response."""
    return {"errors": [err.to_graphql_error()]}
