"""What a GraphQL-over-HTTP request asks for, from a POST body or GET query parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from intelgraph.http.body import decode_json_object
from intelgraph.kernel import storable
from intelgraph.kernel.errors import MALFORMED_REQUEST, IntelGraphError
from intelgraph.kernel.ids import SHA256_HEX

# GraphQL over HTTP: the largest request body read, and the response media type a client
# may ask for instead of application/json.
MAX_GRAPHQL_BODY = 1_000_000
GRAPHQL_RESPONSE = "application/graphql-response+json"


@dataclass(frozen=True)
class GraphQLRequest:
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    apq_hash: str | None  # Apollo APQ extensions.persistedQuery.sha256Hash
    document_id: str | None  # GraphQL-over-HTTP documentId "sha256:<hex>" → the hex
    operation_id: str | None  # "getEntityById:v1"


def from_json_body(raw: bytes) -> GraphQLRequest:
    """Read a POST body. Raises MALFORMED_REQUEST naming the field that is wrong,
    UNSTORABLE_VALUE naming one with text or a number neither store keeps (``variables.id``)."""
    return _from_fields(decode_json_object(raw, "the body must be a JSON object with 'query'"))


def from_query_params(params: dict[str, str]) -> GraphQLRequest:
    """Read GET parameters (variables and extensions are JSON-encoded strings); raises like
    :func:`from_json_body`."""
    fields: dict[str, Any] = {
        k: params[k] for k in ("query", "operationName", "documentId", "operationId") if k in params
    }
    storable.require_storable(fields)
    for name in ("variables", "extensions"):
        if name in params:
            try:
                fields[name] = storable.loads(
                    params[name].encode("utf-8", "surrogatepass"), root=(name,)
                )
            except storable.UnstorableError as exc:
                raise exc.found.to_error() from None
            except ValueError as exc:
                raise IntelGraphError(
                    MALFORMED_REQUEST, f"?{name}= must be URL-encoded JSON: {exc}"
                ) from exc
    return _from_fields(fields)


def _from_fields(body: dict[str, Any]) -> GraphQLRequest:
    query = _optional_string(body, "query")
    if query is not None and not query.strip():
        raise IntelGraphError(MALFORMED_REQUEST, "'query' must not be empty")
    variables = body.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise IntelGraphError(MALFORMED_REQUEST, "'variables' must be a JSON object")
    extensions = body.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise IntelGraphError(MALFORMED_REQUEST, "'extensions' must be a JSON object")
    apq_hash = _apq_hash(extensions or {})
    document_id = _optional_string(body, "documentId")
    if document_id is not None:
        prefix, _, digest = document_id.partition(":")
        if prefix != "sha256" or not SHA256_HEX.match(digest):
            raise IntelGraphError(
                MALFORMED_REQUEST, "documentId must be 'sha256:' followed by 64 lower-case hex"
            )
        document_id = digest
    request = GraphQLRequest(
        query=query,
        variables=variables,
        operation_name=_optional_string(body, "operationName"),
        apq_hash=apq_hash,
        document_id=document_id,
        operation_id=_optional_string(body, "operationId"),
    )
    if not (request.query or request.apq_hash or request.document_id or request.operation_id):
        raise IntelGraphError(
            MALFORMED_REQUEST,
            "send 'query', or a persisted query: 'documentId', 'operationId' or "
            "extensions.persistedQuery",
        )
    return request


def _apq_hash(extensions: dict[str, Any]) -> str | None:
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    if (
        not isinstance(persisted, dict)
        or persisted.get("version") != 1
        or not isinstance(persisted.get("sha256Hash"), str)
        or not SHA256_HEX.match(persisted["sha256Hash"])
    ):
        raise IntelGraphError(
            MALFORMED_REQUEST,
            "extensions.persistedQuery must be {version: 1, sha256Hash: <64 lower-case hex>}",
        )
    digest: str = persisted["sha256Hash"]
    return digest


def _optional_string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise IntelGraphError(MALFORMED_REQUEST, f"'{name}' must be a string")
    return value
