"""The REST contract, one module per area: request bodies the handlers validate with, the
answers, and each route's declaration (contract.Operation) that api/openapi.py documents."""

from __future__ import annotations

from intelgraph.api.rest_models import admin, billing, cache, er, evolution, graphql, ingest, pages
from intelgraph.api.rest_models.contract import Key, Operation

OPERATIONS: dict[Key, Operation] = {
    **admin.OPERATIONS,
    **billing.OPERATIONS,
    **cache.OPERATIONS,
    **er.OPERATIONS,
    **evolution.OPERATIONS,
    **graphql.OPERATIONS,
    **ingest.OPERATIONS,
    **pages.OPERATIONS,
}
"""Every route's declaration, by (method, path)."""
