"""What a resolver gets: the principal and the services, plus per-request memo."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from intelgraph.er.service import EntityResolutionService
from intelgraph.graph.service import GraphService
from intelgraph.kernel.tenancy import Principal

if TYPE_CHECKING:
    from intelgraph.edgecache.service import EdgeCache


@dataclass
class RequestContext:
    principal: Principal
    graph: GraphService
    er: EntityResolutionService | None = None  # answers the v1.1 resolution fields
    api_version: str = "1.0"
    degree_memo: dict[str, int] = field(default_factory=dict)
    deprecated_fields_used: set[str] = field(default_factory=set)
    # Charges an ingest of N records against the tenant's ingest_eps (raises when refused).
    charge_ingest: Callable[[int], object] = lambda _records: None
    edge_cache: EdgeCache | None = None  # answers the v1.1 purgeCache mutation
