"""Resolvers of the fields v1.1 adds to v1 (additive only)."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, ObjectType, QueryType
from ariadne.types import SchemaBindable
from graphql import GraphQLResolveInfo

from intelgraph.api.context import RequestContext
from intelgraph.er.engine.mapping import is_resolvable
from intelgraph.er.history import EntityResolution
from intelgraph.er.service import EntityResolutionService
from intelgraph.graph.model import Entity
from intelgraph.kernel.errors import LIST_LIMIT_EXCEEDED, SERVICE_UNAVAILABLE, IntelGraphError

MAX_BATCH_IDS = 100
EXTENDED_PURPOSES = frozenset({"investigation", "regulatory", "aml", "sanctions", "fraud"})
LEGAL_HOLD_PURPOSES = frozenset({"legal_hold", "litigation"})

query = QueryType()
mutation = MutationType()
entity_type = ObjectType("Entity")


@query.field("entities")
def resolve_entities(_: None, info: GraphQLResolveInfo[Any], ids: list[str]) -> list[Entity | None]:
    if len(ids) > MAX_BATCH_IDS:
        raise IntelGraphError(
            LIST_LIMIT_EXCEEDED,
            f"entities(ids:) takes at most {MAX_BATCH_IDS} ids; split the batch",
            {"maxIds": MAX_BATCH_IDS},
        )
    context: RequestContext = info.context
    found = context.graph.get_entities(context.principal, ids)
    return [found.get(entity_id) for entity_id in ids]


@query.field("apiVersion")
def resolve_api_version(_: None, info: GraphQLResolveInfo[Any]) -> str:
    context: RequestContext = info.context
    return context.api_version


@entity_type.field("sources")
def resolve_sources(entity: Entity, _: GraphQLResolveInfo[Any]) -> list[dict[str, Any]]:
    if entity.source is None:
        return []
    return [
        {
            "system": entity.source,
            "collectedAt": entity.updated_at,
            "reliability": entity.confidence,
        }
    ]


@entity_type.field("retentionTier")
def resolve_retention_tier(entity: Entity, _: GraphQLResolveInfo[Any]) -> str:
    return retention_tier(entity.purposes)


def retention_tier(purposes: list[str]) -> str:
    """The longest retention any of the purposes asks for."""
    lowered = {purpose.lower() for purpose in purposes}
    if lowered & LEGAL_HOLD_PURPOSES:
        return "LEGAL_HOLD"
    if lowered & EXTENDED_PURPOSES:
        return "EXTENDED"
    return "STANDARD"


# --- entity resolution -------------------------------------------------------------------

resolution_type = ObjectType("Resolution")


def _er(context: RequestContext) -> EntityResolutionService:
    er = context.er
    if er is None:
        raise IntelGraphError(SERVICE_UNAVAILABLE, "entity resolution is not available here")
    return er


@entity_type.field("resolution")
def resolve_resolution(entity: Entity, info: GraphQLResolveInfo[Any]) -> EntityResolution | None:
    if not is_resolvable(entity.type):
        return None
    context: RequestContext = info.context
    return _er(context).resolution.resolution_of(context.principal, entity.id)


@entity_type.field("canonicalId")
def resolve_canonical_id(entity: Entity, info: GraphQLResolveInfo[Any]) -> str | None:
    found = resolve_resolution(entity, info)
    return None if found is None else found.cluster_id


@resolution_type.field("clusterId")
def resolve_cluster_id(resolution: EntityResolution, _: GraphQLResolveInfo[Any]) -> str | None:
    return resolution.cluster_id


@resolution_type.field("members")
def resolve_members(
    resolution: EntityResolution, info: GraphQLResolveInfo[Any], limit: int = 50
) -> list[Entity]:
    context: RequestContext = info.context
    wanted = list(resolution.members[: max(limit, 0)])
    found = context.graph.get_entities(context.principal, wanted)
    return [found[entity_id] for entity_id in wanted if entity_id in found]


@query.field("explainMatch")
def resolve_explain_match(_: None, info: GraphQLResolveInfo[Any], a: str, b: str) -> dict[str, Any]:
    context: RequestContext = info.context
    return _er(context).resolution.explain_match(context.principal, a, b).as_dict()


@mutation.field("purgeCache")
def resolve_purge_cache(_: None, info: GraphQLResolveInfo[Any], opId: str, varsHash: str) -> bool:
    context: RequestContext = info.context
    if context.edge_cache is None:
        raise IntelGraphError(SERVICE_UNAVAILABLE, "the edge cache is not available here")
    tenant_id = context.principal.tenant_id or ""
    removed = context.edge_cache.purge_operation(
        context.principal, tenant_id, opId, varsHash, "purgeCache mutation"
    )
    return removed > 0


BINDABLES_V1_1: list[SchemaBindable] = [query, mutation, entity_type, resolution_type]
