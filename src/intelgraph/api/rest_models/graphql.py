"""/graphql as the REST document shows it; graphql_request.py parses these requests."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from intelgraph.api.rest_models.contract import Key, Operation
from intelgraph.kernel import errors as e

TAG = "graphql"


class GraphQLRequest(BaseModel):
    """GraphQL over HTTP (graphql_request.py validates it; the schema is the SDL)."""

    query: str | None = Field(default=None, description="the document; or a persisted hash")
    variables: dict[str, Any] | None = None
    operationName: str | None = None
    extensions: dict[str, Any] | None = Field(
        default=None, description='{"persistedQuery": {"version": 1, "sha256Hash": …}}'
    )


class GraphQLQueryString(BaseModel):
    """GET /graphql: the same members, ``variables`` and ``extensions`` as JSON text."""

    query: str | None = None
    variables: str | None = Field(default=None, description="a JSON object")
    operationName: str | None = None
    extensions: str | None = Field(default=None, description="a JSON object")


class GraphQLAnswer(BaseModel):
    data: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None
    extensions: dict[str, Any] | None = None


_ERRORS = (
    e.GRAPHQL_VALIDATION,
    e.MALFORMED_REQUEST,
    e.PERSISTED_QUERY_NOT_FOUND,
    e.PERSISTED_QUERY_HASH_MISMATCH,
    e.OPERATION_NOT_SAFELISTED,
    e.INTROSPECTION_DISABLED,
    e.QUERY_TOO_DEEP,
    e.QUERY_TOO_COSTLY,
    e.LIST_LIMIT_EXCEEDED,
    e.QUERY_TOO_MANY_TOKENS,
    e.QUERY_TOO_MANY_ALIASES,
    e.QUERY_TOO_MANY_ROOT_FIELDS,
    e.QUERY_TOO_MANY_DIRECTIVES,
    e.RESPONSE_TOO_LARGE,
    e.QUERY_TIMEOUT,
    e.INGEST_RATE_EXCEEDED,
    e.CACHE_PURGE_FAILED,
)

OPERATIONS: dict[Key, Operation] = {
    ("GET", "/graphql"): Operation(
        "Run a query or a persisted query (?query=… or ?extensions=…)",
        TAG,
        GraphQLAnswer,
        query=GraphQLQueryString,
        errors=_ERRORS,
    ),
    ("POST", "/graphql"): Operation(
        "Run a GraphQL operation", TAG, GraphQLAnswer, body=GraphQLRequest, errors=_ERRORS
    ),
}
