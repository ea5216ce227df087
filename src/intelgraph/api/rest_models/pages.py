"""Routes beside the REST areas: health, metrics, key set, GraphiQL, the API reference."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from intelgraph.api.rest_models.contract import Key, Operation, RawAnswer

TAG = "service"
JWKS_PATH = "/.well-known/intelgraph/jwks.json"  # gateway/authn.py's public path
HTML = RawAnswer(("text/html",), "a page; every asset it loads is served by this service")


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str = Field(description="ready, or unavailable")
    database: str = Field(description="ok, or what is wrong and what to run")


class KeySet(BaseModel):
    """RFC 7517 JSON Web Key Set of the export-signing keys (Ed25519, by kid)."""

    keys: list[dict[str, Any]]


class OpenApiDocument(BaseModel):
    """This document (OpenAPI 3.1)."""

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


def _public(summary: str, answer: type[BaseModel] | RawAnswer, **more: Any) -> Operation:
    return Operation(summary, TAG, answer, is_public=True, is_policy_checked=False, **more)


OPERATIONS: dict[Key, Operation] = {
    ("GET", "/healthz"): _public("The process is up", Health),
    ("GET", "/readyz"): _public(
        "The database is reachable and migrated",
        Readiness,
        other_answers={503: (Readiness, "not ready: the database is unreachable or behind")},
    ),
    ("GET", "/metrics"): _public(
        "Prometheus metrics",
        RawAnswer(("text/plain",), "the Prometheus text exposition format"),
    ),
    ("GET", JWKS_PATH): _public("The keys that verify signed usage exports", KeySet),
    ("GET", "/graphiql"): _public("GraphiQL, to try the GraphQL API in a browser", HTML),
    ("GET", "/docs/api/deprecations.md"): _public(
        "Deprecated GraphQL fields and their removal dates (the Link header's target)",
        RawAnswer(("text/markdown",), "one section per deprecated field"),
    ),
    ("GET", "/openapi.json"): _public("This document", OpenApiDocument),
    ("GET", "/docs"): _public("The API reference, rendered from this document", HTML),
}
