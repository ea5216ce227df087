"""What a REST route declares about itself: its request body, query, answer and errors.

Each area's module (``admin.py``, ``er.py``…) keeps a table of these keyed by method and
path; ``api/openapi.py`` walks the app's routes and builds the OpenAPI document from it.
The handler validates its body with the very model named here, so the two cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from intelgraph.kernel.errors import ErrorCode


@dataclass(frozen=True)
class RawBody:
    """A body that is not JSON (NDJSON lines, CSV text): its media types and what it holds."""

    media_types: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class RawAnswer:
    """A success answer that is not a JSON object of a model (a file, a page, metrics)."""

    media_types: tuple[str, ...]
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True)
class Operation:
    """One method on one path, as the API reference shows it."""

    summary: str
    tag: str
    answer: type[BaseModel] | RawAnswer | None
    status: int = 200
    body: type[BaseModel] | RawBody | None = None
    is_body_required: bool = True
    query: type[BaseModel] | None = None
    headers: type[BaseModel] | None = None
    """Request headers the route reads (by their field alias), beyond Authorization."""
    errors: tuple[ErrorCode, ...] = ()
    is_public: bool = False
    """Answered without an API key (the gateway's public paths)."""
    is_policy_checked: bool = True
    """Asks the Rego policy, so may answer POLICY_DENIED."""
    other_answers: dict[int, tuple[type[BaseModel], str]] = field(default_factory=dict)
    """Success-shaped answers with another status (readyz's 503, a config left unchanged)."""


Key = tuple[str, str]
"""(HTTP method, Starlette route path), e.g. ("POST", "/v1/admin/tenants")."""
