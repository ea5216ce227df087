"""GraphQL v1 resolvers: thin calls into graph.service with the request's principal."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, ObjectType, QueryType, ScalarType
from ariadne.types import SchemaBindable
from graphql import GraphQLResolveInfo

from intelgraph.api.context import RequestContext
from intelgraph.api.ingest_http import store_charged
from intelgraph.graph.ingest import IngestBatch, add_document
from intelgraph.graph.model import Entity, GraphPath, Relationship
from intelgraph.kernel.clock import isoformat

query = QueryType()
mutation = MutationType()
entity_type = ObjectType("Entity")
relationship_type = ObjectType("Relationship")
path_type = ObjectType("Path")
page_type = ObjectType("EntityPage")
score_type = ObjectType("AnalyticsScore")
json_scalar = ScalarType("JSON")
datetime_scalar = ScalarType("DateTime")


def _ctx(info: GraphQLResolveInfo[Any]) -> RequestContext:
    context: RequestContext = info.context
    return context


def _or(value: int | None, default: int) -> int:
    """An explicit ``null`` argument means the documented default."""
    return default if value is None else value


@json_scalar.serializer
def serialize_json(value: Any) -> Any:
    return value


@json_scalar.value_parser
def parse_json(value: Any) -> Any:
    return value


@datetime_scalar.serializer
def serialize_datetime(value: Any) -> str:
    return isoformat(value)


@query.field("entity")
@query.field("getEntity")
def resolve_entity(_: None, info: GraphQLResolveInfo[Any], id: str) -> Entity | None:
    ctx = _ctx(info)
    return ctx.graph.get_entity(ctx.principal, id)


@query.field("searchEntities")
def resolve_search(
    _: None,
    info: GraphQLResolveInfo[Any],
    q: str,
    types: list[str] | None = None,
    limit: int = 25,
    after: str | None = None,
) -> Any:
    ctx = _ctx(info)
    return ctx.graph.search(ctx.principal, q, types, _or(limit, 25), after)


@query.field("neighbors")
def resolve_neighbors(
    _: None,
    info: GraphQLResolveInfo[Any],
    id: str,
    hops: int = 1,
    limit: int = 50,
    relationshipTypes: list[str] | None = None,
) -> Any:
    ctx = _ctx(info)
    return ctx.graph.neighbors(ctx.principal, id, _or(hops, 1), _or(limit, 50), relationshipTypes)


@query.field("pathBetween")
def resolve_path(
    _: None,
    info: GraphQLResolveInfo[Any],
    fromId: str,
    toId: str,
    maxHops: int = 3,
) -> GraphPath | None:
    ctx = _ctx(info)
    return ctx.graph.path_between(ctx.principal, fromId, toId, _or(maxHops, 3))


@query.field("pagerankTop")
def resolve_pagerank(
    _: None,
    info: GraphQLResolveInfo[Any],
    limit: int = 20,
    type: str | None = None,
) -> Any:
    ctx = _ctx(info)
    return ctx.graph.pagerank_top(ctx.principal, _or(limit, 20), type)


@page_type.field("nextCursor")
def resolve_next_cursor(page: Any, _: GraphQLResolveInfo[Any]) -> str | None:
    cursor: str | None = page.next_cursor
    return cursor


@entity_type.field("externalId")
def resolve_external_id(entity: Entity, _: GraphQLResolveInfo[Any]) -> str:
    return entity.external_id


@entity_type.field("name")
def resolve_name(entity: Entity, _: GraphQLResolveInfo[Any]) -> str:
    return entity.label


@entity_type.field("props")
def resolve_props(entity: Entity, _: GraphQLResolveInfo[Any]) -> dict[str, Any]:
    return entity.attributes


@entity_type.field("createdAt")
def resolve_created(entity: Entity, _: GraphQLResolveInfo[Any]) -> Any:
    return entity.created_at


@entity_type.field("updatedAt")
def resolve_updated(entity: Entity, _: GraphQLResolveInfo[Any]) -> Any:
    return entity.updated_at


@entity_type.field("degree")
def resolve_degree(entity: Entity, info: GraphQLResolveInfo[Any]) -> int:
    ctx = _ctx(info)
    if entity.id not in ctx.degree_memo:
        ctx.degree_memo.update(ctx.graph.degrees(ctx.principal, [entity.id]))
    return ctx.degree_memo.get(entity.id, 0)


@relationship_type.field("fromId")
def resolve_from_id(rel: Relationship, _: GraphQLResolveInfo[Any]) -> str:
    return rel.from_id


@relationship_type.field("toId")
def resolve_to_id(rel: Relationship, _: GraphQLResolveInfo[Any]) -> str:
    return rel.to_id


@relationship_type.field("from")
def resolve_from(rel: Relationship, info: GraphQLResolveInfo[Any]) -> Entity | None:
    ctx = _ctx(info)
    return ctx.graph.get_entity(ctx.principal, rel.from_id)


@relationship_type.field("to")
def resolve_to(rel: Relationship, info: GraphQLResolveInfo[Any]) -> Entity | None:
    ctx = _ctx(info)
    return ctx.graph.get_entity(ctx.principal, rel.to_id)


@relationship_type.field("firstSeen")
def resolve_first_seen(rel: Relationship, _: GraphQLResolveInfo[Any]) -> Any:
    return rel.first_seen


@relationship_type.field("lastSeen")
def resolve_last_seen(rel: Relationship, _: GraphQLResolveInfo[Any]) -> Any:
    return rel.last_seen


@score_type.field("computedAt")
def resolve_computed_at(score: Any, _: GraphQLResolveInfo[Any]) -> Any:
    return score.computed_at


@mutation.field("ingest")
def resolve_ingest(
    _: None,
    info: GraphQLResolveInfo[Any],
    entities: list[dict[str, Any]] | None = None,
    relationships: list[dict[str, Any]] | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    ctx = _ctx(info)
    batch = IngestBatch()
    number = 0
    for item in entities or []:
        number += 1
        document = {"kind": "entity", "external_id": item.get("externalId")}
        document |= {k: v for k, v in item.items() if k != "externalId" and v is not None}
        add_document(batch, number, document)
    for item in relationships or []:
        number += 1
        add_document(
            batch,
            number,
            {"kind": "relationship"} | {k: v for k, v in item.items() if v is not None},
        )
    charge = ctx.charge_ingest(batch.chargeable_count(partial=partial))
    # Lines the store refuses (an unknown relationship end, a changed type) are refunded.
    result, _after = store_charged(
        charge, lambda: ctx.graph.ingest(ctx.principal, batch, partial=partial)
    )
    body = result.body
    return {
        "acceptedEntities": body["accepted"]["entities"],
        "acceptedRelationships": body["accepted"]["relationships"],
        "rejected": body["rejected"],
        "errors": body["lineErrors"],
        "ids": body["ids"],
    }


BINDABLES: list[SchemaBindable] = [
    query,
    mutation,
    entity_type,
    relationship_type,
    path_type,
    page_type,
    score_type,
    json_scalar,
    datetime_scalar,
]
