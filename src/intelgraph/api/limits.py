"""Refuse abusive GraphQL before it runs: depth, list sizes and an estimated cost.

Cost: every selected field costs 1 times the number of times it may be resolved, which
grows by the ``limit`` (or ``ids`` length) of each list-returning field above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

from intelgraph.kernel.errors import (
    LIST_LIMIT_EXCEEDED,
    QUERY_TOO_COSTLY,
    QUERY_TOO_DEEP,
    IntelGraphError,
)

# A list field without a limit argument is assumed to return at most this many items.
UNBOUNDED_LIST_GUESS = 10


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int
    max_cost: int
    max_list: int


def selection_depth(document: DocumentNode, operation: OperationDefinitionNode) -> int:
    """The deepest field nesting of an operation (fragments expanded)."""
    fragments = _fragments(document)

    def depth(selection_set: SelectionSetNode | None, seen: frozenset[str]) -> int:
        if selection_set is None:
            return 0
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                deepest = max(deepest, 1 + depth(selection.selection_set, seen))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, depth(selection.selection_set, seen))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    deepest = max(deepest, depth(fragments[name].selection_set, seen | {name}))
        return deepest

    return depth(operation.selection_set, frozenset())


def check_depth(depth: int, limits: QueryLimits) -> None:
    """Raise QUERY_TOO_DEEP when ``depth`` is over the limit."""
    if depth > limits.max_depth:
        raise IntelGraphError(
            QUERY_TOO_DEEP,
            f"query depth {depth} exceeds the maximum of {limits.max_depth}; "
            "split it into several queries",
            {"depth": depth, "maxDepth": limits.max_depth},
        )


def check_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
    limits: QueryLimits,
) -> int:
    """The estimated cost; raises LIST_LIMIT_EXCEEDED or QUERY_TOO_COSTLY before execution."""
    fragments = _fragments(document)
    root = schema.mutation_type if operation.operation.value == "mutation" else schema.query_type
    assert root is not None

    def cost(
        parent: GraphQLNamedType,
        selection_set: SelectionSetNode | None,
        multiplier: int,
        seen: frozenset[str],
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += _field_cost(parent, selection, multiplier, seen)
            elif isinstance(selection, InlineFragmentNode):
                inner = parent
                if selection.type_condition is not None:
                    found = schema.get_type(selection.type_condition.name.value)
                    inner = found if found is not None else parent
                total += cost(inner, selection.selection_set, multiplier, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    fragment = fragments[name]
                    found = schema.get_type(fragment.type_condition.name.value)
                    total += cost(
                        found or parent, fragment.selection_set, multiplier, seen | {name}
                    )
        return total

    def _field_cost(
        parent: GraphQLNamedType, node: FieldNode, multiplier: int, seen: frozenset[str]
    ) -> int:
        if not isinstance(parent, GraphQLObjectType) or node.name.value not in parent.fields:
            return multiplier  # __typename and friends
        definition = parent.fields[node.name.value]
        size = _list_size(definition, node, variables, limits)
        child_multiplier = multiplier * size
        return multiplier + cost(
            get_named_type(definition.type), node.selection_set, child_multiplier, seen
        )

    estimated = cost(root, operation.selection_set, 1, frozenset())
    if estimated > limits.max_cost:
        raise IntelGraphError(
            QUERY_TOO_COSTLY,
            f"estimated query cost {estimated} exceeds the maximum of {limits.max_cost}; "
            "ask for fewer items (lower `limit`) or fewer nested lists",
            {"cost": estimated, "maxCost": limits.max_cost},
        )
    return estimated


def _list_size(
    definition: GraphQLField, node: FieldNode, variables: dict[str, Any], limits: QueryLimits
) -> int:
    """How many items a field may return (1 for non-lists); enforces the list-size limit."""
    size: int | None = None
    for argument in ("limit", "ids"):
        if argument not in definition.args:
            continue
        value = _argument_value(node, argument, variables, definition.args[argument].default_value)
        if isinstance(value, list):
            value = len(value)
        if isinstance(value, int):
            if value > limits.max_list or value < 0:
                raise IntelGraphError(
                    LIST_LIMIT_EXCEEDED,
                    f"{node.name.value}({argument}: {value}) is outside 0..{limits.max_list}; "
                    "page through results with `after` instead",
                    {"field": node.name.value, "maxList": limits.max_list},
                )
            size = max(value, 1)
    if size is not None:
        return size
    field_type = definition.type
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return UNBOUNDED_LIST_GUESS if isinstance(field_type, GraphQLList) else 1


def _argument_value(node: FieldNode, name: str, variables: dict[str, Any], default: Any) -> Any:
    for argument in node.arguments or ():
        if argument.name.value != name:
            continue
        value = argument.value
        if isinstance(value, VariableNode):
            return variables.get(value.name.value, default)
        if isinstance(value, IntValueNode):
            return int(value.value)
        if hasattr(value, "values"):
            return list(value.values)
        return default
    return default if default is not None and not _is_undefined(default) else None


def _is_undefined(value: Any) -> bool:
    return type(value).__name__ == "UndefinedType"


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
