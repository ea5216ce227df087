"""One executable schema per API version, with executed deprecated fields recorded.

A deprecated field is recorded when its resolver runs, so a field in a skipped
``@include(if: false)`` branch does not count (see docs/api/deprecations.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ariadne import load_schema_from_path, make_executable_schema
from graphql import GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema, default_field_resolver

from intelgraph.api.context import RequestContext
from intelgraph.api.deprecations import deprecations
from intelgraph.api.resolvers import BINDABLES
from intelgraph.api.resolvers_v1_1 import BINDABLES_V1_1

SCHEMA_DIR = Path(__file__).parent / "schema"
SDL_FILES = {"1.0": "v1.graphql", "1.1": "v1_1.graphql"}


def build_schema(version: str) -> GraphQLSchema:
    """The executable schema of an API version."""
    sdl = load_schema_from_path(str(SCHEMA_DIR / SDL_FILES[version]))
    bindables = BINDABLES if version == "1.0" else BINDABLES + BINDABLES_V1_1
    schema = make_executable_schema(sdl, *bindables)
    _record_deprecated_fields(schema)
    return schema


def build_schemas() -> dict[str, GraphQLSchema]:
    return {version: build_schema(version) for version in SDL_FILES}


def _record_deprecated_fields(schema: GraphQLSchema) -> None:
    for coordinate in deprecations():
        type_name, field_name = coordinate.split(".", 1)
        graphql_type = schema.type_map.get(type_name)
        if not isinstance(graphql_type, GraphQLObjectType) or field_name not in graphql_type.fields:
            continue
        field = graphql_type.fields[field_name]
        field.resolve = _recording(coordinate, field.resolve or default_field_resolver)


def _recording(coordinate: str, resolve: Any) -> Any:
    def resolve_and_record(parent: Any, info: GraphQLResolveInfo[Any], **arguments: Any) -> Any:
        context = info.context
        if isinstance(context, RequestContext):
            context.deprecated_fields_used.add(coordinate)
        return resolve(parent, info, **arguments)

    return resolve_and_record
