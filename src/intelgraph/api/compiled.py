"""A compiled plan: a validated query run straight through the schema's resolvers.

A plan is built once per prepared document and operation, for the queries whose shape it can
run exactly as graphql-core would: root and nested fields (aliases allowed) with literal or
variable arguments, on object types or lists of them, down to scalar and enum leaves; no
fragments, no directives, no ``__typename`` or introspection, no field selected twice under
one response key. Running it calls the very resolvers the schema binds (``field.resolve``, or
graphql-core's default for plain attributes, inlined), with a real ``GraphQLResolveInfo``,
coerces leaves with each type's ``coerce_output_value`` and checks the request's budget before
every field exactly as ``RequestBudget.resolve`` does as middleware.

A plan only ever answers a request that produced no error: anything unusual (a resolver
raising, a null for a non-null field, a value a leaf type refuses, an awaitable, an iterable
that is not a list) raises ``NotCovered``, and the executor runs the request again through
graphql-core, which then writes the errors, paths and null propagation itself. So the two
paths give the same bytes by construction (tests/api/test_compiled_plan.py holds them to it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    ValueNode,
    VariableNode,
    get_argument_values,
    is_leaf_type,
)
from graphql.execution.values import VariableValues
from graphql.pyutils import Path, is_awaitable
from graphql.type.definition import GraphQLResolveInfoHelpers

from intelgraph.api.budget import FIELD_OVERHEAD, SCALAR_BYTES, BudgetExhausted, RequestBudget

Resolver = Callable[..., Any]


class NotCovered(Exception):
    """The compiled run met something only graphql-core's executor answers exactly."""


def _refuse_async(_values: Sequence[Any]) -> Any:
    raise NotCovered("asynchronous resolver work")


# A compiled run is synchronous: resolvers asking for async helpers go to graphql-core.
_SYNC_ONLY = GraphQLResolveInfoHelpers(gather=_refuse_async, track=_refuse_async)


@dataclass(frozen=True, slots=True)
class _Leaf:
    coerce: Callable[[Any], Any]
    is_non_null: bool


@dataclass(frozen=True, slots=True)
class _List:
    item: _Shape
    is_non_null: bool


@dataclass(frozen=True, slots=True)
class _Object:
    fields: tuple[_Field, ...]
    is_non_null: bool


_Shape = _Leaf | _List | _Object


@dataclass(frozen=True, slots=True)
class _Field:
    key: str  # the response name (alias or field name)
    name: str
    nodes: list[FieldNode]
    definition: GraphQLField
    parent_type: GraphQLObjectType
    resolve: Resolver | None  # None: graphql-core's default resolver, inlined
    arguments: dict[str, Any] | None  # None: they name variables, coerced per request
    is_leaf: bool  # a scalar or enum at the bottom of its list and non-null wrappers
    key_bytes: int  # what the budget counts for the field besides its value
    shape: _Shape


class CompiledPlan:
    """The resolver plan of one query operation; shared by threads, holds no request state."""

    def __init__(
        self, schema: GraphQLSchema, operation: OperationDefinitionNode, root: tuple[_Field, ...]
    ) -> None:
        self._schema = schema
        self._operation = operation
        self._root = root

    def run(
        self, context: Any, variables: VariableValues, budget: RequestBudget | None
    ) -> dict[str, Any]:
        """The ``data`` of the answer. Raises NotCovered when graphql-core must answer, and
        lets BudgetExhausted through as the middleware does."""
        return _Run(self._schema, self._operation, context, variables, budget).fields(
            self._root, None, None
        )


class _Run:
    """One request's run of a plan."""

    __slots__ = ("budget", "context", "operation", "schema", "variables")

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        context: Any,
        variables: VariableValues,
        budget: RequestBudget | None,
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.context = context
        self.variables = variables
        self.budget = budget

    def info(self, field: _Field, path: Path) -> GraphQLResolveInfo[Any]:
        return GraphQLResolveInfo(
            field.name,
            field.nodes,
            field.definition.type,
            field.parent_type,
            path,
            self.schema,
            {},
            None,
            self.operation,
            self.variables,
            self.context,
            is_awaitable,
            None,
            _SYNC_ONLY,
        )

    def fields(self, fields: tuple[_Field, ...], source: Any, path: Path | None) -> dict[str, Any]:
        budget = self.budget
        results: dict[str, Any] = {}
        for field in fields:
            field_path = Path(path, field.key, field.parent_type.name)
            arguments = field.arguments
            if arguments is None:
                arguments = get_argument_values(field.definition, field.nodes[0], self.variables)
            if budget is not None and budget.is_spent:
                raise BudgetExhausted(budget.stopped())
            if field.resolve is not None:
                value = field.resolve(source, self.info(field, field_path), **arguments)
            else:  # graphql-core's default_field_resolver
                name = field.name
                value = (
                    source.get(name) if isinstance(source, Mapping) else getattr(source, name, None)
                )
                if callable(value):
                    value = value(self.info(field, field_path), **arguments)
            if is_awaitable(value):
                raise NotCovered("an awaitable result")
            if budget is not None:
                budget.response_bytes += field.key_bytes + _value_bytes(value, field.is_leaf)
                if budget.response_bytes > budget.limits.max_response_bytes:
                    raise BudgetExhausted(budget.too_large(budget.response_bytes))
            results[field.key] = self.complete(field.shape, value, field_path)
        return results

    def complete(self, shape: _Shape, value: Any, path: Path) -> Any:
        if isinstance(value, Exception):
            raise NotCovered("a resolver returned an error")
        if value is None or value is Undefined:
            if shape.is_non_null:
                raise NotCovered("null for a non-null field")
            return None
        if isinstance(shape, _Leaf):
            coerced = shape.coerce(value)
            if coerced is None or coerced is Undefined:
                raise NotCovered("a value its leaf type refuses")
            return coerced
        if isinstance(shape, _Object):
            return self.fields(shape.fields, value, path)
        if type(value) is not list and type(value) is not tuple:
            raise NotCovered("a list field answered with another iterable")
        item = shape.item
        return [
            self.complete(item, element, path.add_key(index, None))
            for index, element in enumerate(value)
        ]


def _value_bytes(value: Any, is_leaf: bool) -> int:
    """``budget._leaf_bytes``: about the bytes ``value`` takes in the answer."""
    if type(value) is str:
        return len(value) + 2
    if value is None or type(value) in (int, float, bool):
        return SCALAR_BYTES
    if is_leaf:
        return len(orjson.dumps(value, default=str))
    return 0


def compile_plan(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> CompiledPlan | None:
    """The plan of a validated ``operation``, or None when graphql-core must run it."""
    if operation.operation is not OperationType.QUERY or operation.directives:
        return None
    if any(isinstance(d, FragmentDefinitionNode) for d in document.definitions):
        return None
    if any(definition.directives for definition in operation.variable_definitions or ()):
        return None
    root_type = schema.query_type
    if root_type is None:
        return None
    try:
        root = _compile_selections(root_type, operation.selection_set)
    except NotCovered:
        return None
    return CompiledPlan(schema, operation, root)


def _compile_selections(
    parent_type: GraphQLObjectType, selection_set: SelectionSetNode
) -> tuple[_Field, ...]:
    fields: list[_Field] = []
    keys: set[str] = set()
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            raise NotCovered("a fragment or a directive")
        name = selection.name.value
        key = selection.alias.value if selection.alias else name
        if name.startswith("__") or key in keys or name not in parent_type.fields:
            raise NotCovered("introspection, or a response key selected twice")
        keys.add(key)
        definition = parent_type.fields[name]
        fields.append(
            _Field(
                key=key,
                name=name,
                nodes=[selection],
                definition=definition,
                parent_type=parent_type,
                resolve=definition.resolve,
                arguments=_constant_arguments(definition, selection),
                is_leaf=_is_leaf(definition.type),
                key_bytes=FIELD_OVERHEAD + len(key),
                shape=_compile_shape(definition.type, selection),
            )
        )
    return tuple(fields)


def _compile_shape(output_type: GraphQLOutputType, node: FieldNode) -> _Shape:
    is_non_null = isinstance(output_type, GraphQLNonNull)
    inner = output_type.of_type if isinstance(output_type, GraphQLNonNull) else output_type
    if isinstance(inner, GraphQLList):
        return _List(_compile_shape(inner.of_type, node), is_non_null)
    if is_leaf_type(inner):
        if node.selection_set is not None:
            raise NotCovered("a selection on a leaf")
        return _Leaf(inner.coerce_output_value, is_non_null)
    if not isinstance(inner, GraphQLObjectType) or inner.is_type_of is not None:
        raise NotCovered("an interface, a union or a type checked at run time")
    if node.selection_set is None:
        raise NotCovered("an object without a selection")
    return _Object(_compile_selections(inner, node.selection_set), is_non_null)


def _is_leaf(output_type: GraphQLOutputType) -> bool:
    while isinstance(output_type, GraphQLNonNull | GraphQLList):
        output_type = output_type.of_type
    return is_leaf_type(output_type)


def _constant_arguments(definition: GraphQLField, node: FieldNode) -> dict[str, Any] | None:
    """The coerced arguments when no variable feeds them (so every request gets the same),
    None when they must be coerced per request. Lists and input objects are coerced per
    request too, so no request can change another's through a resolver."""
    if not definition.args and not node.arguments:
        return {}
    if any(_is_variable_or_composite(argument.value) for argument in node.arguments or ()):
        return None
    try:
        arguments = get_argument_values(definition, node, None)
    except Exception as error:  # an invalid default: graphql-core reports it per request
        raise NotCovered("arguments graphql-core refuses") from error
    if any(isinstance(value, list | dict) for value in arguments.values()):
        return None
    return arguments


def _is_variable_or_composite(value: ValueNode) -> bool:
    return isinstance(value, VariableNode | ListValueNode | ObjectValueNode)
